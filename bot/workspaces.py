"""Workspaces: installs and uninstalls, the workspace row a request belongs to, and the
workspace-wide settings and history."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.web.async_client import AsyncWebClient

from bot.outcomes import Refusal, refused
from bot.people import Caller
from bot.rules.permissions import can_change_settings, can_read_workspace_history
from bot.runtime import Services
from bot.slack.gateway import error_code, send_dm
from bot.views.home import home_view
from bot.views.messages import welcome_message
from storage import audit, events, installations, sessions, workspaces
from storage.models import AuditEntry, Installation, Workspace

log = structlog.get_logger("asyncstand.workspaces")

# The workspace row id of a team never changes while it exists: cache it briefly, because a
# request saved from two statements and a commit is a request acknowledged sooner under load.
WORKSPACE_ID_TTL = 60.0
OAUTH_STATE_TTL = dt.timedelta(minutes=10)


async def workspace_for(services: Services, team_id: str, enterprise_id: str | None) -> int:
    """Our workspace row for a team (created on first contact)."""
    cached = services.workspace_ids.get(team_id)
    now = time.monotonic()
    if cached is not None and now - cached[1] < WORKSPACE_ID_TTL:
        return cached[0]
    async with services.db.session() as session:
        workspace = await workspaces.ensure_workspace(session, team_id, enterprise_id=enterprise_id)
        workspace_id = workspace.id
    services.workspace_ids[team_id] = (workspace_id, now)
    return workspace_id


# --- install ----------------------------------------------------------------------------------


def install_key(team_id: str | None, enterprise_id: str | None, is_enterprise: bool) -> str:
    """Org-wide (Enterprise Grid) installs are keyed by the enterprise id, others by team id."""
    key = enterprise_id if is_enterprise or not team_id else team_id
    if not key:
        raise ValueError("installation has neither team_id nor enterprise_id")
    return key


async def save_installation(services: Services, bot: Bot, installer_user_id: str | None) -> None:
    """Store (or update) a workspace's bot install, tokens encrypted; a reinstall reactivates."""
    box = services.slack.secret_box
    if box is None:
        raise RuntimeError("ENCRYPTION_KEY is required to store bot tokens")
    key = install_key(bot.team_id, bot.enterprise_id, bool(bot.is_enterprise_install))
    now = services.clock()
    values: dict[str, Any] = {
        "app_id": bot.app_id,
        "bot_user_id": bot.bot_user_id,
        "bot_id": bot.bot_id,
        "bot_token_encrypted": box.encrypt(bot.bot_token),
        "bot_refresh_token_encrypted": (
            box.encrypt(bot.bot_refresh_token) if bot.bot_refresh_token else None
        ),
        "bot_token_expires_at": (
            dt.datetime.fromtimestamp(bot.bot_token_expires_at, dt.UTC)
            if bot.bot_token_expires_at
            else None
        ),
        "bot_scopes": ",".join(bot.bot_scopes or []),
        "is_enterprise_install": bool(bot.is_enterprise_install),
        "updated_at": now,
    }
    if installer_user_id:
        values["installer_user_id"] = installer_user_id
    async with services.db.session() as session:
        workspace = await workspaces.ensure_workspace(
            session,
            key,
            enterprise_id=bot.enterprise_id,
            name=bot.enterprise_name if bot.is_enterprise_install else bot.team_name,
        )
        reinstall = not workspace.active
        workspace.active = True
        existed = await installations.save_installation(session, workspace.id, values, now)
        await audit.record(
            session,
            workspace.id,
            actor=installer_user_id,
            action="reinstall" if reinstall or existed else "install",
            after={"scopes": values["bot_scopes"], "enterprise": values["is_enterprise_install"]},
            now=now,
        )
    log.info("installation_saved", team_id=key)


async def find_installation(
    services: Services, team_id: str | None, enterprise_id: str | None
) -> tuple[Workspace, Installation, str] | None:
    """The active installation serving a team (or its Grid org) and its usable bot token."""
    async with services.db.session() as session:
        return await services.slack.find_installation(session, team_id, enterprise_id)


async def delete_installation(services: Services, team_key: str) -> None:
    async with services.db.session() as session:
        workspace = await workspaces.get_workspace(session, team_key)
        if workspace is not None:
            await installations.delete_installation(session, workspace.id)


async def issue_oauth_state(services: Services) -> str:
    """A fresh OAuth `state`: random, stored server-side, single use, 10-minute life."""
    state = secrets.token_urlsafe(32)
    async with services.db.session() as session:
        await events.issue_oauth_state(session, state, services.clock(), OAUTH_STATE_TTL)
    return state


