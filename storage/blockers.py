"""Blockers: opened from check-in answers, asked about in the next prompt, escalated once,
resolved by their person. Every function takes the workspace it serves, except the two scheduler
queries (:func:`open_for_pairs`, :func:`escalation_candidates`) that look across workspaces and
hand back rows carrying their workspace."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import Blocker, Member, Standup, StandupOwner


async def raised_in(session: AsyncSession, workspace_id: int, prompt_id: int) -> Blocker | None:
    """The open blocker raised in this check-in, if any."""
    rows = await session.execute(
        select(Blocker)
        .where(
            Blocker.workspace_id == workspace_id,
            Blocker.prompt_id == prompt_id,
            Blocker.resolved_at.is_(None),
        )
        .order_by(Blocker.id)
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def open_with_text(
    session: AsyncSession, workspace_id: int, standup_id: int, member_id: int, text: str
) -> Blocker | None:
    """The person's open blocker on this standup saying exactly `text`, if any."""
    rows = await session.execute(
        select(Blocker)
        .where(
            Blocker.workspace_id == workspace_id,
            Blocker.standup_id == standup_id,
            Blocker.member_id == member_id,
            Blocker.resolved_at.is_(None),
            Blocker.text == text,
        )
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def add(
    session: AsyncSession,
    workspace_id: int,
    *,
    standup_id: int,
    member_id: int,
    prompt_id: int,
    text: str,
    opened_on: dt.date,
    now: dt.datetime,
) -> Blocker:
    blocker = Blocker(
        workspace_id=workspace_id,
        standup_id=standup_id,
        member_id=member_id,
        prompt_id=prompt_id,
        text=text,
        opened_on=opened_on,
        opened_at=now,
    )
    session.add(blocker)
    await session.flush()
    return blocker


@dataclass(frozen=True)
class OwnedBlocker:
    """A blocker with whose it is and the standup it belongs to."""

    blocker: Blocker
    user_id: str
    standup: Standup


async def get(session: AsyncSession, workspace_id: int, blocker_id: int) -> OwnedBlocker | None:
    """A blocker of this workspace (None for another workspace's id)."""
    rows = await session.execute(
        select(Blocker, Member.slack_user_id, Standup)
        .join(Member, and_(Member.id == Blocker.member_id, Member.workspace_id == workspace_id))
        .join(Standup, and_(Standup.id == Blocker.standup_id, Standup.workspace_id == workspace_id))
        .where(Blocker.workspace_id == workspace_id, Blocker.id == blocker_id)
    )
    row = rows.first()
    return None if row is None else OwnedBlocker(row[0], row[1], row[2])


async def _update_open(
    session: AsyncSession, workspace_id: int, blocker_id: int, **values: object
) -> bool:
    """Change a blocker that is still open; False when it was closed meanwhile."""
    result = await session.execute(
        update(Blocker)
        .where(
            Blocker.workspace_id == workspace_id,
            Blocker.id == blocker_id,
            Blocker.resolved_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return affected(result) > 0


async def resolve(
    session: AsyncSession, workspace_id: int, blocker_id: int, now: dt.datetime
) -> bool:
    """Close an open blocker; False when it was already closed (a second click)."""
    return await _update_open(session, workspace_id, blocker_id, resolved_at=now)


async def mark_still_blocked(
    session: AsyncSession, workspace_id: int, blocker_id: int, day: dt.date
) -> bool:
    """They said they are still blocked on `day`; False when it was resolved meanwhile."""
    return await _update_open(session, workspace_id, blocker_id, still_blocked_on=day)


async def open_for_pairs(
    session: AsyncSession, keys: Collection[tuple[int, int, int]]
) -> dict[tuple[int, int, int], list[Blocker]]:
    """For a batch of prompts spanning workspaces: the open blockers of each (workspace_id,
    standup_id, member_id), oldest first, in one query; a row only counts for its own key."""
    if not keys:
        return {}
    rows = await session.execute(
        select(Blocker)
        .where(
            Blocker.workspace_id.in_({w for w, _, _ in keys}),
            Blocker.standup_id.in_({s for _, s, _ in keys}),
            Blocker.member_id.in_({m for _, _, m in keys}),
            Blocker.resolved_at.is_(None),
        )
        .order_by(Blocker.opened_on, Blocker.id)
    )
    found: dict[tuple[int, int, int], list[Blocker]] = defaultdict(list)
    for blocker in rows.scalars():
        key = (blocker.workspace_id, blocker.standup_id, blocker.member_id)
        if key in keys:
            found[key].append(blocker)
    return dict(found)


async def claim_asked(
    session: AsyncSession, workspace_id: int, blocker_ids: Collection[int], day: dt.date
) -> list[int]:
    """Mark these open blockers as asked about on `day`, unless they already were on or after
    it: the ids this call claimed (so a retried prompt never asks twice the same day)."""
    if not blocker_ids:
        return []
    result = await session.execute(
        update(Blocker)
        .where(
            Blocker.workspace_id == workspace_id,
            Blocker.id.in_(sorted(blocker_ids)),
            Blocker.resolved_at.is_(None),
            or_(Blocker.last_asked_on.is_(None), Blocker.last_asked_on < day),
        )
        .values(last_asked_on=day)
        .returning(Blocker.id)
        .execution_options(synchronize_session=False)
    )
    return [row[0] for row in result]


@dataclass(frozen=True)
class EscalationCandidate:
    blocker_id: int
    workspace_id: int
    user_id: str
    user_tz: str | None
    text: str
    opened_on: dt.date
    standup: Standup


async def escalation_candidates(
    session: AsyncSession, opened_by: dt.date, limit: int
) -> list[EscalationCandidate]:
    """Open, not yet escalated blockers of running standups opened on or before `opened_by`,
    across workspaces, oldest first (one query); whether each is overdue is for the caller."""
    rows = await session.execute(
        select(Blocker, Member.slack_user_id, Member.tz, Standup)
        .join(
            Member,
            and_(Member.id == Blocker.member_id, Member.workspace_id == Blocker.workspace_id),
        )
        .join(
            Standup,
            and_(Standup.id == Blocker.standup_id, Standup.workspace_id == Blocker.workspace_id),
        )
        .where(
            Blocker.resolved_at.is_(None),
            Blocker.escalated_at.is_(None),
            Blocker.opened_on <= opened_by,
            Standup.active.is_(True),  # a paused standup's owners are not chased
        )
        .order_by(Blocker.opened_on, Blocker.id)
        .limit(limit)
    )
    return [
        EscalationCandidate(b.id, b.workspace_id, user_id, tz, b.text, b.opened_on, standup)
        for b, user_id, tz, standup in rows
    ]


async def claim_escalated(
    session: AsyncSession, pairs: Collection[tuple[int, int]], now: dt.datetime
) -> set[tuple[int, int]]:
    """Mark these (workspace_id, blocker_id) as escalated in one statement, unless another
    replica already did: the pairs this call claimed."""
    if not pairs:
        return set()
    result = await session.execute(
        update(Blocker)
        .where(
            Blocker.id.in_(sorted(b for _, b in pairs)),
            Blocker.workspace_id.in_(sorted({w for w, _ in pairs})),
            Blocker.escalated_at.is_(None),
            Blocker.resolved_at.is_(None),
        )
        .values(escalated_at=now)
        .returning(Blocker.workspace_id, Blocker.id)
        .execution_options(synchronize_session=False)
    )
    return {(w, b) for w, b in result} & set(pairs)


async def release_escalated(
    session: AsyncSession, pairs: Collection[tuple[int, int]], claimed_at: dt.datetime
) -> None:
    """Undo this round's claim on these (workspace_id, blocker_id): nobody was told."""
    if not pairs:
        return
    await session.execute(
        update(Blocker)
        .where(
            Blocker.id.in_(sorted(b for _, b in pairs)),
            Blocker.workspace_id.in_(sorted({w for w, _ in pairs})),
            Blocker.escalated_at == claimed_at,
        )
        .values(escalated_at=None)
        .execution_options(synchronize_session=False)
    )


async def co_owners(
    session: AsyncSession, keys: Collection[tuple[int, int]]
) -> dict[tuple[int, int], set[str]]:
    """Co-owners of these (workspace_id, standup_id) in one query (the primary owner is on the
    standup row)."""
    if not keys:
        return {}
    rows = await session.execute(
        select(
            StandupOwner.workspace_id, StandupOwner.standup_id, StandupOwner.slack_user_id
        ).where(
            StandupOwner.workspace_id.in_(sorted({w for w, _ in keys})),
            StandupOwner.standup_id.in_(sorted({s for _, s in keys})),
        )
    )
    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    for workspace_id, standup_id, user_id in rows:
        if (workspace_id, standup_id) in keys:
            found[(workspace_id, standup_id)].add(user_id)
    return dict(found)
