"""The scheduler as users see it: who is DMed when, exactly once, across zones, DST, downtime,
restarts, several replicas, Slack failures and the run's close.

Most tests drive `scheduler.worker.Worker` directly (one `await tick()` per step) with an injected
`Clock`, against a real database on both backends and the Slack stand-in over HTTP. The ones about
starting, restarting and answering run the real app (`start_app`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog
from sqlalchemy import select, update

from app import create_app
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from scheduler.worker import Worker
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database, affected
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt, Run
from tests.harness import (
    Clock,
    answer_values,
    find_action,
    is_delivered_prompt,
    make_settings,
    start_app,
)
from tests.slack_fake import Call, FakeSlack

CHANNEL = "C0STANDUP1"
QUESTIONS = ["What did you do?", "What's next?", "Any blockers?"]
NEW_YORK, KOLKATA, BERLIN = "U0NEWYORK", "U0KOLKATA", "U0BERLIN1"
LONDON, HONOLULU, AUCKLAND = "U0LONDON1", "U0HONOLUL", "U0AUCKLAN"
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
GHOST = "U0GHOST01"  # a participant Slack does not know (deleted from the workspace)
ALL_DAYS = range(7)
MON_FRI = range(5)

# A Wednesday in winter: New York UTC-5, Berlin UTC+1, London UTC+0, Kolkata UTC+5:30,
# Honolulu UTC-10, Auckland UTC+13.
DAY = dt.date(2026, 1, 14)


def utc(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


def set_clock(clock: Clock, instant: dt.datetime) -> None:
    """Make the injected clock read `instant` (and keep running from there)."""
    clock.offset = instant - dt.datetime.now(dt.UTC)


# --- what Slack saw -----------------------------------------------------------------------------


def prompted(slack: FakeSlack) -> list[str]:
    """Who received a prompt DM, in order (DM channel "D…" belongs to user "U…")."""
    return ["U" + c.body["channel"][1:] for c in slack.calls if is_delivered_prompt(c)]


def summary_posts(slack: FakeSlack) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == CHANNEL and not c.body.get("thread_ts")
    ]


def calls_for_user(slack: FakeSlack, method: str, user_id: str) -> list[Call]:
    """Calls to `method` aimed at one user (users.info / conversations.open / DM posts)."""
    dm = "D" + user_id[1:]
    return [
        c
        for c in slack.calls_to(method)
        if user_id in (c.body.get("user"), c.body.get("users")) or c.body.get("channel") == dm
    ]


# --- database set-up and inspection -------------------------------------------------------------


async def seed_standup(
    database_url: str,
    slack: FakeSlack,
    *,
    participants: list[str],
    schedule_from: dt.datetime,
    local_time: str = "09:00",
    days: Iterable[int] = ALL_DAYS,
    fixed_tz: str | None = None,
    name: str = "Daily",
) -> None:
    """Migrate, then store a standup the way /standup create does (created at `schedule_from`)."""
    slack.add_channel(CHANNEL, "standup", bot_is_member=True)
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, slack.team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name=name,
                name_key=name_key(name),
                channel_id=CHANNEL,
                questions=QUESTIONS,
                weekday_mask=weekdays_to_mask(days),
                local_time=local_time,
                tz_mode="fixed" if fixed_tz else "participant",
                fixed_tz=fixed_tz,
                owner_user_id=participants[0],
                participant_ids=participants,
                now=schedule_from,
            )
    finally:
        await db.dispose()


async def prompt_rows(database_url: str) -> dict[tuple[str, dt.date], Prompt]:
    """Every prompt row by (Slack user id, local date)."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id, Prompt).join(Member, Member.id == Prompt.member_id)
            )
            return {(user, prompt.local_date): prompt for user, prompt in rows}
    finally:
        await db.dispose()


async def member_row(database_url: str, slack_user_id: str) -> Member:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return (
                await session.execute(select(Member).where(Member.slack_user_id == slack_user_id))
            ).scalar_one()
    finally:
        await db.dispose()


async def runs(database_url: str) -> list[Run]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return list((await session.execute(select(Run).order_by(Run.id))).scalars())
    finally:
        await db.dispose()


