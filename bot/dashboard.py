"""Reading standups on the web: the list with today's status, one standup's page (people,
today's run live, past runs with every answer, participation), a person's own settings, and the
standups whose history a person may read.

Visibility is the same rule as ``/standup list`` (bot.rules.permissions.can_see): a standup in a
public channel is seen by everyone in its workspace; one in a private channel (or one whose
channel is not known yet) only by its people and workspace admins. Anything else — another
workspace's id, a standup one may not see — is ``NotFound``, never "forbidden", so its
existence does not leak. Each use case reads in one transaction and returns data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from bot import standups
from bot.outcomes import Overview
from bot.people import Caller
from bot.planning import next_run_of
from bot.rules.permissions import Actor, can_manage, can_see
from bot.rules.questions import display_answer, from_json, mood_position
from bot.rules.websec import decode_cursor, encode_cursor
from bot.runtime import Services
from storage import attendance as attendance_db
from storage import members, run_history
from storage import standups as standup_rows
from storage.models import (
    Answer,
    Member,
    Outcome,
    Prompt,
    PromptState,
    Run,
    RunState,
    Standup,
    TzMode,
)

RUNS_PER_PAGE = 7
PARTICIPATION_DAYS = 30


@dataclass(frozen=True)
class NotFound:
    """No such standup in this workspace, or not one this person may see."""


@dataclass(frozen=True)
class BadCursor:
    """A page link that does not hold a position (edited, truncated): nothing to show."""


# --- statuses -------------------------------------------------------------------------------------

ANSWERED, WAITING, SKIPPED, AWAY = "answered", "waiting", "skipped", "away"
HOLIDAY, MISSED, NOT_DELIVERED = "holiday", "missed", "not delivered"

_STATUS = {
    PromptState.ANSWERED: ANSWERED,
    PromptState.PENDING: WAITING,
    PromptState.SENDING: WAITING,
    PromptState.SENT: WAITING,
    PromptState.SKIPPED: SKIPPED,
    PromptState.AWAY: AWAY,
    PromptState.HOLIDAY: HOLIDAY,
    PromptState.MISSED: MISSED,
    PromptState.FAILED: NOT_DELIVERED,
}


def status_of(state: PromptState) -> str:
    """How a person's check-in reads: answered, waiting, skipped, away, holiday, missed…"""
    return _STATUS.get(state, WAITING)


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    """A standup's run on the viewer's today: how many answered, and the viewer's own part."""

    local_date: dt.date
    answered: int
    expected: int
    mine: str | None  # the viewer's status, when they take part


@dataclass(frozen=True)
class Listed:
    standup: Overview
    today: Today | None


@dataclass(frozen=True)
class StandupList:
    items: list[Listed]
    viewer_tz: str | None


async def standup_list(services: Services, viewer: Caller) -> StandupList:
    """The standups the viewer may see — exactly ``/standup list``'s — with today's status."""
    items = await standups.overview(services, viewer)
    now = services.clock()
    async with services.db.session() as session:
        member = await members.get_member(session, viewer.workspace_id, viewer.user_id)
        viewer_tz = member.tz if member is not None else None
        found = await standup_rows.standups_with_people(session, viewer.workspace_id)
        zones = {e.standup.id: _today_zone(e.standup, viewer_tz) for e in found}
        days = {i.standup_id: now.astimezone(zones[i.standup_id]).date() for i in items}
        states = await run_history.prompt_states_on(
            session, viewer.workspace_id, [(s, d) for s, d in days.items()]
        )
    listed = []
    for item in items:
        people = states.get((item.standup_id, days[item.standup_id]))
        today = None
        if people:
            mine = next((status_of(s) for u, s in people if u == viewer.user_id), None)
            answered = sum(1 for _, s in people if s == PromptState.ANSWERED)
            today = Today(days[item.standup_id], answered, len(people), mine)
        listed.append(Listed(item, today))
    return StandupList(listed, viewer_tz)


# --- one standup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str | None
    tz: str | None = None


@dataclass(frozen=True)
class AnswerView:
    question: str
    body: str
    edited: bool


@dataclass(frozen=True)
class CheckIn:
    """One person's part in one run."""

    person: Person
    status: str
    due_at: dt.datetime
    answered_at: dt.datetime | None
    late: bool
    answers: list[AnswerView]


@dataclass(frozen=True)
class RunView:
    run_id: int
    local_date: dt.date
    open: bool
    close_at: dt.datetime
    questions: list[str]
    checkins: list[CheckIn]

    def count(self, status: str) -> int:
        return sum(1 for c in self.checkins if c.status == status)


