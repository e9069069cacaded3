"""The run summary: SQL statements and time of scheduler.runs.render_summary for a big run.

A run of 500 participants (answers stored for most, some skipped, missed or still pending; some
answers mention blockers) is seeded on SQLite and on a fresh Postgres database. Statements are
counted with SQLAlchemy's `before_cursor_execute` event on the app's engine; time is the median
of several renders. Baselines measured in the same run: rendering an empty run, and a trivial
`SELECT 1` round trip in a session. Targets: <= 5 statements, <= 100 ms.

    python bench/summary.py [--participants 500] [--repeat 15] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    SeedSpec,
    create_database,
    emit_json,
    execute,
    log,
    median,
    postgres_available,
    print_table,
    ratio,
    seed,
)

MAX_STATEMENTS = 5
MAX_MS = 100.0
QUESTIONS = ("What did you do yesterday?", "What will you do today?", "Anything blocking you?")


async def seed_runs(database_url: str, participants: int) -> tuple[int, int, int]:
    """(workspace_id, big run id, empty run id)."""
    from sqlalchemy import insert, select

    from storage.db import Database
    from storage.models import Answer, Participant, Prompt, Run, Standup

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    seeded = await seed(
        database_url,
        SeedSpec(
            workspaces=1,
            standups_per_workspace=1,
            members_per_standup=participants,
            due=now + dt.timedelta(hours=6),
            zones=("Europe/Berlin",),
            questions=QUESTIONS,
        ),
    )
    workspace_id = seeded["workspace_ids"][0]
    standup_id = seeded["standups"][0][0]
    rng = random.Random(42)
    db = Database(database_url)
    try:
        async with db.session() as session:
            empty_standup = Standup(
                workspace_id=workspace_id,
                name="Empty",
                name_key="empty",
                channel_id="C0EMPTY01",
                questions=list(QUESTIONS),
                weekday_mask=127,
                local_time="09:00",
                tz_mode="participant",
                owner_user_id="U0OWNER01",
            )
            session.add(empty_standup)
            await session.flush()
            runs = []
            for sid in (standup_id, empty_standup.id):
                run = Run(
                    workspace_id=workspace_id,
                    standup_id=sid,
                    local_date=now.date(),
                    questions=list(QUESTIONS),
                    channel_id="C0SUMMARY1",
                    state="open",
                    summary_ts="1700000000.000100",
                    close_at=now + dt.timedelta(hours=4),
                )
                session.add(run)
                runs.append(run)
            await session.flush()
            big_run = runs[0]
            member_ids = [
                r[0]
                for r in await session.execute(
                    select(Participant.member_id)
                    .where(Participant.standup_id == standup_id)
                    .order_by(Participant.member_id)
                )
            ]
            states = rng.choices(
                ("answered", "skipped", "missed", "sent", "failed"),
                weights=(70, 8, 10, 10, 2),
                k=len(member_ids),
            )
            prompt_rows = [
                {
                    "workspace_id": workspace_id,
                    "run_id": big_run.id,
                    "standup_id": standup_id,
                    "member_id": member_id,
                    "local_date": now.date(),
                    "due_at": now,
                    "state": state,
                    "attempts": 1,
                    "dm_channel_id": f"D{member_id:08d}",
                    "message_ts": f"1700000001.{member_id:06d}",
                    "sent_at": now,
                    "answered_at": now if state == "answered" else None,
                }
                for member_id, state in zip(member_ids, states, strict=True)
            ]
            rows = await session.execute(
                insert(Prompt).returning(
                    Prompt.id, Prompt.member_id, Prompt.state, sort_by_parameter_order=True
                ),
                prompt_rows,
            )
            answer_rows = []
            for prompt_id, member_id, state in rows:
                if state != "answered":
                    continue
                for position, question in enumerate(QUESTIONS):
                    words = rng.randint(5, 60)
                    body = " ".join(rng.choice(WORDS) for _ in range(words))
                    if position == 2:
                        body = rng.choice(("None", "-", "no", f"Blocked on {body}"))
                    answer_rows.append(
                        {
                            "workspace_id": workspace_id,
                            "prompt_id": prompt_id,
                            "member_id": member_id,
                            "position": position,
                            "question": question,
                            "body": body,
                            "submitted_at": now,
                        }
                    )
            await session.execute(insert(Answer), answer_rows)
            return workspace_id, big_run.id, runs[1].id
    finally:
        await db.dispose()


SENTENCE = (
    "fixed the flaky deploy test, reviewed PRs for the billing service and paired on the "
    "migration; waiting for design sign-off <@U0ALICE01> & `code` *bold* _it_ ~s~"
)
WORDS = tuple(SENTENCE.split())


async def median_seconds(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return median(times)


async def measure(
    backend: str, participants: int, repeat: int, analyze: bool = True
) -> dict[str, Any]:
    from sqlalchemy import event, text

    from bot.runs import render_summary
    from bot.runtime import Services
    from bot.settings import load_settings
    from bot.slack.gateway import SlackGateway
    from storage import runs as runs_db
    from storage.db import Database

    bench_db = await create_database(backend, "summary")
    try:
        workspace_id, big_run_id, empty_run_id = await seed_runs(bench_db.url, participants)
        if backend == "postgres" and analyze:
            # What autovacuum does to a live database; without statistics the planner nests
            # loops over the member index (see --no-analyze).
            await execute(bench_db.url, "ANALYZE")
        settings = load_settings(
            slack_signing_secret="bench-secret",
            slack_bot_token="xoxb-bench-summary",
            database_url=bench_db.url,
            _env_file=None,
        )
        db = Database(settings.database_url)
        services = Services(settings=settings, db=db, slack=SlackGateway(settings, None, db))
        statements: list[str] = []
        cursor_time = [0.0]
        started_at: list[float] = []

        def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)
            started_at.append(time.perf_counter())

        def after(*_args: Any) -> None:
            cursor_time[0] += time.perf_counter() - started_at.pop()

        event.listen(db.engine.sync_engine, "before_cursor_execute", before)
        event.listen(db.engine.sync_engine, "after_cursor_execute", after)

        async with db.session() as session:
            big_run = await runs_db.get_run(session, workspace_id, big_run_id)
            empty_run = await runs_db.get_run(session, workspace_id, empty_run_id)
        assert big_run is not None and empty_run is not None

        async def select_one() -> None:
            async with db.session() as session:
                await session.execute(text("SELECT 1"))

        async def render_big() -> Any:
            return await render_summary(services, workspace_id, big_run)

        async def render_empty() -> Any:
            return await render_summary(services, workspace_id, empty_run)

        for fn in (select_one, render_empty, render_big):  # warm caches and pools
            await fn()
            await fn()

        statements.clear()
        message = await render_big()
        big_statements = len(statements)
        statement_text = [s.split()[0] + " … " + s.split("FROM", 1)[-1][:60] for s in statements]
        statements.clear()
        await render_empty()
        empty_statements = len(statements)

        t_select = await median_seconds(select_one, repeat * 4)
        t_empty = await median_seconds(render_empty, repeat)
        cursor_time[0] = 0.0
        t_big = await median_seconds(render_big, repeat)
        cursor_share = cursor_time[0] / (t_big * repeat) if t_big else float("nan")
        await db.dispose()
        blocks = message.get("blocks") or []
        return {
            "backend": backend if analyze or backend != "postgres" else "postgres-no-analyze",
            "participants": participants,
            "statements": big_statements,
            "statements_empty_run": empty_statements,
            "statement_heads": statement_text,
            "render_ms": t_big * 1000,
            "render_empty_ms": t_empty * 1000,
            "select1_ms": t_select * 1000,
            "ratio_vs_empty": ratio(t_big, t_empty),
            "ratio_vs_select1": ratio(t_big, t_select),
            "db_share": cursor_share,
            "blocks": len(blocks),
            "statements_ok": big_statements <= MAX_STATEMENTS,
            "time_ok": t_big * 1000 <= MAX_MS,
        }
    finally:
        await bench_db.drop()


async def main(args: argparse.Namespace) -> int:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not await postgres_available():
        log("Postgres not reachable: SQLite only")
        backends = [b for b in backends if b != "postgres"]
    results = []
    for backend in backends:
        results.append(
            await measure(backend, args.participants, args.repeat, analyze=not args.no_analyze)
        )
        log(f"{backend}: statements {results[-1]['statement_heads']}")
    rows = [
        [
            r["backend"],
            r["participants"],
            r["statements"],
            r["statements_empty_run"],
            r["render_ms"],
            r["render_empty_ms"],
            r["select1_ms"],
            r["ratio_vs_empty"],
            r["ratio_vs_select1"],
            f"{r['db_share'] * 100:.0f}%",
            "yes" if r["statements_ok"] and r["time_ok"] else "NO",
        ]
        for r in results
    ]
    print_table(
        f"render_summary, median of {args.repeat} (targets: <= {MAX_STATEMENTS} statements, "
        f"<= {MAX_MS:.0f} ms)",
        [
            "backend",
            "participants",
            "stmts",
            "stmts empty",
            "render ms",
            "empty ms",
            "SELECT 1 ms",
            "x empty",
            "x SELECT 1",
            "in DB",
            "met",
        ],
        rows,
    )
    met = all(r["statements_ok"] and r["time_ok"] for r in results)
    print(f"\ntargets met: {'yes' if met else 'NO'}")
    emit_json("summary", {"runs": results, "target_met": met})
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--no-analyze", action="store_true", help="Postgres: measure before ANALYZE has run"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 repeats")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 5
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
