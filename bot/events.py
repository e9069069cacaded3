"""Slack's Events API retries what it thinks failed: act on each event id once."""

from __future__ import annotations

import datetime as dt

from bot.runtime import Services
from storage import events

# Slack retries for up to about an hour; ids are remembered well beyond that.
EVENT_MEMORY = dt.timedelta(days=2)


async def first_delivery(services: Services, event_id: str, team_id: str | None) -> bool:
    """Record an event id; False if it was seen before (a retry)."""
    async with services.db.session() as session:
        return await events.claim_event(session, event_id, team_id, services.clock())


async def forget_old(services: Services) -> int:
    async with services.db.session() as session:
        return await events.forget_events_before(session, services.clock() - EVENT_MEMORY)
