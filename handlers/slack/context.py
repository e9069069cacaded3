"""What every Slack listener needs: our services, the requesting workspace and caller, and a
safe reading of ids that arrive in button values and modal metadata."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.people import Caller, slack_caller
from bot.runtime import Services
from bot.workspaces import workspace_for

SERVICES_KEY = "asyncstand_services"


def services_of(context: AsyncBoltContext) -> Services:
    """The Services a middleware put into the listener context."""
    services = context[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


async def workspace_id_of(context: AsyncBoltContext) -> int:
    """Our workspace row for the request's team (created on first contact)."""
    team_id = context.team_id or context.enterprise_id
    if not team_id:
        raise LookupError("request carries no team id")
    return await workspace_for(services_of(context), team_id, context.enterprise_id)


async def caller_of(context: AsyncBoltContext, client: AsyncWebClient, user_id: str) -> Caller:
    services = services_of(context)
    return slack_caller(services, client, await workspace_id_of(context), user_id)


def parse_id(value: Any) -> int | None:
    """A database id from a button value or private_metadata; None unless a plausible one."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None  # beyond BIGINT the query itself would fail
