"""Scheduler queries: the few that look across workspaces to find due work, then hand back
(workspace_id, id) pairs so everything after them is workspace-scoped again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, union_all, update
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
    session: AsyncSession,
    now: dt.datetime,
    lease: dt.timedelta,
    token: str,
    limit: int = 200,
    *,
    per_workspace: int | None = None,
    busy: Collection[int] = (),
) -> list[tuple[int, int]]:
    """Claim up to `limit` due prompts in one statement, under `token`: replica-safe (Postgres
    rows are taken with FOR UPDATE SKIP LOCKED, SQLite has a single writer); returns
    (workspace_id, id) pairs.

    Fair between workspaces: at most `per_workspace` of any one workspace (its earliest due),
    none of the `busy` ones (still being sent by this process), so one big workspace's
    rate-limited fan-out never holds back everyone else's prompts.
    """
    conditions = [Workspace.active.is_(True), Standup.active.is_(True), _claimable(now)]
    if busy:
        conditions.append(Prompt.workspace_id.not_in(list(busy)))
    rank = func.row_number().over(
        partition_by=Prompt.workspace_id, order_by=(Prompt.due_at, Prompt.id)
    )
    ranked = (
        select(Prompt.id.label("id"), Prompt.due_at.label("due_at"), rank.label("rank"))
        .join(
            Standup,
            and_(Standup.id == Prompt.standup_id, Standup.workspace_id == Prompt.workspace_id),
        )
        .join(Workspace, Workspace.id == Prompt.workspace_id)
        .where(*conditions)
        .subquery()
    )
    picked = select(ranked.c.id)
    if per_workspace is not None:
        picked = picked.where(ranked.c.rank <= per_workspace)
    picked = picked.order_by(ranked.c.due_at, ranked.c.id).limit(limit)
    candidates = select(Prompt.id).where(Prompt.id.in_(picked.scalar_subquery()))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=Prompt, skip_locked=True)
    result = await session.execute(
        update(Prompt)
        .where(Prompt.id.in_(candidates.scalar_subquery()), _claimable(now))
        .values(
            state=PromptState.SENDING,
            lease_until=now + lease,
            attempts=Prompt.attempts + 1,
            claim_token=token,
        )
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


async def keep_claims(session: AsyncSession, token: str, until: dt.datetime) -> int:
    """Extend the lease of every prompt still held under `token` (a live sender's heartbeat:
    a prompt waiting for a rate-limit slot is never taken over by another replica)."""
    result = await session.execute(
        update(Prompt)
        .where(Prompt.claim_token == token, Prompt.state == PromptState.SENDING)
        .values(lease_until=until)
    )
    return affected(result)


async def publishing_due(
    session: AsyncSession, requested_before: dt.datetime, now: dt.datetime, limit: int = 100
) -> list[tuple[str, int, int]]:
    """Summaries and thread replies still to be posted or updated that nobody holds (left
    over by a crash or a lost race), oldest request first: ("summary", workspace_id, run_id)
    or ("reply", workspace_id, prompt_id). One statement, so an idle tick stays cheap."""
    summaries = (
        select(literal("summary").label("kind"), Run.workspace_id, Run.id, Run.summary_requested_at)
        .join(Workspace, Workspace.id == Run.workspace_id)
        .where(
            Workspace.active.is_(True),
            Run.summary_requested_at < requested_before,
            or_(Run.summary_lease_until.is_(None), Run.summary_lease_until < now),
        )
    )
    replies = (
        select(
            literal("reply").label("kind"),
            Prompt.workspace_id,
            Prompt.id,
            Prompt.reply_requested_at,
        )
        .join(Workspace, Workspace.id == Prompt.workspace_id)
        .where(
            Workspace.active.is_(True),
            Prompt.reply_requested_at < requested_before,
            or_(Prompt.reply_lease_until.is_(None), Prompt.reply_lease_until < now),
        )
    )
    both = union_all(summaries, replies).subquery()
    rows = await session.execute(
        select(both.c.kind, both.c.workspace_id, both.c.id).order_by(both.c[3]).limit(limit)
    )
    return [(str(k), int(w), int(i)) for k, w, i in rows]
