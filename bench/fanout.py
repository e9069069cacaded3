"""Prompt fan-out: how long after the due minute the last of N DM prompts reaches Slack.

For each size, a fresh database is seeded with W workspaces x P participants (installations with
tokens encrypted by storage.crypto.SecretBox, members with a time zone and no cached DM channel,
one standup per workspace whose local time is the same UTC minute in every participant's zone).
The app runs as `python app.py` (multi-workspace mode, SCHEDULER_TICK_SECONDS=1) against
bench/load_slack.py, a Slack stand-in in its own process with Slack-shaped per-workspace rate
limits. Measured: due minute -> last DM (and first DM), next to the lower bound those limits
allow, 429s, calls, TCP connections, and the per-prompt cost ratio between sizes.

    python bench/fanout.py [--sizes 1000,5000,10000] [--backend postgres|sqlite|both] [--quick]
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

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    REPO,
    Child,
    SeedSpec,
    app_env,
    cpu_seconds,
    create_database,
    emit_json,
    free_port,
    log,
    next_whole_minute,
    postgres_available,
    print_table,
    rss_mb,
    scalar,
    seed,
    spawn,
    wait_http,
)
from bench.load_slack import OPEN_LIMIT, lower_bound_seconds

PARTICIPANTS = 50  # per workspace: 10,000 prompts = 200 workspaces x 50
TARGET_10K = 60.0
SIGNING_SECRET = "bench-signing-secret-0123456789"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "bench-client-secret"


async def stand_in_stats(
    base_url: str, *, times: bool = False, teams: bool = False
) -> dict[str, Any]:
    params = {name: "1" for name, wanted in (("times", times), ("teams", teams)) if wanted}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/_stats", params=params) as response,
    ):
        result: dict[str, Any] = await response.json()
        return result


def start_app(
    children: list[Child],
    work: Path,
    label: str,
    *,
    app_path: Path,
    key: str,
    database_url: str,
    **settings: Any,
) -> int:
    """Start the Slack stand-in and `python app.py` (multi-workspace, 1 s ticks) on
    `database_url`, appending both to `children`; returns the app's port."""
    slack = spawn(
        [sys.executable, str(REPO / "bench" / "load_slack.py")],
        stderr_path=work / f"slack-{label}.log",
    )
    children.append(slack)
    port = free_port()
    app = spawn(
        [sys.executable, str(app_path)],
        stderr_path=work / f"app-{label}.log",
        env=app_env(
            slack_signing_secret=SIGNING_SECRET,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            encryption_key=key,
            slack_api_url=slack.info["api_url"],
            database_url=database_url,
            host="127.0.0.1",
            port=port,
            scheduler_tick_seconds=1,
            log_format="json",
            log_level="INFO",
            **settings,
        ),
        announces=False,
    )
    children.append(app)
    return port


