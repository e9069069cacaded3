"""DEBUG logs of the real app (`python app.py`, LOG_LEVEL=DEBUG) never contain an answer's text,
an OAuth code, a token or a secret: the database drivers' statement logs stay quiet, and
slack_sdk's request and response lines keep what was called and how it went, not the bodies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from cryptography.fernet import Fernet

from tests.app_process import AppProcess, ProcessPool
from tests.backends import free_port
from tests.harness import SIGNING_SECRET, answer_values, find_action, is_prompt
from tests.multi_workspace import (
    CLIENT_ID,
    CLIENT_SECRET,
    STATE_COOKIE,
    add_to_slack_href,
    create_standup,
)
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests

ALICE = "U0ALICE01"
CHANNEL = "C0STANDUP1"
CODE = "4242.8484.oauthcodenevertobelogged"
TOKEN = "xoxb-4242-8484-DeBuGlOgSbOtToKeN"
ANSWER = "shipped the secret-answer-text-1729"
SECOND = "second-answer-text-3141"


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[ProcessPool]:
    processes = ProcessPool(tmp_path, "debug")
    try:
        yield processes
    finally:
        await processes.kill_all()


async def _install(app: AppProcess) -> None:
    """The browser's part of an install: the landing page, then Slack's redirect back."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{app.url}/slack/install", allow_redirects=False) as landing:
            page = await landing.text()
            cookies = landing.headers.getall("Set-Cookie", [])
        [state] = parse_qs(urlsplit(add_to_slack_href(page)).query)["state"]
        cookie = next(c.split(";")[0] for c in cookies if c.startswith(STATE_COOKIE + "="))
        async with session.get(
            f"{app.url}/slack/oauth_redirect",
            params={"code": CODE, "state": state},
            headers={"Cookie": cookie},
            allow_redirects=False,
        ) as redirect:
            assert redirect.status == 200, await redirect.text()


async def test_debug_logs_hold_no_answer_text_oauth_code_or_token(
    pool: ProcessPool, database_url: str
) -> None:
    encryption_key = Fernet.generate_key().decode()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="UTC")
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_oauth_code(
            CODE, team_id=slack.team_id, team_name="Team", bot_token=TOKEN, installer_user_id=ALICE
        )
        env = {
            **pool.base_env(),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            "ENCRYPTION_KEY": encryption_key,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "DEBUG",
            "LOG_FORMAT": "json",
            "SCHEDULER_TICK_SECONDS": "0.5",
            "PORT": str(free_port()),
        }
        app = pool.new(env, ())
        await app.start()
        await app.wait_healthy()
        await _install(app)

        # A standup, today's run, and Alice's answers — every step that carries them logged.
        requests = SlackRequests(app.url, SIGNING_SECRET, team_id=slack.team_id, fake=slack)
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).strftime("%H:%M")
        await create_standup(
            requests, slack, ALICE, name="Daily", channel=CHANNEL, participants=[ALICE], time=later
        )
        status, _ = await requests.command(ALICE, "run Daily")
        assert status == 200
        [prompt] = await slack.wait_for("chat.postMessage", predicate=is_prompt, timeout=15)
        message = slack.get_message(prompt.response["channel"], prompt.response["ts"])
        assert message is not None
        value = find_action(message["blocks"], "prompt_answer")["value"]
        await requests.block_action(
            ALICE, "prompt_answer", value, channel_id=prompt.response["channel"], message=message
        )
        [opened] = await slack.wait_for(
            "views.open", predicate=lambda c: "q0" in json.dumps(c.body)
        )
        status, text = await requests.view_submission(
            ALICE, opened.body["view"], answer_values([ANSWER, SECOND])
        )
        assert status == 200 and "errors" not in text, text
        await slack.wait_for(
            "chat.postMessage",
            predicate=lambda c: c.body.get("thread_ts") and ANSWER in json.dumps(c.body),
            timeout=10,
        )
        await slack.wait_idle(quiet=0.5)
        assert await app.stop() == 0

    output = app.stdout + app.stderr
    for secret in (ANSWER, SECOND, CODE, TOKEN.split("-", 1)[1], CLIENT_SECRET, encryption_key):
        assert secret not in output, f"{secret!r} was logged"
    lines = app.log_lines()
    # DEBUG was on, and still says which Slack methods were called and how they went.
    slack_debug = [
        line["event"]
        for line in lines
        if line.get("level") == "debug" and str(line.get("logger", "")).startswith("slack_sdk")
    ]
    assert any("chat.postMessage (arguments withheld)" in e for e in slack_debug), slack_debug
    assert any("oauth.v2.access (arguments withheld)" in e for e in slack_debug), slack_debug
    assert any(e.startswith("Received the following response - status: 200") for e in slack_debug)
    assert any(line.get("event") == "answers_saved" for line in lines)
