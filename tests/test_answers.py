"""Answering a prompt over real HTTP: the Answer/Edit/Skip buttons, the answer modal, the thread
reply (posted once, then edited in place), and that nobody can act on someone else's prompt."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage import prompts as prompts_db
from storage import workspaces as workspaces_db
from tests.harness import (
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import Call, FakeSlack

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANNEL = "C0STANDUP1"
ZONE = "America/New_York"
QUESTIONS = ["What did you do?", "What's next?", "Any blockers?"]
NOT_YOURS = "isn't yours"


@dataclass
class Prompt:
    """One participant's DM prompt as the fake received it."""

    user: str
    prompt_id: str
    channel: str
    ts: str


@dataclass
class Env:
    app: RunningApp
    slack: FakeSlack
    prompts: dict[str, Prompt]
    summary_ts: str


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Alice owns a standup with Alice and Bob; Carol is in the workspace but not in it.
    `/standup run` has sent both prompts and the summary is posted."""
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            yield await _setup(app, slack)
        finally:
            await app.stop()


async def _setup(app: RunningApp, slack: FakeSlack) -> Env:
    req = app.requests
    await req.command(ALICE, "create")
    [opened] = await slack.wait_for("views.open")
    far = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).astimezone(ZoneInfo(ZONE))
    status, text = await req.view_submission(
        ALICE,
        opened.body["view"],
        create_form_values(
            name="Core",
            channel=CHANNEL,
            questions=QUESTIONS,
            participants=[ALICE, BOB],
            days=list(range(7)),
            time=far.strftime("%H:%M"),
        ),
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for("conversations.join")
    await req.command(ALICE, "run Core")
    calls = await slack.wait_for("chat.postMessage", count=2, timeout=5, predicate=is_prompt)
    prompts = {}
    for call in calls:
        user = "U" + call.body["channel"][1:]
        value = find_action(call.body["blocks"], "prompt_answer")["value"]
        prompts[user] = Prompt(user, value, call.response["channel"], call.response["ts"])
    assert set(prompts) == {ALICE, BOB}
    [summary] = await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.body["channel"] == CHANNEL and not c.body.get("thread_ts"),
    )
    env = Env(app, slack, prompts, summary.response["ts"])
    for user in (ALICE, BOB):  # the worker records the DM right after posting it
        await _wait_state(env, user, "sent")
    await slack.wait_idle(quiet=0.2)
    return env


async def _prompt_row(env: Env, user: str) -> tuple[str, list[str]]:
    """(state, answer bodies) of a user's prompt, read from the database."""
    services = env.app.app.services
    async with services.db.session() as session:
        workspace = await workspaces_db.get_workspace(session, env.slack.team_id)
        assert workspace is not None
        prompt_id = int(env.prompts[user].prompt_id)
        view = await prompts_db.get_prompt_view(session, workspace.id, prompt_id)
        assert view is not None and view.member.slack_user_id == user
        answers = await prompts_db.prompt_answers(session, workspace.id, prompt_id)
    return view.prompt.state, [a.body for a in answers]


