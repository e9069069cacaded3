"""Short-lived records: Events API ids already handled, and OAuth `state` values."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import OAuthState, ProcessedEvent


async def claim_event(
    session: AsyncSession, event_id: str, team_id: str | None, now: dt.datetime
) -> bool:
    """Record an Events API id; False if it was seen before (a retry)."""
    stmt = upsert(session, ProcessedEvent).values(
        event_id=event_id[:64], team_id=team_id, received_at=now
    )
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))
    return affected(result) > 0


async def forget_events_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
    )
    return affected(result)


async def issue_oauth_state(
    session: AsyncSession, state: str, now: dt.datetime, ttl: dt.timedelta
) -> None:
    """Store a new state value (expired ones are dropped by forget_expired_oauth_states)."""
    session.add(OAuthState(state=state, expires_at=now + ttl, created_at=now))


async def forget_expired_oauth_states(session: AsyncSession, now: dt.datetime) -> int:
    """Drop every state that can no longer be consumed (an index range scan on expires_at)."""
    result = await session.execute(delete(OAuthState).where(OAuthState.expires_at <= now))
    return affected(result)


async def consume_oauth_state(session: AsyncSession, state: str, now: dt.datetime) -> bool:
    """Single use: True once for a live state, then never again."""
    result = await session.execute(
        delete(OAuthState).where(OAuthState.state == state, OAuthState.expires_at > now)
    )
    return affected(result) > 0
