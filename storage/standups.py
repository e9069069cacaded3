"""Standups, their participants and owners. Every function takes the workspace it serves."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.members import ensure_members
from storage.models import (
    Member,
    Participant,
    ParticipantSource,
    Prompt,
    PromptState,
    Run,
    RunState,
    Standup,
    StandupOwner,
    Workspace,
)


def _not_started(workspace_id: int, standup_id: int) -> ColumnElement[bool]:
    """Prompts that were only planned: not sent yet, or set aside for someone away or on a
    holiday, in a run still open. Dropping them loses nothing; the planner makes them again
    from what is true now (sent prompts, and everything of a closed run, are history)."""
    open_runs = select(Run.id).where(
        Run.workspace_id == workspace_id,
        Run.standup_id == standup_id,
        Run.state == RunState.OPEN,
    )
    return and_(
        Prompt.state.in_([PromptState.PENDING, PromptState.AWAY, PromptState.HOLIDAY]),
        Prompt.run_id.in_(open_runs),
    )


async def standup_name_keys(session: AsyncSession, workspace_id: int) -> set[str]:
    rows = await session.execute(
        select(Standup.name_key).where(Standup.workspace_id == workspace_id)
    )
    return {r[0] for r in rows}


async def hold_creation(session: AsyncSession, workspace_id: int) -> None:
    """Serialise standup creation in a workspace until this transaction ends, so a count
    checked in it still holds at commit: a no-op UPDATE of the workspace row takes its row
    lock on Postgres and, as the transaction's first statement, the write lock on SQLite."""
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(create_restricted=Workspace.create_restricted, updated_at=Workspace.updated_at)
    )


async def count_standups(session: AsyncSession, workspace_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Standup).where(Standup.workspace_id == workspace_id)
    )
    return int(count or 0)


async def create_standup(
    session: AsyncSession,
    workspace_id: int,
    *,
    participant_ids: Sequence[str],
    now: dt.datetime,
    **config: Any,
) -> Standup:
    """Store a new standup (its configuration given as column values) and its participants."""
    standup = Standup(
        workspace_id=workspace_id,
        active=True,
        schedule_from=now,
        created_at=now,
        updated_at=now,
        **config,
    )
    session.add(standup)
    await session.flush()
    members = await ensure_members(session, workspace_id, participant_ids)
    for slack_user_id in participant_ids:
        session.add(
            Participant(
                standup_id=standup.id,
                member_id=members[slack_user_id].id,
                workspace_id=workspace_id,
                added_at=now,
            )
        )
    await session.flush()
    return standup


async def find_standup_by_name(
    session: AsyncSession, workspace_id: int, name_key: str
) -> Standup | None:
    return (
        await session.execute(
            select(Standup).where(
                Standup.workspace_id == workspace_id, Standup.name_key == name_key
            )
        )
    ).scalar_one_or_none()


async def get_standup(session: AsyncSession, workspace_id: int, standup_id: int) -> Standup | None:
    return (
        await session.execute(
            select(Standup).where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
        )
    ).scalar_one_or_none()


async def list_standups(session: AsyncSession, workspace_id: int) -> list[tuple[Standup, int]]:
    """Standups with their participant counts, by name."""
    count = (
        select(func.count())
        .where(Participant.standup_id == Standup.id, Participant.workspace_id == workspace_id)
        .correlate(Standup)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Standup, count)
        .where(Standup.workspace_id == workspace_id)
        .order_by(Standup.name_key)
    )
    return [(s, int(n)) for s, n in rows]


@dataclass(frozen=True)
class StandupPeople:
    """A standup with everyone it involves."""

    standup: Standup
    participants: list[Member]
    owners: set[str]


async def standups_with_people(session: AsyncSession, workspace_id: int) -> list[StandupPeople]:
    """Every standup of a workspace with participants and owners: three queries, whatever the
    number of standups."""
    standups = list(
        (
            await session.execute(
                select(Standup)
                .where(Standup.workspace_id == workspace_id)
                .order_by(Standup.name_key)
            )
        ).scalars()
    )
    people: dict[int, list[Member]] = defaultdict(list)
    rows = await session.execute(
        select(Participant.standup_id, Member)
        .join(Member, Member.id == Participant.member_id)
        .where(Participant.workspace_id == workspace_id, Member.workspace_id == workspace_id)
        .order_by(Member.slack_user_id)
    )
    for standup_id, member in rows:
        people[standup_id].append(member)
    owners: dict[int, set[str]] = defaultdict(set)
    for standup_id, user_id in await session.execute(
        select(StandupOwner.standup_id, StandupOwner.slack_user_id).where(
            StandupOwner.workspace_id == workspace_id
        )
    ):
        owners[standup_id].add(user_id)
    return [StandupPeople(s, people[s.id], {s.owner_user_id, *owners[s.id]}) for s in standups]


