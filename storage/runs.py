"""Runs: one standup on one local date, with its summary message in the channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import Run, RunState, Standup


async def get_or_create_run(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    local_date: dt.date,
    close_at: dt.datetime,
) -> Run:
    """One run per (standup, local date); its close time only ever moves later."""
    stmt = upsert(session, Run).values(
        workspace_id=workspace_id,
        standup_id=standup.id,
        local_date=local_date,
        questions=list(standup.questions),
        channel_id=standup.channel_id,
        state=RunState.OPEN,
        close_at=close_at,
        created_at=dt.datetime.now(dt.UTC),
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["standup_id", "local_date"]))
    this_run = (
        Run.workspace_id == workspace_id,
        Run.standup_id == standup.id,
        Run.local_date == local_date,
    )
    await session.execute(
        update(Run)
        .where(*this_run, Run.state == RunState.OPEN, Run.close_at < close_at)
        .values(close_at=close_at)
    )
    return (
        await session.execute(
            select(Run).where(*this_run).execution_options(populate_existing=True)
        )
    ).scalar_one()


async def get_run(session: AsyncSession, workspace_id: int, run_id: int) -> Run | None:
    return (
        await session.execute(
            select(Run)
            .where(Run.workspace_id == workspace_id, Run.id == run_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def claim_summary_post(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Only one worker posts a run's summary message: a lease taken by compare-and-set."""
    result = await session.execute(
        update(Run)
        .where(
            Run.workspace_id == workspace_id,
            Run.id == run_id,
            Run.summary_ts.is_(None),
            or_(Run.summary_lease_until.is_(None), Run.summary_lease_until < now),
        )
        .values(summary_lease_until=now + lease)
    )
    return affected(result) > 0


async def set_summary_ts(
    session: AsyncSession, workspace_id: int, run_id: int, ts: str | None
) -> None:
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id)
        .values(summary_ts=ts, summary_lease_until=None)
    )


async def claim_run_close(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> bool:
    result = await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id, Run.state == RunState.OPEN)
        .values(state=RunState.CLOSED, closed_at=now)
    )
    return affected(result) > 0
