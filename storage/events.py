"""Short-lived records: Events API ids already handled, and OAuth `state` values."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import OAuthState, ProcessedEvent


class EventStart(enum.StrEnum):
    NEW = "new"  # first delivery: handle it
    RETAKEN = "retaken"  # an earlier attempt died unfinished: handle it
    DONE = "done"  # handled already: ignore
    IN_FLIGHT = "in_flight"  # being handled right now (elsewhere, maybe): not yet known


async def begin_event(
    session: AsyncSession,
    event_id: str,
    team_id: str | None,
    now: dt.datetime,
    stale_after: dt.timedelta,
) -> EventStart:
    """Start handling an Events API delivery. An attempt that has not completed after
    `stale_after` is taken to have died, and the delivery in hand takes over."""
    event_id = event_id[:64]
    stmt = upsert(session, ProcessedEvent).values(
        event_id=event_id, team_id=team_id, received_at=now
    )
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))
    if affected(result):
        return EventStart.NEW
    retaken = await session.execute(
        update(ProcessedEvent)
        .where(
            ProcessedEvent.event_id == event_id,
            ProcessedEvent.completed_at.is_(None),
            ProcessedEvent.received_at < now - stale_after,
        )
        .values(received_at=now)
    )
    if affected(retaken):
        return EventStart.RETAKEN
    completed = await session.execute(
        select(ProcessedEvent.completed_at).where(ProcessedEvent.event_id == event_id)
    )
    return EventStart.DONE if completed.scalar_one_or_none() else EventStart.IN_FLIGHT


async def abandon_event(session: AsyncSession, event_id: str) -> None:
    """Our attempt failed: let the next delivery of this event through at once."""
    await session.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.event_id == event_id[:64], ProcessedEvent.completed_at.is_(None))
        .values(received_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )


async def complete_event(session: AsyncSession, event_id: str, now: dt.datetime) -> None:
    await session.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.event_id == event_id[:64])
        .values(completed_at=now)
    )


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
