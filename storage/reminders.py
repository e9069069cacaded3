"""Reminders: the automatic one of each run (claimed once, across replicas), nudges on demand,
and each person's own setting.

A prompt's reminder is due at `remind_at` (set when its DM is recorded as sent) and taken by
setting `reminded_at` in a compare-and-set that also clears `remind_at`: only live reminders
stay in `ix_prompt_remind`'s range (state 'sent', remind_at <= now), so an idle scheduler tick
costs one indexed statement. Every function takes its workspace, except the scheduler's claim,
which finds due work across workspaces and hands back (workspace_id, prompt_id) pairs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.members import ensure_members
from storage.models import Member, Prompt, PromptState, Run, RunState, Standup


def _due(now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        Prompt.state == PromptState.SENT,
        Prompt.remind_at <= now,
        Prompt.reminded_at.is_(None),
    )


async def claim_due(session: AsyncSession, now: dt.datetime, limit: int) -> list[tuple[int, int]]:
    """Take up to `limit` due reminders in one statement: each is taken by exactly one claim
    (compare-and-set on `reminded_at`; Postgres rows with FOR UPDATE SKIP LOCKED, SQLite has
    one writer). Returns (workspace_id, prompt_id) pairs; their `reminded_at` is `now`."""
    candidates = select(Prompt.id).where(_due(now)).order_by(Prompt.remind_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=Prompt, skip_locked=True)
    result = await session.execute(
        update(Prompt)
        .where(Prompt.id.in_(candidates.scalar_subquery()), _due(now))
        .values(reminded_at=now, remind_at=None)
        .returning(Prompt.workspace_id, Prompt.id)
        .execution_options(synchronize_session=False)
    )
    return [(w, p) for w, p in result]


async def put_back(
    session: AsyncSession,
    workspace_id: int,
    prompt_id: int,
    *,
    claimed_at: dt.datetime,
    remind_at: dt.datetime,
) -> bool:
    """Give a claimed reminder back, due at `remind_at` (its run's close moved later, or Slack
    refused the DM for now); only while our claim is the last one. True if given back."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.id == prompt_id,
            Prompt.state == PromptState.SENT,
            Prompt.reminded_at == claimed_at,
            Prompt.remind_at.is_(None),
        )
        .values(reminded_at=None, remind_at=remind_at)
    )
    return affected(result) > 0


async def drop_run_reminders(session: AsyncSession, workspace_id: int, run_id: int) -> int:
    """A run closed: reminders not sent by now never will be."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.run_id == run_id,
            Prompt.remind_at.is_not(None),
        )
        .values(remind_at=None)
    )
    return affected(result)


# --- nudges on demand ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """Someone whose prompt of an open run is in their DM, unanswered and not skipped."""

    prompt_id: int
    reminders_off: bool
    reminded_at: dt.datetime | None


async def has_open_run(session: AsyncSession, workspace_id: int, standup_id: int) -> bool:
    found = await session.execute(
        select(Run.id)
        .where(
            Run.workspace_id == workspace_id,
            Run.standup_id == standup_id,
            Run.state == RunState.OPEN,
        )
        .limit(1)
    )
    return found.first() is not None


async def waiting(session: AsyncSession, workspace_id: int, standup_id: int) -> list[Waiting]:
    """Everyone still waited on in the standup's open run(s)."""
    rows = await session.execute(
        select(Prompt.id, Member.reminders_off, Prompt.reminded_at)
        .join(Member, and_(Member.id == Prompt.member_id, Member.workspace_id == workspace_id))
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == workspace_id))
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.state == PromptState.SENT,
            Run.state == RunState.OPEN,
        )
        .order_by(Prompt.id)
    )
    return [Waiting(p, bool(off), at) for p, off, at in rows]


async def claim_nudge(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    now: dt.datetime,
    cooldown: dt.timedelta,
) -> bool:
    """Record a nudge unless there was one within `cooldown` (compare-and-set: of two nudges
    at once, one wins; on Postgres the other waits for the row and then finds it taken)."""
    result = await session.execute(
        update(Standup)
        .where(
            Standup.workspace_id == workspace_id,
            Standup.id == standup_id,
            or_(Standup.nudged_at.is_(None), Standup.nudged_at <= now - cooldown),
        )
        .values(nudged_at=now)
    )
    return affected(result) > 0


async def last_nudge(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> dt.datetime | None:
    return (
        await session.execute(
            select(Standup.nudged_at).where(
                Standup.workspace_id == workspace_id, Standup.id == standup_id
            )
        )
    ).scalar_one_or_none()


async def mark_reminded(
    session: AsyncSession, workspace_id: int, prompt_ids: Sequence[int], now: dt.datetime
) -> list[int]:
    """These prompts get their reminder now, by hand: it counts as the run's reminder (no
    automatic one after it). Only prompts still waiting are taken; returns their ids."""
    if not prompt_ids:
        return []
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.id.in_(list(prompt_ids)),
            Prompt.state == PromptState.SENT,
        )
        .values(reminded_at=now, remind_at=None)
        .returning(Prompt.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(p for (p,) in result)


# --- each person's own setting ------------------------------------------------------------------


async def reminders_off(session: AsyncSession, workspace_id: int, slack_user_id: str) -> bool:
    member = (await ensure_members(session, workspace_id, [slack_user_id]))[slack_user_id]
    return bool(member.reminders_off)


async def set_reminders_off(
    session: AsyncSession, workspace_id: int, slack_user_id: str, off: bool
) -> bool:
    """Turn a person's reminders off (or on); True if that changed anything."""
    await ensure_members(session, workspace_id, [slack_user_id])
    result = await session.execute(
        update(Member)
        .where(
            Member.workspace_id == workspace_id,
            Member.slack_user_id == slack_user_id,
            Member.reminders_off != off,
        )
        .values(reminders_off=off)
    )
    return affected(result) > 0