async def _wait_state(env: Env, user: str, state: str, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while (current := (await _prompt_row(env, user))[0]) != state:
        assert time.monotonic() < deadline, f"{user}'s prompt is {current!r}, not {state!r}"
        await asyncio.sleep(0.05)


async def _click(env: Env, user: str, action_id: str, owner: str) -> tuple[int, str]:
    """`user` clicks `action_id` on `owner`'s DM prompt (as stored in the fake now)."""
    prompt = env.prompts[owner]
    message = env.slack.get_message(prompt.channel, prompt.ts)
    assert message is not None
    value = find_action(message["blocks"], action_id)["value"]
    return await env.app.requests.block_action(
        user, action_id, value, channel_id=prompt.channel, message=message
    )


async def _open_answer_modal(env: Env, user: str, action_id: str = "prompt_answer") -> Any:
    before = len(env.slack.calls_to("views.open"))
    status, _ = await _click(env, user, action_id, user)
    assert status == 200
    opened = await env.slack.wait_for("views.open", count=before + 1, timeout=5)
    assert opened[-1].ok, env.slack.describe_calls(opened[-1:])
    return opened[-1].body["view"]


def _thread_posts(env: Env) -> list[Call]:
    return [
        c
        for c in env.slack.calls_to("chat.postMessage")
        if c.body["channel"] == CHANNEL and c.body.get("thread_ts") == env.summary_ts
    ]


def _updates(env: Env, channel: str, ts: str) -> list[Call]:
    return [
        c
        for c in env.slack.calls_to("chat.update")
        if c.body["channel"] == channel and c.body["ts"] == ts
    ]


def _section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


# --- the happy path ---------------------------------------------------------------------------


async def test_answer_then_edit_updates_the_thread_reply_in_place(env: Env) -> None:
    slack, req = env.slack, env.app.requests
    alice = env.prompts[ALICE]

    modal = await _open_answer_modal(env, ALICE)
    assert modal["callback_id"] == "answer_submit"
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [b["label"]["text"] for b in inputs] == QUESTIONS
    assert all("initial_value" not in b["element"] for b in inputs)

    first = ["shipped <!channel> & tests", "more > less", "CI is <red>"]
    status, text = await req.view_submission(ALICE, modal, answer_values(first))
    assert status == 200 and text.strip() == "", text

    [reply] = await slack.wait_for(
        "chat.postMessage", timeout=5, predicate=lambda c: c in _thread_posts(env)
    )
    assert reply.ok, slack.describe_calls([reply])
    shown = json.dumps(reply.body["blocks"]) + reply.body["text"]
    assert "shipped &lt;!channel&gt; &amp; tests" in shown
    assert "more &gt; less" in shown and "CI is &lt;red&gt;" in shown
    assert "<!channel>" not in shown and "<red>" not in shown
    assert f"<@{ALICE}>" in shown

    # The DM prompt now says "answered" and offers Edit instead of Answer.
    await slack.wait_for("chat.update", predicate=lambda c: c in _updates(env, *_dm(alice)))
    dm = slack.get_message(alice.channel, alice.ts)
    assert dm is not None
    assert "Answered" in json.dumps(dm["blocks"])
    assert find_action(dm["blocks"], "prompt_edit")["value"] == alice.prompt_id
    assert "prompt_answer" not in json.dumps(dm["blocks"])

    # The summary counts Alice as answered.
    await slack.wait_for(
        "chat.update",
        predicate=lambda c: (
            c in _updates(env, CHANNEL, env.summary_ts)
            and "Answered (1/2)" in json.dumps(c.body["blocks"])
        ),
    )
    summary = slack.get_message(CHANNEL, env.summary_ts)
    assert summary is not None and "Answered (1/2)" in json.dumps(summary["blocks"])
    assert await _prompt_row(env, ALICE) == ("answered", first)

    # Edit reopens the modal prefilled with what she wrote (raw, not escaped).
    modal = await _open_answer_modal(env, ALICE, "prompt_edit")
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [b["element"].get("initial_value") for b in inputs] == first

    slack.clear()
    second = ["shipped <!channel> & tests", "fix CI", "none"]
    status, text = await req.view_submission(ALICE, modal, answer_values(second))
    assert status == 200 and text.strip() == "", text
    reply_ts = reply.response["ts"]
    [edit] = await slack.wait_for(
        "chat.update", timeout=5, predicate=lambda c: c in _updates(env, CHANNEL, reply_ts)
    )
    assert edit.ok and "fix CI" in json.dumps(edit.body["blocks"])
    await slack.wait_idle(quiet=0.3)
    assert _thread_posts(env) == []  # edited in place, not posted again
    [stored] = slack.thread_replies(CHANNEL, env.summary_ts)
    assert stored["ts"] == reply_ts and "fix CI" in json.dumps(stored["blocks"])
    assert "CI is &lt;red&gt;" not in json.dumps(stored["blocks"])
    assert await _prompt_row(env, ALICE) == ("answered", second)


def _dm(prompt: Prompt) -> tuple[str, str]:
    return prompt.channel, prompt.ts


async def test_skip_today_marks_the_prompt_skipped(env: Env) -> None:
    slack = env.slack
    bob = env.prompts[BOB]
    status, _ = await _click(env, BOB, "prompt_skip", BOB)
    assert status == 200
    await slack.wait_for(
        "chat.update", timeout=5, predicate=lambda c: c in _updates(env, *_dm(bob))
    )
    dm = slack.get_message(bob.channel, bob.ts)
    assert dm is not None and "Skipped today" in json.dumps(dm["blocks"])
    assert "prompt_skip" not in json.dumps(dm["blocks"])
    await _wait_state(env, BOB, "skipped")

    await slack.wait_for(
        "chat.update",
        timeout=5,
        predicate=lambda c: (
            c in _updates(env, CHANNEL, env.summary_ts)
            and "Skipped" in json.dumps(c.body["blocks"])
        ),
    )
    summary = slack.get_message(CHANNEL, env.summary_ts)
    assert summary is not None
    [skipped_line] = [t for t in _section_texts(summary["blocks"]) if "Skipped" in t]
    assert f"<@{BOB}>" in skipped_line and f"<@{ALICE}>" not in skipped_line
    assert _thread_posts(env) == []  # skipping posts no answers

    # Skipping twice is harmless and says so.
    before = len(slack.calls_to("response_url"))
    message = {"type": "message", "ts": bob.ts, "blocks": [], "text": ""}
    await env.app.requests.block_action(
        BOB, "prompt_skip", bob.prompt_id, channel_id=bob.channel, message=message
    )
    [nothing] = (await slack.wait_for("response_url", count=before + 1))[before:]
    assert "Nothing to skip" in nothing.body["text"]
    assert (await _prompt_row(env, BOB))[0] == "skipped"


# --- someone else's prompt --------------------------------------------------------------------


async def test_nobody_else_can_answer_skip_or_submit_for_alice(env: Env) -> None:
    slack, req = env.slack, env.app.requests
    alice = env.prompts[ALICE]
    slack.clear()

    for intruder in (BOB, CAROL):  # a fellow participant, and a bystander
        for action_id in ("prompt_answer", "prompt_skip"):
            before = len(slack.calls_to("response_url"))
            status, _ = await _click(env, intruder, action_id, ALICE)
            assert status == 200
            [refusal] = (await slack.wait_for("response_url", count=before + 1))[before:]
            assert NOT_YOURS in refusal.body["text"], refusal.body
            assert refusal.body.get("response_type") == "ephemeral"
            assert not refusal.body.get("replace_original")
    slack.assert_not_called("views.open")

    # Alice's real modal, submitted by Bob (same workspace): refused on the form itself.
    alice_modal = await _open_answer_modal(env, ALICE)
    assert alice_modal["private_metadata"] == alice.prompt_id
    for intruder in (BOB, CAROL):
        status, text = await req.view_submission(
            intruder, alice_modal, answer_values(["hijacked", "hijacked", "hijacked"])
        )
        assert status == 200
        ack = json.loads(text)
        assert ack["response_action"] == "errors"
        assert NOT_YOURS in ack["errors"]["q0"]

    await slack.wait_idle(quiet=0.5)
    assert await _prompt_row(env, ALICE) == ("sent", [])
    assert _thread_posts(env) == []
    assert _updates(env, *_dm(alice)) == []
    assert "hijacked" not in json.dumps([c.body for c in slack.calls])
    dm = slack.get_message(alice.channel, alice.ts)
    assert dm is not None and "prompt_answer" in json.dumps(dm["blocks"])


async def test_tampered_prompt_ids_are_refused(env: Env) -> None:
    slack, req = env.slack, env.app.requests
    bob = env.prompts[BOB]
    modal = await _open_answer_modal(env, BOB)
    for metadata in ("", "abc", "-1", "0", "99999", "9" * 40, env.prompts[ALICE].prompt_id):
        status, text = await req.view_submission(
            BOB, {**modal, "private_metadata": metadata}, answer_values(["a", "b", "c"])
        )
        assert status == 200, (metadata, text)
        ack = json.loads(text)
        assert ack["response_action"] == "errors" and "q0" in ack["errors"], (metadata, ack)
    for value in ("abc", "9" * 40, "0"):
        before = len(slack.calls_to("response_url"))
        message = {"type": "message", "ts": bob.ts, "blocks": [], "text": ""}
        status, _ = await req.block_action(
            BOB, "prompt_answer", value, channel_id=bob.channel, message=message
        )
        assert status == 200, value
        [refusal] = (await slack.wait_for("response_url", count=before + 1))[before:]
        assert NOT_YOURS in refusal.body["text"]
    assert await _prompt_row(env, ALICE) == ("sent", [])
    assert await _prompt_row(env, BOB) == ("sent", [])


# --- field errors and long answers ------------------------------------------------------------


async def test_empty_answers_get_field_errors(env: Env) -> None:
    modal = await _open_answer_modal(env, ALICE)
    status, text = await env.app.requests.view_submission(
        ALICE, modal, answer_values(["did things", "   ", ""])
    )
    assert status == 200
    ack = json.loads(text)
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"q1", "q2"}
    await env.slack.wait_idle(quiet=0.3)
    assert await _prompt_row(env, ALICE) == ("sent", [])
    assert _thread_posts(env) == []


