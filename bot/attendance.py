"""Attendance use cases: out of office (``/standup ooo``, the web settings page and
``/api/v1/users/{id}/ooo``), a person's own holiday calendar (``/standup holidays``) and days
skipped for everyone (``/standup skip``).

Each runs in one transaction with its permission check, writes its audit entry and returns
data (or a Refusal). A change also turns around the person's prompts that are planned but not
sent yet (pending ones become AWAY or HOLIDAY, and back), and marks their standups to be
planned again, so nobody is asked on a day off and nobody is forgotten when they come back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import runs
from bot.outcomes import (
    Attendance,
    AwayCleared,
    AwayStatus,
    AwayUpdated,
    DaySkipped,
    FieldErrors,
    HolidayCalendars,
    Invalid,
    NoRunThatDay,
    Refusal,
    StandupCalendar,
    refused,
)
from bot.people import Caller, fetch_profile
from bot.planning import absent_state
from bot.rules import cadence as cadences
from bot.rules.attendance import HolidayLookup, next_holiday, skip_date_problem
from bot.rules.away import (
    MAX_RANGE_DAYS,
    AwayClear,
    AwaySet,
    AwayShow,
    ParseError,
    Range,
    clear_from,
    mentioned_user,
    merge_period,
    parse_ooo,
)
from bot.rules.holidays import normalize_code
from bot.rules.permissions import Actor, Why, can_manage, can_set_attendance_for
from bot.rules.schedule import cadence_of
from bot.rules.validation import name_key
from bot.runtime import Services
from bot.slack.gateway import error_code, send_dm
from bot.standups import schedule_text
from bot.views.blockkit import Message
from storage import attendance as attendance_db
from storage import audit, members, prompts, standups
from storage import home as home_rows
from storage import runs as run_rows
from storage.models import AwayPeriod, Member, PromptState, Standup, TzMode

log = structlog.get_logger("asyncstand.attendance")

HOLIDAYS_USAGE = (
    "Usage: /standup holidays CODE to follow a country's (and region's) public holidays in "
    "every standup, e.g. IN-KA, DE-BY or US; /standup holidays off to follow each standup's "
    "again; /standup holidays alone to see what applies."
)
NEWLY_ABSENT = (PromptState.AWAY, PromptState.HOLIDAY)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def today_of(member: Member, now: dt.datetime) -> dt.date:
    """The person's own date (UTC while their time zone is unknown)."""
    return now.astimezone(_zone(member.tz)).date()


async def _member(services: Services, workspace_id: int, user_id: str) -> Member:
    async with services.db.session() as session:
        return (await members.ensure_members(session, workspace_id, [user_id]))[user_id]


async def _with_profile(
    services: Services, client: AsyncWebClient | None, member: Member
) -> Member:
    """A person never looked up has their profile (time zone) read, so "today" is theirs."""
    if member.profile_refreshed_at is not None or client is None:
        return member
    await fetch_profile(services, client, member.workspace_id, member.slack_user_id)
    async with services.db.session() as session:
        found = await members.get_member(session, member.workspace_id, member.slack_user_id)
    return found or member


# --- out of office ------------------------------------------------------------------------------


async def away(
    services: Services,
    caller: Caller,
    words: Sequence[str],
    client: AsyncWebClient | None = None,
) -> AwayStatus | AwayUpdated | AwayCleared | Invalid | Refusal:
    """``/standup ooo [@someone] [dates | until date | off]``: show, set or clear.

    Dates are the person's own calendar dates. A new period that overlaps or touches one
    already set is combined with it (see ``bot.rules.away.merge_period``): extending keeps what
    was set, and a new end for a period in progress moves the return date.
    """
    now = services.clock()
    workspace_id = caller.workspace_id
    target_id = mentioned_user(words) or caller.user_id
    yourself = target_id == caller.user_id
    person = await _member(services, workspace_id, target_id)
    if not yourself:
        actor = await caller.actor()
        async with services.db.session() as session:
            owners = await attendance_db.owners_of_standups_with(session, workspace_id, person.id)
        decision = can_set_attendance_for(actor, target_id, owners)
        if not decision:
            return refused(decision)
    person = await _with_profile(services, client, person)
    command = parse_ooo(words, today_of(person, now))
    if isinstance(command, ParseError):
        return Invalid(command.message)
    today = today_of(person, now)
    async with services.db.session() as session:
        if isinstance(command, AwayShow):
            periods = await attendance_db.away_periods(
                session, workspace_id, person.id, ending_from=today
            )
            return AwayStatus(target_id, yourself, [(p.starts_on, p.ends_on) for p in periods])
        if isinstance(command, AwayClear):
            return await _clear(services, session, caller, person, today, yourself)
        assert isinstance(command, AwaySet)
        return await _set(services, session, caller, person, command, yourself)