async def wait_for_rows(
    database_url: str,
    predicate: Callable[[dict[tuple[str, dt.date], Prompt]], bool],
    timeout: float = 10.0,  # noqa: ASYNC109 - polling helper
) -> dict[tuple[str, dt.date], Prompt]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await prompt_rows(database_url)
        if predicate(rows):
            return rows
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"prompt rows never matched: {rows!r}")
        await asyncio.sleep(0.1)


# --- the worker ---------------------------------------------------------------------------------


@asynccontextmanager
async def worker_for(
    database_url: str, slack: FakeSlack, clock: Clock, **overrides: Any
) -> AsyncIterator[Worker]:
    """A Worker on its own engine, with the app's real services and the injected clock."""
    app = create_app(make_settings(database_url, slack, **overrides), clock=clock)
    await upgrade_to_head(app.services.db.engine)
    try:
        yield Worker(app.services)
    finally:
        await app.services.slack.close()
        await app.services.db.dispose()


async def tick_at(worker: Worker, clock: Clock, instant: dt.datetime) -> None:
    """One scheduler tick at `instant`; a tick that crashed fails the test (tick() swallows it)."""
    set_clock(clock, instant)
    with structlog.testing.capture_logs() as logs:
        await worker.tick()
    errors = [e for e in logs if e.get("log_level") in ("error", "critical")]
    assert not errors, f"scheduler tick logged errors: {errors!r}"


# --- whose local time -----------------------------------------------------------------------------


async def test_only_participants_whose_local_time_it_is_are_prompted(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(NEW_YORK, "ny", tz="America/New_York")
        slack.add_user(KOLKATA, "kolkata", tz="Asia/Kolkata")
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        await seed_standup(
            database_url,
            slack,
            participants=[NEW_YORK, KOLKATA, BERLIN],
            schedule_from=utc(DAY, 0),
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 3, 29))  # 08:59 in Kolkata
            assert prompted(slack) == []

            await tick_at(worker, clock, utc(DAY, 3, 30, 5))  # 09:00 in Kolkata
            assert prompted(slack) == [KOLKATA]

            # The scheduler keeps ticking all day; nothing else is due until 09:00 in Berlin.
            for hour, minute in ((3, 31), (5, 0), (7, 35), (7, 59)):
                await tick_at(worker, clock, utc(DAY, hour, minute))
            assert prompted(slack) == [KOLKATA]

            await tick_at(worker, clock, utc(DAY, 8, 0, 5))  # 09:00 in Berlin
            assert prompted(slack) == [KOLKATA, BERLIN]

            for hour, minute in ((8, 1), (10, 0), (12, 30), (13, 59)):
                await tick_at(worker, clock, utc(DAY, hour, minute))
            assert prompted(slack) == [KOLKATA, BERLIN]

            await tick_at(worker, clock, utc(DAY, 14, 0, 5))  # 09:00 in New York
            await tick_at(worker, clock, utc(DAY, 14, 1))
            await tick_at(worker, clock, utc(DAY, 15, 0))
            assert prompted(slack) == [KOLKATA, BERLIN, NEW_YORK]

        rows = await prompt_rows(database_url)
        assert {user: p.due_at for (user, _), p in rows.items()} == {
            KOLKATA: utc(DAY, 3, 30),
            BERLIN: utc(DAY, 8, 0),
            NEW_YORK: utc(DAY, 14, 0),
        }
        assert {p.state for p in rows.values()} == {"sent"}
        # One run for the day, open until the close delay after New York's prompt.
        [run] = await runs(database_url)
        assert (run.local_date, run.state) == (DAY, "open")
        assert run.close_at == utc(DAY, 14) + dt.timedelta(minutes=240)
        assert len(summary_posts(slack)) == 1