async def test_long_answers_fit_block_kit_limits(env: Env) -> None:
    slack, req = env.slack, env.app.requests
    modal = await _open_answer_modal(env, ALICE)
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert {b["element"]["max_length"] for b in inputs} == {3000}  # Slack's input ceiling

    # More than an input can hold (Slack itself never sends this): a field error, not a crash.
    status, text = await req.view_submission(
        ALICE, modal, answer_values(["x" * 10_000, "ok", "ok"])
    )
    assert status == 200
    ack = json.loads(text)
    assert ack["response_action"] == "errors" and set(ack["errors"]) == {"q0"}
    assert "3000" in ack["errors"]["q0"]
    assert await _prompt_row(env, ALICE) == ("sent", [])

    # Every answer at the limit and full of characters that grow 4-5x when escaped: ~45,000
    # characters of mrkdwn, which must be split over sections of at most 3,000.
    long_answers = [
        ("R&D <ops> " * 300)[:3000],
        ("&" * 2999) + "!",
        "\n".join(["<@U0BOB0001> & <!here>"] * 200)[:3000],
    ]
    status, text = await req.view_submission(ALICE, modal, answer_values(long_answers))
    assert status == 200 and text.strip() == "", text
    [reply] = await slack.wait_for(
        "chat.postMessage", timeout=5, predicate=lambda c: c in _thread_posts(env)
    )
    assert reply.ok, slack.describe_calls([reply])  # the fake enforces Block Kit limits
    sections = _section_texts(reply.body["blocks"])
    assert len(sections) >= 10
    assert all(len(s) <= 3000 for s in sections)
    shown = "".join("".join(sections).split())
    for answer in long_answers:
        escaped = answer.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert "".join(escaped.split()) in shown  # nothing lost, nothing unescaped
    assert "<!here>" not in json.dumps(reply.body)
    assert await _prompt_row(env, ALICE) == ("answered", [a.strip() for a in long_answers])


async def test_an_answer_with_nul_characters_is_stored_without_them(env: Env) -> None:
    """Postgres refuses NUL in text: such an answer used to fail with "please try again",
    however often it was tried."""
    slack, req = env.slack, env.app.requests
    modal = await _open_answer_modal(env, ALICE)
    status, text = await req.view_submission(
        ALICE, modal, answer_values(["shipped\x00 it", "next\x00", "none"])
    )
    assert status == 200 and text.strip() == "", text
    [reply] = await slack.wait_for(
        "chat.postMessage", timeout=5, predicate=lambda c: c in _thread_posts(env)
    )
    assert reply.ok and "shipped it" in json.dumps(reply.body["blocks"])
    assert await _prompt_row(env, ALICE) == ("answered", ["shipped it", "next", "none"])
