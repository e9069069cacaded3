"""Events are handled at least once and acted on once, even when the replica handling one is
killed in the middle: the event is answered only after it was handled, so Slack's retry
arrives, and it is let through because the first attempt never completed."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.app_process import AppProcess, ProcessPool
from tests.backends import free_port
from tests.harness import BOT_TOKEN, SIGNING_SECRET
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests, app_home_opened_event

ALICE = "U0ALICE01"


def launch(pool: ProcessPool, database_url: str, slack: FakeSlack) -> AppProcess:
    env = {
        **pool.base_env(),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        "SCHEDULER_TICK_SECONDS": "0.5",
        "LOG_FORMAT": "json",
    }
    return pool.new(env, ())


async def test_an_event_whose_handler_was_killed_is_handled_on_slacks_retry(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeSlack(token=BOT_TOKEN) as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.method_latency["views.publish"] = 4.0  # the handler is mid-way for 4 s
        pool = ProcessPool(tmp_path, "events")
        first, second = launch(pool, database_url, slack), launch(pool, database_url, slack)
        try:
            # One after the other: two processes migrating a fresh SQLite file at once collide.
            for process in (first, second):
                await process.start()
                await process.wait_healthy(30)
            event = app_home_opened_event(ALICE)
            to_first = SlackRequests(first.url, SIGNING_SECRET, team_id=slack.team_id, fake=slack)
            to_second = SlackRequests(second.url, SIGNING_SECRET, team_id=slack.team_id, fake=slack)

            # The first delivery reaches `first`, which starts publishing the App Home...
            delivery = asyncio.create_task(to_first.event(event, event_id="Ev0KILLED01"))
            await asyncio.sleep(1.5)  # ...and is killed while views.publish (4 s) is under way
            assert not delivery.done()
            assert first.proc is not None
            first.proc.send_signal(signal.SIGKILL)
            assert await first.wait_exit(10) == -signal.SIGKILL
            with pytest.raises(Exception):  # noqa: B017 - the connection died with the process
                await delivery
            killed_at = time.monotonic()

            # Slack retries at once: the earlier attempt is still "in flight" to us, so we
            # ask Slack to come back later rather than claim it was handled.
            status, _ = await to_second.event(event, event_id="Ev0KILLED01", retry_num=1)
            assert status >= 500
            # Slack's next retry comes a minute later; by then the dead attempt is stale.
            await asyncio.sleep(max(0.0, 11 - (time.monotonic() - killed_at)))
            slack.method_latency["views.publish"] = 0.0
            before = len(slack.calls_to("views.publish"))
            status, _ = await to_second.event(event, event_id="Ev0KILLED01", retry_num=2)
            assert status == 200
            assert len(slack.calls_to("views.publish")) == before + 1
            # A late duplicate is acted on no more.
            status, _ = await to_second.event(event, event_id="Ev0KILLED01", retry_num=3)
            assert status == 200
            await slack.wait_idle(quiet=0.5)
            assert len(slack.calls_to("views.publish")) == before + 1
        finally:
            await pool.kill_all()
