"""Workspace-scoped reads and writes. Every function takes the workspace it serves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import (
    Answer,
    DeliveryIssue,
    Member,
    Participant,
    ProcessedEvent,
    Prompt,
    Run,
    Standup,
    StandupOwner,
    Workspace,
)


def _insert(session: AsyncSession, table: Any) -> Any:
    """Dialect insert with ON CONFLICT support (SQLite and Postgres both have it)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


# --- workspaces -------------------------------------------------------------------------------


async def ensure_workspace(
    session: AsyncSession,
    team_id: str,
    *,
    enterprise_id: str | None = None,
    name: str | None = None,
) -> Workspace:
    """Get or create the workspace row for a Slack team (race-safe)."""
    stmt = _insert(session, Workspace).values(
        team_id=team_id, enterprise_id=enterprise_id, name=name, active=True
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["team_id"]))
    workspace = (
        await session.execute(select(Workspace).where(Workspace.team_id == team_id))
    ).scalar_one()
    if name and workspace.name != name:
        workspace.name = name
    return workspace


async def get_workspace(session: AsyncSession, team_id: str) -> Workspace | None:
    return (
        await session.execute(select(Workspace).where(Workspace.team_id == team_id))
    ).scalar_one_or_none()


async def active_workspace_ids(session: AsyncSession) -> list[int]:
    rows = await session.execute(select(Workspace.id).where(Workspace.active.is_(True)))
    return [r[0] for r in rows]


# --- members ----------------------------------------------------------------------------------


async def ensure_members(
    session: AsyncSession, workspace_id: int, slack_user_ids: Iterable[str]
) -> dict[str, Member]:
    """Get or create member rows for these users; returns them by Slack user id."""
    wanted = sorted(set(slack_user_ids))
    if not wanted:
        return {}
    stmt = _insert(session, Member).values(
        [
            {"workspace_id": workspace_id, "slack_user_id": u, "is_bot": False, "deleted": False}
            for u in wanted
        ]
    )
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
    )
    rows = await session.execute(
        select(Member).where(Member.workspace_id == workspace_id, Member.slack_user_id.in_(wanted))
    )
    return {m.slack_user_id: m for m in rows.scalars()}


async def members_needing_profile(
    session: AsyncSession, workspace_id: int, stale_before: dt.datetime, limit: int = 50
) -> list[Member]:
    """Participants whose cached profile (time zone) is missing or stale."""
    rows = await session.execute(
        select(Member)
        .join(Participant, Participant.member_id == Member.id)
        .join(Standup, Standup.id == Participant.standup_id)
        .where(
            Member.workspace_id == workspace_id,
            Standup.workspace_id == workspace_id,
            Standup.active.is_(True),
            or_(Member.profile_refreshed_at.is_(None), Member.profile_refreshed_at < stale_before),
        )
        .distinct()
        .limit(limit)
    )
    return list(rows.scalars())


async def update_member_profile(
    session: AsyncSession,
    workspace_id: int,
    slack_user_id: str,
    *,
    name: str | None,
    tz: str | None,
    is_bot: bool,
    deleted: bool,
    now: dt.datetime,
    is_admin: bool = False,
) -> None:
    await ensure_members(session, workspace_id, [slack_user_id])
    previous = (
        await session.execute(
            select(Member.id, Member.tz).where(
                Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
            )
        )
    ).one()
    if previous.tz != tz:  # their prompts now fall at another instant: plan again
        await session.execute(
            update(Standup)
            .where(
                Standup.workspace_id == workspace_id,
                Standup.id.in_(
                    select(Participant.standup_id).where(
                        Participant.workspace_id == workspace_id,
                        Participant.member_id == previous.id,
                    )
                ),
            )
            .values(planned_until=None)
        )
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .values(
            name=name,
            tz=tz,
            is_bot=is_bot,
            deleted=deleted,
            is_admin=is_admin,
            profile_refreshed_at=now,
        )
    )


async def mark_profile_checked(
    session: AsyncSession, workspace_id: int, slack_user_id: str, now: dt.datetime
) -> None:
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .values(profile_refreshed_at=now)
    )


# --- standups ---------------------------------------------------------------------------------


async def standup_name_keys(session: AsyncSession, workspace_id: int) -> set[str]:
    rows = await session.execute(
        select(Standup.name_key).where(Standup.workspace_id == workspace_id)
    )
    return {r[0] for r in rows}


