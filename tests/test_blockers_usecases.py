"""The blocker use cases (bot.blockers, and the answer path of bot.checkins) called directly, on
both databases; the Slack stand-in only receives the owners' escalation DMs.

Opening from answers (one per person and text, an edit follows, "none" resolves), the
``blocker.opened`` / ``blocker.resolved`` outbox rows, a Resolved or Still blocked click honoured
only for one's own blocker of one's own workspace, escalation once and only when overdue in
working days, and the listing's visibility."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import blockers, checkins
from bot.blockers import BlockerRef, FollowUpAnswered, StandupBlockers
from bot.outcomes import Refusal
from bot.people import Caller
from bot.rules.digest import AnswerEntry, OngoingBlocker, ParticipantStatus, build_digest
from bot.rules.permissions import Actor, Why
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views.blockers import (
    AskedBlocker,
    blockers_list_message,
    follow_up_message,
    mark_answered,
)
from bot.views.messages import summary_message
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import (
    AuditEntry,
    Blocker,
    Member,
    Prompt,
    PromptState,
    Run,
    RunState,
    Standup,
    Webhook,
    WebhookDelivery,
)
from tests.blockkit_limits import validate_message_blocks
from tests.harness import BOT_TOKEN
from tests.history_seed import QUESTIONS, Seeded, add_blocker, seed_standup
from tests.slack_fake import FakeSlack

TEAM, OTHER_TEAM = "T0HOME001", "T0OTHER01"
ALICE, BOB, CAROL, DAVE, STRANGER = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001", "U0STRANGE"
# Monday 2 March 2026, 10:00 in Berlin.
MONDAY = dt.date(2026, 3, 2)
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@dataclass
class Now:
    at: dt.datetime = START

    def __call__(self) -> dt.datetime:
        return self.at


@dataclass
class World:
    services: Services
    slack: FakeSlack
    now: Now
    seeded: Seeded
    other: Seeded
    runs: dict[dt.date, int] = field(default_factory=dict)

    def caller(self, user: str, *, admin: bool = False, other: bool = False) -> Caller:
        workspace = self.other.workspace_id if other else self.seeded.workspace_id
        return Caller.known(workspace, Actor(user, admin))


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with FakeSlack() as slack:
        for user in (ALICE, BOB, CAROL, DAVE):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        settings = load_settings(
            slack_signing_secret="s" * 32,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.api_url,
            database_url=database_url,
            _env_file=None,
        )
        db = Database(database_url)
        await upgrade_to_head(db.engine)
        now = Now()
        services = Services(
            settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=now
        )
        created = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
        profiles = {u: (u.lower(), "Europe/Berlin", False) for u in (ALICE, BOB, CAROL, DAVE)}
        seeded = await seed_standup(
            db,
            TEAM,
            name="Daily",
            owner=ALICE,
            participants=[ALICE, BOB],
            created=created,
            profiles=profiles,
            co_owners=[CAROL],
        )
        other = await seed_standup(
            db, OTHER_TEAM, name="Daily", owner=STRANGER, participants=[STRANGER], created=created
        )
        try:
            yield World(services, slack, now, seeded, other)
        finally:
            await services.slack.close()
            await db.dispose()


async def prompt_on(world: World, user: str, day: dt.date) -> int:
    """An open run on `day` and `user`'s delivered prompt in it, as the scheduler leaves them."""
    due = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC)
    async with world.services.db.session() as session:
        if day not in world.runs:
            run = Run(
                workspace_id=world.seeded.workspace_id,
                standup_id=world.seeded.standup_id,
                local_date=day,
                questions=list(QUESTIONS),
                channel_id="C0TEAM0001",
                state=RunState.OPEN,
                close_at=due + dt.timedelta(hours=4),
                created_at=due,
            )
            session.add(run)
            await session.flush()
            world.runs[day] = run.id
        prompt = Prompt(
            workspace_id=world.seeded.workspace_id,
            run_id=world.runs[day],
            standup_id=world.seeded.standup_id,
            member_id=world.seeded.members[user],
            local_date=day,
            due_at=due,
            state=PromptState.SENT,
            sent_at=due,
        )
        session.add(prompt)
        await session.flush()
        return prompt.id


