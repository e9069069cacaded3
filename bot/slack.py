"""The Slack Web API side: one place that makes clients (base URL, retries) and finds tokens."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from storage.crypto import SecretBox
from storage.models import Installation, Workspace

# Errors that no retry will fix: record them and stop trying.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "invalid_auth",
        "is_archived",
        "not_authed",
        "not_in_channel",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "team_access_not_granted",
        "missing_scope",
        "messages_tab_disabled",
    }
)


def error_code(exc: SlackApiError) -> str:
    """The `error` field of a failed Web API response."""
    response: Any = exc.response
    try:
        return str(response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"


class SlackGateway:
    """Builds Web API clients pointed at SLACK_API_URL and resolves each workspace's token."""

    def __init__(self, settings: Settings, secret_box: SecretBox | None) -> None:
        self._settings = settings
        self._secret_box = secret_box
        self._clients: dict[str, AsyncWebClient] = {}

    @property
    def api_url(self) -> str:
        return self._settings.slack_api_url

    def client(self, token: str | None = None) -> AsyncWebClient:
        """A client for `token` (cached: clients are cheap to reuse, not to create)."""
        key = token or ""
        client = self._clients.get(key)
        if client is None:
            client = AsyncWebClient(
                token=token,
                base_url=self._settings.slack_api_url,
                timeout=15,
                retry_handlers=[
                    AsyncConnectionErrorRetryHandler(max_retry_count=2),
                    AsyncRateLimitErrorRetryHandler(max_retry_count=3),
                    AsyncServerErrorRetryHandler(max_retry_count=2),
                ],
            )
            self._clients[key] = client
        return client

    async def bot_token(self, session: AsyncSession, workspace_id: int) -> str | None:
        """The bot token for a workspace, or None if it has none (uninstalled)."""
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None or not workspace.active:
            return None
        if self._settings.single_workspace:
            return self._settings.slack_bot_token
        row = (
            await session.execute(
                select(Installation.bot_token_encrypted).where(
                    Installation.workspace_id == workspace_id
                )
            )
        ).scalar_one_or_none()
        if row is None or self._secret_box is None:
            return None
        return self._secret_box.decrypt(row)

    async def bot_client(self, session: AsyncSession, workspace_id: int) -> AsyncWebClient | None:
        token = await self.bot_token(session, workspace_id)
        return self.client(token) if token else None


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    """The DM channel id with a user (conversations.open is idempotent)."""
    response = await client.conversations_open(users=user_id)
    channel: dict[str, Any] = response["channel"]
    return str(channel["id"])


async def send_dm(client: AsyncWebClient, user_id: str, text: str, blocks: list[Any]) -> None:
    channel = await open_dm(client, user_id)
    await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
