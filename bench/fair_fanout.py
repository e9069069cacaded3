"""Fair fan-out: how late small workspaces' prompts arrive while one big workspace fans out.

One big workspace (5,000 members) and 50 small ones (10 members each) have a standup due in the
same minute; nobody has a cached DM channel, so the big workspace needs 5,000 conversations.open
calls, which Slack (bench/load_slack.py) allows at 50 at once and 50 a minute after that. The app
runs twice on fresh databases in the same invocation: with fair claims
(PROMPT_CLAIM_PER_WORKSPACE=50, the default) and, as the baseline, with strict due order
(PROMPT_CLAIM_PER_WORKSPACE=0). Measured: the small workspaces' lateness (p50 / p99 from the due
minute to the DM; a DM not sent within the window counts as the whole window, so the figure is
then a lower bound), and the big workspace's DMs per minute next to Slack's pace.

    python bench/fair_fanout.py [--big 5000] [--small 50] [--small-size 10] [--backend sqlite]
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
    create_database,
    emit_json,
    log,
    next_whole_minute,
    percentile,
    postgres_available,
    print_table,
    ratio,
    scalar,
    seed,
    wait_http,
)
from bench.fanout import stand_in_stats, start_app
from bench.load_slack import OPEN_LIMIT

TARGET_SMALL_P99 = 10.0


async def run_once(fair: bool, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from storage.crypto import SecretBox

    label = f"{args.backend}-{'fair' if fair else 'strict'}"
    key = Fernet.generate_key().decode()
    box = SecretBox([key])
    db = await create_database(args.backend, "fair" if fair else "strict")
    children: list[Child] = []
    total = args.big + args.small * args.small_size
    try:
        due = next_whole_minute(dt.datetime.now(dt.UTC), args.lead or 25.0 + total / 400)
        # The big workspace first: in strict due order its prompts come first.
        big = SeedSpec(1, 1, args.big, due, encrypt=box.encrypt, team_ids=["TBIG00000"])
        await seed(db.url, big)
        small_teams = [f"TSMALL{n:03d}" for n in range(args.small)]
        small = SeedSpec(
            args.small, 1, args.small_size, due, encrypt=box.encrypt, team_ids=small_teams
        )
        await seed(db.url, small, migrate=False)
        port = start_app(
            children,
            work,
            label,
            app_path=REPO / "app.py",
            key=key,
            database_url=db.url,
            prompt_claim_per_workspace=50 if fair else 0,
        )
        slack = children[0]
        await wait_http(f"http://127.0.0.1:{port}/healthz")
        log(f"{label}: due {due:%H:%M:%S}Z, {total} prompts")
        planned = 0
        while dt.datetime.now(dt.UTC) < due:
            planned = int(await scalar(db.url, "SELECT count(*) FROM prompt") or 0)
            await asyncio.sleep(1.0 if planned < total else 0.2)
        log(f"{label}: {planned}/{total} prompts planned when the minute came")
        small_total = args.small * args.small_size
        deadline = due.timestamp() + args.window
        by_team: dict[str, list[float]] = {}
        while time.time() < deadline:  # the whole window: the big one's pace is measured
            stats = await stand_in_stats(slack.info["base_url"], teams=True)
            by_team = stats["dm_posts_by_team"]
            if sum(len(v) for v in by_team.values()) >= total:
                break
            await asyncio.sleep(0.5)
        window = min(time.time(), deadline) - due.timestamp()
        stats = await stand_in_stats(slack.info["base_url"], teams=True)
        by_team = stats["dm_posts_by_team"]
        small_late = [at - due.timestamp() for t in small_teams for at in by_team.get(t, [])]
        delivered = len(small_late)
        # Not delivered within the window: as late as the window (a lower bound).
        small_late += [window] * (small_total - delivered)
        big_sent = len(by_team.get("TBIG00000", []))
        pace = OPEN_LIMIT.burst + OPEN_LIMIT.rate * window  # what Slack allows in the window
        result = {
            "fair": fair,
            "planned_by_due": planned,
            "window_s": window,
            "small_delivered": delivered,
            "small_total": small_total,
            "small_p50_s": percentile(small_late, 50),
            "small_p99_s": percentile(small_late, 99),
            "big_sent": big_sent,
            "big_per_min": big_sent / window * 60 if window > 0 else float("nan"),
            "slack_pace": pace,
            "big_of_pace": ratio(big_sent, pace),
            "rate_limited": stats["rate_limited"],
        }
        log(
            f"{label}: small {delivered}/{small_total} in {window:.0f} s, "
            f"p99 {result['small_p99_s']:.1f} s; big {big_sent} DMs"
        )
        return result
    finally:
        for child in reversed(children):
            child.stop()
        await db.drop()


async def main(args: argparse.Namespace) -> int:
    if args.backend == "postgres" and not await postgres_available():
        print(
            "Postgres is not reachable (BENCH_POSTGRES_DSN); use --backend sqlite", file=sys.stderr
        )
        return 2
    work = Path(tempfile.mkdtemp(prefix="asyncstand-bench-fair-"))
    try:
        fair = await run_once(True, args, work)
        strict = await run_once(False, args, work)
        rows = []
        for r in (fair, strict):
            censored = r["small_delivered"] < r["small_total"]
            mark = "≥" if censored else ""
            rows.append(
                [
                    "fair (cap 50)" if r["fair"] else "strict due order (baseline)",
                    f"{r['small_delivered']}/{r['small_total']}",
                    f"{mark}{r['small_p50_s']:.1f}",
                    f"{mark}{r['small_p99_s']:.1f}",
                    f"{r['big_sent']} in {r['window_s']:.0f} s",
                    r["big_per_min"],
                    r["big_of_pace"],
                    sum(r["rate_limited"].values()),
                ]
            )
        print_table(
            f"Fair fan-out: 1 x {args.big} and {args.small} x {args.small_size} members due in "
            f"the same minute ({args.backend})",
            [
                "claims",
                "small sent",
                "small p50 s",
                "small p99 s",
                "big sent",
                "big DMs/min",
                "x Slack's pace",
                "429s",
            ],
            rows,
        )
        met = fair["small_delivered"] == fair["small_total"] and (
            fair["small_p99_s"] <= TARGET_SMALL_P99
        )
        print(
            f"\ntarget: small workspaces' p99 ≤ {TARGET_SMALL_P99:.0f} s: "
            f"{'met' if met else 'NOT met'}; p99 ratio strict/fair "
            f"{ratio(strict['small_p99_s'], fair['small_p99_s']):.1f}"
        )
        emit_json("fair_fanout", {"fair": fair, "strict": strict, "target_met": met})
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
    parser.add_argument("--big", type=int, default=5000, help="members of the big workspace")
    parser.add_argument("--small", type=int, default=50, help="number of small workspaces")
    parser.add_argument("--small-size", type=int, default=10, help="members of each small one")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="sqlite")
    parser.add_argument(
        "--window", type=float, default=90.0, help="seconds after the due minute to watch"
    )
    parser.add_argument("--lead", type=float, help="min seconds between seeding and due")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1x500 and 10x10")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.big, args.small, args.window = 500, 10, 60.0
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
