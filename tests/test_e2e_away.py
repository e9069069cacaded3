"""End to end over real HTTP (issue 9): a participant who is out of office gets no prompt, is
listed as away in the live and the final summary, and never as "didn't answer"; the one who
is in is prompted, answers, and is counted as 1 of 1."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.models import Member, Prompt
from tests.harness import Clock, answer_values, find_action, is_delivered_prompt, start_app
from tests.slack_fake import FakeSlack
from tests.test_commands import ALICE, BOB, CHANNEL, COMMAND_CHANNEL, ZONE, _create, _reply


def _sections(message: dict[str, object]) -> list[str]:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


async def test_an_out_of_office_participant_end_to_end(database_url: str) -> None:
    # The app's clock starts 12 s before a whole minute: that minute is the standup's time.
    real = dt.datetime.now(dt.UTC)
    due = real.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    clock = Clock(offset=due - real - dt.timedelta(seconds=12))
    local = due.astimezone(ZoneInfo(ZONE))
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz=ZONE)
        slack.add_user(BOB, "bob", tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(database_url, slack, clock=clock, scheduler_tick_seconds=0.5)
        try:
            # Bob is away from today for three days, in his own calendar.
            start, end = local.date(), local.date() + dt.timedelta(days=2)
            reply = await _reply(app, BOB, f"ooo {start} {end}")
            assert "You're out of office" in reply.body["text"], reply.body
            await _create(app, ALICE, "Daily", [ALICE, BOB], time=local.strftime("%H:%M"))

            [prompt] = await slack.wait_for(
                "chat.postMessage", predicate=is_delivered_prompt, timeout=30
            )
            assert slack.user_for_dm(prompt.body["channel"]).id == ALICE
            [summary] = await slack.wait_for(
                "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
            )
            summary_ts = summary.response["ts"]

            # Alice answers.
            button = find_action(prompt.body["blocks"], "prompt_answer")
            await app.requests.block_action(ALICE, "prompt_answer", button["value"])
            modal = (await slack.wait_for("views.open", count=2))[-1].body["view"]
            status, text = await app.requests.view_submission(
                ALICE, modal, answer_values(["shipped", "more", "none"])
            )
            assert status == 200 and "errors" not in text, text
            await slack.wait_for(
                "chat.postMessage", predicate=lambda c: c.body.get("thread_ts") == summary_ts
            )
            await slack.wait_idle(quiet=1.0)
            live = slack.get_message(CHANNEL, summary_ts)
            assert live is not None
            assert f"*Away*: <@{BOB}>" in _sections(live)
            assert f"*Answered (1/1)*: <@{ALICE}>" in _sections(live)

            # Hours later the run closes: Bob is away, not missing.
            clock.advance(hours=4, minutes=5)
            await slack.wait_for(
                "chat.update",
                predicate=lambda c: (
                    c.body.get("ts") == summary_ts
                    and "Standup closed" in json.dumps(c.body["blocks"])
                ),
                timeout=10,
            )
            final = slack.get_message(CHANNEL, summary_ts)
            assert final is not None
            sections = _sections(final)
            assert f"*Away*: <@{BOB}>" in sections
            assert not any(s.startswith("*Didn't answer*") for s in sections), sections
            assert not [
                c
                for c in slack.calls_to("chat.postMessage")
                if c.body["channel"] == "D" + BOB[1:] and "prompt_answer" in json.dumps(c.body)
            ]
        finally:
            await app.stop()

    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id, Prompt.state).join(
                    Member, Member.id == Prompt.member_id
                )
            )
            assert {user: str(state) for user, state in rows} == {ALICE: "answered", BOB: "away"}
    finally:
        await db.dispose()
