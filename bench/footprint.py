"""Memory and idle CPU of one app process (`python app.py`, SQLite, single-workspace mode).

Loaded: 10,000 members across standups (default 50 standups x 200 participants, zones mixed,
nothing due for hours) and the scheduler left to tick a few times (default tick, 5 s); then
VmRSS from /proc/<pid>/status, and CPU seconds (utime + stime from /proc/<pid>/stat) over 30 s
of idling, per second of wall time. Baseline, measured in the same run: the same app with an
empty database. Targets: RSS <= 200 MB; idle CPU low (no busy polling).

    python bench/footprint.py [--members 10000] [--standups 50] [--idle 30] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    REPO,
    Child,
    SeedSpec,
    app_env,
    bench_token,
    cpu_seconds,
    emit_json,
    free_port,
    log,
    print_table,
    ratio,
    rss_mb,
    seed,
    spawn,
    wait_http,
)

TEAM = "TB00000"
MAX_RSS_MB = 200.0
MAX_IDLE_CPU = 0.05  # "low": under 5 % of one core


async def measure(
    label: str, members: int, standups: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    from storage.db import Database
    from storage.migrate import upgrade_to_head

    folder = work / label
    folder.mkdir()
    database_url = f"sqlite+aiosqlite:///{folder}/bench.db"
    if members:
        await seed(
            database_url,
            SeedSpec(
                workspaces=1,
                standups_per_workspace=standups,
                members_per_standup=members // standups,
                due=dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
                + dt.timedelta(hours=6),
                team_ids=[TEAM],
            ),
        )
    else:
        db = Database(database_url)
        await upgrade_to_head(db.engine)
        await db.dispose()
    children: list[Child] = []
    try:
        slack = spawn(
            [sys.executable, str(REPO / "bench" / "load_slack.py")],
            stderr_path=work / f"slack-{label}.log",
        )
        children.append(slack)
        port = free_port()
        app = spawn(
            [sys.executable, str(args.app)],
            stderr_path=work / f"app-{label}.log",
            env=app_env(
                slack_signing_secret="bench-signing-secret-0123456789",
                slack_bot_token=bench_token(TEAM),
                slack_api_url=slack.info["api_url"],
                database_url=database_url,
                host="127.0.0.1",
                port=port,
                log_format="json",
                scheduler_tick_seconds=args.tick,
            ),
            cwd=folder,
            announces=False,
        )
        children.append(app)
        started = time.monotonic()
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        startup = time.monotonic() - started
        await asyncio.sleep(args.settle)  # a few scheduler ticks
        rss_after_ticks = rss_mb(app.pid)
        cpu_before, wall_before = cpu_seconds(app.pid), time.monotonic()
        peak = rss_after_ticks
        while time.monotonic() - wall_before < args.idle:
            await asyncio.sleep(1.0)
            peak = max(peak, rss_mb(app.pid))
        cpu = cpu_seconds(app.pid) - cpu_before
        wall = time.monotonic() - wall_before
        result = {
            "label": label,
            "members": members,
            "standups": standups if members else 0,
            "startup_s": startup,
            "rss_mb": rss_after_ticks,
            "rss_peak_mb": peak,
            "idle_cpu_s": cpu,
            "idle_wall_s": wall,
            "idle_cpu_per_s": cpu / wall,
            "cpu_per_tick_s": cpu / (wall / args.tick),
        }
        log(
            f"{label}: RSS {rss_after_ticks:.1f} MB (peak {peak:.1f}), idle CPU "
            f"{cpu:.2f} s over {wall:.0f} s"
        )
        return result
    finally:
        for child in reversed(children):
            child.stop()


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="asyncstand-bench-footprint-"))
    try:
        empty = await measure("empty", 0, 0, args, work)
        loaded = await measure("loaded", args.members, args.standups, args, work)
        rss_ok = loaded["rss_peak_mb"] <= MAX_RSS_MB
        cpu_ok = loaded["idle_cpu_per_s"] <= MAX_IDLE_CPU
        rows = [
            [
                r["label"],
                r["members"],
                r["standups"],
                r["rss_mb"],
                r["rss_peak_mb"],
                r["idle_cpu_per_s"] * 100,
                r["cpu_per_tick_s"] * 1000,
            ]
            for r in (empty, loaded)
        ]
        rows.append(
            [
                "loaded/empty",
                "",
                "",
                ratio(loaded["rss_mb"], empty["rss_mb"]),
                ratio(loaded["rss_peak_mb"], empty["rss_peak_mb"]),
                ratio(loaded["idle_cpu_per_s"], empty["idle_cpu_per_s"]),
                ratio(loaded["cpu_per_tick_s"], empty["cpu_per_tick_s"]),
            ]
        )
        print_table(
            f"Footprint of one app process (SQLite, tick {args.tick:g} s, idle {args.idle:g} s)",
            ["db", "members", "standups", "RSS MB", "peak MB", "idle CPU %", "CPU ms/tick"],
            rows,
        )
        print(
            f"\nRSS <= {MAX_RSS_MB:.0f} MB: {'met' if rss_ok else 'NOT met'}; "
            f"idle CPU <= {MAX_IDLE_CPU * 100:.0f} % of a core: {'met' if cpu_ok else 'NOT met'}"
        )
        emit_json(
            "footprint",
            {
                "empty": empty,
                "loaded": loaded,
                "rss_ratio": ratio(loaded["rss_peak_mb"], empty["rss_peak_mb"]),
                "idle_cpu_ratio": ratio(loaded["idle_cpu_per_s"], empty["idle_cpu_per_s"]),
                "rss_target_met": rss_ok,
                "idle_cpu_target_met": cpu_ok,
            },
        )
        return 0
    finally:
        if args.keep_logs:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--standups", type=int, default=50)
    parser.add_argument("--tick", type=float, default=5.0, help="SCHEDULER_TICK_SECONDS")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds of ticks before RSS")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measured")
    parser.add_argument(
        "--app",
        type=Path,
        default=REPO / "app.py",
        help="the app.py to run (default: this checkout's), for before/after comparisons",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 members, 10 s")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.members, args.standups, args.settle, args.idle = 2_000, 10, 8.0, 10.0
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
