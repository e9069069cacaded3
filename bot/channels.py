"""The channels standups post to: what Slack says about each, and whether it is private.

A standup in a private channel is listed only to its participants, owners and workspace admins
(bot.standups.overview); until we know a channel's privacy it counts as private. We learn it
whenever we ask Slack about the channel: when a standup is created or moved, and lazily from
the planner for standups that predate this (learn_unknown).
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Services
from bot.slack.gateway import error_code
from storage import standups

log = structlog.get_logger("asyncstand.channels")

# Channels looked up per planning pass of a workspace, at most.
LEARN_PER_PASS = 10


async def record_privacy(
    services: Services, workspace_id: int, channel_id: str, *, private: bool
) -> None:
    async with services.db.session() as session:
        changed = await standups.record_channel_privacy(session, workspace_id, channel_id, private)
    if changed:
        log.info("channel_privacy_learned", channel=channel_id, private=private, standups=changed)


async def describe(
    services: Services, client: AsyncWebClient, workspace_id: int, channel_id: str
) -> dict[str, Any]:
    """conversations.info for a standup's channel, recording on the way whether it is private.

    A channel Slack says it can't find counts as private: Slack hides private channels the bot
    is not in (a public one is always visible), and a deleted one has nothing to show.
    Raises SlackApiError as the client does.
    """
    try:
        response = await client.conversations_info(channel=channel_id)
    except SlackApiError as exc:
        if error_code(exc) == "channel_not_found":
            await record_privacy(services, workspace_id, channel_id, private=True)
        raise
    channel: dict[str, Any] = response["channel"]
    private = bool(channel.get("is_private", True)) or bool(channel.get("is_mpim"))
    await record_privacy(services, workspace_id, channel_id, private=private)
    return channel


async def learn_unknown(services: Services, client: AsyncWebClient, workspace_id: int) -> None:
    """Look up channels whose privacy is still unknown (a few per call); what Slack can't
    answer now stays unknown — private — and is asked again next time."""
    async with services.db.session() as session:
        unknown = await standups.channels_of_unknown_privacy(session, workspace_id, LEARN_PER_PASS)
    for channel_id in unknown:
        try:
            await describe(services, client, workspace_id, channel_id)
        except SlackApiError as exc:
            log.info("channel_privacy_unknown", channel=channel_id, error=error_code(exc))
