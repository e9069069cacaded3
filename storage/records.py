"""What happened, for reading: a standup's runs (newest first, in pages), one run with every
prompt and answer (participation records for reports: storage.reports). Every function takes
its workspace."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, Member, Prompt, PromptState, Run


@dataclass(frozen=True)
class RunRow:
    run: Run
    prompts: int
    answered: int


async def runs_page(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    *,
    before: tuple[dt.date, int] | None,
    limit: int,
) -> list[RunRow]:
    """Runs of a standup, newest first (local date, then id), those after `before` only."""
    prompts = (
        select(func.count(Prompt.id))
        .where(Prompt.workspace_id == workspace_id, Prompt.run_id == Run.id)
        .correlate(Run)
        .scalar_subquery()
    )
    answered = (
        select(func.count(Prompt.id))
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.run_id == Run.id,
            Prompt.state == PromptState.ANSWERED,
        )
        .correlate(Run)
        .scalar_subquery()
    )
    stmt = select(Run, prompts, answered).where(
        Run.workspace_id == workspace_id, Run.standup_id == standup_id
    )
    if before is not None:
        day, run_id = before
        stmt = stmt.where(or_(Run.local_date < day, and_(Run.local_date == day, Run.id < run_id)))
    rows = await session.execute(stmt.order_by(Run.local_date.desc(), Run.id.desc()).limit(limit))
    return [RunRow(run, int(p or 0), int(a or 0)) for run, p, a in rows]


@dataclass(frozen=True)
class RunPrompt:
    prompt: Prompt
    user_id: str
    answers: list[Answer]


async def run_prompts(session: AsyncSession, workspace_id: int, run_id: int) -> list[RunPrompt]:
    """Everyone prompted in a run (by user id) with their answers (by position): two queries."""
    rows = await session.execute(
        select(Prompt, Member.slack_user_id)
        .join(Member, Member.id == Prompt.member_id)
        .where(
            Prompt.workspace_id == workspace_id,
            Member.workspace_id == workspace_id,
            Prompt.run_id == run_id,
        )
        .order_by(Member.slack_user_id, Prompt.id)
    )
    prompts = [(p, u) for p, u in rows]
    answers: dict[int, list[Answer]] = {p.id: [] for p, _ in prompts}
    if prompts:
        found = await session.execute(
            select(Answer)
            .where(Answer.workspace_id == workspace_id, Answer.prompt_id.in_(list(answers)))
            .order_by(Answer.prompt_id, Answer.position)
        )
        for answer in found.scalars():
            answers[answer.prompt_id].append(answer)
    return [RunPrompt(p, u, answers[p.id]) for p, u in prompts]
