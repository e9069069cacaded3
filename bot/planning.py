"""Turn standup schedules into prompt rows. The database is the truth: planning is idempotent
(unique (standup, member, local date)), so any number of planners may run at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import channels
from bot.people import refresh_profiles
from bot.rules import attendance
from bot.rules import cadence as cadences
from bot.rules.attendance import HolidayLookup
from bot.rules.away import Range
from bot.rules.holidays import effective_code
from bot.rules.schedule import cadence_of
from bot.rules.timemath import local_occurrence_utc, parse_local_time
from bot.runtime import Services
from storage import attendance as attendance_db
from storage import prompts, runs, standups, workspaces
from storage.models import (
    Member,
    ParticipantSource,
    PromptState,
    Run,
    RunState,
    Standup,
    TzMode,
)

log = structlog.get_logger("asyncstand.planning")

# How far back an occurrence is still recorded (as missed) after downtime.
LOOKBACK = dt.timedelta(hours=24)
# How far ahead prompt rows are created, so they exist when their minute comes.
HORIZON = dt.timedelta(minutes=10)
# A standup is planned again once less than this is left of its planned window.
REPLAN_MARGIN = dt.timedelta(minutes=5)
# A planned standup is looked at again before its next prompt is due, and at least this often.
PLAN_AT_LEAST_EVERY = dt.timedelta(hours=12)
# Seconds a planning pass may spend learning which channels are private.
LEARN_PRIVACY_BUDGET = 5.0


@dataclass(frozen=True)
class PlannedPrompt:
    member_id: int
    local_date: dt.date
    due_at: dt.datetime
    state: PromptState


def answer_window(standup: Standup, default: dt.timedelta) -> dt.timedelta:
    """How long a run collects answers after its last prompt: the standup's, or the default."""
    if standup.answer_window_minutes is None:
        return default
    return dt.timedelta(minutes=standup.answer_window_minutes)


def profile_known(member: Member) -> bool:
    """Whether users.info has told us who this is — a person, a bot, a deactivated account."""
    return member.profile_refreshed_at is not None or member.tz is not None


def may_prompt(standup: Standup, member: Member) -> bool:
    """Whether a participant can be prompted at all. People taken from a channel's member list
    wait until their profile is known: they may be bots. (People chosen in the form were
    checked then, and are planned as soon as their time zone allows.)"""
    if member.deleted or member.is_bot:
        return False
    return standup.participant_source != ParticipantSource.CHANNEL or profile_known(member)


def member_zone(standup: Standup, member: Member) -> ZoneInfo | None:
    """The zone a participant's prompt follows: the standup's fixed zone or their own.

    None while their zone is still unknown (not looked up yet). If Slack could not tell us
    (users.info failed), UTC: better a prompt at an odd hour, or a recorded failure the owner
    hears about, than a participant silently never asked.
    """
    name = standup.fixed_tz if standup.tz_mode == TzMode.FIXED else member.tz
    if not name:
        return ZoneInfo("UTC") if member.profile_refreshed_at is not None else None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def plan_for_member(
    standup: Standup,
    member: Member,
    *,
    now: dt.datetime,
    grace: dt.timedelta,
    existing: set[tuple[int, dt.date]],
    zone_cache: dict[str, list[tuple[dt.date, dt.datetime]]] | None = None,
) -> list[PlannedPrompt]:
    """Occurrences for one participant that have no prompt yet (pure).

    `zone_cache` shares the time maths between participants of one standup in the same zone.
    """
    zone = member_zone(standup, member)
    if zone is None or not may_prompt(standup, member):
        return []
    start = max(standup.schedule_from, now - LOOKBACK)
    end = now + HORIZON
    if start >= end:
        return []
    key = str(zone.key)
    occurrences = zone_cache.get(key) if zone_cache is not None else None
    if occurrences is None:
        cadence = cadence_of(standup.cadence, standup.weekday_mask)
        occurrences = (
            []
            if cadence is None
            else cadences.occurrences_between(
                cadence, parse_local_time(standup.local_time), zone, start, end
            )
        )
        if zone_cache is not None:
            zone_cache[key] = occurrences
    planned = []
    for local_date, due_at in occurrences:
        if (member.id, local_date) in existing:
            continue
        state = PromptState.MISSED if due_at < now - grace else PromptState.PENDING
        planned.append(PlannedPrompt(member.id, local_date, due_at, state))
    return planned


