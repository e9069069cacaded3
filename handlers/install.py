"""Multi-workspace install over OAuth v2: Bolt's flow drives the exchange; what it stores goes
through our use cases (encrypted tokens, server-side single-use state) and it shows our pages.
Its Web API client points at SLACK_API_URL like every other call."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot import workspaces
from bot.runtime import Services
from bot.views.pages import failure_page, install_page, success_page

log = structlog.get_logger("asyncstand.oauth")


def _html(status: int, page: str) -> BoltResponse:
    return BoltResponse(
        status=status, body=page, headers={"Content-Type": "text/html; charset=utf-8"}
    )


class SqlInstallationStore(AsyncInstallationStore):
    """Bot installations in our own tables, tokens encrypted with MultiFernet (bot-only)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def logger(self) -> Any:
        return log

    async def async_save(self, installation: Installation) -> None:
        await workspaces.save_installation(
            self._services, installation.to_bot(), installation.user_id
        )

    async def async_save_bot(self, bot: Bot) -> None:
        await workspaces.save_installation(self._services, bot, None)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await workspaces.find_installation(self._services, team_id, enterprise_id)
        if found is None:
            return None
        workspace, row, token = found
        return Bot(
            app_id=row.app_id,
            enterprise_id=workspace.enterprise_id,
            team_id=None if row.is_enterprise_install else workspace.team_id,
            bot_token=token,
            bot_id=row.bot_id or "",
            bot_user_id=row.bot_user_id or "",
            bot_scopes=row.bot_scopes or "",
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at.timestamp(),
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id or "",
            is_enterprise_install=bot.is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await workspaces.delete_installation(self._services, team_id or enterprise_id or "")

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SqlStateStore(AsyncOAuthStateStore):
    """OAuth state kept server-side: random, single use (deleted on consume), 10-minute life."""

    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def logger(self) -> Any:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await workspaces.issue_oauth_state(self._services)

    async def async_consume(self, state: str) -> bool:
        return await workspaces.consume_oauth_state(self._services, state)


class AsyncStandOAuthFlow(AsyncOAuthFlow):
    """Bolt's flow with our landing page."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return install_page(url)


def build_oauth_flow(services: Services) -> AsyncStandOAuthFlow:
    settings = services.settings
    assert settings.slack_client_id and settings.slack_client_secret

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        if installation.bot_token and installation.user_id:
            try:
                await workspaces.welcome_installer(
                    services, installation.bot_token, installation.user_id
                )
            except Exception:
                log.exception("post_install_failed")
        page = success_page(
            installation.team_id or installation.enterprise_id,
            installation.app_id,
            installation.team_name or installation.enterprise_name,
        )
        return _html(200, page)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("install_failed", reason=args.reason)
        status = args.suggested_status_code if args.suggested_status_code < 500 else 400
        return _html(status, failure_page(args.reason))

    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.scopes,
        installation_store=SqlInstallationStore(services),
        installation_store_bot_only=True,
        state_store=SqlStateStore(services),
        state_expiration_seconds=int(workspaces.OAUTH_STATE_TTL.total_seconds()),
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
    )
    return AsyncStandOAuthFlow(client=services.slack.client(None), settings=oauth_settings)