async def _set(
    services: Services,
    session: AsyncSession,
    caller: Caller,
    person: Member,
    command: AwaySet,
    yourself: bool,
) -> AwayUpdated:
    workspace_id, now = caller.workspace_id, services.clock()
    existing = await attendance_db.away_periods(
        session, workspace_id, person.id, ending_from=command.start - dt.timedelta(days=1)
    )
    merged = merge_period([(p.starts_on, p.ends_on) for p in existing], command.start, command.end)
    absorbed = [p for p in existing if (p.starts_on, p.ends_on) in merged.absorbed]
    result: Range = (merged.start, merged.end)
    if [(p.starts_on, p.ends_on) for p in absorbed] == [result]:
        return AwayUpdated(person.slack_user_id, yourself, *result, changed=False)
    await attendance_db.delete_away_periods(
        session, workspace_id, person.id, [p.id for p in absorbed]
    )
    await attendance_db.add_away_period(
        session, workspace_id, person.id, *result, set_by=caller.user_id, now=now
    )
    changed = await _resync(services, session, workspace_id, person)
    await audit.record(
        session,
        workspace_id,
        actor=caller.user_id,
        action="ooo",
        now=now,
        before={"person": person.slack_user_id, "away": [_range_text(r) for r in merged.absorbed]},
        after={"person": person.slack_user_id, "away": [_range_text(result)]},
    )
    log.info("away_set", member_id=person.id, days=(merged.end - merged.start).days + 1)
    return AwayUpdated(
        person.slack_user_id,
        yourself,
        *result,
        absorbed=list(merged.absorbed),
        shortened=merged.shortened,
        not_sent=sum(1 for state in changed if state in NEWLY_ABSENT),
    )


async def _clear(
    services: Services,
    session: AsyncSession,
    caller: Caller,
    person: Member,
    today: dt.date,
    yourself: bool,
) -> AwayCleared:
    workspace_id, now = caller.workspace_id, services.clock()
    existing = await attendance_db.away_periods(session, workspace_id, person.id, ending_from=today)
    cleared = clear_from([(p.starts_on, p.ends_on) for p in existing], today)
    if not cleared.changed:
        return AwayCleared(person.slack_user_id, yourself, today)
    by_range = {(p.starts_on, p.ends_on): p for p in existing}
    await attendance_db.delete_away_periods(
        session, workspace_id, person.id, [by_range[r].id for r in cleared.removed]
    )
    for old, new in cleared.truncated:
        await attendance_db.end_away_period(session, workspace_id, by_range[old].id, new[1])
    await _resync(services, session, workspace_id, person)
    before = sorted([*cleared.removed, *(old for old, _ in cleared.truncated)])
    await audit.record(
        session,
        workspace_id,
        actor=caller.user_id,
        action="ooo",
        now=now,
        before={"person": person.slack_user_id, "away": [_range_text(r) for r in before]},
        after={
            "person": person.slack_user_id,
            "away": [_range_text(new) for _, new in cleared.truncated],
        },
    )
    log.info("away_cleared", member_id=person.id)
    return AwayCleared(person.slack_user_id, yourself, today, before)


def _range_text(value: Range) -> str:
    start, end = value
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"


