"""The whole standup loop driven purely as Slack drives the app: signed HTTP in, Web API out.

create → prompt at the participant's local minute → Answer → modal → thread reply → summary
→ restart without duplicates → close with blockers first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

from tests.harness import (
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import FakeSlack

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANNEL = "C0STANDUP1"


def _next_minute(zone: str) -> tuple[dt.datetime, str]:
    """The next whole minute (UTC instant) with at least 8 s to spare, and its local HH:MM."""
    now = dt.datetime.now(dt.UTC)
    target = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if (target - now).total_seconds() < 8:
        target += dt.timedelta(minutes=1)
    return target, target.astimezone(ZoneInfo(zone)).strftime("%H:%M")


async def test_standup_loop_end_to_end(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="America/New_York")
        slack.add_user(BOB, "bob", tz="America/Toronto")  # same wall clock as New York
        slack.add_user(CAROL, "carol", tz="Asia/Kolkata")  # 09:30 there is another instant
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack)
        try:
            await _drive_loop(app, slack, database_url)
        finally:
            await app.stop()


async def _drive_loop(app: RunningApp, slack: FakeSlack, database_url: str) -> None:
    req = app.requests
    # /standup create opens the modal.
    status, _ = await req.command(ALICE, "create")
    assert status == 200
    [opened] = await slack.wait_for("views.open")
    modal = opened.body["view"]
    labels = [b["label"]["text"] for b in modal["blocks"] if b["type"] == "input"]
    assert labels[:7] == [
        "Name",
        "Channel",
        "Questions",
        "Participants",
        "Days",
        "Time",
        "Time zone",
    ]

    due, local = _next_minute("America/New_York")
    name = "Core <team> & friends"
    status, text = await req.view_submission(
        ALICE,
        modal,
        create_form_values(
            name=name,
            channel=CHANNEL,
            questions=["What did you do?", "What's next?", "Any blockers? [blocker]"],
            participants=[ALICE, BOB, CAROL],
            days=list(range(7)),
            time=local,
        ),
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for("conversations.join", predicate=lambda c: c.body["channel"] == CHANNEL)

    # /standup list shows it, escaped.
    await req.command(ALICE, "list")
    [listed] = await slack.wait_for("response_url")
    listing = json.dumps(listed.body)
    assert "Core &lt;team&gt; &amp; friends" in listing and "<team>" not in listing

    # The DMs go out within 10 s of the minute, to the two whose local time it is.
    timeout = (due - dt.datetime.now(dt.UTC)).total_seconds() + 15
    dms = await slack.wait_for("chat.postMessage", count=2, timeout=timeout, predicate=is_prompt)
    for call in dms:
        lateness = call.at - due.timestamp()
        assert -0.5 <= lateness <= 10, f"prompt sent {lateness:.1f}s after its minute"
    recipients = {slack.user_for_dm(c.body["channel"]).id for c in dms}
    assert recipients == {ALICE, BOB}
    summary = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
    )
    summary_ts = summary[0].response["ts"]

    # Alice clicks Answer: a modal with one input per question.
    alice_dm = next(c for c in dms if slack.user_for_dm(c.body["channel"]).id == ALICE)
    button = find_action(alice_dm.body["blocks"], "prompt_answer")
    started = time.monotonic()
    status, _ = await req.block_action(
        ALICE, "prompt_answer", button["value"], channel_id=alice_dm.body["channel"]
    )
    assert status == 200
    answer_modal = (await slack.wait_for("views.open", count=2))[-1].body["view"]
    inputs = [b for b in answer_modal["blocks"] if b["type"] == "input"]
    assert [b["label"]["text"] for b in inputs] == [
        "What did you do?",
        "What's next?",
        "Any blockers?",
    ]

    status, text = await req.view_submission(
        ALICE,
        answer_modal,
        answer_values(["shipped <!channel> & tests", "more > less", "CI is red"]),
    )
    assert status == 200 and "errors" not in text, text
    replies = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body.get("thread_ts") == summary_ts, timeout=5
    )
    assert time.monotonic() - started < 5
    reply_text = json.dumps(replies[0].body["blocks"])
    assert "shipped &lt;!channel&gt; &amp; tests" in reply_text
    assert "more &gt; less" in reply_text
    assert "<!channel>" not in reply_text

    # A different user cannot use Alice's button.
    slack.clear()
    await req.block_action(
        BOB, "prompt_answer", button["value"], channel_id=alice_dm.body["channel"]
    )
    await slack.wait_for("response_url")
    slack.assert_not_called("views.open")

    # Restart: everything kept, nothing sent twice.
    await app.stop()
    slack.clear()
    app2 = await start_app(database_url, slack)
    try:
        await asyncio.sleep(2.0)
        assert not [c for c in slack.calls_to("chat.postMessage") if is_prompt(c)]
        await app2.requests.command(ALICE, "list")
        [listed] = await slack.wait_for("response_url")
        assert "Core &lt;team&gt; &amp; friends" in json.dumps(listed.body)
    finally:
        await app2.stop()

    # Hours later the run closes: blockers first, Bob did not answer.
    clock = Clock(offset=dt.timedelta(hours=4, minutes=5))
    slack.clear()
    app3 = await start_app(database_url, slack, clock=clock)
    try:
        updates = await slack.wait_for(
            "chat.update", predicate=lambda c: c.body.get("ts") == summary_ts, timeout=10
        )
        final = json.dumps(updates[-1].body["blocks"])
        assert final.index("New blockers") < final.index("Answered")
        assert "CI is red" in final
        sections = [b["text"]["text"] for b in updates[-1].body["blocks"] if b["type"] == "section"]
        assert f"*Didn't answer*: <@{BOB}>" in sections, sections
        assert f"*Answered (1/2)*: <@{ALICE}>" in sections, sections
    finally:
        await app3.stop()
