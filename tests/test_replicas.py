"""Several `python app.py` processes on one Postgres database, as replicas run in production.

The processes use the real clock, so the standups here are due at the current minute (a real
instant, at most a minute old and well within the grace period) or are started with
`/standup run`. Each process talks to a Slack stand-in in this test process; where it matters
which process made a call, each gets a stand-in of its own (the same users and channel), so the
calls tell who sent what. Rate-limit buckets are shared through the local Redis, keyed by a bot
token unique to the test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.delivery import PROMPT_LEASE, SEND_CONCURRENCY
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt
from tests.app_process import AppProcess, Launcher, ProcessPool
from tests.backends import free_port, postgres_only
from tests.harness import SIGNING_SECRET, is_delivered_prompt
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import SlackRequests

CHANNEL = "C0STANDUP1"
# Thirty participants over ten zones; at any instant three or four of them share UTC's wall
# clock (UTC, Abidjan, Reykjavik all year; London in winter) and the rest are hours away.
ZONES = [
    "UTC",
    "Africa/Abidjan",
    "Atlantic/Reykjavik",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Adelaide",
]
PEOPLE = {f"U0P{n:06d}": ZONES[n % len(ZONES)] for n in range(30)}
OWNER = next(iter(PEOPLE))

pytestmark = postgres_only


@pytest.fixture
async def launch(tmp_path: Path, database_url: str, redis_url: str) -> AsyncIterator[Launcher]:
    """`python app.py` processes on the test's database, each pointed at a Slack stand-in;
    any left running are killed at the end."""
    pool = ProcessPool(tmp_path, "replica")  # no .env there: only the environment below counts

    def _launch(slack: FakeSlack, token: str, *args: str) -> AppProcess:
        env = {
            **pool.base_env(),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": token,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PORT": str(free_port()),
            "SCHEDULER_TICK_SECONDS": "0.5",
            "LOG_FORMAT": "json",
        }
        return pool.new(env, args)

    try:
        yield _launch
    finally:
        await pool.kill_all()


def unique_token() -> str:
    """A bot token of this test's own, so its rate-limit buckets in Redis are its own too."""
    return f"xoxb-replicas-{uuid.uuid4().hex}"


def new_slack(token: str, cls: type[FakeSlack] = FakeSlack) -> FakeSlack:
    slack = cls(token=token)
    for user, zone in PEOPLE.items():
        slack.add_user(user, user.lower(), tz=zone)
    slack.add_channel(CHANNEL, "standup", bot_is_member=True)
    return slack


async def seed_standup(
    database_url: str, team_id: str, *, local_time: str, fixed_tz: str | None, created: dt.datetime
) -> None:
    """Store a standup for everyone in PEOPLE (every day) the way /standup create does."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)  # already done by the processes: a no-op
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name="Daily",
                name_key=name_key("Daily"),
                channel_id=CHANNEL,
                questions=["What did you do?", "Any blockers?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=local_time,
                tz_mode="fixed" if fixed_tz else "participant",
                fixed_tz=fixed_tz,
                owner_user_id=OWNER,
                participant_ids=list(PEOPLE),
                now=created,
            )
    finally:
        await db.dispose()


async def prompt_rows(database_url: str) -> dict[str, Prompt]:
    """Every prompt row by Slack user id (one run: one row each at most)."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = (
                await session.execute(
                    select(Member.slack_user_id, Prompt).join(Member, Member.id == Prompt.member_id)
                )
            ).all()
    finally:
        await db.dispose()
    found = {user: prompt for user, prompt in rows}
    assert len(found) == len(rows)
    return found


def current_minute() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def prompt_dms(*fakes: FakeSlack) -> list[Call]:
    return [c for slack in fakes for c in slack.calls if is_delivered_prompt(c)]


def user_of(call: Call) -> str:
    return "U" + str(call.body.get("channel") or call.body.get("users"))[1:]


