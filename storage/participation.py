"""Participation records: each person's outcome in each closed run — what reports read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Integer, and_, case, literal, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert
from storage.models import Answer, Outcome, Participation, Prompt, PromptState, Run

# A prompt's state when its run closes, as an outcome (anything never answered: missed).
_OUTCOME_OF_STATE = {
    PromptState.ANSWERED: Outcome.ANSWERED,
    PromptState.SKIPPED: Outcome.SKIPPED,
    PromptState.AWAY: Outcome.AWAY,
    PromptState.HOLIDAY: Outcome.HOLIDAY,
    PromptState.FAILED: Outcome.UNDELIVERABLE,
}


def _mood_of_answer(mood_position: int | None) -> ColumnElement[int | None]:
    """The prompt's answer at the mood question's position as 1–5 (NULL when there is no mood
    question or no such answer); read with CASE, so no text is ever cast."""
    if mood_position is None:
        return null().cast(Integer)
    body = (
        select(Answer.body)
        .where(
            Answer.workspace_id == Prompt.workspace_id,
            Answer.prompt_id == Prompt.id,
            Answer.position == mood_position,
        )
        .scalar_subquery()
    )
    return case(*((body == str(level), level) for level in range(1, 6)), else_=null())


async def record_run(
    session: AsyncSession,
    workspace_id: int,
    run_id: int,
    now: dt.datetime,
    *,
    mood_position: int | None = None,
) -> None:
    """Write the records of a run that just closed, in one statement (idempotent); with the
    answer to the run's mood question (at ``mood_position``) when it has one."""
    outcome = case(
        (Prompt.late.is_(True), Outcome.LATE.value),
        *(
            (Prompt.state == state, literal(result.value))
            for state, result in _OUTCOME_OF_STATE.items()
        ),
        else_=Outcome.MISSED.value,
    )
    rows = (
        select(
            Prompt.workspace_id,
            Prompt.run_id,
            Prompt.standup_id,
            Prompt.member_id,
            Prompt.local_date,
            outcome,
            Prompt.due_at,
            Prompt.answered_at,
            _mood_of_answer(mood_position),
            literal(now, type_=Participation.recorded_at.type),
        )
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == Prompt.workspace_id))
        .where(Prompt.workspace_id == workspace_id, Prompt.run_id == run_id)
    )
    columns = [
        "workspace_id",
        "run_id",
        "standup_id",
        "member_id",
        "local_date",
        "outcome",
        "due_at",
        "answered_at",
        "mood",
        "recorded_at",
    ]
    stmt = upsert(session, Participation).from_select(columns, rows)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["run_id", "member_id"]))


async def answered_late(
    session: AsyncSession, workspace_id: int, run_id: int, member_id: int, at: dt.datetime
) -> None:
    """An answer after the close turns the person's record for that run into "late"."""
    await session.execute(
        update(Participation)
        .where(
            Participation.workspace_id == workspace_id,
            Participation.run_id == run_id,
            Participation.member_id == member_id,
        )
        .values(outcome=Outcome.LATE, answered_at=at)
    )


async def set_mood(
    session: AsyncSession, workspace_id: int, run_id: int, member_id: int, mood: int | None
) -> None:
    """An answer given or edited after the close keeps the record's mood in step with it."""
    await session.execute(
        update(Participation)
        .where(
            Participation.workspace_id == workspace_id,
            Participation.run_id == run_id,
            Participation.member_id == member_id,
        )
        .values(mood=mood)
    )


async def records(
    session: AsyncSession, workspace_id: int, standup_id: int, since: dt.date, until: dt.date
) -> list[Participation]:
    """A standup's records for local dates in [since, until], oldest first."""
    rows = await session.execute(
        select(Participation)
        .where(
            Participation.workspace_id == workspace_id,
            Participation.standup_id == standup_id,
            Participation.local_date >= since,
            Participation.local_date <= until,
        )
        .order_by(Participation.local_date, Participation.member_id)
    )
    return list(rows.scalars())
