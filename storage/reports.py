"""What reports read: participation records (with moods) of some standups over a period, and
their open blockers. A fixed number of statements whatever the period or the number of people;
every function takes its workspace."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Blocker, Member, Outcome, Participation

# Rows fetched from the database at a time while a report reads its records.
BATCH = 1000


@dataclass(frozen=True, slots=True)
class RecordRow:
    user_id: str
    standup_id: int
    local_date: dt.date
    outcome: Outcome
    mood: int | None


async def records(
    session: AsyncSession,
    workspace_id: int,
    standup_ids: Collection[int],
    start: dt.date,
    end: dt.date,
) -> AsyncIterator[list[RecordRow]]:
    """Participation records of these standups from `start` to `end` (local dates, both
    included), oldest first: one statement, its rows arriving in batches of :data:`BATCH`."""
    if not standup_ids:
        return
    stmt = (
        select(
            Member.slack_user_id,
            Participation.standup_id,
            Participation.local_date,
            Participation.outcome,
            Participation.mood,
        )
        .join(Member, Member.id == Participation.member_id)
        .where(
            Participation.workspace_id == workspace_id,
            Member.workspace_id == workspace_id,
            Participation.standup_id.in_(sorted(standup_ids)),
            Participation.local_date >= start,
            Participation.local_date <= end,
        )
        .order_by(Participation.local_date, Participation.id)
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(stmt)
    async for partition in result.partitions():
        yield [RecordRow(*row) for row in partition]


@dataclass(frozen=True, slots=True)
class OpenBlockerRow:
    blocker_id: int
    standup_id: int
    user_id: str
    text: str
    opened_on: dt.date
    still_blocked_on: dt.date | None


async def open_blockers(
    session: AsyncSession,
    workspace_id: int,
    standup_ids: Collection[int],
    *,
    only_user: str | None = None,
) -> list[OpenBlockerRow]:
    """Blockers of these standups not resolved yet (all people's, or `only_user`'s), oldest
    first: one statement."""
    if not standup_ids:
        return []
    stmt = (
        select(
            Blocker.id,
            Blocker.standup_id,
            Member.slack_user_id,
            Blocker.text,
            Blocker.opened_on,
            Blocker.still_blocked_on,
        )
        .join(Member, Member.id == Blocker.member_id)
        .where(
            Blocker.workspace_id == workspace_id,
            Member.workspace_id == workspace_id,
            Blocker.standup_id.in_(sorted(standup_ids)),
            Blocker.resolved_at.is_(None),
        )
        .order_by(Blocker.opened_on, Blocker.id)
    )
    if only_user is not None:
        stmt = stmt.where(Member.slack_user_id == only_user)
    rows = await session.execute(stmt)
    return [OpenBlockerRow(*row) for row in rows]
