"""Out of office, personal holiday calendars and skipped days, and the unsent prompts they
change. Every function takes the workspace it serves (the one exception, for the sender's
batch, checks each row's workspace against the pairs it was given)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import (
    AwayPeriod,
    Member,
    Participant,
    Prompt,
    PromptState,
    Run,
    RunState,
    SkippedDay,
    Standup,
    StandupOwner,
)

Range = tuple[dt.date, dt.date]
# Never sent, not being sent: what a change of attendance may still turn around.
UNSENT = (PromptState.PENDING, PromptState.AWAY, PromptState.HOLIDAY)

# --- away periods -------------------------------------------------------------------------------


async def away_periods(
    session: AsyncSession, workspace_id: int, member_id: int, *, ending_from: dt.date
) -> list[AwayPeriod]:
    """A person's periods that end on or after `ending_from`, earliest first."""
    rows = await session.execute(
        select(AwayPeriod)
        .where(
            AwayPeriod.workspace_id == workspace_id,
            AwayPeriod.member_id == member_id,
            AwayPeriod.ends_on >= ending_from,
        )
        .order_by(AwayPeriod.starts_on, AwayPeriod.id)
    )
    return list(rows.scalars())


async def add_away_period(
    session: AsyncSession,
    workspace_id: int,
    member_id: int,
    start: dt.date,
    end: dt.date,
    *,
    set_by: str,
    now: dt.datetime,
) -> None:
    session.add(
        AwayPeriod(
            workspace_id=workspace_id,
            member_id=member_id,
            starts_on=start,
            ends_on=end,
            set_by=set_by,
            created_at=now,
        )
    )
    await session.flush()


async def delete_away_periods(
    session: AsyncSession, workspace_id: int, member_id: int, period_ids: Collection[int]
) -> int:
    if not period_ids:
        return 0
    result = await session.execute(
        delete(AwayPeriod).where(
            AwayPeriod.workspace_id == workspace_id,
            AwayPeriod.member_id == member_id,
            AwayPeriod.id.in_(list(period_ids)),
        )
    )
    return affected(result)


async def end_away_period(
    session: AsyncSession, workspace_id: int, period_id: int, ends_on: dt.date
) -> None:
    await session.execute(
        update(AwayPeriod)
        .where(AwayPeriod.workspace_id == workspace_id, AwayPeriod.id == period_id)
        .values(ends_on=ends_on)
    )


async def away_ranges(
    session: AsyncSession,
    workspace_id: int,
    member_ids: Collection[int],
    first: dt.date,
    last: dt.date,
) -> dict[int, list[Range]]:
    """Periods of these people that overlap [first, last], by member id (one query)."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(AwayPeriod.member_id, AwayPeriod.starts_on, AwayPeriod.ends_on).where(
            AwayPeriod.workspace_id == workspace_id,
            AwayPeriod.member_id.in_(list(member_ids)),
            AwayPeriod.starts_on <= last,
            AwayPeriod.ends_on >= first,
        )
    )
    found: dict[int, list[Range]] = defaultdict(list)
    for member_id, start, end in rows:
        found[member_id].append((start, end))
    return dict(found)


async def away_ranges_of_pairs(
    session: AsyncSession, pairs: Collection[tuple[int, int]], first: dt.date, last: dt.date
) -> dict[tuple[int, int], list[Range]]:
    """For a batch spanning workspaces: periods overlapping [first, last] of each
    (workspace_id, member_id) pair, in one query; a row only counts for its own workspace."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(
            AwayPeriod.workspace_id, AwayPeriod.member_id, AwayPeriod.starts_on, AwayPeriod.ends_on
        ).where(
            AwayPeriod.workspace_id.in_({w for w, _ in pairs}),
            AwayPeriod.member_id.in_({m for _, m in pairs}),
            AwayPeriod.starts_on <= last,
            AwayPeriod.ends_on >= first,
        )
    )
    found: dict[tuple[int, int], list[Range]] = defaultdict(list)
    for workspace_id, member_id, start, end in rows:
        if (workspace_id, member_id) in pairs:
            found[(workspace_id, member_id)].append((start, end))
    return dict(found)