async def answer(world: World, user: str, prompt_id: int, blocker: str) -> None:
    ref = checkins.PromptRef(world.seeded.workspace_id, user, prompt_id)
    done = await checkins.answer(world.services, ref, ["did", "next", blocker])
    assert isinstance(done, checkins.Answered), done


async def all_blockers(world: World) -> list[Blocker]:
    async with world.services.db.session() as session:
        return list((await session.execute(select(Blocker).order_by(Blocker.id))).scalars())


async def outbox(world: World) -> list[tuple[str, str, str | None]]:
    async with world.services.db.session() as session:
        rows = (await session.execute(select(WebhookDelivery))).scalars()
        return [
            (
                d.event_type,
                d.payload["data"]["blocker"]["text"],
                d.payload["data"]["blocker"]["resolved_at"],
            )
            for d in rows
            if d.event_type.startswith("blocker.")
        ]


async def subscribe(world: World) -> None:
    async with world.services.db.session() as session:
        session.add(
            Webhook(
                workspace_id=world.seeded.workspace_id,
                standup_id=world.seeded.standup_id,
                url="https://example.com/hook",
                secret_encrypted="not-used-here",
                events=["blocker.opened", "blocker.resolved"],
            )
        )


async def test_answers_open_one_blocker_per_text_and_edits_follow(world: World) -> None:
    await subscribe(world)
    monday = await prompt_on(world, BOB, MONDAY)
    await answer(world, BOB, monday, "none")
    assert await all_blockers(world) == []

    await answer(world, BOB, monday, "CI is red")  # an edit of the same check-in
    [opened] = await all_blockers(world)
    assert (opened.text, opened.opened_on, opened.prompt_id) == ("CI is red", MONDAY, monday)
    assert opened.member_id == world.seeded.members[BOB] and opened.resolved_at is None

    await answer(world, BOB, monday, "CI is red, still")  # edited again: the same blocker
    [edited] = await all_blockers(world)
    assert (edited.id, edited.text) == (opened.id, "CI is red, still")

    tuesday = await prompt_on(world, BOB, MONDAY + dt.timedelta(days=1))
    await answer(world, BOB, tuesday, "CI is red, still")  # said again: not a second one
    assert len(await all_blockers(world)) == 1
    await answer(world, BOB, tuesday, "Waiting for legal")  # something else: a second one
    assert [b.text for b in await all_blockers(world)] == ["CI is red, still", "Waiting for legal"]

    world.now.at += dt.timedelta(hours=1)
    await answer(world, BOB, tuesday, "n/a")  # edited to nothing: that one is over
    first, second = await all_blockers(world)
    assert first.resolved_at is None and second.resolved_at == world.now.at
    assert await outbox(world) == [
        ("blocker.opened", "CI is red", None),
        ("blocker.opened", "Waiting for legal", None),
        ("blocker.resolved", "Waiting for legal", "2026-03-02T10:00:00Z"),
    ]


