"""App Home: what one person's home shows (a fixed number of statements, whatever the number of
standups or prompts), and which homes need drawing again. Every function takes its workspace,
except the scheduler's claim, which hands back (workspace, user) pairs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.members import ensure_members
from storage.models import (
    Blocker,
    Member,
    Participant,
    Prompt,
    PromptState,
    Run,
    RunState,
    Standup,
    StandupOwner,
    Workspace,
)

# A run collects answers for at most a week (bot.rules.schedule.MAX_WINDOW): older prompts
# can't belong to an open run, so the home's prompt query never reads further back.
OPEN_RUN_REACH = dt.timedelta(days=8)


@dataclass(frozen=True, slots=True)
class PromptRow:
    prompt_id: int
    standup_id: int
    standup_name: str
    local_date: dt.date
    state: PromptState
    due_at: dt.datetime
    late: bool
    run_open: bool


@dataclass(frozen=True, slots=True)
class BlockerRow:
    standup_id: int
    standup_name: str
    text: str
    opened_on: dt.date


async def record_opened(
    session: AsyncSession, workspace_id: int, slack_user_id: str, now: dt.datetime
) -> Member:
    """They opened App Home: from now on it is kept up to date (and it is fresh right now)."""
    member = (await ensure_members(session, workspace_id, [slack_user_id]))[slack_user_id]
    member.home_opened_at = now
    member.home_stale_at = None
    return member


async def recent_prompts(
    session: AsyncSession, workspace_id: int, member_id: int, today: dt.date
) -> list[PromptRow]:
    """A person's prompts of open runs, and of `today` or yesterday (closed or not), by due
    time: one statement."""
    rows = await session.execute(
        select(
            Prompt.id,
            Prompt.standup_id,
            Standup.name,
            Prompt.local_date,
            Prompt.state,
            Prompt.due_at,
            Prompt.late,
            Run.state == RunState.OPEN,
        )
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == workspace_id))
        .join(Standup, and_(Standup.id == Prompt.standup_id, Standup.workspace_id == workspace_id))
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.member_id == member_id,
            Prompt.local_date >= today - OPEN_RUN_REACH,
            or_(Run.state == RunState.OPEN, Prompt.local_date >= today - dt.timedelta(days=1)),
        )
        .order_by(Prompt.due_at, Prompt.id)
    )
    return [
        PromptRow(pid, sid, name, day, PromptState(state), due, bool(late), bool(run_open))
        for pid, sid, name, day, state, due, late, run_open in rows
    ]


async def latest_started_runs(
    session: AsyncSession, workspace_id: int, standup_ids: Collection[int], since: dt.date
) -> dict[int, dt.date]:
    """Per standup, the latest local date after `since` with a prompt already sent: a closed
    run takes late answers only until a later one has begun. One statement."""
    if not standup_ids:
        return {}
    rows = await session.execute(
        select(Prompt.standup_id, func.max(Prompt.local_date))
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id.in_(sorted(standup_ids)),
            Prompt.local_date > since,
            Prompt.sent_at.is_not(None),
        )
        .group_by(Prompt.standup_id)
    )
    return {int(standup_id): day for standup_id, day in rows}


async def open_blockers_of(
    session: AsyncSession, workspace_id: int, member_id: int, limit: int
) -> tuple[list[BlockerRow], int]:
    """A person's blockers not resolved yet, oldest first (at most `limit`), and how many there
    are in all: two statements."""
    mine = (
        Blocker.workspace_id == workspace_id,
        Blocker.member_id == member_id,
        Blocker.resolved_at.is_(None),
    )
    total = await session.scalar(select(func.count()).select_from(Blocker).where(*mine))
    rows = await session.execute(
        select(Blocker.standup_id, Standup.name, Blocker.text, Blocker.opened_on)
        .join(Standup, and_(Standup.id == Blocker.standup_id, Standup.workspace_id == workspace_id))
        .where(*mine)
        .order_by(Blocker.opened_on, Blocker.id)
        .limit(limit)
    )
    return [BlockerRow(*row) for row in rows], int(total or 0)


# --- keeping opened homes up to date ---------------------------------------------------------


def _stale(now: dt.datetime) -> dict[str, ColumnElement[dt.datetime]]:
    """The mark keeps its first time, so the longest-waiting home is drawn first."""
    return {"home_stale_at": func.coalesce(Member.home_stale_at, now)}


def _opened(workspace_id: int) -> ColumnElement[bool]:
    """Only homes that were opened at least once are kept up to date."""
    return and_(Member.workspace_id == workspace_id, Member.home_opened_at.is_not(None))


async def _mark(
    session: AsyncSession, workspace_id: int, who: ColumnElement[bool], now: dt.datetime
) -> int:
    """Mark the opened homes of the members `who` picks out: one statement."""
    result = await session.execute(
        update(Member)
        .where(_opened(workspace_id), who)
        .values(_stale(now))
        .execution_options(synchronize_session=False)
    )
    return affected(result)


async def mark_members_stale(
    session: AsyncSession, workspace_id: int, member_ids: Collection[int], now: dt.datetime
) -> int:
    """These people's homes (those who ever opened theirs) show something out of date."""
    if not member_ids:
        return 0
    return await _mark(session, workspace_id, Member.id.in_(sorted(member_ids)), now)


