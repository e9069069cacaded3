"""Idle planning passes: SQL statements and time of `bot.planning.plan_due` when nothing is
about to fall due, at 1,000 and 10,000 standups, measured in the same run.

Each size gets a fresh database: standups of 2 participants each (10 per workspace, every
zone of bench.common.ZONES, profiles known, channel privacy known) whose local time is hours
away. The first pass plans everything once (it visits every standup); then the clock moves on a
minute per pass for `--passes` minutes — past the five minutes after which the old planner
planned every standup again. Statements are counted with `before_cursor_execute` on the app's
engine; time is per pass (median and worst). The 10,000 figures are given as ratios to 1,000's.

    python bench/planning.py [--sizes 1000,10000] [--passes 15] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
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

TARGET_PASS_MS = 1000.0
PER_WORKSPACE = 10


async def measure(backend: str, standups: int, passes: int) -> dict[str, Any]:
    from sqlalchemy import event

    from bot import planning
    from bot.runtime import Services
    from bot.settings import load_settings
    from bot.slack.gateway import SlackGateway
    from storage.db import Database

    db_handle = await create_database(backend, f"planning{standups}")
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    try:
        seeded_at = time.monotonic()
        await seed(
            db_handle.url,
            SeedSpec(
                workspaces=max(1, standups // PER_WORKSPACE),
                standups_per_workspace=PER_WORKSPACE,
                members_per_standup=2,
                due=start + dt.timedelta(hours=6),  # nothing falls due during the passes
            ),
        )
        await execute(db_handle.url, "UPDATE standup SET channel_private = false")
        log(f"{backend} {standups}: seeded in {time.monotonic() - seeded_at:.1f} s")
        settings = load_settings(
            slack_signing_secret="bench-secret",
            slack_bot_token="xoxb-bench-planning",
            slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no call is expected
            database_url=db_handle.url,
            _env_file=None,
        )
        db = Database(db_handle.url)
        clock = {"now": start}
        services = Services(
            settings=settings,
            db=db,
            slack=SlackGateway(settings, None, db),
            clock=lambda: clock["now"],
        )
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            first_started = time.perf_counter()
            await planning.plan_due(services, start)
            first_ms = (time.perf_counter() - first_started) * 1000
            first_statements = len(statements)
            per_pass: list[tuple[int, float]] = []
            for minute in range(1, passes + 1):
                clock["now"] = start + dt.timedelta(minutes=minute)
                statements.clear()
                started = time.perf_counter()
                await planning.plan_due(services, clock["now"])
                per_pass.append((len(statements), (time.perf_counter() - started) * 1000))
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            await services.slack.close()
            await db.dispose()
    finally:
        await db_handle.drop()
    counts = [c for c, _ in per_pass]
    times = [t for _, t in per_pass]
    return {
        "backend": backend,
        "standups": standups,
        "first_pass_ms": first_ms,
        "first_pass_statements": first_statements,
        "idle_statements_min": min(counts),
        "idle_statements_max": max(counts),
        "idle_ms_median": median(times),
        "idle_ms_max": max(times),
    }


async def main(args: argparse.Namespace) -> int:
    if args.backend == "postgres" and not await postgres_available():
        print("Postgres is not reachable (BENCH_POSTGRES_DSN)", file=sys.stderr)
        return 2
    results = [await measure(args.backend, size, args.passes) for size in args.sizes]
    base = results[0]
    rows = []
    for r in results:
        r["statements_ratio"] = ratio(r["idle_statements_max"], base["idle_statements_max"])
        r["ms_ratio"] = ratio(r["idle_ms_median"], base["idle_ms_median"])
        rows.append(
            [
                r["standups"],
                f"{r['first_pass_statements']} / {r['first_pass_ms']:.0f} ms",
                f"{r['idle_statements_min']}–{r['idle_statements_max']}",
                r["statements_ratio"],
                r["idle_ms_median"],
                r["idle_ms_max"],
                r["ms_ratio"],
            ]
        )
    print_table(
        f"Idle planning passes ({args.backend}, {args.passes} passes a minute apart)",
        [
            "standups",
            "first pass: statements / time",
            "idle statements",
            f"x {base['standups']}",
            "idle ms (median)",
            "idle ms (max)",
            f"x {base['standups']}",
        ],
        rows,
    )
    largest = results[-1]
    fixed = all(r["idle_statements_max"] == base["idle_statements_max"] for r in results)
    met = fixed and largest["idle_ms_max"] <= TARGET_PASS_MS
    print(
        f"\ntarget: statements independent of the count and ≤ {TARGET_PASS_MS:.0f} ms per idle "
        f"pass at {largest['standups']}: {'met' if met else 'NOT met'}"
    )
    emit_json("planning", {"runs": results, "fixed_statements": fixed, "target_met": met})
    return 0 if met else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="standup counts, smallest first")
    parser.add_argument("--passes", type=int, default=15, help="idle passes, a minute apart")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 and 1,000")
    args = parser.parse_args()
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if args.quick:
        args.sizes, args.passes = [100, 1000], 8
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
