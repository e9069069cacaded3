"""The participation report: time and SQL statements of bot.reports.report for 100 people over
90 days, against 10 people over 7 days measured in the same run.

Both standups are seeded in one workspace (closed runs on every day, one participation record
per person and day with a mix of outcomes and moods, a few open blockers). Statements are
counted with SQLAlchemy's `before_cursor_execute` event on the app's engine; time is the median
of `--repeat` reports. The statement count must be the same for both (a fixed number of
queries); the time grows with the records read (9,000 against 70), not with queries.

    python bench/report.py [--repeat 15] [--database-url postgresql+asyncpg://…] [--quick]

SQLite in a temporary directory by default. With `--database-url` the schema is migrated there,
the data goes into a workspace of its own, and that workspace is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import emit_json, log, median, print_table, ratio

OUTCOMES = ("answered", "answered", "answered", "answered", "late", "skipped", "missed", "away")
TODAY = dt.date(2026, 3, 13)
CASES = (("10 people × 7 days", 10, 7), ("100 people × 90 days", 100, 90))


async def seed(database_url: str, team_id: str) -> tuple[int, dict[str, int], str]:
    """(workspace id, standup id by case, owner) — runs and records inserted in bulk."""
    from sqlalchemy import insert

    from bot.rules.timemath import weekdays_to_mask
    from storage import members as members_db
    from storage import standups as standups_db
    from storage import workspaces as workspaces_db
    from storage.db import Database
    from storage.migrate import upgrade_to_head
    from storage.models import Blocker, Participation, Run

    rng = random.Random(10)
    owner = "U0OWNER01"
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        ids: dict[str, int] = {}
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            for label, people, days in CASES:
                users = [f"U{people:03d}{n:06d}" for n in range(people)]
                standup = await standups_db.create_standup(
                    session,
                    workspace.id,
                    name=label,
                    name_key=label.casefold(),
                    channel_id="C0BENCH01",
                    questions=["Yesterday?", "Today?", "Blockers?", "Mood? [mood]"],
                    weekday_mask=weekdays_to_mask(range(7)),
                    local_time="09:00",
                    tz_mode="fixed",
                    fixed_tz="UTC",
                    owner_user_id=owner,
                    participant_ids=users,
                    now=now,
                )
                standup.active = False
                members = await members_db.ensure_members(session, workspace.id, users)
                run_ids = (
                    await session.execute(
                        insert(Run).returning(Run.id, sort_by_parameter_order=True),
                        [
                            {
                                "workspace_id": workspace.id,
                                "standup_id": standup.id,
                                "local_date": TODAY - dt.timedelta(days=offset),
                                "questions": ["Yesterday?"],
                                "channel_id": "C0BENCH01",
                                "state": "closed",
                                "close_at": now,
                                "closed_at": now,
                            }
                            for offset in range(days)
                        ],
                    )
                ).scalars()
                records = []
                for offset, run_id in enumerate(list(run_ids)):
                    for user in users:
                        outcome = rng.choice(OUTCOMES)
                        answered = outcome in ("answered", "late")
                        records.append(
                            {
                                "workspace_id": workspace.id,
                                "run_id": run_id,
                                "standup_id": standup.id,
                                "member_id": members[user].id,
                                "local_date": TODAY - dt.timedelta(days=offset),
                                "outcome": outcome,
                                "mood": rng.randint(1, 5) if answered else None,
                                "recorded_at": now,
                            }
                        )
                await session.execute(insert(Participation), records)
                await session.execute(
                    insert(Blocker),
                    [
                        {
                            "workspace_id": workspace.id,
                            "standup_id": standup.id,
                            "member_id": members[user].id,
                            "text": "waiting for review",
                            "opened_on": TODAY - dt.timedelta(days=3),
                            "opened_at": now,
                        }
                        for user in users[: max(1, people // 10)]
                    ],
                )
                ids[label] = standup.id
            return workspace.id, ids, owner
    finally:
        await db.dispose()


async def median_seconds(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return median(times)


async def measure(database_url: str, repeat: int) -> dict[str, Any]:
    from sqlalchemy import event, text

    from bot import reports
    from bot.outcomes import StandupReport
    from bot.people import Caller
    from bot.rules.permissions import Actor
    from bot.runtime import Services
    from bot.settings import load_settings
    from bot.slack.gateway import SlackGateway
    from storage.db import Database
    from storage.workspaces import delete_workspace_data

    team_id = f"T0BENCH{secrets.token_hex(3).upper()}"
    workspace_id, ids, owner = await seed(database_url, team_id)
    settings = load_settings(
        slack_signing_secret="bench-secret",
        slack_bot_token="xoxb-bench-report",
        database_url=database_url,
        _env_file=None,
    )
    db = Database(database_url)
    if db.engine.dialect.name == "postgresql":
        async with db.session() as session:
            await session.execute(text("ANALYZE"))  # as autovacuum would
    now = dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=dt.UTC)
    services = Services(
        settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=lambda: now
    )
    caller = Caller.known(workspace_id, Actor(owner, is_admin=False))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    rows: list[dict[str, Any]] = []
    try:
        for label, people, days in CASES:

            async def run(label: str = label, days: int = days) -> StandupReport:
                outcome = await reports.report(services, caller, ids[label], reports.LastDays(days))
                assert isinstance(outcome, StandupReport), outcome
                return outcome

            outcome = await run()
            await run()  # warm pools and caches
            statements.clear()
            outcome = await run()
            rows.append(
                {
                    "case": label,
                    "records": outcome.report.overall.total,
                    "people": len(outcome.report.people),
                    "statements": len(statements),
                    "ms": await median_seconds(run, repeat) * 1000,
                }
            )
            assert outcome.report.overall.total == people * days
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        async with db.session() as session:
            await delete_workspace_data(session, team_id)
        await services.slack.close()
        await db.dispose()
    small, big = rows
    return {
        "backend": "postgres" if database_url.startswith("postgresql") else "sqlite",
        "cases": rows,
        "ratio_time": ratio(big["ms"], small["ms"]),
        "ratio_records": ratio(big["records"], small["records"]),
        "fixed_statements": small["statements"] == big["statements"],
    }


async def main_async(args: argparse.Namespace) -> int:
    repeat = 3 if args.quick else args.repeat
    if args.database_url:
        url = args.database_url
        figures = await measure(url, repeat)
    else:
        with tempfile.TemporaryDirectory(prefix="asyncstand-bench-report-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            figures = await measure(url, repeat)
    print_table(
        f"bot.reports.report — {figures['backend']}, median of {repeat}",
        ["case", "records", "people", "SQL statements", "ms"],
        [
            [r["case"], r["records"], r["people"], r["statements"], r["ms"]]
            for r in figures["cases"]
        ],
    )
    log(
        f"100×90 against 10×7: ×{figures['ratio_time']:.1f} the time for "
        f"×{figures['ratio_records']:.0f} the records; "
        f"statements {'the same' if figures['fixed_statements'] else 'DIFFER'}"
    )
    emit_json("report", figures)
    return 0 if figures["fixed_statements"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", help="Postgres (or SQLite) URL; default: a temp SQLite")
    parser.add_argument("--quick", action="store_true", help="3 repeats (smoke)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
