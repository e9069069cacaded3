"""Run every benchmark in turn and print one combined table.

    python bench/run_all.py --quick      # smoke run, a few minutes
    python bench/run_all.py              # full runs (fan-out alone takes ~10 minutes)

Each script runs as its own process; its last stdout line (JSON) is collected. Exit status 1 if
a script failed (not if a target was missed: targets are reported, not enforced).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, postgres_available, print_table

SCRIPTS = ("ack_latency", "fanout", "fair_fanout", "planning", "summary", "footprint")


def run(name: str, extra: list[str]) -> tuple[int, dict[str, Any] | None, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{name}.py"), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    print(proc.stdout, end="", flush=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    figures = json.loads(lines[-1]) if lines else None
    return proc.returncode, figures, elapsed


def headline(name: str, figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target met?) rows for the combined table."""
    rows: list[tuple[str, str, str]] = []
    if name == "ack_latency":
        for kind in ("list", "button"):
            f = figures[kind]
            rows.append(
                (
                    f"ack {kind}: ours/bare p50, p99",
                    f"{f['ratio_p50']:.2f}, {f['ratio_p99']:.2f} "
                    f"({f['ours']['p99_ms']:.0f} vs {f['bare']['p99_ms']:.0f} ms p99)",
                    "yes" if f["target_met"] else "NO",
                )
            )
    elif name == "fanout":
        for r in figures["runs"]:
            rows.append(
                (
                    f"fan-out {r['prompts']} prompts ({r['backend']}): last DM",
                    f"{r['last_dm_s']:.1f} s (bound {r['lower_bound_s']:.1f} s, "
                    f"{sum(r['rate_limited'].values())} x 429, "
                    f"{r['app_cpu_per_prompt_ms']:.1f} CPU ms/prompt)",
                    "yes" if r["complete"] and r["last_dm_s"] <= 60 else "NO",
                )
            )
    elif name == "fair_fanout":
        fair, strict = figures["fair"], figures["strict"]
        rows.append(
            (
                "fair fan-out: small workspaces' p50 / p99 lateness",
                f"{fair['small_p50_s']:.1f} / {fair['small_p99_s']:.1f} s "
                f"(strict due order: {strict['small_p99_s']:.0f} s p99; big one "
                f"{fair['big_of_pace']:.2f} x Slack's pace)",
                "yes" if figures["target_met"] else "NO",
            )
        )
    elif name == "planning":
        for r in figures["runs"]:
            rows.append(
                (
                    f"idle planning pass, {r['standups']} standups ({r['backend']})",
                    f"{r['idle_statements_max']} stmts, {r['idle_ms_median']:.1f} ms "
                    f"(x{r['ms_ratio']:.1f} the smallest)",
                    "yes" if figures["target_met"] else "NO",
                )
            )
    elif name == "summary":
        for r in figures["runs"]:
            rows.append(
                (
                    f"render_summary {r['participants']} ({r['backend']})",
                    f"{r['statements']} stmts, {r['render_ms']:.0f} ms "
                    f"(x{r['ratio_vs_empty']:.0f} empty run)",
                    "yes" if r["statements_ok"] and r["time_ok"] else "NO",
                )
            )
    elif name == "footprint":
        loaded = figures["loaded"]
        rows.append(
            (
                f"RSS with {loaded['members']} members",
                f"{loaded['rss_peak_mb']:.0f} MB (x{figures['rss_ratio']:.2f} empty)",
                "yes" if figures["rss_target_met"] else "NO",
            )
        )
        rows.append(
            (
                "idle CPU",
                f"{loaded['idle_cpu_per_s'] * 100:.1f} % of a core "
                f"(x{figures['idle_cpu_ratio']:.0f} empty)",
                "yes" if figures["idle_cpu_target_met"] else "NO",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke sizes for every script")
    parser.add_argument("--only", help="comma-separated subset of " + ", ".join(SCRIPTS))
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if not args.only or s in args.only.split(",")]
    import asyncio

    has_postgres = asyncio.run(postgres_available())
    failures = 0
    rows: list[tuple[str, str, str]] = []
    timings = []
    for name in chosen:
        extra = ["--quick"] if args.quick else []
        if name == "fanout" and not has_postgres:
            extra += ["--backend", "sqlite"]
        if name == "summary" and not has_postgres:
            extra += ["--backend", "sqlite"]
        print(f"\n=== {name} {' '.join(extra)}", flush=True)
        code, figures, elapsed = run(name, extra)
        timings.append((name, elapsed))
        if code != 0 or figures is None:
            failures += 1
            rows.append((name, f"FAILED (exit {code})", "-"))
            continue
        rows.extend(headline(name, figures))
    print_table("All benchmarks", ["figure", "value", "target met"], rows)
    print("\n" + ", ".join(f"{n} {t:.0f} s" for n, t in timings))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