async def mark_runs_stale(
    session: AsyncSession, workspace_id: int, run_ids: Collection[int], now: dt.datetime
) -> int:
    """Everyone with a prompt in these runs: one statement."""
    if not run_ids:
        return 0
    in_runs = select(Prompt.member_id).where(
        Prompt.workspace_id == workspace_id, Prompt.run_id.in_(sorted(run_ids))
    )
    return await _mark(session, workspace_id, Member.id.in_(in_runs), now)


def _owners(workspace_id: int, standup_id: int) -> ColumnElement[bool]:
    """The standup's owner and co-owners."""
    co_owners = select(StandupOwner.slack_user_id).where(
        StandupOwner.workspace_id == workspace_id, StandupOwner.standup_id == standup_id
    )
    owner = select(Standup.owner_user_id).where(
        Standup.workspace_id == workspace_id, Standup.id == standup_id
    )
    return or_(Member.slack_user_id.in_(co_owners), Member.slack_user_id.in_(owner))


async def mark_standup_stale(
    session: AsyncSession, workspace_id: int, standup_id: int, now: dt.datetime
) -> int:
    """Everyone a standup involves — participants and owners: one statement."""
    participants = select(Participant.member_id).where(
        Participant.workspace_id == workspace_id, Participant.standup_id == standup_id
    )
    who = or_(Member.id.in_(participants), _owners(workspace_id, standup_id))
    return await _mark(session, workspace_id, who, now)


async def mark_members_and_owners_stale(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    member_ids: Collection[int],
    now: dt.datetime,
) -> int:
    """These people's homes and those of the standup's owners (a roster change: who joined or
    left, and the owners' participant counts): one statement, however many people."""
    who = or_(Member.id.in_(sorted(member_ids)), _owners(workspace_id, standup_id))
    return await _mark(session, workspace_id, who, now)


async def mark_users_stale(
    session: AsyncSession, workspace_id: int, slack_user_ids: Collection[str], now: dt.datetime
) -> int:
    """These people's homes (by Slack user id) need drawing again: a claim not done in time."""
    if not slack_user_ids:
        return 0
    return await _mark(session, workspace_id, Member.slack_user_id.in_(sorted(slack_user_ids)), now)


async def claim_stale(session: AsyncSession, limit: int) -> list[tuple[int, str]]:
    """Take up to `limit` out-of-date homes (of installed workspaces), oldest first, in one
    statement: their mark is cleared as they are taken, so two replicas never draw the same
    home twice (Postgres skips rows another claim holds; SQLite has a single writer). A change
    made after this marks the home again. Returns (workspace_id, Slack user id) pairs."""
    candidates = (
        select(Member.id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.home_stale_at.is_not(None), Workspace.active.is_(True))
        .order_by(Member.home_stale_at, Member.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(of=Member, skip_locked=True)
    result = await session.execute(
        update(Member)
        .where(Member.id.in_(candidates.scalar_subquery()), Member.home_stale_at.is_not(None))
        .values(home_stale_at=None)
        .returning(Member.workspace_id, Member.slack_user_id)
        .execution_options(synchronize_session=False)
    )
    return [(int(w), str(u)) for w, u in result]


async def mark_fresh(session: AsyncSession, workspace_id: int, slack_user_id: str) -> None:
    """Their home was just drawn from the database as it is now."""
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .values(home_stale_at=None)
        .execution_options(synchronize_session=False)
    )