# --- the person's standups ----------------------------------------------------------------------


async def standups_of_member(
    session: AsyncSession, workspace_id: int, member_id: int
) -> list[Standup]:
    """The standups a person takes part in, by name."""
    rows = await session.execute(
        select(Standup)
        .join(
            Participant,
            and_(Participant.standup_id == Standup.id, Participant.workspace_id == workspace_id),
        )
        .where(Standup.workspace_id == workspace_id, Participant.member_id == member_id)
        .order_by(Standup.name_key)
    )
    return list(rows.scalars())


async def owners_of_standups_with(
    session: AsyncSession, workspace_id: int, member_id: int
) -> set[str]:
    """Everyone who owns (primary or co-owner) a standup this person takes part in."""
    standups = await standups_of_member(session, workspace_id, member_id)
    owners = {s.owner_user_id for s in standups}
    if standups:
        rows = await session.execute(
            select(StandupOwner.slack_user_id).where(
                StandupOwner.workspace_id == workspace_id,
                StandupOwner.standup_id.in_([s.id for s in standups]),
            )
        )
        owners |= {r[0] for r in rows}
    return owners


async def replan_standups_of(session: AsyncSession, workspace_id: int, member_id: int) -> None:
    """Every standup this person takes part in is planned again on the next tick."""
    await session.execute(
        update(Standup)
        .where(
            Standup.workspace_id == workspace_id,
            Standup.id.in_(
                select(Participant.standup_id).where(
                    Participant.workspace_id == workspace_id, Participant.member_id == member_id
                )
            ),
        )
        .values(planned_until=None)
    )


async def set_holiday_calendar(
    session: AsyncSession, workspace_id: int, member_id: int, code: str | None
) -> None:
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.id == member_id)
        .values(holiday_calendar=code)
    )


# --- unsent prompts -----------------------------------------------------------------------------


async def unsent_prompts_of_member(
    session: AsyncSession, workspace_id: int, member_id: int, due_from: dt.datetime
) -> list[tuple[Prompt, Standup]]:
    """A person's prompts that were never sent (pending, away, holiday) in runs still open,
    due from `due_from` on, with their standup. A pending prompt that may have reached Slack
    (a sender died while posting it) is left alone: its next sender finds out."""
    rows = await session.execute(
        select(Prompt, Standup)
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == workspace_id))
        .join(Standup, and_(Standup.id == Prompt.standup_id, Standup.workspace_id == workspace_id))
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.member_id == member_id,
            Prompt.state.in_(UNSENT),
            Prompt.posting_at.is_(None),
            Prompt.due_at >= due_from,
            Run.state == RunState.OPEN,
        )
        .order_by(Prompt.due_at)
    )
    return [(p, s) for p, s in rows]


async def change_unsent_states(
    session: AsyncSession, workspace_id: int, changes: Mapping[int, tuple[PromptState, PromptState]]
) -> int:
    """Move unsent prompts from one state to another (prompt id -> (from, to)); a prompt
    claimed meanwhile by a sender is not touched. Returns how many changed."""
    changed = 0
    for prompt_id, (old, new) in changes.items():
        result = await session.execute(
            update(Prompt)
            .where(
                Prompt.workspace_id == workspace_id,
                Prompt.id == prompt_id,
                Prompt.state == old,
                Prompt.posting_at.is_(None),
            )
            .values(state=new, lease_until=None, error=None)
        )
        changed += affected(result)
    return changed


async def drop_future_absences(
    session: AsyncSession, workspace_id: int, standup_id: int, now: dt.datetime
) -> int:
    """A standup's schedule or holiday calendar changed: AWAY/HOLIDAY rows not due yet are
    dropped, to be planned again under the new settings."""
    result = await session.execute(
        delete(Prompt).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.state.in_((PromptState.AWAY, PromptState.HOLIDAY)),
            Prompt.due_at >= now,
        )
    )
    return affected(result)


