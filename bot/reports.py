"""Participation reports: one use case behind `/standup report`, the App Home's Report button
and `GET /api/v1/reports`.

Who may read what (``bot.rules.permissions.report_scope``): a standup's owners and workspace
admins see every person's line and every open blocker; a participant who is neither sees their
own line, their own open blockers and the overall figures (everyone's records together); anyone
else is refused — and a private channel's standup they may not even see is answered as if it
did not exist. Another workspace's standup is never found: every query takes the caller's
workspace.

Numbers come from the participation records of closed runs (``bot.rules.reports`` has the
rules: rate, streaks, mood average and trend). A report costs a fixed number of statements,
whatever the period or the number of people: the standup, its participants, its owners, the
caller's time zone, the records (one statement, read in batches) and the open blockers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outcomes import OpenBlocker, Refusal, StandupReport
from bot.people import Caller
from bot.rules import reports
from bot.rules.blockers import age_text, working_days_between
from bot.rules.permissions import Actor, ReportScope, Why, can_see, report_scope
from bot.rules.schedule import cadence_of, weekdays_of
from bot.rules.timemath import mask_to_weekdays
from bot.rules.validation import name_key
from bot.runtime import Services
from storage import members, standups
from storage import reports as reports_db
from storage.models import Standup, TzMode

MOOD_MIN, MOOD_MAX = 1, 5


@dataclass(frozen=True)
class LastDays:
    """The last `days` days up to and including today, in the standup's calendar (its fixed
    zone, else the caller's own)."""

    days: int


@dataclass(frozen=True)
class Between:
    """Local dates from `start` to `end`, both included."""

    start: dt.date
    end: dt.date


Period = LastDays | Between


@dataclass(frozen=True)
class Readable:
    """A standup the caller may read a report of, and how much of it."""

    standup: Standup
    participant_ids: list[str]
    scope: ReportScope


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _today(standup: Standup | None, caller_tz: str | None, now: dt.datetime) -> dt.date:
    """Today in the standup's calendar: its fixed zone, else the caller's own."""
    if standup is not None and standup.tz_mode == TzMode.FIXED:
        return now.astimezone(_zone(standup.fixed_tz)).date()
    return now.astimezone(_zone(caller_tz)).date()


def working_weekdays(standup: Standup) -> frozenset[int]:
    """The weekdays a standup runs on: the days blocker ages and escalation count."""
    cadence = cadence_of(standup.cadence, standup.weekday_mask)
    return weekdays_of(cadence, mask_to_weekdays(standup.weekday_mask))


async def standup_named_or_by_id(
    session: AsyncSession, workspace_id: int, which: str | int
) -> Standup | Refusal:
    """This workspace's standup by name (a command) or by id (a button, the API, a page): a
    name not found reads "no such standup", an id "it was deleted"."""
    if isinstance(which, str):
        standup = await standups.find_standup_by_name(session, workspace_id, name_key(which))
    else:
        standup = await standups.get_standup(session, workspace_id, which)
    return standup or unseen(which)


def unseen(which: str | int) -> Refusal:
    """What a standup that is not there (or not for this reader's eyes) reads as."""
    return (
        Refusal(Why.NO_SUCH_STANDUP, which) if isinstance(which, str) else Refusal(Why.STANDUP_GONE)
    )


async def find_readable(
    session: AsyncSession, workspace_id: int, which: str | int, actor: Actor
) -> Readable | Refusal:
    """The standup named (or by id, from a button or the API) if the caller may read its report
    (and export its answers), with how much of it; else why not (three statements)."""
    standup = await standup_named_or_by_id(session, workspace_id, which)
    if isinstance(standup, Refusal):
        return standup
    people = [
        m.slack_user_id
        for m in await standups.standup_participants(session, workspace_id, standup.id)
    ]
    owners = await standups.owner_ids(session, workspace_id, standup)
    scope = report_scope(actor, owners, people)
    if scope == ReportScope.NONE:
        if not can_see(actor, owners | set(people), standup.channel_private):
            # A private channel's standup they may not see: as if it did not exist.
            return unseen(which)
        return Refusal(Why.NOT_REPORT_READER, standup.name)
    return Readable(standup, people, scope)


