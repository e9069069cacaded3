"""Reading what a standup is and what happened in it: its settings, its runs (in pages), one run
with every answer — for any surface (the REST API, web pages). Participation reports are
``bot.reports``.

Who may read: whoever may see the standup in lists (``permissions.can_see``: a public channel's
standup, everyone in the workspace — its answers are in that channel anyway; a private
channel's, its participants, owners and workspace admins). Anything else, another workspace's
included, is answered as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outcomes import Refusal
from bot.people import Caller
from bot.planning import next_run_of
from bot.rules import schedule
from bot.rules.permissions import Actor, Why, can_see
from bot.rules.questions import Question, from_json
from bot.rules.schedule import ScheduleDraft
from bot.rules.timemath import mask_to_weekdays
from bot.runtime import Services
from bot.standups import schedule_text
from storage import records, runs, standups
from storage.models import Member, Standup

GONE = Refusal(Why.STANDUP_GONE)


@dataclass(frozen=True)
class StandupDetail:
    """A standup's settings as the create/edit form names them, and its state."""

    standup_id: int
    name: str
    channel_id: str
    questions: list[Question]
    participant_ids: list[str]
    owner_ids: list[str]
    participant_source: str
    weekdays: frozenset[int]
    local_time: str
    tz_mode: str
    fixed_tz: str | None
    schedule: ScheduleDraft
    schedule_text: str
    active: bool
    next_run: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    standup_id: int
    local_date: dt.date
    state: str
    questions: list[Question]
    channel_id: str
    close_at: dt.datetime
    closed_at: dt.datetime | None
    created_at: dt.datetime
    prompts: int
    answered: int


@dataclass(frozen=True)
class RunsPage:
    """Runs newest first; `more` when another page follows the last one."""

    standup_id: int
    runs: list[RunSummary]
    more: bool


@dataclass(frozen=True)
class AnswerItem:
    position: int
    question: str
    body: str
    submitted_at: dt.datetime
    edited_at: dt.datetime | None


@dataclass(frozen=True)
class RunEntry:
    """One person's part in a run: their prompt's state and their answers."""

    user_id: str
    state: str
    due_at: dt.datetime
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    late: bool
    answers: list[AnswerItem]


@dataclass(frozen=True)
class RunDetail:
    run: RunSummary
    standup_name: str
    entries: list[RunEntry]


# --- a standup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    standup: Standup
    participants: list[Member]
    owners: set[str]


async def _seen(
    session: AsyncSession, workspace_id: int, standup_id: int, actor: Actor
) -> _Seen | None:
    """The standup if it is this workspace's and `actor` may see it."""
    standup = await standups.get_standup(session, workspace_id, standup_id)
    if standup is None:
        return None
    people = await standups.standup_participants(session, workspace_id, standup.id)
    owners = await standups.owner_ids(session, workspace_id, standup)
    involved = owners | {m.slack_user_id for m in people}
    if not can_see(actor, involved, standup.channel_private):
        return None
    return _Seen(standup, people, owners)


async def standup_detail(
    services: Services, caller: Caller, standup_id: int
) -> StandupDetail | Refusal:
    actor = await caller.actor()
    async with services.db.session() as session:
        seen = await _seen(session, caller.workspace_id, standup_id, actor)
    if seen is None:
        return GONE
    standup, people = seen.standup, seen.participants
    cadence = schedule.cadence_of(standup.cadence, standup.weekday_mask)
    return StandupDetail(
        standup_id=standup.id,
        name=standup.name,
        channel_id=standup.channel_id,
        questions=from_json(standup.questions),
        participant_ids=[m.slack_user_id for m in people],
        owner_ids=sorted(seen.owners),
        participant_source=str(standup.participant_source),
        weekdays=schedule.weekdays_of(cadence, mask_to_weekdays(standup.weekday_mask)),
        local_time=standup.local_time,
        tz_mode=str(standup.tz_mode),
        fixed_tz=standup.fixed_tz,
        schedule=schedule.draft_of(
            cadence,
            standup.answer_window_minutes,
            standup.reminder_minutes_before,
            standup.holiday_calendar,
            standup.blocker_escalation_days,
        ),
        schedule_text=schedule_text(standup),
        active=standup.active,
        next_run=next_run_of(standup, people, services.clock()) if standup.active else None,
        created_at=standup.created_at,
        updated_at=standup.updated_at,
    )


# --- runs ---------------------------------------------------------------------------------------


def _summary(row: records.RunRow) -> RunSummary:
    run = row.run
    return RunSummary(
        run_id=run.id,
        standup_id=run.standup_id,
        local_date=run.local_date,
        state=str(run.state),
        questions=from_json(run.questions),
        channel_id=run.channel_id,
        close_at=run.close_at,
        closed_at=run.closed_at,
        created_at=run.created_at,
        prompts=row.prompts,
        answered=row.answered,
    )


async def runs_page(
    services: Services,
    caller: Caller,
    standup_id: int,
    *,
    before: tuple[dt.date, int] | None = None,
    limit: int = 20,
) -> RunsPage | Refusal:
    """A standup's runs, newest first, `limit` at a time; `before` is the last one seen."""
    actor = await caller.actor()
    async with services.db.session() as session:
        seen = await _seen(session, caller.workspace_id, standup_id, actor)
        if seen is None:
            return GONE
        rows = await records.runs_page(
            session, caller.workspace_id, standup_id, before=before, limit=limit + 1
        )
    return RunsPage(standup_id, [_summary(r) for r in rows[:limit]], more=len(rows) > limit)


async def run_detail(services: Services, caller: Caller, run_id: int) -> RunDetail | Refusal:
    """One run with everyone prompted and every answer."""
    actor = await caller.actor()
    async with services.db.session() as session:
        run = await runs.get_run(session, caller.workspace_id, run_id)
        seen = await _seen(session, caller.workspace_id, run.standup_id, actor) if run else None
        if run is None or seen is None:
            return GONE
        prompts = await records.run_prompts(session, caller.workspace_id, run.id)
    answered = sum(1 for p in prompts if p.prompt.state == "answered")
    summary = _summary(records.RunRow(run, len(prompts), answered))
    entries = [
        RunEntry(
            user_id=p.user_id,
            state=str(p.prompt.state),
            due_at=p.prompt.due_at,
            sent_at=p.prompt.sent_at,
            answered_at=p.prompt.answered_at,
            late=p.prompt.late,
            answers=[
                AnswerItem(a.position, a.question, a.body, a.submitted_at, a.edited_at)
                for a in p.answers
            ],
        )
        for p in prompts
    ]
    return RunDetail(summary, seen.standup.name, entries)
