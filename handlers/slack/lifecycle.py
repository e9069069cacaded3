"""App lifecycle events: App Home opened (drawn by handlers.slack.home), and uninstall /
token revocation."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import events, workspaces
from handlers.slack.context import services_of
from handlers.slack.home import on_home_opened

log = structlog.get_logger("asyncstand.handlers")


def register(app: AsyncApp) -> None:
    """Register on the events app, which handles an event before answering Slack."""
    app.event("app_home_opened")(once(on_home_opened))
    app.event("app_uninstalled")(once(on_uninstalled))
    app.event("tokens_revoked")(once(on_tokens_revoked))


Listener = Callable[[AsyncArgs], Awaitable[None]]


def once(listener: Listener) -> Listener:
    """Act on each event once: a delivery already handled (or being handled right now) is
    ignored; one whose earlier attempt died is handled; success is recorded at the end, so an
    failed attempt is left to Slack's retry."""

    @functools.wraps(listener)
    async def handled_once(args: AsyncArgs) -> None:
        body = args.body
        event_id = str(body.get("event_id") or "")
        services = services_of(args.context)
        if not event_id:
            await listener(args)
            return
        if not await events.begin(services, event_id, body.get("team_id")):
            log.info("duplicate_event_ignored", event_id=event_id)
            return
        try:
            await listener(args)
        except Exception:
            await events.abandon(services, event_id)
            raise
        await events.complete(services, event_id)

    return handled_once


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