async def create_standup(
    session: AsyncSession,
    workspace_id: int,
    *,
    name: str,
    name_key: str,
    channel_id: str,
    questions: list[str],
    weekday_mask: int,
    local_time: str,
    tz_mode: str,
    fixed_tz: str | None,
    owner_user_id: str,
    participant_ids: Sequence[str],
    now: dt.datetime,
) -> Standup:
    standup = Standup(
        workspace_id=workspace_id,
        name=name,
        name_key=name_key,
        channel_id=channel_id,
        questions=list(questions),
        weekday_mask=weekday_mask,
        local_time=local_time,
        tz_mode=tz_mode,
        fixed_tz=fixed_tz,
        active=True,
        owner_user_id=owner_user_id,
        schedule_from=now,
        created_at=now,
        updated_at=now,
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


async def delete_standup(session: AsyncSession, workspace_id: int, standup_id: int) -> bool:
    result = await session.execute(
        delete(Standup).where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    return list((await session.execute(stmt)).scalars())


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


# --- runs and prompts -------------------------------------------------------------------------


async def get_or_create_run(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    local_date: dt.date,
    close_at: dt.datetime,
) -> Run:
    """One run per (standup, local date); its close time only ever moves later."""
    stmt = _insert(session, Run).values(
        workspace_id=workspace_id,
        standup_id=standup.id,
        local_date=local_date,
        questions=list(standup.questions),
        channel_id=standup.channel_id,
        state="open",
        close_at=close_at,
        created_at=dt.datetime.now(dt.UTC),
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["standup_id", "local_date"]))
    await session.execute(
        update(Run)
        .where(
            Run.workspace_id == workspace_id,
            Run.standup_id == standup.id,
            Run.local_date == local_date,
            Run.state == "open",
            Run.close_at < close_at,
        )
        .values(close_at=close_at)
    )
    return (
        await session.execute(
            select(Run)
            .where(
                Run.workspace_id == workspace_id,
                Run.standup_id == standup.id,
                Run.local_date == local_date,
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def existing_prompt_keys(
    session: AsyncSession, workspace_id: int, standup_id: int, dates: Iterable[dt.date]
) -> set[tuple[int, dt.date]]:
    rows = await session.execute(
        select(Prompt.member_id, Prompt.local_date).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date.in_(list(set(dates))),
        )
    )
    return {(m, d) for m, d in rows}


async def insert_prompt(
    session: AsyncSession,
    workspace_id: int,
    *,
    run: Run,
    member_id: int,
    due_at: dt.datetime,
    state: str = "pending",
) -> bool:
    """Insert unless (standup, member, local date) already has one; True if inserted."""
    stmt = _insert(session, Prompt).values(
        workspace_id=workspace_id,
        run_id=run.id,
        standup_id=run.standup_id,
        member_id=member_id,
        local_date=run.local_date,
        due_at=due_at,
        state=state,
        attempts=0,
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["standup_id", "member_id", "local_date"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PromptView:
    """A prompt with what is needed to act on it (all from the same workspace)."""

    prompt: Prompt
    member: Member
    run: Run
    standup: Standup


def _prompt_view_query(workspace_id: int) -> Select[Prompt, Member, Run, Standup]:
    return (
        select(Prompt, Member, Run, Standup)
        .join(Member, and_(Member.id == Prompt.member_id, Member.workspace_id == workspace_id))
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == workspace_id))
        .join(Standup, and_(Standup.id == Prompt.standup_id, Standup.workspace_id == workspace_id))
        .where(Prompt.workspace_id == workspace_id)
    )


async def get_prompt_view(
    session: AsyncSession, workspace_id: int, prompt_id: int, *, for_user: str | None = None
) -> PromptView | None:
    """Load a prompt only if it is in this workspace (and, if given, belongs to `for_user`)."""
    stmt = _prompt_view_query(workspace_id).where(Prompt.id == prompt_id)
    if for_user is not None:
        stmt = stmt.where(Member.slack_user_id == for_user)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return PromptView(row[0], row[1], row[2], row[3])


async def prompt_views_by_id(
    session: AsyncSession, pairs: Sequence[tuple[int, int]]
) -> list[PromptView]:
    """Load claimed prompts of many workspaces at once; each row is joined within its own
    workspace, so a prompt is only ever combined with its own workspace's rows."""
    if not pairs:
        return []
    ids = [p for _, p in pairs]
    stmt = (
        select(Prompt, Member, Run, Standup)
        .join(
            Member,
            and_(Member.id == Prompt.member_id, Member.workspace_id == Prompt.workspace_id),
        )
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == Prompt.workspace_id))
        .join(
            Standup,
            and_(Standup.id == Prompt.standup_id, Standup.workspace_id == Prompt.workspace_id),
        )
        .where(Prompt.id.in_(ids))
    )
    wanted = set(pairs)
    return [
        PromptView(row[0], row[1], row[2], row[3])
        for row in await session.execute(stmt)
        if (row[0].workspace_id, row[0].id) in wanted
    ]


async def run_prompt_views(
    session: AsyncSession, workspace_id: int, run_id: int
) -> list[PromptView]:
    rows = await session.execute(
        _prompt_view_query(workspace_id).where(Prompt.run_id == run_id).order_by(Prompt.id)
    )
    return [PromptView(row[0], row[1], row[2], row[3]) for row in rows]


async def run_answers(session: AsyncSession, workspace_id: int, run_id: int) -> list[Answer]:
    rows = await session.execute(
        select(Answer)
        .join(Prompt, Prompt.id == Answer.prompt_id)
        .where(
            Answer.workspace_id == workspace_id,
            Prompt.workspace_id == workspace_id,
            Prompt.run_id == run_id,
        )
        .order_by(Answer.prompt_id, Answer.position)
    )
    return list(rows.scalars())


async def prompt_answers(session: AsyncSession, workspace_id: int, prompt_id: int) -> list[Answer]:
    rows = await session.execute(
        select(Answer)
        .where(Answer.workspace_id == workspace_id, Answer.prompt_id == prompt_id)
        .order_by(Answer.position)
    )
    return list(rows.scalars())


async def save_answers(
    session: AsyncSession,
    workspace_id: int,
    view: PromptView,
    answers: list[str],
    now: dt.datetime,
) -> bool:
    """Store or update all answers of one prompt; True if this was an edit."""
    existing = {a.position: a for a in await prompt_answers(session, workspace_id, view.prompt.id)}
    questions = list(view.run.questions)
    edited = bool(existing)
    for position, body in enumerate(answers):
        row = existing.get(position)
        if row is None:
            session.add(
                Answer(
                    workspace_id=workspace_id,
                    prompt_id=view.prompt.id,
                    member_id=view.member.id,
                    position=position,
                    question=questions[position],
                    body=body,
                    submitted_at=now,
                )
            )
        elif row.body != body:
            row.body = body
            row.edited_at = now
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == view.prompt.id)
        .values(state="answered", answered_at=func.coalesce(Prompt.answered_at, now))
    )
    await session.flush()
    return edited


