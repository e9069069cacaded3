"""Helpers every listener uses: who is asking, from which workspace, and a safe reply."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import structlog
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.rules.permissions import Actor
from bot.runtime import Services, services_from
from storage import queries

log = structlog.get_logger("asyncstand.handlers")


def parse_id(value: Any) -> int | None:
    """A database id from a button value or private_metadata; None unless a plausible one."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None  # beyond BIGINT the query itself would fail


def team_id_of(body: dict[str, Any]) -> str | None:
    """The requesting team, from whichever shape of payload this is."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    if body.get("team_id"):
        return str(body["team_id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return None


def user_id_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict) and user.get("id"):
        return str(user["id"])
    if body.get("user_id"):
        return str(body["user_id"])
    return None


async def workspace_id_for(context: AsyncBoltContext) -> int:
    """Our workspace row for the request's team (created on first contact)."""
    services = services_from(context)
    team_id = context.team_id or context.enterprise_id
    if not team_id:
        raise LookupError("request carries no team id")
    # Cached briefly: the row never changes id while it exists, and a request saved from two
    # statements and a commit is a request acknowledged sooner under load.
    cached = services.workspace_ids.get(team_id)
    now = time.monotonic()
    if cached is not None and now - cached[1] < WORKSPACE_ID_TTL:
        return cached[0]
    async with services.db.session() as session:
        workspace = await queries.ensure_workspace(
            session, team_id, enterprise_id=context.enterprise_id
        )
        workspace_id = workspace.id
    services.workspace_ids[team_id] = (workspace_id, now)
    return workspace_id


WORKSPACE_ID_TTL = 60.0

# Admin status is re-read from users.info when the cached profile is older than this.
ROLE_FRESHNESS = dt.timedelta(minutes=15)


async def actor_for(
    services: Services, client: AsyncWebClient, workspace_id: int, user_id: str
) -> Actor:
    """The requesting user with their workspace-admin flag (users.info, briefly cached)."""
    from scheduler.worker import fetch_profile

    async with services.db.session() as session:
        await queries.ensure_members(session, workspace_id, [user_id])
        member = await queries.get_member(session, workspace_id, user_id)
    assert member is not None
    fresh_after = services.clock() - ROLE_FRESHNESS
    if member.profile_refreshed_at is None or member.profile_refreshed_at < fresh_after:
        user = await fetch_profile(services, client, workspace_id, user_id)
        if user is not None:
            is_admin = bool(
                user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
            )
            return Actor(user_id, is_admin)
    return Actor(user_id, member.is_admin)


__all__ = [
    "Actor",
    "Services",
    "actor_for",
    "log",
    "parse_id",
    "services_from",
    "team_id_of",
    "user_id_of",
    "workspace_id_for",
]
