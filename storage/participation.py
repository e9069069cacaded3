"""Participation records: each person's outcome in each closed run — what reports read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert
from storage.models import Outcome, Participation, Prompt, PromptState, Run

# A prompt's state when its run closes, as an outcome (anything never answered: missed).
_OUTCOME_OF_STATE = {
    PromptState.ANSWERED: Outcome.ANSWERED,
    PromptState.SKIPPED: Outcome.SKIPPED,
    PromptState.AWAY: Outcome.AWAY,
    PromptState.HOLIDAY: Outcome.HOLIDAY,
    PromptState.FAILED: Outcome.UNDELIVERABLE,
}


async def record_run(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> None:
    """Write the records of a run that just closed, in one statement (idempotent)."""
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
