"""The Slack Web API side: one place that makes clients (base URL, retries) and finds tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog
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
from storage.db import Database
from storage.models import Installation, Workspace

log = structlog.get_logger("asyncstand.slack")

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


# Rotating tokens (12 h life) are refreshed when less than this is left.
ROTATE_AHEAD = dt.timedelta(hours=2)


class SlackGateway:
    """Builds Web API clients pointed at SLACK_API_URL and resolves each workspace's token."""

    def __init__(self, settings: Settings, secret_box: SecretBox | None, db: Database) -> None:
        self._settings = settings
        self.secret_box = secret_box
        self._db = db
        self._clients: dict[str, AsyncWebClient] = {}
        self._refresh_lock = asyncio.Lock()

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
            if len(self._clients) > 10_000:  # rotated tokens must not pile up forever
                self._clients.clear()
            self._clients[key] = client
        return client

    async def find_installation(
        self, session: AsyncSession, team_id: str | None, enterprise_id: str | None
    ) -> tuple[Workspace, Installation, str] | None:
        """The active installation serving a team: its own, or its Grid org's org-wide one."""
        for key, org_wide in ((team_id, False), (enterprise_id, True)):
            if not key:
                continue
            workspace = (
                await session.execute(select(Workspace).where(Workspace.team_id == key))
            ).scalar_one_or_none()
            if workspace is None or not workspace.active:
                continue
            row = (
                await session.execute(
                    select(Installation).where(Installation.workspace_id == workspace.id)
                )
            ).scalar_one_or_none()
            if row is None or row.bot_token_encrypted is None:
                continue
            if org_wide and not row.is_enterprise_install:
                continue
            token = await self._usable_token(row)
            if token is not None:
                return workspace, row, token
        return None

    async def bot_token(self, session: AsyncSession, workspace_id: int) -> str | None:
        """The bot token for a workspace, or None if it has none (uninstalled)."""
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None or not workspace.active:
            return None
        if self._settings.single_workspace:
            return self._settings.slack_bot_token
        found = await self.find_installation(session, workspace.team_id, workspace.enterprise_id)
        return found[2] if found else None

    async def bot_client(self, session: AsyncSession, workspace_id: int) -> AsyncWebClient | None:
        token = await self.bot_token(session, workspace_id)
        return self.client(token) if token else None

    async def _usable_token(self, row: Installation) -> str | None:
        if self.secret_box is None or row.bot_token_encrypted is None:
            return None
        expires_at = row.bot_token_expires_at
        if (
            expires_at is not None
            and row.bot_refresh_token_encrypted
            and expires_at - dt.datetime.now(dt.UTC) < ROTATE_AHEAD
        ):
            return await self._refresh(row.id)
        return self.secret_box.decrypt(row.bot_token_encrypted)

    async def _refresh(self, installation_id: int) -> str | None:
        """Spend the refresh token once: row lock in Postgres, process lock everywhere."""
        box = self.secret_box
        assert box is not None
        async with self._refresh_lock, self._db.session() as session:
            stmt = select(Installation).where(Installation.id == installation_id)
            if not self._db.is_sqlite:
                stmt = stmt.with_for_update()
            row = (await session.execute(stmt)).scalar_one_or_none()
            if row is None or row.bot_token_encrypted is None:
                return None
            now = dt.datetime.now(dt.UTC)
            expires_at = row.bot_token_expires_at
            refresh = row.bot_refresh_token_encrypted
            if expires_at is None or refresh is None or expires_at - now >= ROTATE_AHEAD:
                return box.decrypt(row.bot_token_encrypted)  # another replica refreshed it
            try:
                response = await self.client(None).oauth_v2_access(
                    client_id=self._settings.slack_client_id or "",
                    client_secret=self._settings.slack_client_secret or "",
                    grant_type="refresh_token",
                    refresh_token=box.decrypt(refresh),
                )
            except SlackApiError as exc:
                log.warning("token_refresh_failed", error=error_code(exc))
                return box.decrypt(row.bot_token_encrypted) if expires_at > now else None
            row.bot_token_encrypted = box.encrypt(str(response["access_token"]))
            if response.get("refresh_token"):
                row.bot_refresh_token_encrypted = box.encrypt(str(response["refresh_token"]))
            row.bot_token_expires_at = now + dt.timedelta(
                seconds=int(response.get("expires_in") or 43200)
            )
            log.info("token_refreshed", installation_id=installation_id)
            return str(response["access_token"])


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    """The DM channel id with a user (conversations.open is idempotent)."""
    response = await client.conversations_open(users=user_id)
    channel: dict[str, Any] = response["channel"]
    return str(channel["id"])


async def send_dm(client: AsyncWebClient, user_id: str, text: str, blocks: list[Any]) -> None:
    channel = await open_dm(client, user_id)
    await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
