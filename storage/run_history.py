"""Reading what happened: runs of a standup (keyset pages), their check-ins and answers, the
participation records, and a person's away periods. Every function takes its workspace."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Member,
    Outcome,
    Participation,
    Prompt,
    PromptState,
    Run,
    RunState,
)


async def run_on(
    session: AsyncSession, workspace_id: int, standup_id: int, local_date: dt.date
) -> Run | None:
    return (
        await session.execute(
            select(Run).where(
                Run.workspace_id == workspace_id,
                Run.standup_id == standup_id,
                Run.local_date == local_date,
            )
        )
    ).scalar_one_or_none()


async def latest_open_run(session: AsyncSession, workspace_id: int, standup_id: int) -> Run | None:
    return (
        await session.execute(
            select(Run)
            .where(
                Run.workspace_id == workspace_id,
                Run.standup_id == standup_id,
                Run.state == RunState.OPEN,
            )
            .order_by(Run.local_date.desc(), Run.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def runs_page(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    *,
    after: tuple[dt.date, int] | None,
    exclude_run_id: int | None,
    limit: int,
) -> list[Run]:
    """Runs newest first (by local date, then id), starting after the keyset position
    `after` (the last run of the previous page)."""
    stmt = select(Run).where(Run.workspace_id == workspace_id, Run.standup_id == standup_id)
    if after is not None:
        day, run_id = after
        stmt = stmt.where(or_(Run.local_date < day, and_(Run.local_date == day, Run.id < run_id)))
    if exclude_run_id is not None:
        stmt = stmt.where(Run.id != exclude_run_id)
    stmt = stmt.order_by(Run.local_date.desc(), Run.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def checkins_of_runs(
    session: AsyncSession, workspace_id: int, run_ids: Collection[int]
) -> dict[int, list[tuple[Prompt, Member]]]:
    """Each run's prompts with their person, by the person's Slack id."""
    if not run_ids:
        return {}
    rows = await session.execute(
        select(Prompt, Member)
        .join(Member, and_(Member.id == Prompt.member_id, Member.workspace_id == workspace_id))
        .where(Prompt.workspace_id == workspace_id, Prompt.run_id.in_(list(run_ids)))
        .order_by(Prompt.run_id, Member.slack_user_id)
    )
    found: dict[int, list[tuple[Prompt, Member]]] = defaultdict(list)
    for prompt, member in rows:
        found[prompt.run_id].append((prompt, member))
    return found


async def answers_of_prompts(
    session: AsyncSession, workspace_id: int, prompt_ids: Collection[int]
) -> dict[int, list[Answer]]:
    """Answers by prompt, in question order."""
    if not prompt_ids:
        return {}
    rows = await session.execute(
        select(Answer)
        .where(Answer.workspace_id == workspace_id, Answer.prompt_id.in_(list(prompt_ids)))
        .order_by(Answer.prompt_id, Answer.position)
    )
    found: dict[int, list[Answer]] = defaultdict(list)
    for answer in rows.scalars():
        found[answer.prompt_id].append(answer)
    return found


async def prompt_states_on(
    session: AsyncSession,
    workspace_id: int,
    days: Iterable[tuple[int, dt.date]],
) -> dict[tuple[int, dt.date], list[tuple[str, PromptState]]]:
    """(Slack user id, state) of every prompt of these (standup, local date) runs."""
    wanted = set(days)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Run.standup_id, Run.local_date, Member.slack_user_id, Prompt.state)
        .join(Prompt, and_(Prompt.run_id == Run.id, Prompt.workspace_id == workspace_id))
        .join(Member, and_(Member.id == Prompt.member_id, Member.workspace_id == workspace_id))
        .where(
            Run.workspace_id == workspace_id,
            Run.standup_id.in_({s for s, _ in wanted}),
            Run.local_date.in_({d for _, d in wanted}),
        )
    )
    found: dict[tuple[int, dt.date], list[tuple[str, PromptState]]] = defaultdict(list)
    for standup_id, local_date, user_id, state in rows:
        if (standup_id, local_date) in wanted:
            found[(standup_id, local_date)].append((user_id, state))
    return found


async def participation_by_day(
    session: AsyncSession, workspace_id: int, standup_id: int, since: dt.date
) -> list[tuple[dt.date, Outcome, int]]:
    """How many people had each outcome on each local date since `since`."""
    rows = await session.execute(
        select(Participation.local_date, Participation.outcome, func.count())
        .where(
            Participation.workspace_id == workspace_id,
            Participation.standup_id == standup_id,
            Participation.local_date >= since,
        )
        .group_by(Participation.local_date, Participation.outcome)
        .order_by(Participation.local_date)
    )
    return [(day, Outcome(outcome), int(count)) for day, outcome, count in rows]


async def mood_by_day(
    session: AsyncSession, workspace_id: int, standup_id: int, since: dt.date
) -> list[tuple[dt.date, float]]:
    """The average recorded mood (1-5) on each local date since `since` that has any."""
    rows = await session.execute(
        select(Participation.local_date, func.avg(Participation.mood))
        .where(
            Participation.workspace_id == workspace_id,
            Participation.standup_id == standup_id,
            Participation.local_date >= since,
            Participation.mood.is_not(None),
        )
        .group_by(Participation.local_date)
        .order_by(Participation.local_date)
    )
    return [(day, float(average)) for day, average in rows if average is not None]
