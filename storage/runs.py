"""Runs: one standup on one local date, with its summary message in the channel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import Prompt, Run, RunState, Standup


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


async def request_summary(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> None:
    """The summary must show what changed: whoever publishes next renders it anew."""
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id)
        .values(summary_requested_at=now)
    )


async def claim_summary(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime, lease: dt.timedelta
) -> Run | None:
    """Take the run's summary for posting or updating (one replica at a time, by lease);
    None when another holds it or when it is posted and up to date."""
    result = await session.execute(
        update(Run)
        .where(
            Run.workspace_id == workspace_id,
            Run.id == run_id,
            or_(Run.summary_ts.is_(None), Run.summary_requested_at.is_not(None)),
            or_(Run.summary_lease_until.is_(None), Run.summary_lease_until < now),
        )
        .values(summary_lease_until=now + lease)
    )
    return await get_run(session, workspace_id, run_id) if affected(result) else None


async def mark_summary_posting(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> None:
    """From here until its ts is recorded, the summary may be in Slack without us knowing."""
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id)
        .values(summary_posting_at=now)
    )


async def record_summary(
    session: AsyncSession,
    workspace_id: int,
    run_id: int,
    ts: str,
    rendered_for: dt.datetime | None,
) -> None:
    """The summary is in Slack as of the request it was rendered for; a newer request (an
    answer that came in meanwhile) stays pending. Releases the lease."""
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id)
        .values(
            summary_ts=ts,
            summary_lease_until=None,
            summary_requested_at=case(
                (Run.summary_requested_at == rendered_for, None),
                else_=Run.summary_requested_at,
            )
            if rendered_for is not None
            else Run.summary_requested_at,
        )
    )


async def release_summary(session: AsyncSession, workspace_id: int, run_id: int) -> None:
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id)
        .values(summary_lease_until=None)
    )


async def claim_run_close(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> bool:
    result = await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id, Run.state == RunState.OPEN)
        .values(state=RunState.CLOSED, closed_at=now, summary_requested_at=now)
    )
    return affected(result) > 0


async def next_run_started(
    session: AsyncSession, workspace_id: int, standup_id: int, local_date: dt.date
) -> bool:
    """Whether a later run of the standup has begun (any of its prompts was sent): until then,
    a closed run still takes late answers."""
    found = await session.execute(
        select(Prompt.id)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date > local_date,
            Prompt.sent_at.is_not(None),
        )
        .limit(1)
    )
    return found.first() is not None
