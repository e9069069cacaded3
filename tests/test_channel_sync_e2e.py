"""Participants from a channel, driven as Slack drives the app: signed HTTP in, Web API out.

create with "Everyone in the channel" → the channel's people take part (never a bot, never a
deactivated account) → someone joins (signed event) and gets the next prompt, someone leaves
and gets none → the reconcile fixes what no event said → a 1,000-person channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy import select

from storage.db import Database
from storage.models import Member, Participant
from tests.harness import Clock, RunningApp, create_form_values, is_delivered_prompt, start_app
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import member_joined_channel_event, member_left_channel_event

CHANNEL = "C0TEAM0001"
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
HELPER, OLD = "U0HELPER1", "U0OLDTIME"  # a bot, a deactivated account


def at(instant: dt.datetime) -> Clock:
    """A clock that reads `instant` now and runs on from there."""
    return Clock(offset=instant - dt.datetime.now(dt.UTC))


def prompted(slack: FakeSlack) -> list[str]:
    return ["U" + c.body["channel"][1:] for c in slack.calls if is_delivered_prompt(c)]


async def participants(database_url: str) -> set[str]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id).join(Participant, Participant.member_id == Member.id)
            )
            return {r[0] for r in rows}
    finally:
        await db.dispose()


async def wait_for_participants(
    database_url: str,
    expected: set[str],
    timeout: float = 15.0,  # noqa: ASYNC109 - polling helper
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await participants(database_url)
        if found == expected:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"participants are {sorted(found)}, not {sorted(expected)}")
        await asyncio.sleep(0.1)


def users_info_for(user_id: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("user") == user_id


def team(slack: FakeSlack, *members: str) -> None:
    for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
        slack.add_user(user, name, tz="Europe/Berlin")
    slack.add_user(HELPER, "helper", is_bot=True)
    slack.add_user(OLD, "old", deleted=True)
    slack.add_channel(CHANNEL, "team", members=members)  # public: AsyncStand joins it


async def create(app: RunningApp, *, time: str = "09:30", channel: str = CHANNEL) -> None:
    await app.requests.command(ALICE, "create")
    [opened] = await app.slack.wait_for("views.open")
    status, text = await app.requests.view_submission(
        ALICE,
        opened.body["view"],
        create_form_values(
            name="Team",
            channel=channel,
            questions=["Yesterday?", "Today?"],
            participants=[],  # the picker is optional with everyone in the channel
            days=list(range(7)),
            time=time,
            tz_mode="fixed",
            fixed_tz="UTC",
            participant_source="channel",
        ),
    )
    assert status == 200 and "errors" not in text, text


def created_dm(slack: FakeSlack) -> str:
    [dm] = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == "D" + ALICE[1:] and "Created" in str(c.body)
    ]
    return json.dumps(dm.body)


async def test_the_channel_takes_part_joiners_are_asked_and_leavers_are_not(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        team(slack, ALICE, BOB, HELPER, OLD)
        # Half a minute before a 09:30 UTC standup.
        clock = at(dt.datetime(2026, 12, 2, 9, 29, 30, tzinfo=dt.UTC))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await create(app)
            await slack.wait_for("conversations.join")
            # Right after the form: the channel's people, those not known yet included ...
            await wait_for_participants(database_url, {ALICE, BOB, HELPER, OLD})
            await slack.wait_for("chat.postMessage", predicate=lambda c: "Created" in str(c.body))
            assert "4 participant(s)" in created_dm(slack)
            # ... whom the planner looks up before anyone is prompted.
            for user in (HELPER, OLD):
                await slack.wait_for("users.info", predicate=users_info_for(user))

            # Carol joins, Bob leaves: Slack tells us.
            slack.add_member(CHANNEL, CAROL)
            joined = member_joined_channel_event(CAROL, CHANNEL)
            status, _ = await app.requests.event(joined, event_id="Ev0CAROLJOIN")
            assert status == 200
            # Slack's retry of the same delivery is acted on once.
            status, _ = await app.requests.event(joined, event_id="Ev0CAROLJOIN", retry_num=1)
            assert status == 200
            slack.remove_member(CHANNEL, BOB)
            status, _ = await app.requests.event(member_left_channel_event(BOB, CHANNEL))
            assert status == 200
            await wait_for_participants(database_url, {ALICE, CAROL, HELPER, OLD})

            # 09:30: Alice and Carol are asked; never the bot, the deactivated account or Bob.
            await slack.wait_for(
                "chat.postMessage", count=2, timeout=40, predicate=is_delivered_prompt
            )
            await asyncio.sleep(2)
            assert sorted(prompted(slack)) == [ALICE, CAROL]
        finally:
            await app.stop()


async def test_the_reconcile_fixes_what_no_event_said(database_url: str) -> None:
    async with FakeSlack() as slack:
        team(slack, ALICE, BOB, HELPER)
        clock = at(dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await create(app)
            await wait_for_participants(database_url, {ALICE, BOB, HELPER})
            await slack.wait_for("users.info", predicate=users_info_for(HELPER))

            # Carol is added and Bob removed without any event reaching us.
            slack.add_member(CHANNEL, CAROL)
            slack.remove_member(CHANNEL, BOB)
            slack.clear()
            clock.advance(hours=6, minutes=1)
            await slack.wait_for("conversations.members", timeout=15)
            # The bot, known by now, goes too.
            await wait_for_participants(database_url, {ALICE, CAROL})
        finally:
            await app.stop()


async def test_a_thousand_person_channel_syncs(database_url: str) -> None:
    async with FakeSlack() as slack:
        people = [f"U1{i:07d}" for i in range(999)]
        team(slack, ALICE, *people)
        clock = at(dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await create(app)
            await slack.wait_for("chat.postMessage", predicate=lambda c: "Created" in str(c.body))
            assert len(await participants(database_url)) == 1000
            assert "1000 participant(s)" in created_dm(slack)
            # 1,000 people and AsyncStand, 200 a page.
            assert len(slack.calls_to("conversations.members")) == 6
        finally:
            await app.stop()
