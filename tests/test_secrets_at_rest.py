"""No token or client secret at rest (database) or in the logs, after an install with token
rotation, a full standup run and a failing Slack call."""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy.engine import make_url

import bot.logging as bot_logging
from bot.logging import configure_logging
from tests.harness import (
    SIGNING_SECRET,
    Clock,
    RunningApp,
    answer_values,
    find_action,
    is_prompt,
)
from tests.multi_workspace import (
    CLIENT_ID,
    CLIENT_SECRET,
    create_standup,
    install,
    open_create_modal,
    refreshes,
    start_multi,
)
from tests.slack_fake import FakeSlack

TEAM = "T0TEAM001"
ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL = "C0STANDUP1"
BOT_TOKEN = "xoxb-at-rest-7f3a9c2e51d8"
REFRESH_TOKEN = "xoxe-1-at-rest-refresh-4b6d8f0a2c"
ANSWER = "Shipped the rotation tests"


@contextmanager
def captured_logs(secrets: list[str]) -> Iterator[io.StringIO]:
    """The app's own logging set-up (JSON, DEBUG, secrets masked), written to a buffer."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_structlog = structlog.get_config()
    saved_secrets = bot_logging._EXACT_SECRETS[:]
    noisy = {name: logging.getLogger(name).level for name in ("aiohttp.access", "apscheduler")}
    buffer = io.StringIO()
    try:
        configure_logging("DEBUG", "json", secrets=secrets)
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        yield buffer
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.configure(**saved_structlog)
        bot_logging._EXACT_SECRETS[:] = saved_secrets
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


def issued_secrets(slack: FakeSlack) -> set[str]:
    """Every access and refresh token the fake handed out."""
    found = {BOT_TOKEN, REFRESH_TOKEN}
    for call in slack.calls_to("oauth.v2.access"):
        for key in ("access_token", "refresh_token"):
            if call.response.get(key):
                found.add(call.response[key])
    return found


async def database_text(database_url: str) -> bytes:
    """Everything the database holds: the SQLite files' bytes, or every text-like column of
    every table on Postgres."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [path, *(path.with_name(path.name + s) for s in ("-wal", "-journal"))]
        return b"".join(f.read_bytes() for f in files if f.exists())
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')"
        )
        assert columns
        chunks: list[str] = []
        for column in columns:
            rows = await conn.fetch(
                f'SELECT "{column["column_name"]}"::text AS v FROM "{column["table_name"]}"'
            )
            chunks.extend(r["v"] for r in rows if r["v"] is not None)
        return "\n".join(chunks).encode()
    finally:
        await conn.close()


async def _full_run(app: RunningApp, slack: FakeSlack, clock: Clock) -> None:
    await install(
        app,
        slack,
        "code-secret",
        team_id=TEAM,
        team_name="Secret Co",
        bot_token=BOT_TOKEN,
        installer=ALICE,
        refresh_token=REFRESH_TOKEN,
        expires_in=3600,  # inside the refresh window: the first use rotates it
    )
    slack.oauth_grants["code-secret"].expires_in = 43_200
    await create_standup(
        app.requests,
        slack,
        ALICE,
        name="Daily",
        channel=CHANNEL,
        participants=[ALICE, BOB],
        time="09:00",
    )
    assert len(refreshes(slack)) == 1

    status, _ = await app.requests.command(ALICE, "run Daily")
    assert status == 200
    prompts = await slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    alice_dm = next(c for c in prompts if c.body["channel"] == "D" + ALICE[1:])
    summary = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
    )
    summary_ts = summary[0].response["ts"]
    button = find_action(alice_dm.body["blocks"], "prompt_answer")
    await app.requests.block_action(
        ALICE, "prompt_answer", button["value"], channel_id=alice_dm.body["channel"]
    )
    modal = (await slack.wait_for("views.open", count=2))[-1].body["view"]
    status, text = await app.requests.view_submission(ALICE, modal, answer_values([ANSWER, "none"]))
    assert status == 200 and "errors" not in text, text
    await slack.wait_for("chat.postMessage", predicate=lambda c: c.body.get("thread_ts"))

    # A Web API call that fails.
    slack.fail_next("views.open", error="invalid_auth", status=200)
    failed = await open_create_modal(app.requests, slack, ALICE)
    assert failed.error == "invalid_auth"

    # The day closes: the summary is finalised.
    clock.advance(hours=5)
    await slack.wait_for(
        "chat.update",
        predicate=lambda c: c.body.get("ts") == summary_ts and "(closed)" in c.body["text"],
        timeout=8,
    )
    await slack.wait_idle()


async def test_no_secret_at_rest_or_in_logs(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="UTC")
        slack.add_user(BOB, "bob", tz="UTC")
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        key = base64.urlsafe_b64encode(b"k" * 32).decode()
        app = await start_multi(database_url, slack, encryption_key=key, clock=clock)
        settings = app.app.settings
        with captured_logs(settings.secret_values) as logs:
            try:
                await _full_run(app, slack, clock)
                await slack.wait_idle()
            finally:
                await app.stop()

        secrets = issued_secrets(slack) | {CLIENT_SECRET, SIGNING_SECRET, key}
        secrets.add(base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode())
        assert len(secrets) >= 7  # install token + refresh, rotated pair, client/signing/key

        stored = await database_text(database_url)
        assert ANSWER.encode() in stored  # the dump does see the data
        for marker in (b"xoxb-", b"xoxe-", b"xoxp-"):
            assert marker not in stored
        for secret in secrets:
            assert secret.encode() not in stored

        text = logs.getvalue()
        for event in ("installation_saved", "token_refreshed", "prompt_sent", "run_closed"):
            assert event in text, f"{event} was not logged"
        assert "create_modal_failed" in text and "invalid_auth" in text
        assert "oauth.v2.access" in text  # slack_sdk's DEBUG lines were captured too
        leaked = [s for s in secrets if s in text]
        assert leaked == []
        assert re.search(r"xox[abeprs]-(?!\[REDACTED\])", text) is None