@dataclass(frozen=True)
class DayCount:
    """Participation on one date: who answered out of those expected to (away, holiday and
    undeliverable days count against no one, as in the reports)."""

    local_date: dt.date
    answered: int
    expected: int
    excused: int


@dataclass(frozen=True)
class StandupPage:
    standup_id: int
    name: str
    channel_id: str
    schedule_text: str
    active: bool
    participant_source: str
    owners: list[Person]
    participants: list[Person]
    can_manage: bool
    viewer_tz: str | None
    next_run: dt.datetime | None
    today: RunView | None
    past: list[RunView]
    next_cursor: str | None
    participation: list[DayCount]
    # (date, average mood 1-5) of the closed runs in the participation period
    mood: list[tuple[dt.date, float]] = field(default_factory=list)
    asks_mood: bool = False  # the standup has a mood question (so no data means no answers)


@dataclass(frozen=True)
class StandupRef:
    """A standup the viewer may see, and whether they may manage it."""

    standup_id: int
    name: str
    can_manage: bool


async def visible_standup(
    services: Services, viewer: Caller, standup_id: int
) -> StandupRef | NotFound:
    """The standup with this id if the viewer may see it (then: may they manage it?)."""
    actor = await viewer.actor()
    async with services.db.session() as session:
        found = await _visible(session, viewer.workspace_id, standup_id, actor)
    if found is None:
        return NotFound()
    standup, _, owners = found
    return StandupRef(standup.id, standup.name, bool(can_manage(actor, owners, standup.name)))


async def _visible(
    session: AsyncSession, workspace_id: int, standup_id: int, actor: Actor
) -> tuple[Standup, list[Member], set[str]] | None:
    standup = await standup_rows.get_standup(session, workspace_id, standup_id)
    if standup is None:
        return None
    people = await standup_rows.standup_participants(session, workspace_id, standup.id)
    owners = await standup_rows.owner_ids(session, workspace_id, standup)
    involved = owners | {m.slack_user_id for m in people}
    if not can_see(actor, involved, standup.channel_private):
        return None
    return standup, people, owners


async def standup_page(
    services: Services, viewer: Caller, standup_id: int, cursor: str | None = None
) -> StandupPage | NotFound | BadCursor:
    """A standup as its page shows it; `cursor` is where the past runs continue."""
    after = None
    if cursor:
        position = decode_cursor(cursor)
        day, run_id = (position or {}).get("d"), (position or {}).get("i")
        if not isinstance(day, str) or not isinstance(run_id, int):
            return BadCursor()
        try:
            after = (dt.date.fromisoformat(day), run_id)
        except ValueError:
            return BadCursor()
    actor = await viewer.actor()
    now = services.clock()
    workspace_id = viewer.workspace_id
    async with services.db.session() as session:
        found = await _visible(session, workspace_id, standup_id, actor)
        if found is None:
            return NotFound()
        standup, people, owners = found
        member = await members.get_member(session, workspace_id, viewer.user_id)
        viewer_tz = member.tz if member is not None else None
        owner_members = {
            u: m
            for u in owners - {p.slack_user_id for p in people}
            if (m := await members.get_member(session, workspace_id, u)) is not None
        }
        today_date = now.astimezone(_today_zone(standup, viewer_tz)).date()
        today = await run_history.run_on(session, workspace_id, standup.id, today_date)
        if today is None:
            today = await run_history.latest_open_run(session, workspace_id, standup.id)
        page = await run_history.runs_page(
            session,
            workspace_id,
            standup.id,
            after=after,
            exclude_run_id=today.id if today is not None else None,
            limit=RUNS_PER_PAGE + 1,
        )
        more = len(page) > RUNS_PER_PAGE
        page = page[:RUNS_PER_PAGE]
        shown = ([today] if today is not None else []) + page
        checkins = await run_history.checkins_of_runs(session, workspace_id, [r.id for r in shown])
        prompt_ids = [p.id for rows in checkins.values() for p, _ in rows]
        answers = await run_history.answers_of_prompts(session, workspace_id, prompt_ids)
        since = today_date - dt.timedelta(days=PARTICIPATION_DAYS - 1)
        outcomes = await run_history.participation_by_day(session, workspace_id, standup.id, since)
        moods = await run_history.mood_by_day(session, workspace_id, standup.id, since)

    names = {m.slack_user_id: m.name for m in people}
    names.update({u: m.name for u, m in owner_members.items()})

    def view(run: Run) -> RunView:
        return _run_view(run, checkins.get(run.id, []), answers)

    next_cursor = (
        encode_cursor({"d": page[-1].local_date.isoformat(), "i": page[-1].id}) if more else None
    )
    return StandupPage(
        standup_id=standup.id,
        name=standup.name,
        channel_id=standup.channel_id,
        schedule_text=standups.schedule_text(standup),
        active=standup.active,
        participant_source=standup.participant_source,
        owners=[Person(o, names.get(o)) for o in sorted(owners)],
        participants=[Person(m.slack_user_id, m.name, m.tz) for m in people],
        can_manage=bool(can_manage(actor, owners, standup.name)),
        viewer_tz=viewer_tz,
        next_run=next_run_of(standup, people, now) if standup.active else None,
        today=view(today) if today is not None else None,
        past=[view(r) for r in page],
        next_cursor=next_cursor,
        participation=_day_counts(outcomes),
        mood=moods,
        asks_mood=mood_position(from_json(standup.questions)) is not None,
    )