async def test_only_the_person_resolves_their_own_blocker(world: World) -> None:
    await subscribe(world)
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    [blocker] = await all_blockers(world)
    home, other = world.seeded.workspace_id, world.other.workspace_id

    for ref in (
        BlockerRef(home, ALICE, blocker.id),  # the owner, but not theirs
        BlockerRef(other, BOB, blocker.id),  # another workspace's request
        BlockerRef(other, STRANGER, blocker.id),
        BlockerRef(home, BOB, None),
        BlockerRef(home, BOB, blocker.id + 1000),
    ):
        refused = await blockers.answer_follow_up(world.services, ref, resolved=True)
        assert refused == Refusal(Why.NOT_YOUR_BLOCKER), ref
    [still_open] = await all_blockers(world)
    assert still_open.resolved_at is None

    mine = BlockerRef(home, BOB, blocker.id)
    world.now.at = START + dt.timedelta(days=1)
    still = await blockers.answer_follow_up(world.services, mine, resolved=False)
    assert still == FollowUpAnswered(blocker.id, resolved=False, changed=True)
    done = await blockers.answer_follow_up(world.services, mine, resolved=True)
    assert done == FollowUpAnswered(blocker.id, resolved=True, changed=True)
    again = await blockers.answer_follow_up(world.services, mine, resolved=True)
    assert again == FollowUpAnswered(blocker.id, resolved=True, changed=False)
    late = await blockers.answer_follow_up(world.services, mine, resolved=False)
    assert late == FollowUpAnswered(blocker.id, resolved=True, changed=False)
    [closed] = await all_blockers(world)
    assert closed.still_blocked_on == MONDAY + dt.timedelta(days=1)
    assert closed.resolved_at == world.now.at
    async with world.services.db.session() as session:
        audits = (await session.execute(select(AuditEntry))).scalars().all()
    assert [(a.action, a.actor_user_id, a.before) for a in audits] == [
        ("blocker.resolved", BOB, {"blocker_id": blocker.id, "user": BOB, "text": "CI is red"})
    ]
    assert [e[0] for e in await outbox(world)] == ["blocker.opened", "blocker.resolved"]


def _escalations(world: World) -> list[tuple[str, str]]:
    return [
        ("U" + c.body["channel"][1:], json.dumps(c.body, ensure_ascii=False))
        for c in world.slack.calls_to("chat.postMessage")
    ]


async def test_escalation_once_to_every_owner_after_the_threshold_in_working_days(
    world: World,
) -> None:
    # Raised on Thursday 5 March; the threshold is 2 working days (Mon–Fri).
    thursday = MONDAY + dt.timedelta(days=3)
    await answer(world, BOB, await prompt_on(world, BOB, thursday), "Waiting <for> legal & co")
    await add_blocker(world.services.db, world.seeded, ALICE, "Alice's own", thursday)
    await add_blocker(world.services.db, world.seeded, BOB, "Old, fixed", MONDAY, resolved=True)
    await add_blocker(world.services.db, world.other, STRANGER, "Elsewhere", MONDAY)

    # Thursday to Monday: at most two working days (the weekend does not count). Only the other
    # workspace's blocker, open since Monday 2 March, is overdue (on Thursday); its standup's
    # only owner is the blocked person, who is not told about themselves.
    counts = []
    for day in (5, 6, 7, 8, 9):
        world.now.at = dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC)
        counts.append(await blockers.escalate_due(world.services))
    assert counts == [1, 0, 0, 0, 0]
    assert _escalations(world) == []

    # Tuesday 10 March: three working days > 2.
    world.now.at = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
    assert await blockers.escalate_due(world.services) == 2
    assert await blockers.escalate_due(world.services) == 0  # claimed: never twice
    await world.slack.wait_idle(quiet=0.2)
    home = _escalations(world)
    about_bob = sorted(who for who, said in home if f"<@{BOB}>" in said)
    about_alice = sorted(who for who, said in home if f"<@{ALICE}>" in said)
    assert about_bob == [ALICE, CAROL]  # the owner and the co-owner
    assert about_alice == [CAROL]  # not told about herself
    [said] = [s for who, s in home if who == ALICE]
    assert "Waiting &lt;for&gt; legal &amp; co" in said and "<for>" not in said
    assert "for 5 days" in said and "*Daily*" in said
    escalated = {b.text: b.escalated_at for b in await all_blockers(world)}
    assert escalated["Old, fixed"] is None


async def test_escalation_checks_the_threshold_exactly(world: World) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    world.now.at = dt.datetime(2026, 3, 4, 20, tzinfo=dt.UTC)  # Wednesday: 2 days, not more
    assert await blockers.escalate_due(world.services) == 0
    world.now.at = dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)  # Thursday in Berlin
    assert await blockers.escalate_due(world.services) == 1


