"""Blockers end to end over real HTTP, on both databases, the days moved on with the harness
clock: Bob raises a blocker in Monday's check-in; Tuesday's prompt first asks whether he is still
blocked (he is); on Wednesday, still open past the standup's threshold, the owner gets one DM
about it — only one, however many ticks follow; Bob clicks Resolved and is not asked again on
Thursday."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry, Blocker
from tests.harness import (
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_delivered_prompt,
    start_app,
)
from tests.slack_fake import Call, FakeSlack

ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL, COMMAND_CHANNEL = "C0STANDUP1", "C0GENERAL1"
ZONE = "America/New_York"
BLOCKER = "CI is <red> & flaky"
SHOWN = "CI is &lt;red&gt; &amp; flaky"


def _dm(user: str) -> str:
    return "D" + user[1:]


def _is_follow_up(call: Call) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.ok
        and call.body.get("channel") == _dm(BOB)
        and "blocker_resolved" in json.dumps(call.body.get("blocks"))
    )


def _is_escalation(call: Call) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.body.get("channel") == _dm(ALICE)
        and "has been blocked" in json.dumps(call.body)
    )


def _bobs_prompts(slack: FakeSlack) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if is_delivered_prompt(c) and c.body["channel"] == _dm(BOB)
    ]


def _next_monday_clock() -> tuple[Clock, dt.datetime]:
    """A clock 12 s before a whole minute on the coming Monday (New York): that minute is the
    standup's time."""
    real = dt.datetime.now(dt.UTC)
    local = (real.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)).astimezone(
        ZoneInfo(ZONE)
    )
    days = (7 - local.weekday()) % 7 or 7
    monday = (local.replace(tzinfo=None) + dt.timedelta(days=days)).replace(tzinfo=ZoneInfo(ZONE))
    due = monday.astimezone(dt.UTC)
    return Clock(offset=due - real - dt.timedelta(seconds=12)), monday


async def _click(app: RunningApp, user: str, call: Call, action_id: str) -> Call:
    """`user` clicks `action_id` on the message `call` posted; the response_url answer."""
    before = len(app.slack.calls_to("response_url"))
    message: dict[str, Any] = {**call.body, "ts": call.response["ts"]}
    button = find_action(message["blocks"], action_id)
    status, _ = await app.requests.block_action(user, action_id, button["value"], message=message)
    assert status == 200
    return (await app.slack.wait_for("response_url", count=before + 1))[before]


async def _command(app: RunningApp, user: str, text: str) -> str:
    """`/standup <text>`: the ephemeral reply, as JSON text."""
    before = len(app.slack.calls_to("response_url"))
    status, body = await app.requests.command(user, text, channel_id=COMMAND_CHANNEL)
    assert status == 200, body
    if body.strip():  # answered in the acknowledgement itself
        return body
    reply = (await app.slack.wait_for("response_url", count=before + 1))[before]
    assert reply.body.get("response_type") == "ephemeral", reply.body
    return json.dumps(reply.body, ensure_ascii=False)