def last_due_on(standup: Standup, members: list[Member], local_date: dt.date) -> dt.datetime | None:
    """When the last participant's prompt for `local_date` is due (pure).

    A run must stay open until then (plus the close delay) even though later participants'
    prompts are only planned minutes ahead: with participants from Kolkata to New York the
    last prompt is due ~10 hours after the first.
    """
    cadence = cadence_of(standup.cadence, standup.weekday_mask)
    if cadence is None or not cadences.runs_on(cadence, local_date):
        return None
    local_time = parse_local_time(standup.local_time)
    zones = {
        zone.key: zone
        for member in members
        if not (member.deleted or member.is_bot)
        and (zone := member_zone(standup, member)) is not None
    }
    dues = [local_occurrence_utc(local_date, local_time, zone) for zone in zones.values()]
    return max(dues, default=None)


def absent_state(
    standup: Standup,
    member: Member,
    local_date: dt.date,
    due_at: dt.datetime,
    *,
    away: list[Range],
    holidays: HolidayLookup,
) -> PromptState | None:
    """AWAY or HOLIDAY when this person is not to be asked for this occurrence (pure):
    out of office, or a public holiday of their calendar (their own, else the standup's),
    both read on their own local date."""
    why = attendance.absence(
        day=attendance.person_date(due_at, member.tz, local_date),
        away=away,
        calendar=effective_code(standup.holiday_calendar, member.holiday_calendar),
        holidays=holidays,
    )
    return None if why is None else PromptState(why.value)


@dataclass(frozen=True)
class Absences:
    """What planning one standup needs beyond its schedule: the dates skipped for everyone
    and each participant's away periods around the dates being planned."""

    skipped: set[dt.date]
    away: dict[int, list[Range]]


async def load_absences(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    member_ids: list[int],
    dates: set[dt.date],
) -> Absences:
    """Two queries, whatever the number of participants."""
    if not dates:
        return Absences(set(), {})
    # A person's own date may be a day off the run's (a standup in a fixed zone).
    first, last = min(dates) - dt.timedelta(days=1), max(dates) + dt.timedelta(days=1)
    return Absences(
        await attendance_db.skipped_dates(session, workspace_id, standup_id, dates),
        await attendance_db.away_ranges(session, workspace_id, member_ids, first, last),
    )


async def plan_standup(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    *,
    now: dt.datetime,
    grace: dt.timedelta,
    close_after: dt.timedelta,
    holidays: HolidayLookup | None = None,
) -> int:
    """Create missing prompt rows (and their runs) for one standup; returns how many.

    A date skipped for everyone gets no row; a participant who is out of office or on a
    public holiday gets one in state AWAY or HOLIDAY, never sent (so the summary lists them
    as away). `holidays` caches holiday look-ups across the standups of a planning pass.

    Afterwards the standup is marked planned up to now + HORIZON — unless a participant's
    time zone is still unknown, in which case it is planned again on the next tick.
    """
    holidays = holidays if holidays is not None else HolidayLookup()
    members = await standups.standup_participants(session, workspace_id, standup.id)
    if not members:  # adding participants plans it again (storage.standups clears the mark)
        standup.planned_until = now + PLAN_AT_LEAST_EVERY
        return 0
    candidate_dates = {
        (now + delta).date() for delta in (-LOOKBACK, -LOOKBACK / 2, dt.timedelta(0), HORIZON)
    }
    candidate_dates |= {d + dt.timedelta(days=k) for d in set(candidate_dates) for k in (-1, 1)}
    existing = await prompts.existing_prompt_keys(
        session, workspace_id, standup.id, candidate_dates
    )
    inserted = 0
    open_runs: dict[dt.date, Run] = {}
    zone_cache: dict[str, list[tuple[dt.date, dt.datetime]]] = {}
    last_dues: dict[dt.date, dt.datetime | None] = {}
    absences: Absences | None = None
    for member in members:
        for item in plan_for_member(
            standup, member, now=now, grace=grace, existing=existing, zone_cache=zone_cache
        ):
            if absences is None:  # looked up once, and only when something is to be planned
                absences = await load_absences(
                    session, workspace_id, standup.id, [m.id for m in members], candidate_dates
                )
            if item.local_date in absences.skipped:
                continue
            state = absent_state(
                standup,
                member,
                item.local_date,
                item.due_at,
                away=absences.away.get(member.id, []),
                holidays=holidays,
            )
            run = open_runs.get(item.local_date)
            if item.local_date not in last_dues:
                last_dues[item.local_date] = last_due_on(standup, members, item.local_date)
            last_due = max(item.due_at, last_dues[item.local_date] or item.due_at)
            if run is None or run.close_at < last_due + close_after:
                run = await runs.get_or_create_run(
                    session, workspace_id, standup, item.local_date, last_due + close_after
                )
                open_runs[item.local_date] = run
            if run.state != RunState.OPEN:
                continue
            if await prompts.insert_prompt(
                session,
                workspace_id,
                run=run,
                member_id=item.member_id,
                due_at=item.due_at,
                state=state or item.state,
            ):
                inserted += 1
                if state is not None and run.summary_ts:  # the summary lists them as away
                    await runs.request_summary(session, workspace_id, run.id, now)
    zones_known = all(
        member_zone(standup, m) is not None and may_prompt(standup, m)
        for m in members
        if not (m.deleted or m.is_bot)
    )
    standup.planned_until = planned_until(standup, members, now) if zones_known else None
    return inserted