async def test_an_escalation_nobody_received_is_tried_again_unless_it_never_can_be(
    world: World,
) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    world.now.at = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)  # overdue
    # Slack fails for both owners (Alice and Carol): the claim is given back.
    world.slack.fail_next("chat.postMessage", error="fatal_error", status=200, times=2)
    assert await blockers.escalate_due(world.services) == 0
    [blocker] = await all_blockers(world)
    assert blocker.escalated_at is None
    # A minute later it goes through, once.
    world.now.at += dt.timedelta(minutes=1)
    assert await blockers.escalate_due(world.services) == 1
    assert await blockers.escalate_due(world.services) == 0
    await world.slack.wait_idle(quiet=0.2)
    delivered = [
        "U" + c.body["channel"][1:]
        for c in world.slack.calls_to("chat.postMessage")
        if c.response.get("ok")
    ]
    assert sorted(delivered) == [ALICE, CAROL]  # each owner once, after the failed round


async def test_an_escalation_no_owner_can_ever_receive_is_not_retried(world: World) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    world.now.at = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
    world.slack.fail_next("chat.postMessage", error="account_inactive", status=200, times=2)
    assert await blockers.escalate_due(world.services) == 1
    [blocker] = await all_blockers(world)
    assert blocker.escalated_at is not None
    world.now.at += dt.timedelta(minutes=1)
    assert await blockers.escalate_due(world.services) == 0


async def test_a_paused_standups_blockers_are_not_escalated(world: World) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    async with world.services.db.session() as session:
        standup = await session.get(Standup, world.seeded.standup_id)
        assert standup is not None
        standup.active = False
    world.now.at = dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)  # long overdue
    assert await blockers.escalate_due(world.services) == 0
    [blocker] = await all_blockers(world)
    assert blocker.escalated_at is None  # still owed once the standup runs again

    async with world.services.db.session() as session:
        standup = await session.get(Standup, world.seeded.standup_id)
        assert standup is not None
        standup.active = True
    assert await blockers.escalate_due(world.services) == 1


async def test_resolving_a_blocker_redraws_the_persons_app_home(world: World) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    [blocker] = await all_blockers(world)
    opened = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    async with world.services.db.session() as session:
        bob = await session.get(Member, world.seeded.members[BOB])
        assert bob is not None
        bob.home_opened_at, bob.home_stale_at = opened, None
    ref = BlockerRef(world.seeded.workspace_id, BOB, blocker.id)
    done = await blockers.answer_follow_up(world.services, ref, resolved=True)
    assert isinstance(done, FollowUpAnswered) and done.resolved
    async with world.services.db.session() as session:
        bob = await session.get(Member, world.seeded.members[BOB])
        assert bob is not None and bob.home_stale_at is not None


async def test_the_list_is_for_whoever_may_see_the_standup(world: World) -> None:
    await answer(world, BOB, await prompt_on(world, BOB, MONDAY), "CI is red")
    await add_blocker(world.services.db, world.seeded, ALICE, "Older", MONDAY - dt.timedelta(3))
    world.now.at = START + dt.timedelta(days=2)
    listed = await blockers.standup_blockers(world.services, world.caller(DAVE), "daily")
    assert isinstance(listed, StandupBlockers)
    assert [(b.user_id, b.text, b.age_text) for b in listed.blockers] == [
        (ALICE, "Older", "for 5 days"),
        (BOB, "CI is red", "for 2 days"),
    ]
    by_id = await blockers.standup_blockers(
        world.services, world.caller(DAVE), world.seeded.standup_id
    )
    assert by_id == listed
    missing = await blockers.standup_blockers(world.services, world.caller(DAVE), "Nope")
    assert missing == Refusal(Why.NO_SUCH_STANDUP, "Nope")
    elsewhere = await blockers.standup_blockers(
        world.services, world.caller(STRANGER, other=True), world.seeded.standup_id
    )
    assert elsewhere == Refusal(Why.STANDUP_GONE)
    message = blockers_list_message(listed.standup_name, listed.blockers)
    validate_message_blocks(message["blocks"])
    assert f"<@{BOB}> _CI is red_ — for 2 days" in json.dumps(message, ensure_ascii=False)