async def _every(session: AsyncSession, workspace_id: int, actor: Actor) -> list[Readable]:
    """Every standup of the workspace the caller may read a report of (three statements)."""
    found = []
    for entry in await standups.standups_with_people(session, workspace_id):
        people = [m.slack_user_id for m in entry.participants]
        scope = report_scope(actor, entry.owners, people)
        if scope != ReportScope.NONE:
            found.append(Readable(entry.standup, people, scope))
    return found


def _record(row: reports_db.RecordRow) -> reports.Record:
    mood = row.mood if row.mood is not None and MOOD_MIN <= row.mood <= MOOD_MAX else None
    return reports.Record(row.user_id, row.local_date, reports.Outcome(str(row.outcome)), mood)


def _scope_name(readable: Iterable[Readable]) -> str:
    scopes = {r.scope for r in readable}
    if scopes == {ReportScope.OWN}:
        return ReportScope.OWN.value
    if scopes <= {ReportScope.EVERYONE}:
        return ReportScope.EVERYONE.value
    return "mixed"


async def report(
    services: Services, caller: Caller, which: str | int | None, period: Period
) -> StandupReport | Refusal:
    """The report of one standup (by name or id) or, with `which` None, of every standup the
    caller may read one of, over `period`."""
    actor = await caller.actor()
    now = services.clock()
    workspace_id = caller.workspace_id
    async with services.db.session() as session:
        if which is None:
            readable = await _every(session, workspace_id, actor)
        else:
            one = await find_readable(session, workspace_id, which, actor)
            if isinstance(one, Refusal):
                return one
            readable = [one]
        single = readable[0].standup if which is not None else None
        caller_tz: str | None = None
        if single is None or single.tz_mode != TzMode.FIXED:
            member = await members.get_member(session, workspace_id, caller.user_id)
            caller_tz = member.tz if member else None
        today = _today(single, caller_tz, now)
        if isinstance(period, LastDays):
            start, end = reports.period_start(today, period.days), today
        else:
            start, end = period.start, period.end
        everyone = {r.standup.id for r in readable if r.scope == ReportScope.EVERYONE}
        ids = {r.standup.id for r in readable}
        rows = [
            row
            async for batch in reports_db.records(session, workspace_id, ids, start, end)
            for row in batch
        ]
        blocker_rows = await reports_db.open_blockers(session, workspace_id, ids)

    by_id = {r.standup.id: r.standup for r in readable}
    # One standup lists all its current participants (or only the caller's own line); over
    # several standups, people with records in the period only.
    people: list[str] = []
    if single is not None:
        mine = readable[0].scope == ReportScope.OWN
        people = [caller.user_id] if mine else readable[0].participant_ids
    shown = [
        _record(row) for row in rows if row.standup_id in everyone or row.user_id == caller.user_id
    ]
    built = reports.build_report(shown, people)
    if len(shown) != len(rows):  # the overall figures cover everyone's records
        overall = reports.build_report((_record(row) for row in rows), []).overall
        built = reports.Report(built.people, overall)
    blockers = []
    for row in blocker_rows:
        if row.standup_id not in everyone and row.user_id != caller.user_id:
            continue
        standup = by_id[row.standup_id]
        day = _today(standup, caller_tz, now) if single is None else today
        blockers.append(
            OpenBlocker(
                user_id=row.user_id,
                standup_id=row.standup_id,
                text=row.text,
                opened_on=row.opened_on,
                days_open=max(0, (day - row.opened_on).days),
                working_days_open=working_days_between(
                    row.opened_on, day, working_weekdays(standup)
                ),
                age_text=age_text(row.opened_on, day),
            )
        )
    return StandupReport(
        standup_id=single.id if single else None,
        standup_name=single.name if single else None,
        start=start,
        end=end,
        days=(end - start).days + 1,
        today=today,
        scope=_scope_name(readable) if readable else ReportScope.EVERYONE.value,
        report=built,
        blockers=blockers,
    )
