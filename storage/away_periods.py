"""Out-of-office periods, as the REST API reads and writes them. Every function takes its
workspace.

For the integrator: ``bot/attendance.py`` (issue 9) is being built alongside and may bring its
own queries for ``away_period``; these few can then fold into them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import AwayPeriod, Participant, Standup, StandupOwner


async def current_periods(
    session: AsyncSession, workspace_id: int, member_id: int, today: dt.date
) -> list[AwayPeriod]:
    """Periods not over yet (ending today or later), earliest first."""
    rows = await session.execute(
        select(AwayPeriod)
        .where(
            AwayPeriod.workspace_id == workspace_id,
            AwayPeriod.member_id == member_id,
            AwayPeriod.ends_on >= today,
        )
        .order_by(AwayPeriod.starts_on, AwayPeriod.id)
    )
    return list(rows.scalars())


async def clear_periods(
    session: AsyncSession, workspace_id: int, member_id: int, today: dt.date
) -> int:
    """Drop the periods not over yet (past ones stay: they explain past runs)."""
    result = await session.execute(
        delete(AwayPeriod).where(
            AwayPeriod.workspace_id == workspace_id,
            AwayPeriod.member_id == member_id,
            AwayPeriod.ends_on >= today,
        )
    )
    return affected(result)


async def add_period(
    session: AsyncSession,
    workspace_id: int,
    member_id: int,
    *,
    starts_on: dt.date,
    ends_on: dt.date,
    set_by: str,
    now: dt.datetime,
) -> AwayPeriod:
    period = AwayPeriod(
        workspace_id=workspace_id,
        member_id=member_id,
        starts_on=starts_on,
        ends_on=ends_on,
        set_by=set_by,
        created_at=now,
    )
    session.add(period)
    await session.flush()
    return period


async def owns_a_standup_of(
    session: AsyncSession, workspace_id: int, owner_user_id: str, member_id: int
) -> bool:
    """Whether `owner_user_id` owns (or co-owns) a standup that `member_id` takes part in."""
    co_owner = exists().where(
        StandupOwner.workspace_id == workspace_id,
        StandupOwner.standup_id == Standup.id,
        StandupOwner.slack_user_id == owner_user_id,
    )
    found = await session.scalar(
        select(Standup.id)
        .join(Participant, Participant.standup_id == Standup.id)
        .where(
            Standup.workspace_id == workspace_id,
            Participant.workspace_id == workspace_id,
            Participant.member_id == member_id,
            or_(Standup.owner_user_id == owner_user_id, co_owner),
        )
        .limit(1)
    )
    return found is not None