async def test_fixed_time_zone_prompts_everyone_at_the_same_instant(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(NEW_YORK, "ny", tz="America/New_York")
        slack.add_user(KOLKATA, "kolkata", tz="Asia/Kolkata")
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        await seed_standup(
            database_url,
            slack,
            participants=[NEW_YORK, KOLKATA, BERLIN],
            schedule_from=utc(DAY, 1),  # after today's 09:00 Tokyo
            fixed_tz="Asia/Tokyo",  # 09:00 Tokyo == 00:00 UTC
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 3, 30, 5))  # 09:00 in Kolkata: not its clock
            await tick_at(worker, clock, utc(DAY, 8, 0, 5))  # 09:00 in Berlin: not its clock
            assert prompted(slack) == []

            next_day = DAY + dt.timedelta(days=1)
            await tick_at(worker, clock, utc(next_day, 0, 0, 5))
            assert sorted(prompted(slack)) == sorted([NEW_YORK, KOLKATA, BERLIN])

            await tick_at(worker, clock, utc(next_day, 0, 1))
            await tick_at(worker, clock, utc(next_day, 3, 30, 5))
            await tick_at(worker, clock, utc(next_day, 14, 0, 5))
            assert len(prompted(slack)) == 3

        rows = await prompt_rows(database_url)
        assert {p.due_at for p in rows.values()} == {utc(next_day, 0)}
        assert {d for _, d in rows} == {next_day}  # Tokyo's date, for everyone


