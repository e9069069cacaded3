"""Helpers every listener uses: who is asking, from which workspace, and a safe reply."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.context.async_context import AsyncBoltContext

from bot.runtime import Services, services_from
from storage import queries

log = structlog.get_logger("asyncstand.handlers")


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
    async with services.db.session() as session:
        workspace = await queries.ensure_workspace(
            session, team_id, enterprise_id=context.enterprise_id
        )
        return workspace.id


__all__ = ["Services", "log", "services_from", "team_id_of", "user_id_of", "workspace_id_for"]