def planned_until(standup: Standup, members: list[Member], now: dt.datetime) -> dt.datetime:
    """How long a plan made at `now` holds (pure): until the first occurrence beyond the
    planned window (now + HORIZON, end excluded) in any participant's zone, at most
    PLAN_AT_LEAST_EVERY ahead. Idle ticks then skip the standup until shortly before its next
    prompt; a change to it, its participants or their time zones or away periods clears the
    mark and it is planned on the next tick."""
    ceiling = now + PLAN_AT_LEAST_EVERY
    cadence = cadence_of(standup.cadence, standup.weekday_mask)
    if cadence is None:
        return ceiling
    local_time = parse_local_time(standup.local_time)
    # Strictly after this instant = at or after the window's (excluded) end.
    after = max(now + HORIZON, standup.schedule_from) - dt.timedelta(microseconds=1)
    zones = {
        zone.key: zone
        for member in members
        if may_prompt(standup, member) and (zone := member_zone(standup, member)) is not None
    }
    soonest = ceiling
    for zone in zones.values():
        found = cadences.next_occurrence(cadence, local_time, zone, after)
        if found is not None:
            soonest = min(soonest, found[1])
    return max(soonest, now + HORIZON)


def next_run_of(standup: Standup, members: list[Member], now: dt.datetime) -> dt.datetime | None:
    """The soonest upcoming prompt of a standup across its participants' zones."""
    cadence = cadence_of(standup.cadence, standup.weekday_mask)
    if cadence is None:
        return None
    local_time = parse_local_time(standup.local_time)
    soonest: dt.datetime | None = None
    zones = {member_zone(standup, m) for m in members} or {None}
    for zone in zones:
        found = cadences.next_occurrence(cadence, local_time, zone or ZoneInfo("UTC"), now)
        if found and (soonest is None or found[1] < soonest):
            soonest = found[1]
    return soonest


async def plan_due(services: Services, now: dt.datetime) -> None:
    """Plan every workspace that has a standup whose plan runs out soon."""
    async with services.db.session() as session:
        workspace_ids = await standups.workspaces_needing_plans(session, now + REPLAN_MARGIN)
    for workspace_id in workspace_ids:
        await plan_workspace(services, workspace_id, now)


async def plan_workspace(services: Services, workspace_id: int, now: dt.datetime) -> None:
    """Refresh stale profiles (time zones), then create the prompt rows that are missing."""
    async with services.db.session() as session:
        workspace = await workspaces.workspace_by_id(session, workspace_id)
        client = await services.slack.bot_client(session, workspace_id)
    if workspace is None or client is None:
        return
    with structlog.contextvars.bound_contextvars(team_id=workspace.team_id):
        await refresh_profiles(services, client, workspace_id)
        async with services.db.session() as session:
            due = await standups.active_standups(
                session, workspace_id, planned_before=now + REPLAN_MARGIN
            )
            holidays = HolidayLookup()  # one look-up per (calendar, date) in this pass
            for listed in due:
                # Held (in id order) while planned, so a participant sync or edit running now
                # is either seen whole or waits, and is planned again after.
                standup = await standups.hold_standup(session, workspace_id, listed.id)
                if standup is None or not standup.active:
                    continue
                created = await plan_standup(
                    session,
                    workspace_id,
                    standup,
                    now=now,
                    grace=services.grace,
                    close_after=answer_window(standup, services.close_after),
                    holidays=holidays,
                )
                if created:
                    log.info("prompts_planned", standup_id=standup.id, count=created)
        await _learn_channel_privacy(services, client, workspace_id)


async def _learn_channel_privacy(
    services: Services, client: AsyncWebClient, workspace_id: int
) -> None:
    """Standups older than channel privacy tracking count as private until we know: look a few
    of their channels up, after planning and within a budget, so it never delays a prompt."""
    try:
        await asyncio.wait_for(
            channels.learn_unknown(services, client, workspace_id), LEARN_PRIVACY_BUDGET
        )
    except Exception as exc:
        log.info("channel_privacy_not_learned", error_type=type(exc).__name__)