async def _resync(
    services: Services, session: AsyncSession, workspace_id: int, person: Member
) -> list[PromptState]:
    """After a change of someone's attendance: their prompts planned but not sent yet (due
    from the grace period ago on, in open runs) take the state they should have now — AWAY,
    HOLIDAY or back to PENDING (then sent as usual, or recorded as missed if too late) — and
    their standups are planned again, and their App Home is out of date. Returns the new
    states of those that changed."""
    now = services.clock()
    await home_rows.mark_members_stale(session, workspace_id, [person.id], now)
    rows = await attendance_db.unsent_prompts_of_member(
        session, workspace_id, person.id, now - services.grace
    )
    changes: dict[int, tuple[PromptState, PromptState]] = {}
    if rows:
        dates = [p.local_date for p, _ in rows]
        ranges = await attendance_db.away_ranges(
            session,
            workspace_id,
            [person.id],
            min(dates) - dt.timedelta(days=1),
            max(dates) + dt.timedelta(days=1),
        )
        holidays = HolidayLookup()
        for prompt, standup in rows:
            wanted = absent_state(
                standup,
                person,
                prompt.local_date,
                prompt.due_at,
                away=ranges.get(person.id, []),
                holidays=holidays,
            )
            target = wanted or PromptState.PENDING
            if target != prompt.state:
                changes[prompt.id] = (prompt.state, target)
        await attendance_db.change_unsent_states(session, workspace_id, changes)
    await attendance_db.replan_standups_of(session, workspace_id, person.id)
    return [new for _, new in changes.values()]


# --- out of office by dates (web settings page, REST API) -----------------------------------------


@dataclass(frozen=True)
class AwayPeriodItem:
    period_id: int
    start: dt.date
    end: dt.date
    set_by: str | None


@dataclass(frozen=True)
class AwayTime:
    """A person's away periods that are not over yet; `today` is their own local date."""

    user_id: str
    today: dt.date
    periods: list[AwayPeriodItem]


@dataclass(frozen=True)
class NoSuchPerson:
    """Nobody with that id is known in this workspace."""

    user_id: str


async def _away_person(
    session: AsyncSession, workspace_id: int, actor: Actor, user_id: str, *, create: bool
) -> Member | NoSuchPerson | Refusal:
    """The person whose away time is asked about, if `actor` may see and set it (the same rule
    as ``/standup ooo @someone``)."""
    if user_id == actor.user_id and create:
        return (await members.ensure_members(session, workspace_id, [user_id]))[user_id]
    member = await members.get_member(session, workspace_id, user_id)
    if member is None:
        return NoSuchPerson(user_id)
    if user_id != actor.user_id:
        owners = await attendance_db.owners_of_standups_with(session, workspace_id, member.id)
        decision = can_set_attendance_for(actor, user_id, owners)
        if not decision:
            return refused(decision)
    return member


def _away_time(user_id: str, today: dt.date, rows: list[AwayPeriod]) -> AwayTime:
    items = [AwayPeriodItem(p.id, p.starts_on, p.ends_on, p.set_by) for p in rows]
    return AwayTime(user_id, today, items)


