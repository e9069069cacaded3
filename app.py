"""AsyncStand entry point.

python app.py [--role web|worker|all]        serve (default)
python app.py rotate-keys                     re-encrypt stored tokens with the first ENCRYPTION_KEY
python app.py delete-workspace T0123 --yes    erase everything stored for one workspace
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from bot.logging import configure_logging
    from bot.settings import SettingsError, load_settings

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

    from aiohttp import web

    from bot.server import create_app

    app = create_app(settings)
    web.run_app(app.web, host=settings.host, port=settings.port, print=None)
    return 0


async def _rotate_keys(settings: Any) -> int:
    from storage.crypto import SecretBox
    from storage.db import Database
    from storage.maintenance import rotate_secrets
    from storage.migrate import upgrade_to_head

    if not settings.fernet_keys:
        print("ENCRYPTION_KEY is not set: there is nothing to rotate to.", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        if settings.auto_migrate:
            await upgrade_to_head(db.engine)
        async with db.session() as session:
            count = await rotate_secrets(session, SecretBox(settings.fernet_keys))
    finally:
        await db.dispose()
    print(
        f"Re-encrypted {count} secret(s) with the first ENCRYPTION_KEY; "
        "older keys can be removed once every replica runs with the new list."
    )
    return 0


async def _delete_workspace(settings: Any, team_id: str) -> int:
    from storage.db import Database
    from storage.maintenance import delete_workspace_data

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            deleted = await delete_workspace_data(session, team_id)
    finally:
        await db.dispose()
    if not deleted:
        print(f"No data stored for {team_id}.", file=sys.stderr)
        return 1
    print(f"Deleted every record of {team_id}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
