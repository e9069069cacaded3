"""Planning is remembered in the database (standup.planned_until): an idle tick does almost no
work, and a change made through one replica is honoured by every other scheduler."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.models import Standup
from tests.harness import Clock
from tests.slack_fake import FakeSlack
from tests.test_scheduler import (
    ALICE,
    BERLIN,
    DAY,
    NEW_YORK,
    prompted,
    seed_standup,
    tick_at,
    utc,
    worker_for,
)


async def _planned_until(database_url: str) -> dt.datetime | None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return (await session.execute(select(Standup.planned_until))).scalar_one()
    finally:
        await db.dispose()


async def test_idle_ticks_do_not_replan_and_issue_few_statements(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(NEW_YORK, "ny", tz="America/New_York")
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        await seed_standup(
            database_url, slack, participants=[NEW_YORK, BERLIN], schedule_from=utc(DAY, 0)
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 1))
            planned_until = await _planned_until(database_url)
            assert planned_until is not None
            # Nothing new can fall due before Berlin's 09:00 (08:00 UTC): planned until then.
            assert planned_until == utc(DAY, 8)

            statements: list[str] = []

            def count(*args: object) -> None:
                statements.append(str(args[2]))

            engine = worker.services.db.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            try:
                await tick_at(worker, clock, utc(DAY, 1, 0, 30))
            finally:
                event.remove(engine, "before_cursor_execute", count)
            # find work to plan, mark missed, claim prompts, claim reminders, runs to close,
            # publishing left over, claim webhook deliveries, claim App Homes to redraw
            # (housekeeping waits a minute): a fixed number, whatever the number of standups
            assert len(statements) <= 8, statements
            # Members are read only by the App Home claim (an indexed look for marked homes),
            # never by the planner.
            reading_members = [s for s in statements if "FROM member" in s]
            assert all("home_stale_at" in s for s in reading_members), statements


async def test_an_edit_on_one_replica_is_honoured_by_another_scheduler(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        # Planned for 09:00 Berlin (08:00 UTC) by replica B.
        await seed_standup(database_url, slack, participants=[ALICE], schedule_from=utc(DAY, 0))
        clock = Clock()
        async with worker_for(database_url, slack, clock) as replica_b:
            await tick_at(replica_b, clock, utc(DAY, 7, 55))
            # Replica A (any other process) moves the standup to 09:30 Berlin.
            db = Database(database_url)
            try:
                async with db.session() as session:
                    workspace = await workspaces_db.ensure_workspace(session, slack.team_id)
                    standup = await standups_db.find_standup_by_name(
                        session, workspace.id, name_key("Daily")
                    )
                    assert standup is not None
                    standup.local_time = "09:30"
                    standup.schedule_from = utc(DAY, 7, 56)
                    await standups_db.drop_pending_prompts(session, workspace.id, standup.id)
            finally:
                await db.dispose()
            await tick_at(replica_b, clock, utc(DAY, 8, 0, 5))
            assert prompted(slack) == []  # the old 09:00 is gone
            await tick_at(replica_b, clock, utc(DAY, 8, 30, 2))
            assert prompted(slack) == [ALICE]
