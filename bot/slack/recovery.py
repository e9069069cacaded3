"""Finding our own messages after a crash: each message that must exist once carries message
metadata naming what it is (a prompt, a summary, a reply), so when a sender died between
posting and recording the outcome, the conversation is searched before posting again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.gateway import error_code

log = structlog.get_logger("asyncstand.slack")

PROMPT = "asyncstand_prompt"
SUMMARY = "asyncstand_summary"
REPLY = "asyncstand_reply"
# Reminders are sent at most once and never searched for; the tag says what the DM is.
REMINDER = "asyncstand_reminder"

# How far before the recorded start of a post to look (clocks differ a little), and how many
# pages of history to read at most.
SLACK_CLOCK_SLACK = dt.timedelta(minutes=5)
MAX_PAGES = 10
PAGE_SIZE = 200


class CannotTell(Exception):
    """Slack could not be asked whether a message exists; try again later."""


def tag(event_type: str, key: int) -> dict[str, Any]:
    """The metadata that identifies one of our messages."""
    return {"event_type": event_type, "event_payload": {"id": key}}


def _is_ours(message: dict[str, Any], event_type: str, key: int) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == event_type and payload.get("id") == key)


async def find_tagged(
    client: AsyncWebClient,
    channel: str,
    event_type: str,
    key: int,
    since: dt.datetime,
    *,
    thread_ts: str | None = None,
) -> str | None:
    """The ts of our message tagged (event_type, key) in a conversation (or thread) posted
    after `since`, or None if it is not there. Without the history scope (an install from
    before it was needed) we cannot look: None, and the caller posts (at least once).
    Raises CannotTell on other errors."""
    oldest = f"{(since - SLACK_CLOCK_SLACK).timestamp():.6f}"
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": oldest,
            "include_all_metadata": True,
            "limit": PAGE_SIZE,
        }
        if cursor:
            args["cursor"] = cursor
        try:
            if thread_ts:
                response = await client.conversations_replies(ts=thread_ts, **args)
            else:
                response = await client.conversations_history(**args)
        except SlackApiError as exc:
            code = error_code(exc)
            if code == "missing_scope":
                log.warning("history_scope_missing", channel=channel, effect="posting again")
                return None
            raise CannotTell(code) from exc
        except Exception as exc:  # network trouble: we cannot tell
            raise CannotTell(type(exc).__name__) from exc
        for message in response.get("messages") or []:
            if _is_ours(message, event_type, key):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    raise CannotTell("history too long")
