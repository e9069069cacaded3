"""App lifecycle events: the App Home, and uninstall / token revocation."""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError

from bot import standups, workspaces
from bot.slack.gateway import error_code
from bot.views.home import home_view
from bot.views.messages import list_items
from handlers.slack.context import caller_of, services_of

log = structlog.get_logger("asyncstand.handlers")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


async def on_home_opened(args: AsyncArgs) -> None:
    event = args.event or {}
    if event.get("tab") != "home":
        return
    user_id = str(event["user"])
    caller = await caller_of(args.context, args.client, user_id)
    mine = await standups.overview(services_of(args.context), caller, mine=True)
    try:
        await args.client.views_publish(user_id=user_id, view=home_view(list_items(mine)))
    except SlackApiError as exc:
        log.warning("home_publish_failed", error=error_code(exc))


async def on_uninstalled(args: AsyncArgs) -> None:
    await _uninstall(args.context)


async def on_tokens_revoked(args: AsyncArgs) -> None:
    if ((args.event or {}).get("tokens") or {}).get("bot"):
        await _uninstall(args.context)


async def _uninstall(context: AsyncBoltContext) -> None:
    await workspaces.uninstall(
        services_of(context),
        context.team_id,
        context.enterprise_id,
        org_wide=bool(context.is_enterprise_install),
    )