async def test_weekdays_follow_the_participants_local_calendar(database_url: str) -> None:
    friday, saturday, sunday = (DAY + dt.timedelta(days=n) for n in (2, 3, 4))
    assert (friday.weekday(), saturday.weekday(), sunday.weekday()) == (4, 5, 6)
    async with FakeSlack() as slack:
        slack.add_user(HONOLULU, "honolulu", tz="Pacific/Honolulu")  # UTC-10
        slack.add_user(AUCKLAND, "auckland", tz="Pacific/Auckland")  # UTC+13 in January
        await seed_standup(
            database_url,
            slack,
            participants=[HONOLULU, AUCKLAND],
            schedule_from=utc(friday, 0),
            days=MON_FRI,
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            # Friday 19:00 UTC is Friday 09:00 in Honolulu: a weekday there.
            await tick_at(worker, clock, utc(friday, 19, 0, 5))
            assert prompted(slack) == [HONOLULU]
            # Friday 20:00 UTC is *Saturday* 09:00 in Auckland: not a standup day there,
            # although it is still Friday in UTC.
            await tick_at(worker, clock, utc(friday, 20, 0, 5))
            await tick_at(worker, clock, utc(friday, 20, 5))
            # Saturday 20:00 UTC is Sunday 09:00 in Auckland; Saturday 19:00 Saturday in Honolulu.
            await tick_at(worker, clock, utc(saturday, 19, 0, 5))
            await tick_at(worker, clock, utc(saturday, 20, 0, 5))
            assert prompted(slack) == [HONOLULU]
            # Sunday 20:00 UTC is Monday 09:00 in Auckland: prompted.
            await tick_at(worker, clock, utc(sunday, 20, 0, 5))
            assert prompted(slack) == [HONOLULU, AUCKLAND]

        rows = await prompt_rows(database_url)
        assert set(rows) == {(HONOLULU, friday), (AUCKLAND, sunday + dt.timedelta(days=1))}


# --- downtime and the grace period ----------------------------------------------------------------


@pytest.mark.parametrize("planned_before_downtime", [True, False], ids=["planned", "unplanned"])
@pytest.mark.parametrize("minutes_late", [20, 45])
async def test_downtime_grace_period(
    database_url: str, minutes_late: int, planned_before_downtime: bool
) -> None:
    """With PROMPT_GRACE_MINUTES=30: 20 minutes late is still sent, 45 is recorded as missed.
    (The default grace of 120 would send both, so this also proves the setting is used.)"""
    due = utc(DAY, 8)  # 09:00 Berlin
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        await seed_standup(database_url, slack, participants=[ALICE], schedule_from=utc(DAY, 6))
        clock = Clock()
        async with worker_for(database_url, slack, clock, prompt_grace_minutes=30) as worker:
            if planned_before_downtime:
                await tick_at(worker, clock, due - dt.timedelta(minutes=1))
                [row] = (await prompt_rows(database_url)).values()
                assert row.state == "pending"
            # ... the app is down here ...
            await tick_at(worker, clock, due + dt.timedelta(minutes=minutes_late))
            await tick_at(worker, clock, due + dt.timedelta(minutes=minutes_late + 1))

        [row] = (await prompt_rows(database_url)).values()
        assert row.due_at == due
        if minutes_late < 30:
            assert prompted(slack) == [ALICE]
            assert row.state == "sent"
        else:
            assert prompted(slack) == []
            slack.assert_not_called("conversations.open")
            assert row.state == "missed"
            assert row.sent_at is None


async def test_prompt_due_while_the_app_was_down_is_sent_on_start(database_url: str) -> None:
    due = utc(DAY, 8)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        await seed_standup(database_url, slack, participants=[ALICE], schedule_from=utc(DAY, 6))
        clock = Clock()
        set_clock(clock, due - dt.timedelta(minutes=1))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await wait_for_rows(database_url, lambda rows: len(rows) == 1)
        finally:
            await app.stop()
        assert prompted(slack) == []

        set_clock(clock, due + dt.timedelta(minutes=100))  # default grace: 120 minutes
        app = await start_app(database_url, slack, clock=clock)
        try:
            await slack.wait_for("chat.postMessage", predicate=is_delivered_prompt)
            await slack.wait_idle(quiet=1.2)  # two more ticks
        finally:
            await app.stop()
        assert prompted(slack) == [ALICE]
        [row] = (await prompt_rows(database_url)).values()
        assert row.state == "sent"


# --- restarts and replicas ------------------------------------------------------------------------


async def test_restart_sends_nothing_twice(database_url: str) -> None:
    due = utc(DAY, 8)
    async with FakeSlack() as slack:
        for user in (ALICE, BOB, CAROL):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        await seed_standup(
            database_url, slack, participants=[ALICE, BOB, CAROL], schedule_from=utc(DAY, 6)
        )
        clock = Clock()
        set_clock(clock, due + dt.timedelta(seconds=2))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await slack.wait_for("chat.postMessage", count=3, predicate=is_delivered_prompt)
            await slack.wait_idle(quiet=0.6)
        finally:
            await app.stop()
        assert sorted(prompted(slack)) == [ALICE, BOB, CAROL]
        assert len(summary_posts(slack)) == 1

        slack.clear()
        app = await start_app(database_url, slack, clock=clock)
        try:
            worker = app.app.worker
            assert worker is not None
            for later in (dt.timedelta(seconds=3), dt.timedelta(minutes=1), dt.timedelta(hours=1)):
                await tick_at(worker, clock, due + later)
                await tick_at(worker, clock, due + later)
            assert prompted(slack) == []
            assert summary_posts(slack) == []

            # The restarted scheduler is alive: the next day's prompts go out, once each.
            await tick_at(worker, clock, due + dt.timedelta(days=1, seconds=2))
            await tick_at(worker, clock, due + dt.timedelta(days=1, seconds=3))
            assert sorted(prompted(slack)) == [ALICE, BOB, CAROL]
        finally:
            await app.stop()


async def test_two_workers_ticking_concurrently_prompt_each_participant_once(
    database_url: str,
) -> None:
    users = [f"U0P{n:06d}" for n in range(20)]
    async with FakeSlack() as slack:
        zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London"]
        for n, user in enumerate(users):
            slack.add_user(user, f"person{n}", tz=zones[n % len(zones)])
        slack.latency = 0.005  # let the two workers' requests interleave
        await seed_standup(
            database_url,
            slack,
            participants=users,
            schedule_from=utc(DAY, 6),
            fixed_tz="Europe/Berlin",
        )
        clock = Clock()
        async with (
            worker_for(database_url, slack, clock) as first,
            worker_for(database_url, slack, clock) as second,
        ):
            for seconds in (2, 3, 4, 30):
                set_clock(clock, utc(DAY, 8, 0, seconds))
                await asyncio.gather(first.tick(), second.tick())

        counts = {user: prompted(slack).count(user) for user in users}
        assert counts == dict.fromkeys(users, 1)
        assert len(summary_posts(slack)) == 1
        rows = await prompt_rows(database_url)
        assert len(rows) == 20
        assert {(p.state, p.attempts) for p in rows.values()} == {("sent", 1)}
        assert len(await runs(database_url)) == 1


# --- leases ---------------------------------------------------------------------------------------


async def test_expired_lease_is_resent_and_live_lease_left_alone(database_url: str) -> None:
    due = utc(DAY, 8)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/Berlin")
        await seed_standup(
            database_url,
            slack,
            participants=[ALICE, BOB],
            schedule_from=utc(DAY, 6),
            fixed_tz="Europe/Berlin",
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, due - dt.timedelta(minutes=1))  # plans both rows
            rows = await prompt_rows(database_url)
            alice, bob = rows[ALICE, DAY], rows[BOB, DAY]
            # Two crashed workers: one claimed Alice's prompt at 08:00 (lease to 08:01), the
            # other claimed Bob's at 08:01:30 (lease to 08:02:30); neither finished.
            async with worker.services.db.session() as session:
                for prompt, claimed_at in ((alice, due), (bob, due + dt.timedelta(seconds=90))):
                    # What a worker's claim leaves behind when it dies before sending.
                    claimed = await session.execute(
                        update(Prompt)
                        .where(Prompt.id == prompt.id, Prompt.state == "pending")
                        .values(
                            state="sending",
                            lease_until=claimed_at + dt.timedelta(minutes=1),
                            attempts=Prompt.attempts + 1,
                        )
                    )
                    assert affected(claimed) == 1

            await tick_at(worker, clock, due + dt.timedelta(minutes=2))
            assert prompted(slack) == [ALICE]
            rows = await prompt_rows(database_url)
            assert (rows[ALICE, DAY].state, rows[ALICE, DAY].attempts) == ("sent", 2)
            assert (rows[BOB, DAY].state, rows[BOB, DAY].attempts) == ("sending", 1)
            assert rows[BOB, DAY].lease_until == due + dt.timedelta(seconds=150)

            await tick_at(worker, clock, due + dt.timedelta(minutes=3))
            assert prompted(slack) == [ALICE, BOB]
            rows = await prompt_rows(database_url)
            assert (rows[BOB, DAY].state, rows[BOB, DAY].attempts) == ("sent", 2)


# --- Slack failures -------------------------------------------------------------------------------


async def _alice_prompted_first(
    database_url: str, slack: FakeSlack, clock: Clock, worker: Worker
) -> None:
    """Alice (Berlin) is prompted at 08:00 UTC, so the run's summary exists; Bob (London) is
    due at 09:00 UTC. Leaves the clock at 08:00:05."""
    await tick_at(worker, clock, utc(DAY, 8, 0, 5))
    assert prompted(slack) == [ALICE]
    assert len(summary_posts(slack)) == 1


def _two_zone_users(slack: FakeSlack) -> None:
    slack.add_user(ALICE, "alice", tz="Europe/Berlin")
    slack.add_user(BOB, "bob", tz="Europe/London")


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("conversations.open", "user_not_found"),
        ("conversations.open", "account_inactive"),
        ("chat.postMessage", "user_not_found"),
        ("chat.postMessage", "account_inactive"),
    ],
)
async def test_permanent_slack_error_fails_the_prompt_without_retrying(
    database_url: str, method: str, error: str
) -> None:
    async with FakeSlack() as slack:
        _two_zone_users(slack)
        await seed_standup(
            database_url, slack, participants=[ALICE, BOB], schedule_from=utc(DAY, 6)
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await _alice_prompted_first(database_url, slack, clock, worker)
            slack.fail_next(method, error=error, status=200)  # once: a retry would succeed
            await tick_at(worker, clock, utc(DAY, 9, 0, 5))
            for minute in (0, 1, 5, 30):
                await tick_at(worker, clock, utc(DAY, 9, minute, 10))

        assert prompted(slack) == [ALICE]
        assert len(calls_for_user(slack, method, BOB)) == 1  # tried once, never again
        row = (await prompt_rows(database_url))[BOB, DAY]
        assert (row.state, row.error, row.attempts) == ("failed", error, 1)


async def test_participant_unknown_to_slack_fails_once(database_url: str) -> None:
    """users.info and conversations.open both say user_not_found: the prompt fails, and the
    profile look-up is not repeated every tick."""
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        await seed_standup(
            database_url,
            slack,
            participants=[ALICE, GHOST],
            schedule_from=utc(DAY, 6),
            fixed_tz="Europe/Berlin",
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            for seconds in (5, 10, 20, 40):
                await tick_at(worker, clock, utc(DAY, 8, 0, seconds))

        assert prompted(slack) == [ALICE]
        lookups = calls_for_user(slack, "users.info", GHOST)
        assert [c.error for c in lookups] == ["user_not_found"]
        opens = calls_for_user(slack, "conversations.open", GHOST)
        assert [c.error for c in opens] == ["user_not_found"]
        row = (await prompt_rows(database_url))[GHOST, DAY]
        assert (row.state, row.error) == ("failed", "user_not_found")


@pytest.mark.parametrize(
    ("method", "status"),
    [("conversations.open", 500), ("conversations.open", 429), ("chat.postMessage", 429)],
)
async def test_transient_slack_error_is_retried_and_delivered(
    database_url: str, method: str, status: int
) -> None:
    async with FakeSlack() as slack:
        _two_zone_users(slack)
        await seed_standup(
            database_url, slack, participants=[ALICE, BOB], schedule_from=utc(DAY, 6)
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await _alice_prompted_first(database_url, slack, clock, worker)
            slack.fail_next(method, status=status, retry_after=1)
            await tick_at(worker, clock, utc(DAY, 9, 0, 5))
            # Retried by the Slack client within the same tick: the prompt is on time.
            assert prompted(slack) == [ALICE, BOB]
            await tick_at(worker, clock, utc(DAY, 9, 0, 10))

        assert prompted(slack) == [ALICE, BOB]
        attempts = calls_for_user(slack, method, BOB)
        assert [c.status for c in attempts] == [status, 200]
        row = (await prompt_rows(database_url))[BOB, DAY]
        assert (row.state, row.error) == ("sent", None)


async def test_transient_error_not_retried_by_the_client_is_retried_next_tick(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        _two_zone_users(slack)
        await seed_standup(
            database_url, slack, participants=[ALICE, BOB], schedule_from=utc(DAY, 6)
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await _alice_prompted_first(database_url, slack, clock, worker)
            slack.fail_next("chat.postMessage", error="internal_error", status=200)
            await tick_at(worker, clock, utc(DAY, 9, 0, 5))
            assert prompted(slack) == [ALICE]
            row = (await prompt_rows(database_url))[BOB, DAY]
            assert (row.state, row.error) == ("pending", "internal_error")

            await tick_at(worker, clock, utc(DAY, 9, 0, 10))
            await tick_at(worker, clock, utc(DAY, 9, 0, 15))

        assert prompted(slack) == [ALICE, BOB]
        row = (await prompt_rows(database_url))[BOB, DAY]
        assert (row.state, row.error, row.attempts) == ("sent", None, 2)


# --- time zones from Slack ------------------------------------------------------------------------


async def test_time_zone_is_fetched_before_planning_and_cached(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Asia/Kolkata")
        await seed_standup(database_url, slack, participants=[ALICE], schedule_from=utc(DAY, 0))
        assert (await member_row(database_url, ALICE)).tz is None
        clock = Clock()
        async with worker_for(database_url, slack, clock, tz_refresh_hours=24) as worker:
            # The very first tick, at 09:00 Kolkata, learns her zone and prompts her.
            await tick_at(worker, clock, utc(DAY, 3, 30, 5))
            assert prompted(slack) == [ALICE]
            assert len(calls_for_user(slack, "users.info", ALICE)) == 1
            member = await member_row(database_url, ALICE)
            assert member.tz == "Asia/Kolkata"

            # Cached: later ticks don't ask Slack again ...
            slack.update_user(ALICE, tz="Europe/Berlin")  # she flies to Berlin
            for hour in (4, 8, 12, 20):
                await tick_at(worker, clock, utc(DAY, hour))
            assert len(calls_for_user(slack, "users.info", ALICE)) == 1
            assert prompted(slack) == [ALICE]  # nor prompt her at 09:00 Berlin today

            # ... until TZ_REFRESH_HOURS have passed: then tomorrow follows Berlin's clock.
            tomorrow = DAY + dt.timedelta(days=1)
            await tick_at(worker, clock, utc(tomorrow, 3, 35))  # after 09:00 Kolkata
            assert len(calls_for_user(slack, "users.info", ALICE)) == 2
            assert (await member_row(database_url, ALICE)).tz == "Europe/Berlin"
            assert prompted(slack) == [ALICE]
            await tick_at(worker, clock, utc(tomorrow, 8, 0, 5))  # 09:00 Berlin
            assert prompted(slack) == [ALICE, ALICE]

        rows = await prompt_rows(database_url)
        assert rows[ALICE, DAY].due_at == utc(DAY, 3, 30)
        assert rows[ALICE, tomorrow].due_at == utc(tomorrow, 8)


# --- closing a run --------------------------------------------------------------------------------


async def test_run_closes_with_final_summary_and_closed_prompts(database_url: str) -> None:
    due = utc(DAY, 8)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/Berlin")
        await seed_standup(
            database_url,
            slack,
            participants=[ALICE, BOB],
            schedule_from=utc(DAY, 6),
            fixed_tz="Europe/Berlin",
        )
        clock = Clock()
        set_clock(clock, due + dt.timedelta(seconds=2))
        app = await start_app(database_url, slack, clock=clock, run_close_after_minutes=60)
        try:
            await _answer_then_close(app, slack, clock, database_url, due)
        finally:
            await app.stop()


async def _answer_then_close(
    app: Any, slack: FakeSlack, clock: Clock, database_url: str, due: dt.datetime
) -> None:
    req = app.requests
    dms = await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
    [summary] = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
    )
    summary_ts = summary.response["ts"]
    dm_of = {"U" + c.body["channel"][1:]: c for c in dms}

    # Alice answers, with a blocker.
    alice_button = find_action(dm_of[ALICE].body["blocks"], "prompt_answer")
    await req.block_action(ALICE, "prompt_answer", alice_button["value"])
    [alice_modal] = await slack.wait_for("views.open")
    status, text = await req.view_submission(
        ALICE, alice_modal.body["view"], answer_values(["tests", "more tests", "CI is red"])
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for("chat.postMessage", predicate=lambda c: bool(c.body.get("thread_ts")))

    # Bob opens the answer form but does not submit it before the close.
    bob_button = find_action(dm_of[BOB].body["blocks"], "prompt_answer")
    await req.block_action(BOB, "prompt_answer", bob_button["value"])
    bob_modal = (await slack.wait_for("views.open", count=2))[-1].body["view"]

    worker = app.app.worker
    await tick_at(worker, clock, due + dt.timedelta(minutes=59))  # not yet
    assert [r.state for r in await runs(database_url)] == ["open"]
    assert "Standup closed" not in json.dumps(slack.get_message(CHANNEL, summary_ts))

    await tick_at(worker, clock, due + dt.timedelta(minutes=61))
    assert [r.state for r in await runs(database_url)] == ["closed"]

    # The summary is final: blockers first, then who answered, then who didn't.
    final = slack.get_message(CHANNEL, summary_ts)
    assert final is not None
    sections = [
        b["text"]["text"] for b in final["blocks"] if b["type"] == "section" and "text" in b
    ]
    text = "\n".join(sections)
    assert sections[0].startswith("*New blockers*") and "CI is red" in sections[0]
    assert f"<@{ALICE}>" in sections[0]
    answered = next(s for s in sections if s.startswith("*Answered"))
    didnt = next(s for s in sections if s.startswith("*Didn't answer*"))
    assert f"<@{ALICE}>" in answered and f"<@{BOB}>" not in answered
    assert f"<@{BOB}>" in didnt and f"<@{ALICE}>" not in didnt
    assert text.index("New blockers") < text.index("Answered") < text.index("Didn't answer")
    assert "Standup closed" in json.dumps(final["blocks"])

    # Bob's unanswered DM says the standup closed, but keeps an Answer button: a late answer
    # is possible until the standup's next run starts.
    bob_dm = dm_of[BOB].body["channel"]
    bob_message = slack.get_message(bob_dm, dm_of[BOB].response["ts"])
    assert bob_message is not None
    assert "prompt_answer" in json.dumps(bob_message["blocks"])
    assert "closed" in json.dumps(bob_message["blocks"])
    assert "prompt_skip" not in json.dumps(bob_message["blocks"])
    # Alice's answered DM was not turned into "closed".
    alice_dm = dm_of[ALICE].body["channel"]
    alice_message = slack.get_message(alice_dm, dm_of[ALICE].response["ts"])
    assert alice_message is not None and "Answered" in json.dumps(alice_message["blocks"])

    # Bob submits the form he opened before the close: taken, and marked late.
    slack.clear()
    status, text = await req.view_submission(
        BOB, bob_modal, answer_values(["late", "late too", "none"])
    )
    assert status == 200 and "errors" not in text, text
    [reply] = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body.get("thread_ts") == summary_ts
    )
    assert f"<@{BOB}>'s answers (late)" in json.dumps(reply.body["blocks"])
    await slack.wait_for("chat.update", predicate=lambda c: c.body.get("ts") == summary_ts)
    row = (await prompt_rows(database_url))[BOB, DAY]
    assert (row.state, row.late) == ("answered", True)
    final = slack.get_message(CHANNEL, summary_ts)
    assert final is not None
    sections = [
        b["text"]["text"] for b in final["blocks"] if b["type"] == "section" and "text" in b
    ]
    late = next(s for s in sections if s.startswith("*Answered late"))
    assert f"<@{BOB}>" in late
    assert not [s for s in sections if s.startswith("*Didn't answer*")]
    assert "Standup closed" in json.dumps(final["blocks"])

    # The next day's run starts: yesterday's check-in is closed for good, old buttons included.
    await tick_at(worker, clock, due + dt.timedelta(days=1, seconds=2))
    await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
    slack.clear()
    original = slack.message_versions(bob_dm, dm_of[BOB].response["ts"])[0]
    await req.block_action(BOB, "prompt_answer", bob_button["value"], message=original)
    [refusal] = await slack.wait_for("response_url")
    assert "closed" in json.dumps(refusal.body)
    await slack.wait_idle(quiet=0.3)
    slack.assert_not_called("views.open")
    row = (await prompt_rows(database_url))[BOB, DAY]
    assert (row.state, row.late) == ("answered", True)


# --- DST at the scheduler level -------------------------------------------------------------------


async def test_spring_forward_gap_is_due_when_the_gap_ends(database_url: str) -> None:
    """02:30 does not exist in New York on 2026-03-08; the prompt is due at 03:00 EDT."""
    day = dt.date(2026, 3, 8)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="America/New_York")
        await seed_standup(
            database_url,
            slack,
            participants=[ALICE],
            schedule_from=utc(day - dt.timedelta(days=1), 12),
            local_time="02:30",
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(day, 6, 59))  # 01:59 EST: planned, not due
            [(key, row)] = (await prompt_rows(database_url)).items()
            assert key == (ALICE, day)
            assert (row.due_at, row.state) == (utc(day, 7), "pending")
            assert prompted(slack) == []

            await tick_at(worker, clock, utc(day, 7, 0, 5))
            assert prompted(slack) == [ALICE]


async def test_fall_back_overlap_is_planned_once(database_url: str) -> None:
    """01:30 happens twice in New York on 2026-11-01 (EDT, then EST): one prompt, the first."""
    day = dt.date(2026, 11, 1)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="America/New_York")
        await seed_standup(
            database_url,
            slack,
            participants=[ALICE],
            schedule_from=utc(day - dt.timedelta(days=1), 12),
            local_time="01:30",
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            for hour, minute, second in (
                (5, 29, 0),
                (5, 30, 5),
                (5, 31, 0),
                (6, 0, 0),
                (6, 29, 0),
                (6, 30, 5),  # the second 01:30
                (6, 31, 0),
                (7, 0, 0),
            ):
                await tick_at(worker, clock, utc(day, hour, minute, second))

        assert prompted(slack) == [ALICE]
        rows = await prompt_rows(database_url)
        assert list(rows) == [(ALICE, day)]
        assert rows[ALICE, day].due_at == utc(day, 5, 30)