async def test_a_blocker_is_followed_up_escalated_once_and_resolved(database_url: str) -> None:
    clock, monday = _next_monday_clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz=ZONE)
        slack.add_user(BOB, "bob", tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(database_url, slack, clock=clock, scheduler_tick_seconds=0.3)
        try:
            await app.requests.command(ALICE, "create", channel_id=COMMAND_CHANNEL)
            [opened] = await slack.wait_for("views.open")
            status, text = await app.requests.view_submission(
                ALICE,
                opened.body["view"],
                create_form_values(
                    name="Daily",
                    channel=CHANNEL,
                    questions=["What did you do?", "Anything blocking you? [blocker]"],
                    participants=[ALICE, BOB],
                    days=list(range(5)),
                    time=monday.strftime("%H:%M"),
                    # Escalate after more than one working day (the default is two).
                    blocker_escalation_days="1",
                ),
            )
            assert status == 200 and "errors" not in text, text

            # Monday: Bob raises a blocker.
            [prompt] = await slack.wait_for(
                "chat.postMessage",
                predicate=lambda c: is_delivered_prompt(c) and c.body["channel"] == _dm(BOB),
                timeout=30,
            )
            button = find_action(prompt.body["blocks"], "prompt_answer")
            views_before = len(slack.calls_to("views.open"))
            await app.requests.block_action(BOB, "prompt_answer", button["value"])
            modal = (await slack.wait_for("views.open", count=views_before + 1))[-1].body["view"]
            status, text = await app.requests.view_submission(
                BOB, modal, answer_values(["shipped", BLOCKER])
            )
            assert status == 200 and "errors" not in text, text
            await slack.wait_idle(quiet=0.5)
            assert not [c for c in slack.calls if _is_follow_up(c)]

            # Tuesday: "Still blocked on …?" comes first, then the prompt; he still is.
            clock.advance(days=1)
            [tuesday] = await slack.wait_for("chat.postMessage", predicate=_is_follow_up)
            prompts = await slack.wait_for(
                "chat.postMessage",
                count=2,
                predicate=lambda c: is_delivered_prompt(c) and c.body["channel"] == _dm(BOB),
            )
            assert slack.calls.index(tuesday) < slack.calls.index(prompts[1])
            asked = json.dumps(tuesday.body["blocks"], ensure_ascii=False)
            assert f"Still blocked on _{SHOWN}_?" in asked and BLOCKER not in asked
            reply = await _click(app, BOB, tuesday, "blocker_still")
            assert reply.body.get("replace_original") in (True, "true")
            assert "Still blocked — noted" in json.dumps(reply.body, ensure_ascii=False)
            assert "blocker_still" not in json.dumps(reply.body)
            await slack.wait_idle(quiet=0.5)
            assert not [c for c in slack.calls if _is_escalation(c)]
            tuesday_date = (monday + dt.timedelta(days=1)).date().isoformat()
            listed = await _command(app, ALICE, "blockers daily")
            assert f"<@{BOB}> _{SHOWN}_ — since yesterday" in listed
            assert f"still blocked on {tuesday_date}" in listed
            assert "There is no standup called *Nope*" in await _command(
                app, ALICE, "blockers Nope"
            )
            assert "blockers &lt;name&gt;" in await _command(app, ALICE, "blockers")

            # Wednesday: open for two working days, more than the threshold: one DM to Alice.
            clock.advance(days=1)
            [escalation] = await slack.wait_for(
                "chat.postMessage", predicate=_is_escalation, timeout=15
            )
            said = json.dumps(escalation.body, ensure_ascii=False)
            assert f"<@{BOB}>" in said and "*Daily*" in said and SHOWN in said
            assert "since yesterday" not in said and "for 2 days" in said
            wednesday = (
                await slack.wait_for("chat.postMessage", count=2, predicate=_is_follow_up)
            )[1]
            for _ in range(3):  # more ticks and housekeeping rounds: still one DM
                clock.advance(minutes=2)
                await slack.wait_idle(quiet=0.8)
            assert len([c for c in slack.calls if _is_escalation(c)]) == 1

            # Bob clicks Resolved: the message says so; a second click changes nothing.
            reply = await _click(app, BOB, wednesday, "blocker_resolved")
            assert "✅ Resolved" in json.dumps(reply.body, ensure_ascii=False)
            again = await _click(app, BOB, wednesday, "blocker_resolved")
            assert "✅ Resolved" in json.dumps(again.body, ensure_ascii=False)
            # Alice can't resolve Bob's blocker from his message.
            refused = await _click(app, ALICE, wednesday, "blocker_resolved")
            assert refused.body.get("response_type") == "ephemeral"
            assert "isn't yours" in refused.body["text"]

            # Thursday: prompted, not asked about it any more.
            clock.advance(days=1)
            await slack.wait_for(
                "chat.postMessage",
                count=4,
                predicate=lambda c: is_delivered_prompt(c) and c.body["channel"] == _dm(BOB),
            )
            await slack.wait_idle(quiet=0.5)
            assert len([c for c in slack.calls if _is_follow_up(c)]) == 2
            assert len(_bobs_prompts(slack)) == 4

            # The closed runs' summaries: new blockers, then ongoing ones with their age.
            summaries = [
                json.dumps(m["blocks"], ensure_ascii=False)
                for m in slack.messages(CHANNEL)
                if "Standup closed" in json.dumps(m.get("blocks"))
            ]
            assert len(summaries) == 3, summaries
            first, second, third = summaries
            assert f"*New blockers*\\n• <@{BOB}>: {SHOWN}" in first
            assert "Ongoing blockers" not in first
            assert f"*Ongoing blockers*\\n• <@{BOB}>: {SHOWN} — since yesterday" in second
            assert "New blockers" not in second
            assert "No blockers reported" in third  # resolved before Wednesday's run closed
        finally:
            await app.stop()

    db = Database(database_url)
    try:
        async with db.session() as session:
            [blocker] = (await session.execute(select(Blocker))).scalars().all()
            assert blocker.text == BLOCKER
            assert blocker.resolved_at is not None and blocker.escalated_at is not None
            assert blocker.still_blocked_on == (monday + dt.timedelta(days=1)).date()
            assert blocker.opened_on == monday.date()
            actions = [
                (action, actor)
                for action, actor in await session.execute(
                    select(AuditEntry.action, AuditEntry.actor_user_id)
                )
            ]
            assert actions.count(("blocker.resolved", BOB)) == 1
    finally:
        await db.dispose()
