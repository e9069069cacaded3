"""App lifecycle events: the App Home, and uninstall / token revocation."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update

from bot.runtime import services_from
from bot.slack import error_code
from bot.views import blocks
from handlers.context import log
from storage import audit, queries
from storage.models import Installation, Prompt, Workspace


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


async def on_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") != "home":
        return
    user_id = str(event["user"])
    items = await standups_of(context, user_id)
    try:
        await client.views_publish(user_id=user_id, view=blocks.home_view(items))
    except SlackApiError as exc:
        log.warning("home_publish_failed", error=error_code(exc))


async def standups_of(context: AsyncBoltContext, user_id: str) -> list[blocks.StandupListItem]:
    """The standups this user takes part in or owns, for their App Home."""
    from handlers.commands import list_items
    from handlers.context import workspace_id_for

    workspace_id = await workspace_id_for(context)
    return await list_items(services_from(context), workspace_id, involving=user_id)


async def deactivate_workspace(context: AsyncBoltContext) -> None:
    """Forget the tokens and stop all scheduled work for the workspace (idempotent)."""
    services = services_from(context)
    # An org-wide (Grid) install is stored under the enterprise id.
    if context.is_enterprise_install and context.enterprise_id:
        team_id: str | None = context.enterprise_id
    else:
        team_id = context.team_id or context.enterprise_id
    if not team_id:
        return
    async with services.db.session() as session:
        workspace = await queries.get_workspace(session, team_id)
        if workspace is None:
            return
        # Flip `active` first, conditionally: the row lock (or SQLite's write lock) makes a
        # concurrent delivery of the other event (tokens_revoked + app_uninstalled arrive
        # together and run after ack) wait here and then find nothing left to deactivate.
        flipped = await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace.id, Workspace.active.is_(True))
            .values(active=False)
        )
        await session.execute(
            update(Installation)
            .where(Installation.workspace_id == workspace.id)
            .values(bot_token_encrypted=None, bot_refresh_token_encrypted=None)
        )
        await session.execute(
            update(Prompt)
            .where(Prompt.workspace_id == workspace.id, Prompt.state.in_(("pending", "sending")))
            .values(state="missed", error="app uninstalled", lease_until=None)
        )
        # An inactive workspace has no scheduled work; its standups keep their own on/off
        # flags so that a reinstall picks up where the team left off.
        if flipped.rowcount:  # type: ignore[attr-defined]
            await audit.record(
                session, workspace.id, actor=None, action="uninstall", now=services.clock()
            )
    log.info("workspace_deactivated")


async def on_uninstalled(context: AsyncBoltContext) -> None:
    await deactivate_workspace(context)


async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
    tokens = event.get("tokens") or {}
    if tokens.get("bot"):
        await deactivate_workspace(context)