async def set_prompt_state(
    session: AsyncSession,
    workspace_id: int,
    prompt_id: int,
    state: str,
    *,
    from_states: Sequence[str],
    **values: Any,
) -> bool:
    """Compare-and-set a prompt's state; False if it was not in one of `from_states`."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.id == prompt_id,
            Prompt.state.in_(list(from_states)),
        )
        .values(state=state, **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_sent(
    session: AsyncSession,
    workspace_id: int,
    prompt_id: int,
    *,
    dm_channel_id: str,
    message_ts: str,
    now: dt.datetime,
) -> str | None:
    """Record the posted DM. The prompt becomes 'sent' unless it was answered or skipped in
    the moment between posting and recording; returns the resulting state."""
    where = (Prompt.workspace_id == workspace_id, Prompt.id == prompt_id)
    await session.execute(
        update(Prompt)
        .where(*where)
        .values(
            state=case((Prompt.state == "sending", "sent"), else_=Prompt.state),
            dm_channel_id=dm_channel_id,
            message_ts=message_ts,
            sent_at=now,
            lease_until=None,
            error=None,
        )
    )
    return (await session.execute(select(Prompt.state).where(*where))).scalar_one_or_none()


async def set_reply_ts(
    session: AsyncSession, workspace_id: int, prompt_id: int, reply_ts: str
) -> None:
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == prompt_id)
        .values(reply_ts=reply_ts)
    )


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
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
        .where(Run.workspace_id == workspace_id, Run.id == run_id, Run.state == "open")
        .values(state="closed", closed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_member(session: AsyncSession, workspace_id: int, slack_user_id: str) -> Member | None:
    return (
        await session.execute(
            select(Member).where(
                Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
            )
        )
    ).scalar_one_or_none()


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
                Prompt.state == "pending",
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


async def drop_pending_prompts(session: AsyncSession, workspace_id: int, standup_id: int) -> int:
    """After a schedule change, unsent prompts are re-planned from the new schedule."""
    await replan(session, workspace_id, standup_id)
    result = await session.execute(
        delete(Prompt).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.state == "pending",
        )
    )
    # Runs left with no prompt at all were only planned, never started: forget them too.
    await session.execute(
        delete(Run).where(
            Run.workspace_id == workspace_id,
            Run.standup_id == standup_id,
            Run.state == "open",
            Run.summary_ts.is_(None),
            ~select(Prompt.id).where(Prompt.run_id == Run.id).exists(),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- events -----------------------------------------------------------------------------------


async def claim_event(db: Database, event_id: str, team_id: str | None, now: dt.datetime) -> bool:
    """Record an Events API id; False if it was seen before (a retry)."""
    async with db.session() as session:
        stmt = _insert(session, ProcessedEvent).values(
            event_id=event_id[:64], team_id=team_id, received_at=now
        )
        result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_events_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- delivery ---------------------------------------------------------------------------------


async def remember_dm_channel(
    session: AsyncSession, workspace_id: int, member_id: int, channel_id: str | None
) -> None:
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.id == member_id)
        .values(dm_channel_id=channel_id)
    )


async def record_delivery_issue(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    member_id: int,
    reason: str,
    now: dt.datetime,
) -> bool:
    """True the first time this (standup, member, reason) is seen: the owner should be told."""
    stmt = _insert(session, DeliveryIssue).values(
        standup_id=standup_id,
        member_id=member_id,
        reason=reason[:64],
        workspace_id=workspace_id,
        first_seen_at=now,
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["standup_id", "member_id", "reason"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
