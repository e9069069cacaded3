"""Reminders over real HTTP, the way Slack drives the app (with the Slack stand-in and the
injected clock): the automatic reminder reaches the one who hasn't answered exactly once and
the one who answered never; `/standup remind` and its limit; `/standup reminders` and the App
Home switch; answering from the reminder's button.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.models import Prompt
from tests.harness import (
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import app_home_opened_event

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"  # owner (answers), waits, reminders off
CHANNEL = "C0STANDUP1"
ZONE = "America/New_York"
QUESTIONS = ["What did you do?", "What's next?", "Any blockers?"]


def is_reminder(call: Call) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.ok
        and str(call.body.get("channel", "")).startswith("D")
        and "reminder_answer" in json.dumps(call.body.get("blocks"))
    )


def reminded(slack: FakeSlack) -> list[str]:
    return ["U" + c.body["channel"][1:] for c in slack.calls if is_reminder(c)]


async def recorded_as_sent(app: RunningApp, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until `count` prompts are recorded as sent: the app records each DM just after
    Slack took it (together with others being sent, bot.group_commit)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with app.app.services.db.session() as session:
            sent = await session.scalar(
                select(func.count(Prompt.id)).where(Prompt.sent_at.is_not(None))
            )
        if (sent or 0) >= count:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{sent} of {count} recorded"
        await asyncio.sleep(0.05)


@dataclass
class Env:
    app: RunningApp
    slack: FakeSlack
    clock: Clock
    dms: dict[str, Call]

    async def command(self, user: str, text: str) -> str:
        """`/standup <text>` by `user`: the ephemeral reply's text."""
        before = len(self.slack.calls_to("response_url"))
        status, body = await self.app.requests.command(user, text)
        assert status == 200, body
        if body.strip():  # answered in the acknowledgement itself
            return str(json.loads(body).get("text", body))
        replies = await self.slack.wait_for("response_url", count=before + 1)
        return json.dumps(replies[before].body)

    async def answer(self, user: str, message: dict[str, Any], action_id: str) -> None:
        """`user` clicks `action_id` on `message` in their DM and submits the answer form."""
        opened = len(self.slack.calls_to("views.open"))
        button = find_action(message["blocks"], action_id)
        status, _ = await self.app.requests.block_action(
            user, action_id, button["value"], message=message
        )
        assert status == 200
        modal = (await self.slack.wait_for("views.open", count=opened + 1))[-1].body["view"]
        status, text = await self.app.requests.view_submission(
            user, modal, answer_values(["done", "more", "none"])
        )
        assert status == 200 and "errors" not in text, text

    async def home(self, user: str) -> dict[str, Any]:
        before = len(self.slack.calls_to("views.publish"))
        status, _ = await self.app.requests.event(app_home_opened_event(user))
        assert status == 200
        await self.slack.wait_for("views.publish", count=before + 1)
        return self.published_home(user)

    def published_home(self, user: str) -> dict[str, Any]:
        view = self.slack.home_view(user)
        assert view is not None
        return view


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Alice's standup "Core" for Alice, Bob and Carol (New York), run now: prompts sent."""
    async with FakeSlack() as slack:
        for user in (ALICE, BOB, CAROL):
            slack.add_user(user, user.lower(), tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        clock = Clock()
        app = await start_app(database_url, slack, clock=clock, scheduler_tick_seconds=0.2)
        try:
            req = app.requests
            await req.command(ALICE, "create")
            [opened] = await slack.wait_for("views.open")
            far = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).astimezone(ZoneInfo(ZONE))
            status, text = await req.view_submission(
                ALICE,
                opened.body["view"],
                create_form_values(
                    name="Core",
                    channel=CHANNEL,
                    questions=QUESTIONS,
                    participants=[ALICE, BOB, CAROL],
                    days=list(range(7)),
                    time=far.strftime("%H:%M"),
                ),
            )
            assert status == 200 and "errors" not in text, text
            await slack.wait_for("conversations.join")
            await req.command(ALICE, "run Core")
            calls = await slack.wait_for("chat.postMessage", count=3, predicate=is_prompt)
            yield Env(app, slack, clock, {"U" + c.body["channel"][1:]: c for c in calls})
        finally:
            await app.stop()


