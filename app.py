"""AsyncStand entry point: `python app.py [--role web|worker|all]`."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AsyncStand — async standups for Slack")
    parser.add_argument(
        "--role",
        choices=("web", "worker", "all"),
        help="web: HTTP only; worker: scheduler only; all (default): both",
    )
    args = parser.parse_args(argv)

    from bot.logging import configure_logging
    from bot.server import create_app
    from bot.settings import SettingsError, load_settings

    overrides = {"role": args.role} if args.role else {}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(
            "AsyncStand cannot start — fix these settings (environment or .env):", file=sys.stderr
        )
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    web.run_app(app.web, host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