async def consume_oauth_state(services: Services, state: str) -> bool:
    if not state or len(state) > 64:
        return False
    async with services.db.session() as session:
        return await events.consume_oauth_state(session, state, services.clock())


async def forget_expired_oauth_states(services: Services, now: dt.datetime | None = None) -> int:
    """Housekeeping: drop OAuth states past their 10 minutes (an unfinished install leaves one
    behind; the install page is rate-limited, so at most rate x TTL rows can exist)."""
    async with services.db.session() as session:
        return await events.forget_expired_oauth_states(session, now or services.clock())


async def uninstall(
    services: Services, team_id: str | None, enterprise_id: str | None, *, org_wide: bool
) -> bool:
    """Forget the tokens, stop all scheduled work and end every web session (idempotent:
    app_uninstalled and tokens_revoked arrive together). Standups keep their own on/off
    flags, so a reinstall picks up where the team left off. True if this call switched the
    workspace off."""
    key = enterprise_id if org_wide and enterprise_id else (team_id or enterprise_id)
    if not key:
        return False
    now = services.clock()
    async with services.db.session() as session:
        workspace = await workspaces.get_workspace(session, key)
        if workspace is None:
            return False
        switched_off = await workspaces.deactivate(session, workspace.id)
        if switched_off:
            await audit.record(session, workspace.id, actor=None, action="uninstall", now=now)
        # Everyone signed in to the web pages of this workspace (or of the org) is signed out.
        ended = await sessions.end_workspace_sessions(session, workspace.id, now)
        if org_wide and enterprise_id:
            ended += await sessions.end_org_sessions(session, enterprise_id, now)
    log.info("workspace_deactivated", web_sessions_ended=ended)
    return switched_off


async def welcome_installer(services: Services, bot_token: str, user_id: str) -> None:
    """After an install: DM the installer how to start, and publish their App Home."""
    client = services.slack.client(bot_token)
    message = welcome_message()
    try:
        await send_dm(client, user_id, message["text"], message["blocks"])
        await client.views_publish(user_id=user_id, view=home_view())
    except SlackApiError as exc:
        log.warning("welcome_failed", error=error_code(exc))


async def bootstrap_single_workspace(services: Services) -> None:
    """Single-workspace mode: learn which workspace the token belongs to (retrying quietly)."""
    client = services.slack.client(services.settings.slack_bot_token)
    delay = 2.0
    while True:
        try:
            response = await client.auth_test()
            break
        except SlackApiError as exc:
            log.warning("auth_test_failed", error=error_code(exc))
        except Exception as exc:  # network down at start-up: keep serving, try again later
            log.warning("auth_test_unreachable", error_type=type(exc).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 300)
    async with services.db.session() as session:
        workspace = await workspaces.ensure_workspace(
            session,
            str(response["team_id"]),
            enterprise_id=response.get("enterprise_id"),
            name=response.get("team"),
        )
        workspace.active = True
    log.info("single_workspace_ready", team_id=response["team_id"])


# --- workspace settings and history -----------------------------------------------------------


@dataclass(frozen=True)
class CreatorsSetting:
    """Who may create standups; `changed` when this call changed it."""

    admins_only: bool
    changed: bool = False


async def creators_setting(
    services: Services, caller: Caller, admins_only: bool | None
) -> CreatorsSetting | Refusal:
    """Show who may create standups, or (admins) change it, audited."""
    actor = await caller.actor() if admins_only is not None else None
    async with services.db.session() as session:
        workspace = await workspaces.workspace_by_id(session, caller.workspace_id)
        current = bool(workspace and workspace.create_restricted)
        if admins_only is None or workspace is None:
            return CreatorsSetting(current)
        assert actor is not None
        decision = can_change_settings(actor)
        if not decision:
            return refused(decision)
        if current == admins_only:
            return CreatorsSetting(current)
        await audit.record(
            session,
            caller.workspace_id,
            actor=caller.user_id,
            action="settings",
            before={"create_restricted": current},
            after={"create_restricted": admins_only},
            now=services.clock(),
        )
        workspace.create_restricted = admins_only
    return CreatorsSetting(admins_only, changed=True)


async def workspace_history(services: Services, caller: Caller) -> list[AuditEntry] | Refusal:
    """Admins: recent changes across the workspace (installs, settings, every standup)."""
    decision = can_read_workspace_history(await caller.actor())
    if not decision:
        return refused(decision)
    async with services.db.session() as session:
        return await audit.workspace_history(session, caller.workspace_id)


async def bot_client(services: Services, workspace_id: int) -> AsyncWebClient | None:
    """The Web API client acting as the bot in a workspace (None if it is not installed):
    what the web and the API pass to use cases that look people or channels up in Slack."""
    async with services.db.session() as session:
        return await services.slack.bot_client(session, workspace_id)