def summary_posts(*fakes: FakeSlack) -> list[Call]:
    return [
        c
        for slack in fakes
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == CHANNEL and not c.body.get("thread_ts")
    ]


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    what: str,
    timeout: float,  # noqa: ASYNC109 - polling helper
    processes: Sequence[AppProcess] = (),
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        for process in processes:
            assert process.proc is not None
            if process.proc.returncode is not None:
                raise AssertionError(f"a replica exited early:\n{process.stderr[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def assert_clean(process: AppProcess) -> None:
    """No traceback and no error-level log line (a killed replica is judged until its death)."""
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    errors = [line for line in process.log_lines() if line.get("level") in ("error", "critical")]
    assert not errors, errors


async def start_all(*processes: AppProcess) -> None:
    await asyncio.gather(*(p.start() for p in processes))
    await asyncio.gather(*(p.wait_healthy(30) for p in processes))


# --- two replicas, one schedule ------------------------------------------------------------------


async def test_two_replicas_prompt_each_participant_whose_minute_it_is_exactly_once(
    launch: Launcher, database_url: str
) -> None:
    token = unique_token()
    async with new_slack(token) as slack:
        first, second = launch(slack, token), launch(slack, token)
        await start_all(first, second)
        await slack.wait_for("auth.test", count=2)

        # Both replicas are ticking when the standup appears, due at this minute (UTC's wall
        # clock) in each participant's own zone.
        due = current_minute()
        local_time = due.strftime("%H:%M")
        await seed_standup(
            database_url,
            slack.team_id,
            local_time=local_time,
            fixed_tz=None,
            created=due - dt.timedelta(seconds=1),
        )
        expected = {
            user
            for user, zone in PEOPLE.items()
            if due.astimezone(ZoneInfo(zone)).strftime("%H:%M") == local_time
        }
        assert 3 <= len(expected) < len(PEOPLE)

        await slack.wait_for("chat.postMessage", count=len(expected), predicate=is_delivered_prompt)
        await slack.wait_idle(quiet=1.5)  # three more ticks of each replica: nothing else goes out

        assert Counter(user_of(c) for c in prompt_dms(slack)) == dict.fromkeys(expected, 1)
        assert len(summary_posts(slack)) == 1
        rows = await prompt_rows(database_url)
        # Only the participants whose local time it is have a prompt at all (the others' are
        # hours away, beyond what the planner creates ahead of time).
        assert set(rows) == expected
        assert {(p.state, p.attempts, p.due_at) for p in rows.values()} == {("sent", 1, due)}

        assert await first.stop() == 0 and await second.stop() == 0
    assert_clean(first)
    assert_clean(second)


class StaggeredSlack(FakeSlack):
    """conversations.open answers after 0.1 s times the number it has answered before (at most
    3 s): a fan-out's DMs then go out over a few seconds rather than all at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._opens = 0

    async def _delay(self, method: str) -> None:
        if method == "conversations.open":
            stagger, self._opens = min(0.1 * self._opens, 3.0), self._opens + 1
            await asyncio.sleep(stagger)
        await super()._delay(method)


async def test_a_replica_killed_mid_fan_out_is_finished_by_the_other_after_the_lease(
    launch: Launcher, database_url: str
) -> None:
    """SIGKILL the replica that is sending: the survivor sends the rest once the dead one's
    claims expire (40 s). Nobody is missed; the only duplicates are DMs that had reached Slack
    when the sender died, before it could record them."""
    token = unique_token()
    slacks = [new_slack(token, StaggeredSlack), new_slack(token, StaggeredSlack)]
    for slack in slacks:
        slack.method_latency["chat.postMessage"] = 0.2
    async with slacks[0], slacks[1]:
        replicas = [launch(slacks[0], token), launch(slacks[1], token)]
        await start_all(*replicas)
        for slack in slacks:
            await slack.wait_for("auth.test")

        due = current_minute()
        await seed_standup(
            database_url,
            slacks[0].team_id,
            local_time=due.strftime("%H:%M"),
            fixed_tz="UTC",  # everyone is due now
            created=due - dt.timedelta(seconds=1),
        )
        await eventually(lambda: bool(prompt_dms(*slacks)), "the first prompt DM", 20, replicas)
        victim_index = 0 if prompt_dms(slacks[0]) else 1
        victim, survivor = replicas[victim_index], replicas[1 - victim_index]
        victim_slack, survivor_slack = slacks[victim_index], slacks[1 - victim_index]
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        assert await victim.wait_exit(10) == -signal.SIGKILL
        killed_at = time.time()
        sent_before_kill = {user_of(c) for c in prompt_dms(victim_slack)}
        assert len(sent_before_kill) < len(PEOPLE), "the fan-out should still have been going"

        def everyone_prompted() -> bool:
            return {user_of(c) for c in prompt_dms(*slacks)} == set(PEOPLE)

        lease = PROMPT_LEASE.total_seconds()
        await eventually(everyone_prompted, "every participant's prompt", lease + 25, (survivor,))

        async def all_recorded() -> bool:
            return {p.state for p in (await prompt_rows(database_url)).values()} == {"sent"}

        # DMs the victim had in flight count as prompted before the survivor has recorded them.
        await eventually(all_recorded, "every prompt recorded as sent", 30, (survivor,))
        await survivor_slack.wait_idle(quiet=1.5)

        dms = Counter(user_of(c) for c in prompt_dms(*slacks))
        duplicated = {user for user, count in dms.items() if count > 1}
        assert max(dms.values()) <= 2
        # A DM is sent twice only if its request had reached Slack when the victim died.
        in_flight = {
            user_of(c)
            for c in victim_slack.calls_to("chat.postMessage")
            if c.body["channel"].startswith("D") and c.at < killed_at
        }
        assert duplicated <= in_flight, (duplicated, in_flight)
        assert len(duplicated) <= SEND_CONCURRENCY  # at most one fan-out slot each
        # The survivor left the victim's claims alone until their lease ran out.
        contacted = {user_of(c) for c in victim_slack.calls if c.method == "conversations.open"}
        contacted |= {user_of(c) for c in prompt_dms(victim_slack)}
        taken_over = [c for c in prompt_dms(survivor_slack) if user_of(c) in contacted]
        assert taken_over, "the survivor should have sent the victim's unfinished prompts"
        assert min(c.at for c in taken_over) >= killed_at + lease - 10
        # The run's summary had been posted (and recorded) before any DM: never again.
        assert len(summary_posts(*slacks)) == 1

        rows = await prompt_rows(database_url)
        assert set(rows) == set(PEOPLE)
        assert {p.state for p in rows.values()} == {"sent"}
        assert {p.attempts for p in rows.values()} <= {1, 2}
        assert await survivor.stop() == 0
    assert_clean(survivor)
    assert_clean(victim)


# --- web and worker roles -------------------------------------------------------------------------


async def test_web_replica_takes_commands_and_worker_replica_sends_the_prompts(
    launch: Launcher, database_url: str
) -> None:
    token = unique_token()
    web_slack, worker_slack = new_slack(token), new_slack(token)
    async with web_slack, worker_slack:
        web = launch(web_slack, token, "--role", "web")
        worker = launch(worker_slack, token, "--role", "worker")
        await start_all(web, worker)  # both serve /healthz
        await web_slack.wait_for("auth.test")
        await worker_slack.wait_for("auth.test")
        await seed_standup(
            database_url,
            web_slack.team_id,
            local_time=(current_minute() + dt.timedelta(hours=6)).strftime("%H:%M"),
            fixed_tz="UTC",  # not due for hours: only /standup run makes it due
            created=current_minute() - dt.timedelta(minutes=1),
        )

        requests = SlackRequests(web.url, SIGNING_SECRET, team_id=web_slack.team_id, fake=web_slack)
        status, _ = await requests.command(OWNER, "run Daily")
        assert status == 200
        [reply] = await web_slack.wait_for("response_url")
        assert f"{len(PEOPLE)} participant(s) are getting their prompt now" in json.dumps(
            reply.body
        )

        # The worker, polling the database, sends every prompt (the web process can't wake it).
        await worker_slack.wait_for(
            "chat.postMessage", count=len(PEOPLE), predicate=is_delivered_prompt, timeout=20
        )
        await worker_slack.wait_idle(quiet=1.5)
        assert Counter(user_of(c) for c in prompt_dms(worker_slack)) == dict.fromkeys(PEOPLE, 1)
        assert len(summary_posts(worker_slack)) == 1
        # The web process sent nothing of the kind, and the worker answered no command.
        web_slack.assert_not_called("conversations.open")
        web_slack.assert_not_called("chat.postMessage")
        worker_slack.assert_not_called("response_url")

        for process in (web, worker):
            status, _, body = await process.get("/healthz")
            assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert await web.stop() == 0 and await worker.stop() == 0
    roles = {
        line["role"]
        for process in (web, worker)
        for line in process.log_lines()
        if line.get("event") == "started"
    }
    assert roles == {"web", "worker"}
    assert_clean(web)
    assert_clean(worker)