# --- skipped days -------------------------------------------------------------------------------


async def skipped_dates(
    session: AsyncSession, workspace_id: int, standup_id: int, dates: Iterable[dt.date]
) -> set[dt.date]:
    wanted = sorted(set(dates))
    if not wanted:
        return set()
    rows = await session.execute(
        select(SkippedDay.local_date).where(
            SkippedDay.workspace_id == workspace_id,
            SkippedDay.standup_id == standup_id,
            SkippedDay.local_date.in_(wanted),
        )
    )
    return {r[0] for r in rows}


async def upcoming_skipped_dates(
    session: AsyncSession, workspace_id: int, standup_ids: Sequence[int], from_date: dt.date
) -> dict[int, list[dt.date]]:
    """Skipped dates from `from_date` on, by standup."""
    if not standup_ids:
        return {}
    rows = await session.execute(
        select(SkippedDay.standup_id, SkippedDay.local_date)
        .where(
            SkippedDay.workspace_id == workspace_id,
            SkippedDay.standup_id.in_(list(standup_ids)),
            SkippedDay.local_date >= from_date,
        )
        .order_by(SkippedDay.local_date)
    )
    found: dict[int, list[dt.date]] = defaultdict(list)
    for standup_id, day in rows:
        found[standup_id].append(day)
    return dict(found)


async def add_skipped_day(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    day: dt.date,
    *,
    skipped_by: str,
    now: dt.datetime,
) -> bool:
    """Record the skip; False when that date was already skipped."""
    stmt = upsert(session, SkippedDay).values(
        standup_id=standup_id,
        local_date=day,
        workspace_id=workspace_id,
        skipped_by=skipped_by,
        created_at=now,
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["standup_id", "local_date"])
    )
    return affected(result) > 0


async def drop_unsent_prompts_on(
    session: AsyncSession, workspace_id: int, standup_id: int, day: dt.date
) -> int:
    """A skipped date: prompts of that date never sent (and not being sent) are dropped."""
    result = await session.execute(
        delete(Prompt).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date == day,
            Prompt.state.in_(UNSENT),
            Prompt.posting_at.is_(None),
        )
    )
    return affected(result)


async def skip_sent_prompts_on(
    session: AsyncSession, workspace_id: int, standup_id: int, day: dt.date
) -> list[tuple[int, int]]:
    """A skipped date whose prompts some people already have: the unanswered ones count as
    skipped (answerable still, never missing). Returns (prompt id, run id) of those."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date == day,
            Prompt.state == PromptState.SENT,
        )
        .values(state=PromptState.SKIPPED)
        .returning(Prompt.id, Prompt.run_id)
        .execution_options(synchronize_session=False)
    )
    return [(p, r) for p, r in result]


async def prompts_left_on(
    session: AsyncSession, workspace_id: int, standup_id: int, day: dt.date
) -> int:
    """How many prompts of that date remain (sent, being sent, answered…)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date == day,
        )
    )
    return int(count or 0)


async def remove_unstarted_run(
    session: AsyncSession, workspace_id: int, standup_id: int, day: dt.date
) -> bool:
    """Delete that date's run if it is open, has no summary in Slack and no prompt left."""
    result = await session.execute(
        delete(Run).where(
            Run.workspace_id == workspace_id,
            Run.standup_id == standup_id,
            Run.local_date == day,
            Run.state == RunState.OPEN,
            Run.summary_ts.is_(None),
            Run.summary_posting_at.is_(None),
            ~select(Prompt.id).where(Prompt.run_id == Run.id).exists(),
        )
    )
    return affected(result) > 0


# --- runs nobody was asked in -------------------------------------------------------------------


async def forget_summary_request(session: AsyncSession, workspace_id: int, run_id: int) -> None:
    """A closed run in which nobody was asked (all away or on holiday) posts no summary."""
    await session.execute(
        update(Run)
        .where(Run.workspace_id == workspace_id, Run.id == run_id, Run.summary_ts.is_(None))
        .values(summary_requested_at=None)
    )
