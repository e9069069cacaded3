"""Channel membership events: standups that take everyone in a channel follow who joins and
who leaves it (bot.roster). Handled once each, before Slack is answered (lifecycle.once)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import roster
from handlers.slack.context import services_of, workspace_id_of
from handlers.slack.lifecycle import once


def register(app: AsyncApp) -> None:
    """Register on the events app, which handles an event before answering Slack."""
    app.event("member_joined_channel")(once(on_member_joined))
    app.event("member_left_channel")(once(on_member_left))


def _id(value: Any) -> str:
    """An id Slack sends as a string (or, in some payloads, an object with an id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


async def on_member_joined(args: AsyncArgs) -> None:
    await _member_changed(args, joined=True)


async def on_member_left(args: AsyncArgs) -> None:
    await _member_changed(args, joined=False)


async def _member_changed(args: AsyncArgs, *, joined: bool) -> None:
    event = args.event or {}
    user_id, channel_id = _id(event.get("user")), _id(event.get("channel"))
    if not user_id or not channel_id:
        return
    await roster.member_changed(
        services_of(args.context),
        args.client,
        await workspace_id_of(args.context),
        channel_id,
        user_id,
        joined=joined,
        bot_user_id=args.context.bot_user_id,
    )