def _today_zone(standup: Standup, viewer_tz: str | None) -> ZoneInfo:
    """Whose "today" a standup's page shows: its fixed zone, else the viewer's own."""
    name = standup.fixed_tz if standup.tz_mode == TzMode.FIXED else viewer_tz
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _run_view(
    run: Run, checkins: list[tuple[Prompt, Member]], answers: dict[int, list[Answer]]
) -> RunView:
    questions = from_json(run.questions)

    def shown(answer: Answer) -> AnswerView:
        """An answer as its question's type reads best (a mood as "4/5 🙂")."""
        position = answer.position
        body = answer.body
        if 0 <= position < len(questions):
            body = display_answer(questions[position], body)
        return AnswerView(answer.question, body, answer.edited_at is not None)

    views = []
    for prompt, member in checkins:
        given = answers.get(prompt.id, [])
        status = status_of(prompt.state)
        if status == WAITING and run.state != RunState.OPEN:
            status = MISSED  # the run closed without their answer
        views.append(
            CheckIn(
                person=Person(member.slack_user_id, member.name, member.tz),
                status=status,
                due_at=prompt.due_at,
                answered_at=prompt.answered_at,
                late=prompt.late,
                answers=[shown(a) for a in given],
            )
        )
    return RunView(
        run_id=run.id,
        local_date=run.local_date,
        open=run.state == RunState.OPEN,
        close_at=run.close_at,
        questions=[q.text for q in questions],
        checkins=views,
    )


_EXPECTED = {Outcome.ANSWERED, Outcome.LATE, Outcome.SKIPPED, Outcome.MISSED}
_ANSWERED = {Outcome.ANSWERED, Outcome.LATE}


def _day_counts(rows: list[tuple[dt.date, Outcome, int]]) -> list[DayCount]:
    by_day: dict[dt.date, list[int]] = {}
    for day, outcome, count in rows:
        counts = by_day.setdefault(day, [0, 0, 0])
        if outcome in _ANSWERED:
            counts[0] += count
        if outcome in _EXPECTED:
            counts[1] += count
        else:
            counts[2] += count
    return [DayCount(day, *counts) for day, counts in sorted(by_day.items())]


# --- my settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwayView:
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class MySettings:
    user_id: str
    name: str | None
    tz: str | None
    reminders_off: bool
    holiday_calendar: str | None
    away: list[AwayView]


async def my_settings(services: Services, viewer: Caller) -> MySettings:
    """What is stored about the viewer's attendance: time zone (from Slack), reminders,
    holidays they follow, and their current and coming out-of-office periods."""
    async with services.db.session() as session:
        member = await members.get_member(session, viewer.workspace_id, viewer.user_id)
        tz = member.tz if member is not None else None
        today = services.clock().astimezone(_zone(tz)).date()
        periods = (
            await attendance_db.away_periods(
                session, viewer.workspace_id, member.id, ending_from=today
            )
            if member is not None
            else []
        )
    return MySettings(
        user_id=viewer.user_id,
        name=member.name if member is not None else None,
        tz=tz,
        reminders_off=bool(member and member.reminders_off),
        holiday_calendar=member.holiday_calendar if member is not None else None,
        away=[AwayView(p.starts_on, p.ends_on) for p in periods],
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- whose history ------------------------------------------------------------------------------


async def managed_standups(services: Services, viewer: Caller) -> list[StandupRef]:
    """The standups the viewer owns or co-owns (whose history they may read), by name."""
    async with services.db.session() as session:
        found = await standup_rows.standups_with_people(session, viewer.workspace_id)
    return [
        StandupRef(e.standup.id, e.standup.name, True) for e in found if viewer.user_id in e.owners
    ]