async def record_channel_privacy(
    session: AsyncSession, workspace_id: int, channel_id: str, private: bool
) -> int:
    """What Slack said about a channel: every standup of this workspace posting there learns
    whether it is private. Returns how many changed."""
    result = await session.execute(
        update(Standup)
        .where(
            Standup.workspace_id == workspace_id,
            Standup.channel_id == channel_id,
            or_(Standup.channel_private.is_(None), Standup.channel_private.is_not(private)),
        )
        .values(channel_private=private)
    )
    return affected(result)


async def channels_of_unknown_privacy(
    session: AsyncSession, workspace_id: int, limit: int
) -> list[str]:
    """Channels of this workspace's standups whose privacy we have not learned yet."""
    rows = await session.execute(
        select(Standup.channel_id)
        .where(Standup.workspace_id == workspace_id, Standup.channel_private.is_(None))
        .distinct()
        .order_by(Standup.channel_id)
        .limit(limit)
    )
    return [r[0] for r in rows]


async def delete_standup(session: AsyncSession, workspace_id: int, standup_id: int) -> bool:
    result = await session.execute(
        delete(Standup).where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
    )
    return affected(result) > 0


async def standup_participants(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> list[Member]:
    rows = await session.execute(
        select(Member)
        .join(Participant, Participant.member_id == Member.id)
        .where(
            Participant.workspace_id == workspace_id,
            Participant.standup_id == standup_id,
            Member.workspace_id == workspace_id,
        )
        .order_by(Member.slack_user_id)
    )
    return list(rows.scalars())


async def active_standups(
    session: AsyncSession, workspace_id: int, *, planned_before: dt.datetime | None = None
) -> list[Standup]:
    """Active standups; with `planned_before`, only those whose plan runs out before it."""
    stmt = select(Standup).where(Standup.workspace_id == workspace_id, Standup.active.is_(True))
    if planned_before is not None:
        stmt = stmt.where(
            or_(Standup.planned_until.is_(None), Standup.planned_until < planned_before)
        )
    return list((await session.execute(stmt.order_by(Standup.id))).scalars())


async def workspaces_needing_plans(session: AsyncSession, planned_before: dt.datetime) -> list[int]:
    """Active workspaces with an active standup whose plan runs out before `planned_before`."""
    rows = await session.execute(
        select(Standup.workspace_id)
        .join(Workspace, Workspace.id == Standup.workspace_id)
        .where(
            Workspace.active.is_(True),
            Standup.active.is_(True),
            or_(Standup.planned_until.is_(None), Standup.planned_until < planned_before),
        )
        .distinct()
    )
    return [r[0] for r in rows]


async def replan(session: AsyncSession, workspace_id: int, standup_id: int) -> None:
    """Make every scheduler plan this standup again on its next tick."""
    await session.execute(
        update(Standup)
        .where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
        .values(planned_until=None)
    )


async def replace_participants(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    participant_ids: Sequence[str],
    now: dt.datetime,
) -> None:
    members = await ensure_members(session, workspace_id, participant_ids)
    wanted = {members[u].id for u in participant_ids}
    current = {
        r[0]
        for r in await session.execute(
            select(Participant.member_id).where(
                Participant.workspace_id == workspace_id, Participant.standup_id == standup.id
            )
        )
    }
    if current - wanted:
        await session.execute(
            delete(Participant).where(
                Participant.workspace_id == workspace_id,
                Participant.standup_id == standup.id,
                Participant.member_id.in_(current - wanted),
            )
        )
        # Prompts not yet sent to removed people are dropped.
        await session.execute(
            delete(Prompt).where(
                Prompt.workspace_id == workspace_id,
                Prompt.standup_id == standup.id,
                Prompt.member_id.in_(current - wanted),
                _not_started(workspace_id, standup.id),
            )
        )
    for member_id in wanted - current:
        session.add(
            Participant(
                standup_id=standup.id, member_id=member_id, workspace_id=workspace_id, added_at=now
            )
        )
    standup.planned_until = None
    await session.flush()


# --- participants from a channel ----------------------------------------------------------------


async def channel_standups(
    session: AsyncSession, workspace_id: int, channel_id: str
) -> list[Standup]:
    """This workspace's standups that take everyone in `channel_id` (paused ones too: they
    resume with the right people)."""
    rows = await session.execute(
        select(Standup)
        .where(
            Standup.workspace_id == workspace_id,
            Standup.channel_id == channel_id,
            Standup.participant_source == ParticipantSource.CHANNEL,
        )
        .order_by(Standup.id)
    )
    return list(rows.scalars())


async def hold_standup(session: AsyncSession, workspace_id: int, standup_id: int) -> Standup | None:
    """The standup, its participants held until this transaction ends: a no-op UPDATE of its
    row takes the row lock on Postgres and, as the transaction's first write, the write lock on
    SQLite — so syncs of one standup (an event, the reconcile, another replica) and the planner
    run one after the other, each reading the participants the other left."""
    await session.execute(
        update(Standup)
        .where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
        .values(updated_at=Standup.updated_at)
    )
    return (
        await session.execute(
            select(Standup)
            .where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
            .execution_options(populate_existing=True)  # as it is now, not as first loaded
        )
    ).scalar_one_or_none()


async def participants_by_user(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> dict[str, int]:
    """A standup's participants: member id by Slack user id (one query)."""
    rows = await session.execute(
        select(Member.slack_user_id, Member.id)
        .join(Participant, Participant.member_id == Member.id)
        .where(
            Participant.workspace_id == workspace_id,
            Participant.standup_id == standup_id,
            Member.workspace_id == workspace_id,
        )
    )
    return {user_id: member_id for user_id, member_id in rows}


async def change_participants(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    *,
    add: Collection[int],
    remove: Collection[int],
    now: dt.datetime,
) -> None:
    """Add and remove participants (member ids) in bulk: at most three statements, however
    many people. Unsent prompts of those removed are dropped; a change plans the standup again.
    Adding someone already there is a no-op, so concurrent syncs never conflict."""
    if remove:
        await session.execute(
            delete(Participant).where(
                Participant.workspace_id == workspace_id,
                Participant.standup_id == standup.id,
                Participant.member_id.in_(sorted(remove)),
            )
        )
        await session.execute(
            delete(Prompt).where(
                Prompt.workspace_id == workspace_id,
                Prompt.standup_id == standup.id,
                Prompt.member_id.in_(sorted(remove)),
                _not_started(workspace_id, standup.id),
            )
        )
    if add:
        rows = [
            {
                "standup_id": standup.id,
                "member_id": member_id,
                "workspace_id": workspace_id,
                "added_at": now,
            }
            for member_id in sorted(add)
        ]
        stmt = upsert(session, Participant).values(rows)
        await session.execute(
            stmt.on_conflict_do_nothing(index_elements=["standup_id", "member_id"])
        )
    if add or remove:
        standup.planned_until = None
        await session.flush()


async def channel_standups_in_phase(
    session: AsyncSession,
    phases: Sequence[tuple[int, int]],
    period_seconds: int,
    spread: int,
) -> list[tuple[int, int, dt.datetime]]:
    """(workspace id, standup id, created at) of active channel-synced standups in active
    workspaces whose phase — ((id mod period) * spread) mod period, seconds into each period —
    lies in one of the half-open ranges (low, high]. One query, which returns nothing when
    nothing is due."""
    if not phases:
        return []
    phase = ((Standup.id % period_seconds) * spread) % period_seconds
    rows = await session.execute(
        select(Standup.workspace_id, Standup.id, Standup.created_at)
        .join(Workspace, Workspace.id == Standup.workspace_id)
        .where(
            Workspace.active.is_(True),
            Standup.active.is_(True),
            Standup.participant_source == ParticipantSource.CHANNEL,
            or_(*((phase > low) & (phase <= high) for low, high in phases)),
        )
        .order_by(Standup.id)
    )
    return [(workspace_id, standup_id, created) for workspace_id, standup_id, created in rows]


async def drop_pending_prompts(session: AsyncSession, workspace_id: int, standup_id: int) -> int:
    """After a schedule change, unsent prompts are re-planned from the new schedule."""
    await replan(session, workspace_id, standup_id)
    result = await session.execute(
        delete(Prompt).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            _not_started(workspace_id, standup_id),
        )
    )
    # Runs left with no prompt at all were only planned, never started: forget them too.
    await session.execute(
        delete(Run).where(
            Run.workspace_id == workspace_id,
            Run.standup_id == standup_id,
            Run.state == RunState.OPEN,
            Run.summary_ts.is_(None),
            ~select(Prompt.id).where(Prompt.run_id == Run.id).exists(),
        )
    )
    return affected(result)


# --- owners -----------------------------------------------------------------------------------


async def owner_ids(session: AsyncSession, workspace_id: int, standup: Standup) -> set[str]:
    """The primary owner plus co-owners."""
    rows = await session.execute(
        select(StandupOwner.slack_user_id).where(
            StandupOwner.workspace_id == workspace_id, StandupOwner.standup_id == standup.id
        )
    )
    return {standup.owner_user_id, *(r[0] for r in rows)}


async def add_owner(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    user_id: str,
    added_by: str,
    now: dt.datetime,
) -> bool:
    if user_id in await owner_ids(session, workspace_id, standup):
        return False
    session.add(
        StandupOwner(
            standup_id=standup.id,
            slack_user_id=user_id,
            workspace_id=workspace_id,
            added_by=added_by,
            added_at=now,
        )
    )
    await session.flush()
    return True


async def remove_owner(
    session: AsyncSession, workspace_id: int, standup: Standup, user_id: str
) -> bool:
    """Remove an owner; removing the primary owner promotes a co-owner. Caller keeps >= 1."""
    co_owners = sorted(await owner_ids(session, workspace_id, standup) - {standup.owner_user_id})
    if user_id == standup.owner_user_id:
        if not co_owners:
            return False
        standup.owner_user_id = co_owners[0]
        user_id = co_owners[0]
    result = await session.execute(
        delete(StandupOwner).where(
            StandupOwner.workspace_id == workspace_id,
            StandupOwner.standup_id == standup.id,
            StandupOwner.slack_user_id == user_id,
        )
    )
    return affected(result) > 0