async def test_one_reminder_for_who_waits_none_for_who_answered(env: Env) -> None:
    slack = env.slack
    # Carol turns her reminders off with the command; Alice answers.
    assert "Your reminders are *on*" in await env.command(CAROL, "reminders")
    assert "Your reminders are *off*" in await env.command(CAROL, "reminders off")
    assert "`/standup reminders on`" in await env.command(CAROL, "reminders sometimes")
    alice_dm = env.dms[ALICE]
    await env.answer(ALICE, {**alice_dm.body, "ts": alice_dm.response["ts"]}, "prompt_answer")
    await slack.wait_for("chat.postMessage", predicate=lambda c: bool(c.body.get("thread_ts")))
    await slack.wait_idle(quiet=0.5)
    assert reminded(slack) == []

    # Two hours on, halfway through the four-hour window: Bob, once.
    env.clock.advance(minutes=121)
    [reminder] = await slack.wait_for("chat.postMessage", predicate=is_reminder)
    await slack.wait_idle(quiet=1.0)  # five more scheduler ticks
    env.clock.advance(minutes=5)
    await slack.wait_idle(quiet=1.0)
    assert reminded(slack) == [BOB]
    text = json.dumps(reminder.body["blocks"])
    assert "*Core* standup" in text and "It closes <!date^" in text

    # Alice nudges a little later: Bob again (Carol turned reminders off); then not again.
    env.clock.advance(minutes=6)
    said = await env.command(ALICE, "remind core")
    assert "Nudged 1 person who hasn't answered *Core* yet." in said
    assert "1 person turned reminders off and was left alone." in said
    await slack.wait_for("chat.postMessage", count=2, predicate=is_reminder)
    assert f"<@{ALICE}> nudged you" in json.dumps(slack.calls_to("chat.postMessage")[-1].body)
    again = await env.command(ALICE, "remind Core")
    assert "less than 10 minutes ago" in again and "You can nudge again <!date^" in again
    assert "Only the owners" in await env.command(CAROL, "remind Core")
    assert "Which standup?" in await env.command(ALICE, "remind")

    # Bob answers from the reminder's button.
    await env.answer(BOB, {**reminder.body, "ts": reminder.response["ts"]}, "reminder_answer")
    await slack.wait_for(
        "chat.postMessage", count=2, predicate=lambda c: bool(c.body.get("thread_ts"))
    )
    env.clock.advance(minutes=60)
    await slack.wait_idle(quiet=1.0)
    assert reminded(slack) == [BOB, BOB]


async def test_the_app_home_switch_turns_ones_own_reminders_off_and_on(env: Env) -> None:
    slack = env.slack
    home = await env.home(CAROL)
    assert "*Reminders:* on" in json.dumps(home["blocks"])
    button = find_action(home["blocks"], "reminders_toggle")
    assert (button["text"]["text"], button["value"]) == ("Turn off", "off")

    before = len(slack.calls_to("views.publish"))
    status, _ = await env.app.requests.block_action(CAROL, "reminders_toggle", "off", view=home)
    assert status == 200
    await slack.wait_for("views.publish", count=before + 1)
    home = env.published_home(CAROL)
    assert "*Reminders:* off" in json.dumps(home["blocks"])
    assert find_action(home["blocks"], "reminders_toggle")["value"] == "on"
    assert "Your reminders are *off*" in await env.command(CAROL, "reminders")
    # Only her own: Bob's are on. A value that isn't "on" or "off" changes nothing.
    assert "Your reminders are *on*" in await env.command(BOB, "reminders")
    before = len(slack.calls_to("views.publish"))
    await env.app.requests.block_action(CAROL, "reminders_toggle", f"on {BOB}", view=home)
    await slack.wait_for("views.publish", count=before + 1)
    assert "Your reminders are *off*" in await env.command(CAROL, "reminders")

    env.clock.advance(minutes=121)
    await slack.wait_for("chat.postMessage", count=2, predicate=is_reminder)
    await slack.wait_idle(quiet=1.0)
    assert sorted(reminded(slack)) == [ALICE, BOB]

    before = len(slack.calls_to("views.publish"))
    await env.app.requests.block_action(CAROL, "reminders_toggle", "on", view=home)
    await slack.wait_for("views.publish", count=before + 1)
    home = env.published_home(CAROL)
    assert "*Reminders:* on" in json.dumps(home["blocks"])


async def test_an_unanswered_dm_offers_a_late_answer_until_the_next_run(env: Env) -> None:
    slack = env.slack
    bob = env.dms[BOB]
    channel, ts = bob.body["channel"], bob.response["ts"]
    env.clock.advance(minutes=241)  # the run closes
    await slack.wait_for(
        "chat.update",
        predicate=lambda c: c.body.get("ts") == ts and "Answer late" in json.dumps(c.body),
    )
    late_dm = slack.get_message(channel, ts)
    assert late_dm is not None and "still answer" in json.dumps(late_dm["blocks"])

    # The next day's run starts: the late answer is no longer possible, and the DM says so
    # as soon as Bob tries.
    env.clock.advance(hours=20)
    await env.command(ALICE, "run Core")
    await slack.wait_for("chat.postMessage", count=6, predicate=is_prompt)
    await recorded_as_sent(env.app, 6)  # the next run has begun once its DMs are recorded
    button = find_action(late_dm["blocks"], "prompt_answer")
    before = len(slack.calls_to("response_url"))
    await env.app.requests.block_action(BOB, "prompt_answer", button["value"], message=late_dm)
    [refusal] = (await slack.wait_for("response_url", count=before + 1))[before:]
    assert "closed" in json.dumps(refusal.body)
    await slack.wait_for(
        "chat.update",
        predicate=lambda c: c.body.get("ts") == ts and "no longer collected" in json.dumps(c.body),
    )
    closed_dm = slack.get_message(channel, ts)
    assert closed_dm is not None and "prompt_answer" not in json.dumps(closed_dm["blocks"])
