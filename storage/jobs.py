"""Scheduler queries: the few that look across workspaces to find due work, then hand back
(workspace_id, id) pairs so everything after them is workspace-scoped again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import Prompt, PromptState, Run, RunState, Standup, Workspace


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    """Pending and due (and past any retry back-off), or claimed by a worker whose lease ran out."""
    return or_(
        and_(
            Prompt.state == PromptState.PENDING,
            Prompt.due_at <= now,
            or_(Prompt.lease_until.is_(None), Prompt.lease_until < now),
        ),
        and_(Prompt.state == PromptState.SENDING, Prompt.lease_until < now),
    )


async def claim_due_batch(
    session: AsyncSession, now: dt.datetime, lease: dt.timedelta, limit: int = 200
) -> list[tuple[int, int]]:
    """Claim up to `limit` due prompts in one statement: replica-safe (Postgres rows are taken
    with FOR UPDATE SKIP LOCKED, SQLite has a single writer), returns (workspace_id, id)."""
    candidates = (
        select(Prompt.id)
        .join(
            Standup,
            and_(Standup.id == Prompt.standup_id, Standup.workspace_id == Prompt.workspace_id),
        )
        .join(Workspace, Workspace.id == Prompt.workspace_id)
        .where(Workspace.active.is_(True), Standup.active.is_(True), _claimable(now))
        .order_by(Prompt.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=Prompt, skip_locked=True)
    result = await session.execute(
        update(Prompt)
        .where(Prompt.id.in_(candidates.scalar_subquery()), _claimable(now))
        .values(state=PromptState.SENDING, lease_until=now + lease, attempts=Prompt.attempts + 1)
        .returning(Prompt.workspace_id, Prompt.id)
        .execution_options(synchronize_session=False)
    )
    return [(w, p) for w, p in result]


async def mark_overdue_missed(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Prompts that fell due more than the grace period ago are recorded as missed, not sent."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.state == PromptState.PENDING,
            Prompt.due_at < cutoff,
            # A paused standup's leftovers are dropped on resume, not recorded as missed.
            Prompt.standup_id.in_(select(Standup.id).where(Standup.active.is_(True))),
        )
        .values(state=PromptState.MISSED, error="not sent within the grace period")
    )
    return affected(result)


async def runs_to_close(
    session: AsyncSession, now: dt.datetime, limit: int = 100
) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(Run.workspace_id, Run.id)
        .where(Run.state == RunState.OPEN, Run.close_at <= now)
        .order_by(Run.close_at)
        .limit(limit)
    )
    return [(w, r) for w, r in rows]
