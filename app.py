"""AsyncStand: the composition root — the command line, and create_app(settings).

python app.py [--role web|worker|all]        serve (default)
python app.py rotate-keys                     re-encrypt stored tokens with the first ENCRYPTION_KEY
python app.py delete-workspace T0123 --yes    erase everything stored for one workspace
python app.py create-token --team T0123 --user U0456 [--scope read|write] [--name NAME]
                                              a personal REST API token (printed once)
python app.py export --team T0123 [--standup NAME] --format csv|json --out FILE
                                              answers, or (JSON, no --standup) everything
                                              stored about the workspace except secrets
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from bot import api_tokens, exports, operations, workspaces
from bot.logging import configure_logging
from bot.metrics import Metrics
from bot.outcomes import FieldErrors
from bot.runtime import Services, system_clock
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.gateway import SlackGateway
from bot.slack.ratelimit import Limiter, LocalLimiter, RedisLimiter
from handlers.http import build_web
from handlers.slack import SlackApps, build_bolt
from handlers.socket_mode import SocketModeLink
from scheduler.worker import Worker
from storage.crypto import SecretBox
from storage.db import Database
from storage.migrate import upgrade_to_head

log = structlog.get_logger("asyncstand.app")


@dataclass
class AsyncStand:
    """Everything one process runs: HTTP app, Bolt app, services and (maybe) the scheduler."""

    settings: Settings
    services: Services
    slack: SlackApps
    web: web.Application
    worker: Worker | None
    metrics: Metrics
    socket: SocketModeLink | None = None  # Socket Mode (SLACK_APP_TOKEN) instead of /slack/events


def create_app(settings: Settings, *, clock: Callable[[], Any] = system_clock) -> AsyncStand:
    """Build every part of the app. Nothing connects until the aiohttp app starts."""
    db = Database(settings.database_url)
    metrics = Metrics()
    limiter: Limiter = RedisLimiter(settings.redis_url) if settings.redis_url else LocalLimiter()
    box = SecretBox(settings.fernet_keys) if settings.fernet_keys else None
    slack = SlackGateway(settings, box, db, metrics=metrics, limiter=limiter, clock=clock)
    services = Services(settings=settings, db=db, slack=slack, clock=clock)
    slack_apps = build_bolt(services)
    worker = Worker(services, metrics) if settings.role in ("worker", "all") else None
    # Socket Mode: Slack's requests over an outbound WebSocket; /readyz reports the connection.
    socket = SocketModeLink(services, slack_apps, metrics) if settings.socket_mode else None
    readiness = {"slack_socket": socket.readiness} if socket is not None else None
    web_app = build_web(services, slack_apps, metrics, readiness=readiness)
    background: list[asyncio.Task[None]] = []

    async def on_startup(_: web.Application) -> None:
        if settings.auto_migrate:
            await upgrade_to_head(db.engine)
        # One pooled HTTP session for the process's lifetime (Web API calls, response_url
        # replies, uploads), in the running loop; closed with the gateway at cleanup.
        slack.http_session()
        if settings.single_workspace:
            background.append(asyncio.create_task(workspaces.bootstrap_single_workspace(services)))
        if worker is not None:
            worker.start()
        if socket is not None:
            await socket.start()
        elif settings.slack_app_token is not None:  # a worker: no Slack traffic, no socket
            log.info("slack_app_token_unused", reason="a worker takes no Slack requests")
        # Everything built so far (modules, the ORM's and Bolt's machinery) lives as long as the
        # app: keep it out of the collector's full passes, which otherwise stall the event loop
        # for tens of milliseconds, acknowledgements included, every few thousand requests
        # (unfrozen at cleanup, so an app stopped inside a longer-lived process is collected).
        gc.freeze()
        log.info(
            "started",
            role=settings.role,
            single_workspace=settings.single_workspace,
            socket_mode=settings.socket_mode,
        )

    async def on_cleanup(_: web.Application) -> None:
        gc.unfreeze()
        if socket is not None:
            await socket.stop()
        if worker is not None:
            await worker.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if isinstance(limiter, RedisLimiter):
            await limiter.close()
        await slack.close()
        await db.dispose()

    web_app.on_startup.append(on_startup)
    web_app.on_cleanup.append(on_cleanup)
    return AsyncStand(settings, services, slack_apps, web_app, worker, metrics, socket)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="AsyncStand — async standups for Slack")
    parser.add_argument(
        "--role",
        choices=("web", "worker", "all"),
        help="web: HTTP only; worker: scheduler only; all (default): both",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP server and/or scheduler (default)")
    sub.add_parser("rotate-keys", help="re-encrypt stored secrets with the first ENCRYPTION_KEY")
    erase = sub.add_parser("delete-workspace", help="erase all data of one workspace")
    erase.add_argument("team_id", help="the Slack team id (T…) or Grid org id (E…)")
    erase.add_argument("--yes", action="store_true", help="confirm the deletion")
    token = sub.add_parser(
        "create-token", help="create a personal REST API token for a Slack user (printed once)"
    )
    token.add_argument("--team", required=True, help="the workspace's Slack team id (T…)")
    token.add_argument("--user", required=True, help="the Slack user id (U…) it acts as")
    token.add_argument(
        "--scope",
        choices=("read", "write"),
        default="read",
        help="read: GET only (default); write: also create, change and delete",
    )
    token.add_argument("--name", default=api_tokens.DEFAULT_NAME, help="what it is for")
    export = sub.add_parser(
        "export",
        help="write a standup's or the workspace's answers (CSV/JSON), or (JSON without "
        "--standup) everything stored about the workspace except secrets",
    )
    export.add_argument("--team", required=True, help="the workspace's Slack team id (T…)")
    export.add_argument("--standup", help="one standup, by name (default: the whole workspace)")
    export.add_argument("--format", required=True, choices=("csv", "json"))
    export.add_argument("--out", required=True, help="the file to write (replaced atomically)")
    export.add_argument(
        "--from", dest="start", type=_iso_date, help="first local date, YYYY-MM-DD (answers only)"
    )
    export.add_argument(
        "--to", dest="end", type=_iso_date, help="last local date, YYYY-MM-DD (answers only)"
    )
    return parser


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, Any] = {"role": args.role} if args.role else {}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(
            "AsyncStand cannot start — fix these settings (environment or .env):", file=sys.stderr
        )
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values)
    if args.command == "rotate-keys":
        return asyncio.run(_rotate_keys(settings))
    if args.command == "delete-workspace":
        if not args.yes:
            print(
                f"This erases every standup, answer and token of {args.team_id}; "
                "run again with --yes to confirm.",
                file=sys.stderr,
            )
            return 1
        return asyncio.run(_delete_workspace(settings, args.team_id))
    if args.command == "create-token":
        return asyncio.run(_create_token(settings, args.team, args.user, args.scope, args.name))
    if args.command == "export":
        return asyncio.run(_export(settings, args))
    app = create_app(settings)
    web.run_app(app.web, host=settings.host, port=settings.port, print=None)
    return 0


async def _rotate_keys(settings: Settings) -> int:
    if not settings.fernet_keys:
        print("ENCRYPTION_KEY is not set: there is nothing to rotate to.", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        if settings.auto_migrate:
            await upgrade_to_head(db.engine)
        count = await operations.rotate_keys(db, SecretBox(settings.fernet_keys))
    finally:
        await db.dispose()
    print(
        f"Re-encrypted {count} secret(s) with the first ENCRYPTION_KEY; "
        "older keys can be removed once every replica runs with the new list."
    )
    return 0


async def _delete_workspace(settings: Settings, team_id: str) -> int:
    db = Database(settings.database_url)
    try:
        deleted = await operations.delete_workspace(db, team_id)
    finally:
        await db.dispose()
    if not deleted:
        print(f"No data stored for {team_id}.", file=sys.stderr)
        return 1
    print(f"Deleted every record of {team_id}.")
    return 0


async def _create_token(
    settings: Settings, team_id: str, user_id: str, scope: str, name: str
) -> int:
    """Issue a token once Slack confirms the user; print it (only its digest is stored)."""
    db = Database(settings.database_url)
    box = SecretBox(settings.fernet_keys) if settings.fernet_keys else None
    slack = SlackGateway(settings, box, db)
    services = Services(settings=settings, db=db, slack=slack)
    try:
        if settings.auto_migrate:
            await upgrade_to_head(db.engine)
        outcome = await api_tokens.issue_for_member(services, team_id, user_id, name, scope)
    finally:
        await slack.close()
        await db.dispose()
    if isinstance(outcome, api_tokens.TokenRefused):
        print(outcome.detail, file=sys.stderr)
        return 1
    if isinstance(outcome, FieldErrors):
        for field, problem in outcome.errors.items():
            print(f"--{field}: {problem}", file=sys.stderr)
        return 2
    print(
        f"Created {outcome.token.scope} token {outcome.token.name!r} for {user_id} in {team_id}. "
        "It is shown only now; keep it secret:",
        file=sys.stderr,
    )
    print(outcome.plaintext)
    return 0


class _Progress:
    """Rows written so far, on stderr, at most twice a second — only on a terminal."""

    def __init__(self) -> None:
        self._last = 0.0
        self.shown = False

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self.shown = True
            print(f"\r{rows:,} rows written…", end="", file=sys.stderr, flush=True)


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    if args.start and args.end and args.start > args.end:
        print("--from is after --to.", file=sys.stderr)
        return 2
    if (args.start or args.end) and args.standup is None and args.format == "json":
        print(
            "--from/--to apply to answer exports; the workspace's JSON export holds everything.",
            file=sys.stderr,
        )
        return 2
    progress = _Progress() if sys.stderr.isatty() else None
    db = Database(settings.database_url)
    try:
        if settings.auto_migrate:
            await upgrade_to_head(db.engine)
        outcome = await exports.operator_export(
            db,
            args.team,
            args.standup,
            args.format,
            Path(args.out),
            start=args.start,
            end=args.end,
            now=system_clock(),
            progress=progress,
        )
    finally:
        await db.dispose()
    if progress is not None and progress.shown:
        print(file=sys.stderr)
    if isinstance(outcome, exports.OperatorProblem):
        print(outcome.message, file=sys.stderr)
        return outcome.exit_code
    print(f"Wrote {outcome.rows:,} rows ({outcome.what}) to {outcome.path}.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
