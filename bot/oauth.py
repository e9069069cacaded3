"""Multi-workspace install: our installation store (encrypted), server-side OAuth state, our pages.

Bolt's AsyncOAuthFlow drives the exchange; everything it persists goes through these classes, and
its Web API client points at SLACK_API_URL like every other call.
"""

from __future__ import annotations

import datetime as dt
import html
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

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
from sqlalchemy import delete, select

from bot.runtime import Services
from storage import audit, queries
from storage.models import Installation as InstallationRow
from storage.models import OAuthState, Workspace

log = structlog.get_logger("asyncstand.oauth")

STATE_TTL = dt.timedelta(minutes=10)


def workspace_key(team_id: str | None, enterprise_id: str | None, is_enterprise: bool) -> str:
    """Org-wide (Enterprise Grid) installs are keyed by the enterprise id, others by team id."""
    key = enterprise_id if is_enterprise or not team_id else team_id
    if not key:
        raise ValueError("installation has neither team_id nor enterprise_id")
    return key


class SqlInstallationStore(AsyncInstallationStore):
    """Bot installations in our own tables, tokens encrypted with MultiFernet (bot-only)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def logger(self) -> Any:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._save(installation.to_bot(), installation.user_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._save(bot, None)

    async def _save(self, bot: Bot, installer_user_id: str | None) -> None:
        services = self._services
        box = services.slack.secret_box
        if box is None:
            raise RuntimeError("ENCRYPTION_KEY is required to store bot tokens")
        key = workspace_key(bot.team_id, bot.enterprise_id, bool(bot.is_enterprise_install))
        now = services.clock()
        expires_at = (
            dt.datetime.fromtimestamp(bot.bot_token_expires_at, dt.UTC)
            if bot.bot_token_expires_at
            else None
        )
        values: dict[str, Any] = {
            "app_id": bot.app_id,
            "bot_user_id": bot.bot_user_id,
            "bot_id": bot.bot_id,
            "bot_token_encrypted": box.encrypt(bot.bot_token),
            "bot_refresh_token_encrypted": (
                box.encrypt(bot.bot_refresh_token) if bot.bot_refresh_token else None
            ),
            "bot_token_expires_at": expires_at,
            "bot_scopes": ",".join(bot.bot_scopes or []),
            "is_enterprise_install": bool(bot.is_enterprise_install),
            "updated_at": now,
        }
        if installer_user_id:
            values["installer_user_id"] = installer_user_id
        async with services.db.session() as session:
            workspace = await queries.ensure_workspace(
                session,
                key,
                enterprise_id=bot.enterprise_id,
                name=bot.enterprise_name if bot.is_enterprise_install else bot.team_name,
            )
            reinstall = not workspace.active
            workspace.active = True
            existing = (
                await session.execute(
                    select(InstallationRow).where(InstallationRow.workspace_id == workspace.id)
                )
            ).scalar_one_or_none()
            if existing is None:
                session.add(InstallationRow(workspace_id=workspace.id, installed_at=now, **values))
            else:  # a second install (another user, new scopes) updates, never duplicates
                for name, value in values.items():
                    setattr(existing, name, value)
            await audit.record(
                session,
                workspace.id,
                actor=installer_user_id,
                action="reinstall" if reinstall or existing is not None else "install",
                after={
                    "scopes": values["bot_scopes"],
                    "enterprise": values["is_enterprise_install"],
                },
                now=now,
            )
        log.info("installation_saved", team_id=key)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        async with self._services.db.session() as session:
            found = await self._services.slack.find_installation(session, team_id, enterprise_id)
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
        async with self._services.db.session() as session:
            workspace = await queries.get_workspace(session, team_id or enterprise_id or "")
            if workspace is not None:
                await session.execute(
                    delete(InstallationRow).where(InstallationRow.workspace_id == workspace.id)
                )

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class SqlStateStore(AsyncOAuthStateStore):
    """OAuth state kept server-side: random, single use (deleted on consume), 10-minute life."""

    def __init__(self, services: Services, ttl: dt.timedelta = STATE_TTL) -> None:
        self._services = services
        self._ttl = ttl

    @property
    def logger(self) -> Any:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self._services.clock()
        async with self._services.db.session() as session:
            session.add(OAuthState(state=state, expires_at=now + self._ttl, created_at=now))
            await session.execute(delete(OAuthState).where(OAuthState.expires_at < now))
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 64:
            return False
        now = self._services.clock()
        async with self._services.db.session() as session:
            result = await session.execute(
                delete(OAuthState).where(OAuthState.state == state, OAuthState.expires_at > now)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]


# --- pages ------------------------------------------------------------------------------------

_STYLE = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f6f7fb;color:#1d2433}
main{max-width:640px;margin:64px auto;padding:40px;background:#fff;border-radius:12px;
box-shadow:0 2px 12px rgba(29,36,51,.08)}
h1{margin:0 0 8px;font-size:28px} .brand{color:#4a154b;font-weight:700;letter-spacing:.02em}
p,li{line-height:1.55;font-size:16px} ul{padding-left:20px}
a.button{display:inline-block;margin-top:16px;padding:12px 20px;border-radius:8px;
background:#4a154b;color:#fff;text-decoration:none;font-weight:600}
.muted{color:#5e6573;font-size:14px}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)} · AsyncStand</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="brand">AsyncStand</div>{body}</main></body></html>'
    )


def install_page(authorize_url: str) -> str:
    return _page(
        "Add AsyncStand to Slack",
        "<h1>Standups that respect everyone's time zone</h1>"
        "<p>AsyncStand asks each teammate your standup questions at the time you choose "
        "<em>in their own time zone</em>, posts their answers in a thread in your team channel, "
        "and closes the day with a summary — blockers first.</p>"
        "<ul><li><code>/standup create</code> — name, channel, questions, people, days, time</li>"
        "<li>Each person gets a DM with an <strong>Answer</strong> button</li>"
        "<li>Answers land in one thread per day; the summary shows who is still to answer</li>"
        "</ul>"
        f'<a class="button" id="add-to-slack" href="{html.escape(authorize_url)}">'
        "Add to Slack</a>"
        '<p class="muted">This link is valid for 10 minutes.</p>',
    )


def success_page(team_id: str | None, app_id: str | None, team_name: str | None) -> str:
    deep_link = (
        f"slack://app?team={quote(team_id or '')}&id={quote(app_id or '')}"
        if app_id
        else f"slack://open?team={quote(team_id or '')}"
    )
    web_link = f"https://app.slack.com/client/{quote(team_id or '')}"
    name = html.escape(team_name or "your workspace")
    return _page(
        "Installed",
        f"<h1>AsyncStand is installed in {name}</h1>"
        "<p>Next: run <code>/standup create</code> in any channel to set up your first standup. "
        "We've sent you a DM with the details.</p>"
        f'<a class="button" id="open-slack" href="{html.escape(deep_link)}">Open Slack</a>'
        f'<p class="muted">Or open it <a href="{html.escape(web_link)}">in your browser</a>.</p>',
    )


FAILURE_REASONS = {
    "access_denied": "The installation was cancelled in Slack.",
    "invalid_state": "This install link has expired or was already used.",
    "invalid_browser": "This install was started in another browser.",
    "missing_code": "Slack did not send an authorization code.",
    "invalid_code": "Slack did not accept the authorization code.",
    "storage_error": "We could not save the installation.",
}


def failure_page(reason: str) -> str:
    message = FAILURE_REASONS.get(reason, "Something went wrong during installation.")
    return _page(
        "Installation failed",
        "<h1>Installation didn't complete</h1>"
        f"<p>{html.escape(message)}</p>"
        '<a class="button" id="try-again" href="/slack/install">Start again</a>',
    )


class AsyncStandOAuthFlow(AsyncOAuthFlow):
    """Bolt's flow with our landing page."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return install_page(url)


def build_oauth_flow(
    services: Services, on_installed: Callable[[Installation], Any]
) -> AsyncStandOAuthFlow:
    settings = services.settings
    assert settings.slack_client_id and settings.slack_client_secret

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        try:
            await on_installed(installation)
        except Exception:
            log.exception("post_install_failed")
        return BoltResponse(
            status=200,
            body=success_page(
                installation.team_id or installation.enterprise_id,
                installation.app_id,
                installation.team_name or installation.enterprise_name,
            ),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("install_failed", reason=args.reason)
        status = args.suggested_status_code if args.suggested_status_code < 500 else 400
        return BoltResponse(
            status=status,
            body=failure_page(args.reason),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )

    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=settings.scopes,
        installation_store=SqlInstallationStore(services),
        installation_store_bot_only=True,
        state_store=SqlStateStore(services),
        state_expiration_seconds=int(STATE_TTL.total_seconds()),
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
    )
    return AsyncStandOAuthFlow(client=services.slack.client(None), settings=oauth_settings)


__all__ = [
    "AsyncStandOAuthFlow",
    "SqlInstallationStore",
    "SqlStateStore",
    "Workspace",
    "build_oauth_flow",
    "failure_page",
    "install_page",
    "success_page",
]