async def run_size(
    backend: str, prompts: int, participants: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from storage.crypto import SecretBox

    workspaces = max(1, prompts // participants)
    prompts = workspaces * participants
    label = f"{backend}-{prompts}"
    key = Fernet.generate_key().decode()
    box = SecretBox([key])
    db = await create_database(backend, f"fanout{prompts}")
    children: list[Child] = []
    try:
        seed_started = time.monotonic()
        lead = args.lead if args.lead is not None else 20.0 + prompts / 500
        due = next_whole_minute(dt.datetime.now(dt.UTC), lead)
        await seed(
            db.url,
            SeedSpec(
                workspaces=workspaces,
                standups_per_workspace=1,
                members_per_standup=participants,
                due=due,
                encrypt=box.encrypt,
            ),
        )
        seed_seconds = time.monotonic() - seed_started
        port = start_app(children, work, label, app_path=args.app, key=key, database_url=db.url)
        slack, app = children
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        log(
            f"{label}: seeded {workspaces}x{participants} in {seed_seconds:.1f} s; "
            f"due {due:%H:%M:%S}Z (in {(due - dt.datetime.now(dt.UTC)).total_seconds():.0f} s)"
        )
        planned = 0
        while dt.datetime.now(dt.UTC) < due:
            planned = int(await scalar(db.url, "SELECT count(*) FROM prompt") or 0)
            await asyncio.sleep(1.0 if planned < prompts else 0.2)
        log(f"{label}: {planned}/{prompts} prompts planned when the minute came")
        cpu_at_due = cpu_seconds(app.pid)
        deadline = due.timestamp() + args.max_wait
        stats: dict[str, Any] = {}
        peak_rss = 0.0
        while time.time() < deadline:
            stats = await stand_in_stats(slack.info["base_url"])
            peak_rss = max(peak_rss, rss_mb(app.pid))
            if stats["dm_posts"] >= prompts:
                break
            await asyncio.sleep(0.25)
        app_cpu = cpu_seconds(app.pid) - cpu_at_due
        stats = await stand_in_stats(slack.info["base_url"], times=True)
        times = stats.pop("dm_post_times")
        sent = len(times)
        last = (times[-1] - due.timestamp()) if times else float("nan")
        first = (times[0] - due.timestamp()) if times else float("nan")
        half = (times[len(times) // 2] - due.timestamp()) if times else float("nan")
        complete = sent >= prompts
        result = {
            "backend": backend,
            "prompts": prompts,
            "workspaces": workspaces,
            "participants": participants,
            "planned_by_due": planned,
            "sent": sent,
            "complete": complete,
            "first_dm_s": first,
            "median_dm_s": half,
            "last_dm_s": last if complete else float("nan"),
            "lower_bound_s": lower_bound_seconds(participants, OPEN_LIMIT),
            "per_prompt_ms": (last / prompts * 1000) if complete else float("nan"),
            "app_cpu_per_prompt_ms": app_cpu / max(sent, 1) * 1000,
            "rate_limited": stats["rate_limited"],
            "calls": stats["calls"],
            "connections": stats["connections"],
            "app_cpu_s": app_cpu,
            "app_peak_rss_mb": peak_rss,
        }
        log(
            f"{label}: {sent}/{prompts} DMs, first {first:.1f} s, last {last:.1f} s after the "
            f"minute; 429s {sum(stats['rate_limited'].values())}; app CPU {app_cpu:.1f} s"
        )
        return result
    finally:
        for child in reversed(children):
            child.stop()
        await db.drop()


def report(results: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    figures: dict[str, Any] = {"runs": results}
    for backend in sorted({r["backend"] for r in results}):
        mine = [r for r in results if r["backend"] == backend]
        base = next((r for r in mine if r["complete"]), None)
        for r in mine:
            linear = r["per_prompt_ms"] / base["per_prompt_ms"] if base else float("nan")
            r["per_prompt_ratio"] = linear
            rows.append(
                [
                    backend,
                    r["prompts"],
                    f"{r['workspaces']}x{r['participants']}",
                    r["planned_by_due"],
                    f"{r['sent']}/{r['prompts']}",
                    r["first_dm_s"],
                    r["last_dm_s"],
                    r["lower_bound_s"],
                    r["per_prompt_ms"],
                    linear,
                    r["app_cpu_per_prompt_ms"],
                    sum(r["rate_limited"].values()),
                    r["connections"],
                    r["app_cpu_s"],
                ]
            )
    print_table(
        "Fan-out: seconds from the due minute to the DM prompts (lower bound = stand-in limits)",
        [
            "backend",
            "prompts",
            "WxP",
            "planned",
            "sent",
            "first s",
            "last s",
            "bound s",
            "ms/prompt",
            "x smallest",
            "CPU ms/prompt",
            "429s",
            "TCP conns",
            "app CPU s",
        ],
        rows,
    )
    ten_k = [r for r in results if r["prompts"] >= 10_000]
    if ten_k:
        met = all(r["complete"] and r["last_dm_s"] <= TARGET_10K for r in ten_k)
        figures["target_10k_met"] = met
        print(f"\ntarget: 10,000 prompts within {TARGET_10K:.0f} s: {'met' if met else 'NOT met'}")
    return figures


async def main(args: argparse.Namespace) -> int:
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not await postgres_available():
        print(
            "Postgres is not reachable (BENCH_POSTGRES_DSN); use --backend sqlite", file=sys.stderr
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="asyncstand-bench-fanout-"))
    results = []
    try:
        for backend in backends:
            for size in args.sizes:
                results.append(await run_size(backend, size, args.participants, args, work))
        figures = report(results)
        emit_json("fanout", figures)
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
    parser.add_argument(
        "--sizes",
        default="1000,5000,10000",
        help="comma-separated prompt counts (default 1000,5000,10000)",
    )
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="postgres")
    parser.add_argument("--participants", type=int, default=PARTICIPANTS, help="per workspace")
    parser.add_argument(
        "--lead",
        type=float,
        help="min seconds between seeding and the due minute (default 20 + prompts/500)",
    )
    parser.add_argument(
        "--app",
        type=Path,
        default=REPO / "app.py",
        help="the app.py to run (default: this checkout's), for before/after comparisons",
    )
    parser.add_argument(
        "--max-wait", type=float, default=240.0, help="give up this long after the due minute"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 prompts")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if args.quick:
        args.sizes, args.max_wait = [200], 90.0
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