async def away_time(
    services: Services, caller: Caller, user_id: str
) -> AwayTime | NoSuchPerson | Refusal:
    """Someone's away periods not over yet (their own, or someone they may manage)."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        found = await _away_person(session, caller.workspace_id, actor, user_id, create=False)
        if isinstance(found, NoSuchPerson) and user_id == actor.user_id:
            return AwayTime(user_id, now.astimezone(dt.UTC).date(), [])
        if isinstance(found, NoSuchPerson | Refusal):
            return found
        today = today_of(found, now)
        rows = await attendance_db.away_periods(
            session, caller.workspace_id, found.id, ending_from=today
        )
    return _away_time(user_id, today, rows)


def _range_errors(start: dt.date, end: dt.date, today: dt.date) -> dict[str, str]:
    if end < start:
        return {"end": f"The range ends ({end}) before it starts ({start}): put the earlier first."}
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        return {"end": f"That range is {days} days long; the most is {MAX_RANGE_DAYS} (a year)."}
    if end < today:
        return {"end": f"That range is already over (today is {today} for this person)."}
    return {}


async def set_away(
    services: Services, caller: Caller, user_id: str, start: dt.date, end: dt.date
) -> AwayTime | FieldErrors | NoSuchPerson | Refusal:
    """Away from `start` to `end` (both included, the person's own dates), replacing every
    period not over yet; their unsent prompts in the range turn AWAY at once."""
    actor = await caller.actor()
    now = services.clock()
    workspace_id = caller.workspace_id
    async with services.db.session() as session:
        found = await _away_person(session, workspace_id, actor, user_id, create=True)
        if isinstance(found, NoSuchPerson | Refusal):
            return found
        today = today_of(found, now)
        errors = _range_errors(start, end, today)
        if errors:
            return FieldErrors(errors)
        before = await attendance_db.away_periods(
            session, workspace_id, found.id, ending_from=today
        )
        await attendance_db.delete_away_periods(
            session, workspace_id, found.id, [p.id for p in before]
        )
        await attendance_db.add_away_period(
            session, workspace_id, found.id, start, end, set_by=caller.user_id, now=now
        )
        await _resync(services, session, workspace_id, found)
        await audit.record(
            session,
            workspace_id,
            actor=caller.user_id,
            action="ooo",
            now=now,
            before={
                "person": user_id,
                "away": [_range_text((p.starts_on, p.ends_on)) for p in before],
            },
            after={"person": user_id, "away": [_range_text((start, end))]},
        )
        rows = await attendance_db.away_periods(session, workspace_id, found.id, ending_from=today)
    log.info("away_set", member_id=found.id, days=(end - start).days + 1)
    return _away_time(user_id, today, rows)


async def clear_away(
    services: Services, caller: Caller, user_id: str
) -> AwayCleared | NoSuchPerson | Refusal:
    """Out of office cleared from the person's today on, as ``/standup ooo off`` does."""
    actor = await caller.actor()
    now = services.clock()
    yourself = user_id == actor.user_id
    async with services.db.session() as session:
        found = await _away_person(session, caller.workspace_id, actor, user_id, create=False)
        if isinstance(found, NoSuchPerson) and yourself:
            return AwayCleared(user_id, True, now.astimezone(dt.UTC).date())
        if isinstance(found, NoSuchPerson | Refusal):
            return found
        return await _clear(services, session, caller, found, today_of(found, now), yourself)


# --- holiday calendars --------------------------------------------------------------------------


async def holiday_calendar(
    services: Services, caller: Caller, argument: str
) -> HolidayCalendars | Invalid:
    """``/standup holidays [CODE|off]``: a person's own public-holiday calendar, which wins
    over each standup's (someone in Bangalore follows IN-KA in a standup that follows DE)."""
    words = argument.split()
    wanted: str | None = None
    if words and not (len(words) == 1 and words[0].casefold() == "off"):
        try:
            wanted = normalize_code(" ".join(words))
        except ValueError as exc:
            return Invalid(f"{exc} {HOLIDAYS_USAGE}")
    now = services.clock()
    workspace_id = caller.workspace_id
    async with services.db.session() as session:
        person = (await members.ensure_members(session, workspace_id, [caller.user_id]))[
            caller.user_id
        ]
        before = person.holiday_calendar
        changed: bool | None = None
        if words:
            changed = before != wanted
            if changed:
                await attendance_db.set_holiday_calendar(session, workspace_id, person.id, wanted)
                person.holiday_calendar = wanted
                await _resync(services, session, workspace_id, person)
                await audit.record(
                    session,
                    workspace_id,
                    actor=caller.user_id,
                    action="holidays",
                    now=now,
                    before={"person": caller.user_id, "holidays": before},
                    after={"person": caller.user_id, "holidays": wanted},
                )
        calendars = await _calendars(session, workspace_id, person, now, changed)
    return calendars


async def _calendars(
    session: AsyncSession,
    workspace_id: int,
    person: Member,
    now: dt.datetime,
    changed: bool | None,
) -> HolidayCalendars:
    joined = await attendance_db.standups_of_member(session, workspace_id, person.id)
    return calendars_of(person, joined, today_of(person, now), changed)


def calendars_of(
    person: Member, joined: Sequence[Standup], today: dt.date, changed: bool | None = None
) -> HolidayCalendars:
    """A person's own holiday calendar, those of the standups they take part in (`joined`),
    and their own calendar's next holiday from `today` on."""
    own = person.holiday_calendar
    return HolidayCalendars(
        own=own,
        standups=[StandupCalendar(s.name, s.holiday_calendar) for s in joined],
        next_holiday=next_holiday(own, today, HolidayLookup()),
        changed=changed,
    )


async def my_attendance(services: Services, caller: Caller) -> Attendance:
    """App Home: the person's away periods from today on and their holiday calendars."""
    now = services.clock()
    async with services.db.session() as session:
        person = await members.get_member(session, caller.workspace_id, caller.user_id)
        if person is None:
            return Attendance([], HolidayCalendars(None, []))
        periods = await attendance_db.away_periods(
            session, caller.workspace_id, person.id, ending_from=today_of(person, now)
        )
        calendars = await _calendars(session, caller.workspace_id, person, now, None)
    return Attendance([(p.starts_on, p.ends_on) for p in periods], calendars)


# --- skipping a day for everyone ----------------------------------------------------------------


async def skip_day(
    services: Services,
    caller: Caller,
    name: str,
    day: dt.date | None,
    client: AsyncWebClient | None = None,
) -> DaySkipped | NoRunThatDay | Invalid | Refusal:
    """``/standup skip <name> [date]`` (owners, admins): no run that date, for everyone.

    Without a date: today's run, today being the standup's date if it has a fixed zone, else
    the caller's. Prompts planned for that date and not sent are dropped, and its run too if
    nothing of it reached anyone. Prompts already in people's DMs and not answered become
    "skipped" (the DM says so and still offers "Answer anyway"), so nobody counts as missing;
    with `client`, those DMs and the run's summary are updated at once (else by the sweep).
    """
    actor = await caller.actor()
    now = services.clock()
    workspace_id = caller.workspace_id
    async with services.db.session() as session:
        standup = await standups.find_standup_by_name(session, workspace_id, name_key(name))
        if standup is None:
            return Refusal(Why.NO_SUCH_STANDUP, name)
        decision = can_manage(
            actor, await standups.owner_ids(session, workspace_id, standup), standup.name
        )
        if not decision:
            return refused(decision, standup.name)
        if standup.tz_mode == TzMode.FIXED:
            zone = _zone(standup.fixed_tz)
        else:
            runner = await members.get_member(session, workspace_id, caller.user_id)
            zone = _zone(runner.tz if runner else None)
        today = now.astimezone(zone).date()
        day = day or today
        problem = skip_date_problem(day, today)
        if problem:
            return Invalid(problem)
        cadence = cadence_of(standup.cadence, standup.weekday_mask)
        if cadence is None or not cadences.runs_on(cadence, day):
            return NoRunThatDay(standup.name, day, schedule_text(standup))
        added = await attendance_db.add_skipped_day(
            session, workspace_id, standup.id, day, skipped_by=caller.user_id, now=now
        )
        dropped = await attendance_db.drop_unsent_prompts_on(session, workspace_id, standup.id, day)
        excused = await attendance_db.skip_sent_prompts_on(session, workspace_id, standup.id, day)
        left = await attendance_db.prompts_left_on(session, workspace_id, standup.id, day)
        if not left:
            await attendance_db.remove_unstarted_run(session, workspace_id, standup.id, day)
        for run_id in {r for _, r in excused}:
            await run_rows.request_summary(session, workspace_id, run_id, now)
        if added:
            await audit.record(
                session,
                workspace_id,
                actor=caller.user_id,
                action="skip",
                now=now,
                standup_id=standup.id,
                standup_name=standup.name,
                before={"skipped": None},
                after={"skipped": day.isoformat()},
            )
    log.info("day_skipped", standup_id=standup.id, dropped=dropped, already_sent=left)
    if client is not None and excused:
        await _show_skipped(services, client, workspace_id, excused)
    return DaySkipped(standup.name, day, added, dropped, left)


async def _show_skipped(
    services: Services, client: AsyncWebClient, workspace_id: int, excused: list[tuple[int, int]]
) -> None:
    """The DMs of those excused by a skipped day say "skipped"; the summary lists them so."""
    for prompt_id, _ in excused:
        async with services.db.session() as session:
            view = await prompts.get_prompt_view(session, workspace_id, prompt_id)
        if view is not None and view.prompt.state == PromptState.SKIPPED:
            await runs.update_prompt_message(client, view, "skipped")
    for run_id in {r for _, r in excused}:
        await runs.publish_summary(services, client, workspace_id, run_id)


# --- telling the person ---------------------------------------------------------------------------


async def tell(client: AsyncWebClient, user_id: str, message: Message) -> None:
    """Best effort DM (someone else set your out of office): a failure is only logged."""
    try:
        await send_dm(client, user_id, message["text"], message["blocks"])
    except SlackApiError as exc:
        log.warning("attendance_dm_failed", error=error_code(exc))
