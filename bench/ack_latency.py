"""Time to HTTP response (Slack's 3-second ack) of our app vs a bare Bolt app, under load.

Three child processes: the Slack stand-in (tests.slack_fake.FakeSlack), our app
(bot.server.create_app, SQLite in a temp dir, single-workspace mode) and a bare Bolt AsyncApp
(same signing secret, token and fake; listeners that only `await ack()`), each served by aiohttp
on its own port. This process is only the load generator: C concurrent clients (one keep-alive
connection each) send N signed requests each, built as Slack builds them, and time each response.

Measured for `/standup list` and for a click on a prompt's button (`prompt_answer` by default:
our app opens the answer modal after the ack). Figures: p50/p99 per app, ours/bare ratio
(target <= 1.2 at p50, <= 1.5 at p99), and for our `/standup list` the share of ephemeral
replies (the work done after the ack) that reached Slack before the phase ended: below 100 % the
app is acknowledging faster than it can finish the work, and the backlog grows. At the end, every
follow-up (each list's reply, each click's modal) is waited for and counted.

    python bench/ack_latency.py [--requests N] [--clients 100] [--action prompt_answer]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Child,
    announce_ready,
    emit_json,
    log,
    percentile,
    print_table,
    ratio,
    spawn,
    wait_for_signal,
)
from tests.slack_signing import SlackRequests, sign

# As tests.harness has them (not imported from there: it imports the app, and the "ours" child
# must import the app from --ours-root).
SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
TEAM = "T0TEAM001"
ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL = "C0STANDUP1"
STANDUP = "Daily sync"
QUESTIONS = ["What did you do?", "What's next?", "Any blockers?"]
TARGET = 1.5  # ours/bare at p99
TARGET_P50 = 1.2  # and at p50 (issue 12)
SCRIPT = Path(__file__).resolve()


# --- child processes -------------------------------------------------------------------------


async def serve_fake() -> None:
    from tests.slack_fake import FakeSlack, TriggerInfo

    class BenchFake(FakeSlack):
        """The load generator cannot ask this process for trigger ids: accept any, once seen."""

        def _take_trigger(self, trigger_id: Any) -> Any:
            if trigger_id and str(trigger_id) not in self.triggers:
                self.triggers[str(trigger_id)] = TriggerInfo(str(trigger_id), time.monotonic())
            return super()._take_trigger(trigger_id)

    fake = BenchFake(team_id=TEAM)
    fake.trigger_lifetime = 3600.0

    def bench_counts(_req: Any) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for call in fake.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        return {"ok": True, "counts": counts}

    fake._methods["bench.counts"] = bench_counts  # how much after-ack work has reached Slack
    fake.add_user(ALICE, "alice", tz="America/New_York")
    fake.add_user(BOB, "bob", tz="Europe/Berlin")
    fake.add_channel(CHANNEL, "standup", bot_is_member=True)
    await fake.start()
    announce_ready({"api_url": fake.api_url, "base_url": fake.base_url})
    await wait_for_signal()
    counts: dict[str, int] = {}
    for call in fake.calls:
        counts[call.method] = counts.get(call.method, 0) + 1
    print(f"fake calls: {counts}", file=sys.stderr)
    await fake.stop()


async def _serve(web_app: Any) -> None:
    from aiohttp import web

    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    announce_ready({"url": f"http://127.0.0.1:{port}"})
    await wait_for_signal()
    await runner.cleanup()


def _configure_logging() -> None:
    from bot.logging import configure_logging

    configure_logging("INFO", "json", secrets=[SIGNING_SECRET, BOT_TOKEN])


async def serve_ours(api_url: str, database_url: str, root: str | None) -> None:
    if root:
        sys.path.insert(0, root)
    from app import create_app
    from bot.settings import load_settings

    settings = load_settings(
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=api_url,
        database_url=database_url,
        log_format="json",
        _env_file=None,
    )
    _configure_logging()
    await _serve(create_app(settings).web)


async def serve_bare(api_url: str) -> None:
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    _configure_logging()
    bolt = AsyncApp(
        token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url),
    )

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    bolt.command("/standup")(just_ack)
    bolt.action("prompt_answer")(just_ack)
    bolt.action("prompt_skip")(just_ack)
    await _serve(bolt.web_app(path="/slack/events"))


# --- set-up ---------------------------------------------------------------------------------


async def seed(database_url: str) -> None:
    """A standup with two participants (for /standup list) and one prompt due now, which our
    app's scheduler sends on its first tick (the DM with the Answer button)."""
    from zoneinfo import ZoneInfo

    from storage import members as members_db
    from storage import prompts as prompts_db
    from storage import runs as runs_db
    from storage import standups as standups_db
    from storage import workspaces as workspaces_db
    from storage.db import Database
    from storage.migrate import upgrade_to_head

    db = Database(database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, TEAM, name="Bench")
            later = (now + dt.timedelta(hours=12)).astimezone(ZoneInfo("America/New_York"))
            standup = await standups_db.create_standup(
                session,
                workspace.id,
                name=STANDUP,
                name_key=STANDUP.lower(),
                channel_id=CHANNEL,
                questions=QUESTIONS,
                weekday_mask=127,
                local_time=later.strftime("%H:%M"),
                tz_mode="participant",
                fixed_tz=None,
                owner_user_id=ALICE,
                participant_ids=[ALICE, BOB],
                now=now,
            )
            for user, tz in ((ALICE, "America/New_York"), (BOB, "Europe/Berlin")):
                await members_db.update_member_profile(
                    session,
                    workspace.id,
                    user,
                    name=user.lower(),
                    tz=tz,
                    is_bot=False,
                    deleted=False,
                    now=now,
                )
            alice = await members_db.get_member(session, workspace.id, ALICE)
            assert alice is not None
            local_date = now.astimezone(ZoneInfo("America/New_York")).date()
            run = await runs_db.get_or_create_run(
                session, workspace.id, standup, local_date, now + dt.timedelta(hours=4)
            )
            await prompts_db.insert_prompt(
                session, workspace.id, run=run, member_id=alice.id, due_at=now
            )
    finally:
        await db.dispose()