async def test_a_private_channels_blockers_are_hidden_from_outsiders(database_url: str) -> None:
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    try:
        seeded = await seed_standup(
            db,
            TEAM,
            name="Secret",
            owner=ALICE,
            participants=[BOB],
            private=True,
            created=START,
            active=False,
        )
        await add_blocker(db, seeded, BOB, "hidden", MONDAY)
        settings = load_settings(
            slack_signing_secret="s" * 32,
            slack_bot_token=BOT_TOKEN,
            slack_api_url="http://127.0.0.1:9/api/",
            database_url=database_url,
            _env_file=None,
        )
        services = Services(
            settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=Now()
        )
        outsider = Caller.known(seeded.workspace_id, Actor(DAVE, False))
        insider = Caller.known(seeded.workspace_id, Actor(BOB, False))
        refused = await blockers.standup_blockers(services, outsider, "Secret")
        assert refused == Refusal(Why.NO_SUCH_STANDUP, "Secret")
        listed = await blockers.standup_blockers(services, insider, "Secret")
        assert isinstance(listed, StandupBlockers)
        assert [b.text for b in listed.blockers] == ["hidden"]
        await services.slack.close()
    finally:
        await db.dispose()


def test_the_follow_up_message_caps_its_buttons_and_marks_a_click() -> None:
    asked = [AskedBlocker(i, f"thing <{i}> & more " * 40) for i in range(1, 9)]
    message = follow_up_message("Daily *team*", asked)
    validate_message_blocks(message["blocks"])
    text = json.dumps(message, ensure_ascii=False)
    assert text.count('"blocker_resolved"') == 5 and "…and 3 more" in text
    assert "&lt;1&gt; &amp; more" in text and "<1>" not in text
    after = mark_answered(message["blocks"], 2, resolved=True)
    validate_message_blocks(after)
    assert json.dumps(after).count('"blocker_resolved"') == 4
    assert "✅ Resolved" in json.dumps(after, ensure_ascii=False)


def test_the_closed_summary_lists_new_then_ongoing_blockers_escaped() -> None:
    digest = build_digest(
        [ParticipantStatus("U1", "answered"), ParticipantStatus("U2", "missed")],
        [AnswerEntry("U1", "Fresh <one>")],
        final=True,
        ongoing=[OngoingBlocker("U2", "Old & stuck " * 100, "for 4 days")],
    )
    message = summary_message(
        standup_name="Daily", local_date="2026-03-04", digest=digest, final=True, total=2
    )
    validate_message_blocks(message["blocks"])
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts[0] == "*New blockers*\n• <@U1>: Fresh &lt;one&gt;"
    assert texts[1].startswith("*Ongoing blockers*\n• <@U2>: Old &amp; stuck")
    assert texts[1].endswith(" — for 4 days")
    assert texts[2].startswith("*Answered (1/2)*")


@settings(deadline=None, max_examples=60)
@given(
    texts=st.lists(st.text(min_size=1, max_size=700), min_size=1, max_size=12),
    name=st.text(max_size=80),
    pick=st.integers(min_value=0, max_value=11),
)
def test_any_follow_up_fits_block_kit_and_a_click_only_changes_its_own_buttons(
    texts: list[str], name: str, pick: int
) -> None:
    asked = [AskedBlocker(i + 1, text) for i, text in enumerate(texts)]
    message = follow_up_message(name, asked)
    validate_message_blocks(message["blocks"])
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(actions) == min(len(texts), 5)
    clicked = pick % len(actions) + 1
    after = mark_answered(message["blocks"], clicked, resolved=pick % 2 == 0)
    validate_message_blocks(after)
    left = [b["elements"][0]["value"] for b in after if b["type"] == "actions"]
    assert left == [str(i) for i in range(1, len(actions) + 1) if i != clicked]
