"""`python app.py` as an operator runs it: a real process, a bare environment, a fresh directory.

It must start from the README's two settings alone, create its SQLite file where it runs, answer
/healthz and /metrics, log JSON lines without tokens, stop cleanly on SIGTERM/SIGINT, and refuse
bad settings with a list of problems (exit code 2, no traceback). `--role` picks what it runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage import members as members_db
from storage import prompts as prompts_db
from storage import runs as runs_db
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Prompt
from tests.app_process import AppProcess, Launcher, ProcessPool
from tests.backends import free_port
from tests.harness import start_app
from tests.slack_fake import FakeSlack

# A distinctive token: whatever the app logs, this must never appear in its output.
TOKEN = "xoxb-4242424242-2424242424-PrOcEsStEsTsEcReTvAlUe"
ALICE = "U0ALICE01"
CHANNEL = "C0STANDUP1"


@pytest.fixture
async def launch(tmp_path: Path) -> AsyncIterator[Launcher]:
    """Build app processes in a fresh working directory; kill leftovers at the end."""
    pool = ProcessPool(tmp_path, "app")

    def _launch(
        *args: str, api_url: str | None = None, drop: tuple[str, ...] = (), **extra: str
    ) -> AppProcess:
        env = {
            **pool.base_env(),
            "SLACK_SIGNING_SECRET": "x",
            "SLACK_BOT_TOKEN": TOKEN,
            "PORT": str(free_port()),
        }
        if api_url is not None:
            env["SLACK_API_URL"] = api_url
        env.update(extra)
        for name in drop:
            env.pop(name, None)
        return pool.new(env, args)

    try:
        yield _launch
    finally:
        await pool.kill_all()


def _assert_clean_output(app: AppProcess) -> None:
    assert app.stderr == "" or app.stderr.endswith("\n"), "output cut off mid-line"
    for stream in (app.stdout, app.stderr):
        assert "Traceback" not in stream, stream
        assert TOKEN not in stream and TOKEN.split("-", 1)[1] not in stream, stream


# --- starting and stopping --------------------------------------------------------------------


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_starts_serves_and_stops_cleanly(launch: Launcher, stop_signal: int) -> None:
    async with FakeSlack(token=TOKEN) as slack:
        app = launch(api_url=slack.api_url, LOG_LEVEL="DEBUG")
        await app.start()
        await app.wait_healthy()
        assert (app.cwd / "asyncstand.db").is_file(), "SQLite file not created in the cwd"

        status, content_type, metrics = await app.get("/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        assert "# TYPE asyncstand_http_requests_total counter" in metrics
        assert 'asyncstand_http_requests_total{route="/healthz",status="200"}' in metrics

        # It asked the (fake) Slack which workspace the token belongs to, with that token.
        [auth] = await slack.wait_for("auth.test")
        assert auth.token == TOKEN and auth.ok
        ready = await app.wait_for_log("single_workspace_ready")
        assert ready["team_id"] == slack.team_id

        assert await app.stop(stop_signal) == 0
    assert app.proc is not None and app.proc.returncode == 0
    _assert_clean_output(app)
    events = [line.get("event") for line in app.log_lines()]
    assert "started" in events, events


async def test_readme_quick_start_needs_nothing_else(launch: Launcher) -> None:
    """Only SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (and PORT): no SLACK_API_URL, no .env."""
    app = launch()
    assert "SLACK_API_URL" not in app.env
    assert set(app.env) == {"PATH", "HOME", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "PORT"}
    await app.start()
    await app.wait_healthy()
    assert (app.cwd / "asyncstand.db").is_file()
    assert await app.stop() == 0
    _assert_clean_output(app)
    [started] = [line for line in app.log_lines() if line.get("event") == "started"]
    assert started["role"] == "all" and started["single_workspace"] is True
    assert started["level"] == "info" and "timestamp" in started


# --- refusing to start ------------------------------------------------------------------------


async def test_missing_signing_secret_exits_2_with_the_problem(launch: Launcher) -> None:
    app = launch(drop=("SLACK_SIGNING_SECRET",))
    await app.start()
    assert await app.wait_exit() == 2
    stderr = app.stderr
    assert "SLACK_SIGNING_SECRET" in stderr and "Signing Secret" in stderr
    assert "cannot start" in stderr
    assert "Traceback" not in stderr
    assert not (app.cwd / "asyncstand.db").exists(), "nothing is created when refusing to start"


async def test_every_bad_setting_is_listed(launch: Launcher) -> None:
    app = launch(SLACK_BOT_TOKEN="xoxp-1-2-3", DATABASE_URL="mysql://db/asyncstand", PORT="99999")
    await app.start()
    assert await app.wait_exit() == 2
    problems = [line for line in app.stderr.splitlines() if line.startswith("  - ")]
    named = sorted(p[4:].split(":", 1)[0] for p in problems)
    assert named == ["DATABASE_URL", "PORT", "SLACK_BOT_TOKEN"], app.stderr
    assert "Traceback" not in app.stderr
    assert "xoxp-1-2-3" not in app.stderr


async def test_help_describes_the_roles(launch: Launcher) -> None:
    app = launch("--help", drop=("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"))
    await app.start()
    assert await app.wait_exit() == 0
    assert "--role" in app.stdout
    for role in ("web", "worker", "all"):
        assert role in app.stdout
    bad = launch("--role", "everything")
    await bad.start()
    assert await bad.wait_exit() == 2
    assert "invalid choice" in bad.stderr and "Traceback" not in bad.stderr


# --- roles ------------------------------------------------------------------------------------


async def _seed_due_prompt(database_url: str, team_id: str) -> int:
    """A standup whose prompt for Alice is due now, written before the app starts."""
    database = Database(database_url)
    try:
        await upgrade_to_head(database.engine)
        now = dt.datetime.now(dt.UTC)
        async with database.session() as s:
            workspace = await workspaces_db.ensure_workspace(s, team_id)
            standup = await standups_db.create_standup(
                s,
                workspace.id,
                name="Daily",
                name_key="daily",
                channel_id=CHANNEL,
                questions=["What did you do?"],
                weekday_mask=0,
                local_time="09:30",
                tz_mode="participant",
                fixed_tz=None,
                owner_user_id=ALICE,
                participant_ids=[ALICE],
                now=now - dt.timedelta(days=1),
            )
            run = await runs_db.get_or_create_run(
                s, workspace.id, standup, now.date(), close_at=now + dt.timedelta(hours=4)
            )
            member = (await members_db.ensure_members(s, workspace.id, [ALICE]))[ALICE]
            await prompts_db.insert_prompt(
                s, workspace.id, run=run, member_id=member.id, due_at=now - dt.timedelta(seconds=5)
            )
            return workspace.id
    finally:
        await database.dispose()


async def _prompt_state(database_url: str) -> str:
    database = Database(database_url)
    try:
        async with database.session() as s:
            [prompt] = (await s.execute(Prompt.__table__.select())).all()
            return str(prompt.state)
    finally:
        await database.dispose()


def _is_dm(call: Any) -> bool:
    return str(call.body.get("channel", "")).startswith("D")


async def test_web_role_serves_without_scheduling_and_worker_role_schedules(
    launch: Launcher,
) -> None:
    async with FakeSlack(token=TOKEN) as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        web = launch("--role", "web", api_url=slack.api_url, SCHEDULER_TICK_SECONDS="0.5")
        database_url = f"sqlite+aiosqlite:///{web.cwd / 'asyncstand.db'}"
        await _seed_due_prompt(database_url, slack.team_id)

        await web.start()
        await web.wait_healthy()
        await slack.wait_for("auth.test")
        # A scheduler ticks at once and then every 0.5 s; give it several ticks' worth of time.
        await asyncio.sleep(2.5)
        slack.assert_not_called("chat.postMessage")
        slack.assert_not_called("conversations.open")
        assert await web.stop() == 0
        [started] = [line for line in web.log_lines() if line.get("event") == "started"]
        assert started["role"] == "web"
        assert await _prompt_state(database_url) == "pending"

        worker = launch("--role", "worker", api_url=slack.api_url, SCHEDULER_TICK_SECONDS="0.5")
        await worker.start()
        [dm] = await slack.wait_for("chat.postMessage", predicate=_is_dm, timeout=15)
        assert dm.body["channel"] == "D" + ALICE[1:]
        assert "prompt_answer" in json.dumps(dm.body.get("blocks"))
        await slack.wait_for("chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL)
        assert await worker.stop() == 0
        assert await _prompt_state(database_url) == "sent"
    _assert_clean_output(web)
    _assert_clean_output(worker)


async def test_stopping_lets_a_send_in_progress_finish(database_url: str) -> None:
    """Shutting down while a DM is on its way records it as sent, so it is never sent twice.

    (APScheduler's shutdown cancels running jobs; a tick cancelled between chat.postMessage and
    recording "sent" left the prompt "sending", to be re-sent once its lease ran out.)
    """
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        await _seed_due_prompt(database_url, slack.team_id)
        slack.method_latency["chat.postMessage"] = 1.0  # the DM is slow to go out
        app = await start_app(database_url, slack)
        try:
            # The DM channel is opened right before the (slow) DM is posted.
            await slack.wait_for("conversations.open")
        finally:
            await app.stop()
        dms = [c for c in slack.calls_to("chat.postMessage") if _is_dm(c)]
        assert len(dms) == 1
        assert await _prompt_state(database_url) == "sent"