async def wait_prompt_sent(database_url: str, timeout: float = 30.0) -> dict[str, Any]:  # noqa: ASYNC109
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import Prompt, Run

    db = Database(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with db.session() as session:
                row = (
                    await session.execute(
                        select(Prompt, Run).join(Run, Run.id == Prompt.run_id).limit(1)
                    )
                ).first()
            if row is not None and row[0].state == "sent":
                prompt, run = row
                return {
                    "prompt_id": prompt.id,
                    "channel": prompt.dm_channel_id,
                    "ts": prompt.message_ts,
                    "local_date": run.local_date.isoformat(),
                }
            if time.monotonic() > deadline:
                state = row[0].state if row else "absent"
                raise RuntimeError(f"the prompt was not sent within {timeout} s (state {state})")
            await asyncio.sleep(0.1)
    finally:
        await db.dispose()


# --- requests --------------------------------------------------------------------------------


class Capture(SlackRequests):
    """SlackRequests that signs and keeps the request instead of sending it."""

    captured: tuple[bytes, dict[str, str]] = (b"", {})

    async def post(  # type: ignore[override]
        self, body: bytes | str, content_type: str, **_: Any
    ) -> tuple[int, str]:
        raw = body if isinstance(body, bytes) else body.encode()
        ts = str(int(time.time()))
        self.captured = (
            raw,
            {
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign(self.signing_secret, ts, raw),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
        )
        return 0, ""


async def build_requests(
    kind: str, count: int, fake_api_url: str, prompt: dict[str, Any], action: str
) -> list[tuple[bytes, dict[str, str]]]:
    from bot.views import messages

    builder = Capture("http://unused", SIGNING_SECRET, team_id=TEAM, api_url=fake_api_url)
    message: dict[str, Any] = {}
    if kind == "button":
        built = messages.prompt_message(
            prompt_id=prompt["prompt_id"],
            standup_name=STANDUP,
            questions=QUESTIONS,
            state="pending",
            local_date=prompt["local_date"],
        )
        message = {
            "type": "message",
            "user": "U0BOT0001",
            "bot_id": "B0BOT0001",
            "ts": prompt["ts"],
            "text": built["text"],
            "blocks": built["blocks"],
        }
    out = []
    for _ in range(count):
        if kind == "list":
            await builder.command(ALICE, "list", channel_id=CHANNEL)
        else:
            await builder.block_action(
                ALICE,
                action,
                str(prompt["prompt_id"]),
                channel_id=prompt["channel"],
                message=message,
            )
        out.append(builder.captured)
    return out


async def run_load(
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    clients: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """`clients` concurrent keep-alive clients share out `requests`; each client's first
    request only opens its connection and is not counted. Without `rate` each client sends
    back to back (the server is saturated); with it, request k of client i is sent no earlier
    than start + (k * clients + i) / rate (a fixed total arrival rate, requests per second)."""
    import aiohttp

    per_client = [requests[i::clients] for i in range(clients)]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    start = asyncio.Event()
    connected = 0
    began = 0.0

    async def client(position: int, mine: list[tuple[bytes, dict[str, str]]]) -> None:
        nonlocal connected
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            for index, (body, headers) in enumerate(mine):
                if index == 1:
                    connected += 1
                    await start.wait()
                if rate and index >= 1:
                    due = began + ((index - 1) * clients + position) / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__  # type: ignore[assignment]
                elapsed = time.perf_counter() - sent
                if index == 0:
                    continue
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    tasks = [
        asyncio.create_task(client(position, mine))
        for position, mine in enumerate(per_client)
        if mine
    ]
    while connected < len(tasks) and not all(t.done() for t in tasks):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    return {
        "count": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
        "rps": len(latencies) / wall if wall else 0.0,
        "wall_s": wall,
    }


async def fake_count(api_url: str, method: str) -> int:
    """How many calls of `method` the fake Slack has received."""
    import aiohttp

    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(api_url + "bench.counts", headers=headers) as response,
    ):
        body = await response.json()
    return int(body["counts"].get(method, 0))


async def wait_follow_ups(
    api_url: str,
    follow_up: dict[str, str],
    expected: dict[str, int],
    args: argparse.Namespace,
) -> tuple[dict[str, int], float]:
    """Wait (at most --drain seconds) until the fake has every follow-up of our app's
    requests; returns what arrived per kind and how long after the last phase it took."""
    started = time.monotonic()
    while True:
        delivered = {k: await fake_count(api_url, m) for k, m in follow_up.items()}
        done = all(delivered[k] >= expected[k] for k in expected)
        if done or time.monotonic() - started > args.drain:
            return delivered, time.monotonic() - started
        await asyncio.sleep(0.2)


# --- main ------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    script = str(SCRIPT)
    work = Path(tempfile.mkdtemp(prefix="asyncstand-bench-ack-"))
    database_url = f"sqlite+aiosqlite:///{work}/bench.db"
    children: list[Child] = []
    try:
        await seed(database_url)
        py = sys.executable
        fake = spawn([py, script, "--role", "fake"], stderr_path=work / "fake.log")
        children.append(fake)
        api_url = fake.info["api_url"]
        ours = spawn(
            [
                *(py, script, "--role", "ours", "--api-url", api_url, "--db-url", database_url),
                *(("--ours-root", str(args.ours_root)) if args.ours_root else ()),
            ],
            stderr_path=work / "ours.log",
        )
        children.append(ours)
        bare = spawn(
            [py, script, "--role", "bare", "--api-url", api_url], stderr_path=work / "bare.log"
        )
        children.append(bare)
        prompt = await wait_prompt_sent(database_url)
        servers = {
            "bare": bare.info["url"] + "/slack/events",
            "ours": ours.info["url"] + "/slack/events",
        }
        log(f"servers up, prompt {prompt['prompt_id']} sent; {args.clients} x {args.requests}")

        # Every request to our app has follow-up work after its ack: a reply to response_url
        # (/standup list) or the answer modal (views.open): all must reach Slack in the end.
        follow_up = {"list": "response_url", "button": "views.open"}
        sent_to_ours = {"list": 0, "button": 0}
        # Warm-up: imports, first auth.test, connection pools, SQLite page cache.
        for kind in ("list", "button"):
            for name, url in servers.items():
                reqs = await build_requests(kind, 200, api_url, prompt, args.action)
                await run_load(url, reqs, 20)
                if name == "ours":
                    sent_to_ours[kind] += len(reqs)
                log(f"warm-up {kind} {name} done")
        await asyncio.sleep(args.pause)

        results: dict[str, dict[str, dict[str, Any]]] = {"list": {}, "button": {}}
        per_phase = args.clients * (args.requests + 1)
        for kind in ("list", "button"):
            for rnd in range(args.rounds):
                order = ("bare", "ours") if rnd % 2 == 0 else ("ours", "bare")
                for name in order:
                    reqs = await build_requests(kind, per_phase, api_url, prompt, args.action)
                    before = await fake_count(api_url, "response_url")
                    outcome = await run_load(servers[name], reqs, args.clients, args.rate)
                    if name == "ours":
                        sent_to_ours[kind] += len(reqs)
                    if kind == "list" and name == "ours":
                        done = await fake_count(api_url, "response_url") - before
                        outcome["replied_in_phase"] = done / max(1, outcome["count"])
                    log(
                        f"{kind} {name}: p50 {outcome['p50_ms']:.1f} ms, "
                        f"p99 {outcome['p99_ms']:.1f} ms, {outcome['rps']:.0f} req/s"
                    )
                    merged = results[kind].setdefault(name, {"runs": []})
                    merged["runs"].append(outcome)
                    await asyncio.sleep(args.pause)  # let after-ack work drain
        delivered, drain_s = await wait_follow_ups(api_url, follow_up, sent_to_ours, args)
        rows = []
        figures: dict[str, Any] = {
            "clients": args.clients,
            "requests_per_client": args.requests,
            "rounds": args.rounds,
            "action": args.action,
            "rate": args.rate,
        }
        met = True
        for kind, label in (("list", "/standup list"), ("button", f"{args.action} click")):
            stats = {}
            for name in ("bare", "ours"):
                runs = results[kind][name]["runs"]
                stats[name] = {
                    "p50_ms": sorted(r["p50_ms"] for r in runs)[len(runs) // 2],
                    "p99_ms": max(r["p99_ms"] for r in runs),
                    "rps": sum(r["rps"] for r in runs) / len(runs),
                    "errors": sum(sum(r["errors"].values()) for r in runs),
                }
                replied = [r["replied_in_phase"] for r in runs if "replied_in_phase" in r]
                if replied:
                    stats[name]["replied_in_phase"] = min(replied)
            r50 = ratio(stats["ours"]["p50_ms"], stats["bare"]["p50_ms"])
            r99 = ratio(stats["ours"]["p99_ms"], stats["bare"]["p99_ms"])
            ok = r50 <= TARGET_P50 and r99 <= TARGET
            met = met and ok
            for name in ("bare", "ours"):
                s = stats[name]
                replied = s.get("replied_in_phase")
                rows.append(
                    [
                        *(label, name, s["p50_ms"], s["p99_ms"], s["rps"], s["errors"], ""),
                        f"{replied * 100:.0f}%" if replied is not None else "",
                    ]
                )
            rows.append([label, "ours/bare", r50, r99, "", "", "yes" if ok else "NO", ""])
            figures[kind] = {**stats, "ratio_p50": r50, "ratio_p99": r99, "target_met": ok}
        pace = f"paced at {args.rate:g} req/s" if args.rate else "back to back"
        print_table(
            f"Ack latency, {args.clients} concurrent clients x {args.requests} requests, {pace} "
            f"(target ours/bare <= {TARGET_P50} at p50, <= {TARGET} at p99)",
            ["request", "app", "p50 ms", "p99 ms", "req/s", "errors", "met", "replied"],
            rows,
        )
        print(
            f"\ntarget ours/bare <= {TARGET_P50} at p50 and <= {TARGET} at p99: "
            f"{'met' if met else 'NOT met'}"
        )
        everything = all(delivered[k] >= sent_to_ours[k] for k in sent_to_ours)
        shown = ", ".join(
            f"{follow_up[k]} {delivered[k]}/{sent_to_ours[k]}" for k in ("list", "button")
        )
        print(
            f"follow-ups of our app delivered: {shown} "
            f"({'all' if everything else 'NOT all'}; the last {drain_s:.1f} s after the last phase)"
        )
        figures["follow_ups"] = {
            "sent": sent_to_ours,
            "delivered": delivered,
            "all_delivered": everything,
            "drain_s": drain_s,
        }
        figures["target_met"] = met
        emit_json("ack_latency", figures)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        if args.keep_logs:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="requests per client per phase")
    parser.add_argument("--rounds", type=int, default=1, help="phases per app and request kind")
    parser.add_argument(
        "--action", choices=("prompt_answer", "prompt_skip"), default="prompt_answer"
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="total requests per second (paced); default: every client back to back",
    )
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between phases")
    parser.add_argument(
        "--drain", type=float, default=120.0, help="max seconds to wait for every follow-up"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 requests per client")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--ours-root", help="import our app from this checkout instead (before/after comparisons)"
    )
    parser.add_argument("--role", choices=("fake", "ours", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.requests, args.pause = 5, 1.0
    return args


def run_role(args: argparse.Namespace) -> None:
    """A server child; BENCH_PROFILE=<dir> writes its cProfile stats there on exit."""
    servers = {
        "fake": serve_fake,
        "ours": lambda: serve_ours(args.api_url, args.db_url, args.ours_root),
        "bare": lambda: serve_bare(args.api_url),
    }
    profile_dir = os.environ.get("BENCH_PROFILE")
    if not profile_dir:
        asyncio.run(servers[args.role]())
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(servers[args.role]())
    finally:
        profiler.disable()
        profiler.dump_stats(str(Path(profile_dir) / f"{args.role}.prof"))


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.role:
        run_role(arguments)
    else:
        sys.exit(asyncio.run(main(arguments)))
