"""Shared helpers for the benchmark scripts: child processes, /proc readings, databases, seeding,
percentiles and the plain-text report.

Every script runs from the repository root (`python bench/<name>.py`) and talks to loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PG_ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
READY = "READY "

# A mix of zones with whole-hour, half-hour and 45-minute offsets, both hemispheres.
ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Kathmandu",
    "UTC",
    "America/Sao_Paulo",
)


# --- numbers and reports ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else float("inf")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain-text table; floats get three significant decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    text_rows = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in text_rows)) if text_rows else len(h)
        for i, h in enumerate(headers)
    ]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in text_rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def emit_json(name: str, figures: dict[str, Any]) -> None:
    """The machine-readable last line of every script."""
    figures = {**figures, "loadavg_1m_at_end": round(os.getloadavg()[0], 2)}
    print(json.dumps({"bench": name, **figures}, default=str))
    sys.stdout.flush()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A child process; its stdout carries one `READY {json}` line, stderr goes to a file."""

    proc: subprocess.Popen[bytes]
    info: dict[str, Any]
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(
    args: Sequence[str],
    *,
    stderr_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
    ready_timeout: float = 60.0,
    announces: bool = True,
) -> Child:
    """Start `args` and wait for its READY line; `announces=False`: a child that prints no
    READY line (app.py), whose stdout goes to the stderr file too."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p
    )
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if announces else err,
            stderr=err,
        )
    child = Child(proc, {}, stderr_path)
    if not announces:
        return child
    assert proc.stdout is not None
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            child.stop()
            raise RuntimeError(f"{args[1:3]} exited before it was ready:\n{child.tail()}")
        text = line.decode(errors="replace").strip()
        if text.startswith(READY):
            child.info = json.loads(text[len(READY) :])
            return child
    child.stop()
    raise RuntimeError(f"{args[1:3]} not ready after {ready_timeout} s:\n{child.tail()}")


def announce_ready(info: dict[str, Any]) -> None:
    """Child side of `spawn`."""
    print(READY + json.dumps(info), flush=True)


async def wait_for_signal() -> None:
    """Child side: block until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def wait_http(url: str, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer 200 within {timeout} s")
            await asyncio.sleep(0.1)


def app_env(**values: Any) -> dict[str, str]:
    """Environment for `python app.py`: nothing inherited that could change its settings."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    keep.update({k.upper(): str(v) for k, v in values.items() if v is not None})
    return keep


# --- /proc -------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# --- databases ---------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    """A throw-away database: a SQLite file in a temp dir, or a fresh Postgres database."""

    backend: str
    url: str
    name: str = ""
    tmpdir: tempfile.TemporaryDirectory[str] | None = None

    async def drop(self) -> None:
        if self.backend == "postgres":
            await _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.tmpdir is not None:
            self.tmpdir.cleanup()


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def postgres_available() -> bool:
    try:
        await _pg_admin("SELECT 1")
    except Exception:
        return False
    return True


async def create_database(backend: str, label: str) -> BenchDatabase:
    if backend == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix=f"asyncstand-bench-{label}-")
        return BenchDatabase("sqlite", f"sqlite+aiosqlite:///{tmp.name}/bench.db", tmpdir=tmp)
    if backend != "postgres":
        raise ValueError(backend)
    name = f"asyncstand_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return BenchDatabase("postgres", f"{base}/{name}", name=name)


@contextlib.contextmanager
def timer() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    yield lambda: time.perf_counter() - started


# --- seeding -----------------------------------------------------------------------------------


def next_whole_minute(after: dt.datetime, lead: float) -> dt.datetime:
    """The first whole UTC minute at least `lead` seconds after `after`."""
    earliest = after + dt.timedelta(seconds=lead)
    minute = earliest.replace(second=0, microsecond=0)
    return minute if minute >= earliest else minute + dt.timedelta(minutes=1)


def local_hhmm(instant: dt.datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def bench_token(team_id: str) -> str:
    return f"xoxb-bench-{team_id}"


def team_from_token(token: str) -> str:
    return token.removeprefix("xoxb-bench-") if token.startswith("xoxb-bench-") else token


@dataclass
class SeedSpec:
    """W workspaces, each with S standups of P participants (distinct members).

    Each standup's members share one zone (round-robin over `zones`) and the standup's local time
    is `due` in that zone, so every participant's prompt falls due at the same UTC instant.
    """

    workspaces: int
    standups_per_workspace: int
    members_per_standup: int
    due: dt.datetime
    zones: Sequence[str] = ZONES
    encrypt: Callable[[str], str] | None = None  # set: write Installation rows (multi-workspace)
    team_ids: Sequence[str] | None = None
    questions: Sequence[str] = ("What did you do?", "What's next?", "Any blockers?")
    profile_fresh: bool = True  # profile_refreshed_at = now: no users.info on the first tick
    seeded: dict[str, Any] = field(default_factory=dict)

    def team_id(self, index: int) -> str:
        return self.team_ids[index] if self.team_ids else f"TB{index:05d}"


async def seed(database_url: str, spec: SeedSpec, *, migrate: bool = True) -> dict[str, Any]:
    """Bulk-insert the rows of `spec`; returns counts and the ids that were created."""
    from sqlalchemy import insert

    from storage.db import Database
    from storage.migrate import upgrade_to_head
    from storage.models import Installation, Member, Participant, Standup, Workspace

    db = Database(database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        if migrate:
            await upgrade_to_head(db.engine)
        async with db.session() as session:
            teams = [spec.team_id(w) for w in range(spec.workspaces)]
            rows = await session.execute(
                insert(Workspace).returning(Workspace.id, sort_by_parameter_order=True),
                [
                    {"team_id": t, "name": f"Bench {t}", "active": True, "created_at": now}
                    for t in teams
                ],
            )
            workspace_ids = [r[0] for r in rows]
            if spec.encrypt is not None:
                await session.execute(
                    insert(Installation),
                    [
                        {
                            "workspace_id": wid,
                            "app_id": "A0BENCH01",
                            "bot_user_id": "U0BOT0001",
                            "bot_id": "B0BOT0001",
                            "bot_token_encrypted": spec.encrypt(bench_token(team)),
                            "bot_scopes": "commands,chat:write,im:write,users:read",
                            "installer_user_id": "U0OWNER01",
                            "is_enterprise_install": False,
                        }
                        for wid, team in zip(workspace_ids, teams, strict=True)
                    ],
                )
            standup_rows = []
            zone_of_standup = []
            for w, wid in enumerate(workspace_ids):
                for s in range(spec.standups_per_workspace):
                    zone = spec.zones[(w * spec.standups_per_workspace + s) % len(spec.zones)]
                    zone_of_standup.append(zone)
                    standup_rows.append(
                        {
                            "workspace_id": wid,
                            "name": f"Standup {s}",
                            "name_key": f"standup {s}",
                            "channel_id": f"C{w:05d}S{s:03d}",
                            "questions": list(spec.questions),
                            "weekday_mask": 127,
                            "local_time": local_hhmm(spec.due, zone),
                            "tz_mode": "participant",
                            "fixed_tz": None,
                            "active": True,
                            "owner_user_id": "U0OWNER01",
                            "schedule_from": now,
                        }
                    )
            rows = await session.execute(
                insert(Standup).returning(
                    Standup.id, Standup.workspace_id, sort_by_parameter_order=True
                ),
                standup_rows,
            )
            standups = [(r[0], r[1]) for r in rows]
            member_rows = []
            for index, (_sid, wid) in enumerate(standups):
                s = index % spec.standups_per_workspace
                for m in range(spec.members_per_standup):
                    member_rows.append(
                        {
                            "workspace_id": wid,
                            "slack_user_id": f"U{s:03d}M{m:05d}",
                            "name": f"member {s}/{m}",
                            "tz": zone_of_standup[index],
                            "is_bot": False,
                            "deleted": False,
                            "is_admin": False,
                            "dm_channel_id": None,
                            "profile_refreshed_at": now if spec.profile_fresh else None,
                        }
                    )
            member_ids: list[int] = []
            for chunk in _chunks(member_rows, 5000):
                rows = await session.execute(
                    insert(Member).returning(Member.id, sort_by_parameter_order=True), chunk
                )
                member_ids.extend(r[0] for r in rows)
            participant_rows = []
            position = 0
            for sid, wid in standups:
                for _ in range(spec.members_per_standup):
                    participant_rows.append(
                        {
                            "standup_id": sid,
                            "member_id": member_ids[position],
                            "workspace_id": wid,
                        }
                    )
                    position += 1
            for chunk in _chunks(participant_rows, 5000):
                await session.execute(insert(Participant), chunk)
    finally:
        await db.dispose()
    return {
        "workspace_ids": workspace_ids,
        "team_ids": teams,
        "standups": standups,
        "members": len(member_ids),
    }


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def execute(database_url: str, sql: str) -> None:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await db.dispose()


async def scalar(database_url: str, sql: str) -> Any:
    from sqlalchemy import text

    from storage.db import Database

    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await db.dispose()
