"""Attendance use cases (issue 9) called directly, on both databases: `/standup ooo` (show, set,
combine, clear, for someone else), `/standup holidays`, `/standup skip`, App Home's settings,
and what planning and `/standup run` make of them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from bot import attendance, planning, standups, workspaces
from bot.outcomes import (
    AwayCleared,
    AwayStatus,
    AwayUpdated,
    Created,
    DaySkipped,
    FieldErrors,
    History,
    HolidayCalendars,
    Invalid,
    NoRunThatDay,
    Refusal,
    RunStarted,
    StandupCalendar,
)
from bot.people import Caller
from bot.rules.attendance import HolidayLookup
from bot.rules.permissions import Actor, Why
from bot.rules.validation import StandupDraft, name_key
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views import wording
from storage import members as members_db
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import (
    AuditEntry,
    AwayPeriod,
    Member,
    Prompt,
    PromptState,
    Run,
    SkippedDay,
    Standup,
)

OWNER, PEER, ADMIN, STRANGER = "U0OWNER01", "U0PEER001", "U0ADMIN01", "U0STRANGE"
BANGALORE = "U0BANGAL1"
# A Tuesday, 09:00 in Berlin; "Daily" runs Mon-Fri at 09:30 in each participant's zone.
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
D = dt.date


@dataclass
class World:
    services: Services
    workspace_id: int
    now: list[dt.datetime] = field(default_factory=lambda: [NOW])

    def caller(self, user_id: str, *, admin: bool = False) -> Caller:
        return Caller.known(self.workspace_id, Actor(user_id, admin))

    def at(self, instant: dt.datetime) -> None:
        self.now[0] = instant


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    settings = load_settings(
        slack_signing_secret="s" * 32,
        slack_bot_token="xoxb-never-called",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no Slack call may happen
        database_url=database_url,
        _env_file=None,
    )
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    now = [NOW]
    services = Services(
        settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=lambda: now[0]
    )
    async with db.session() as session:
        workspace_id = (await workspaces_db.ensure_workspace(session, "T0HOME001")).id
        for user, tz in (
            (OWNER, "Europe/Berlin"),
            (PEER, "Europe/Berlin"),
            (ADMIN, "Europe/Berlin"),
            (STRANGER, "Europe/Berlin"),
            (BANGALORE, "Asia/Kolkata"),
        ):
            await members_db.update_member_profile(
                session,
                workspace_id,
                user,
                name=user,
                tz=tz,
                is_bot=False,
                deleted=False,
                now=NOW,
            )
    try:
        yield World(services, workspace_id, now)
    finally:
        await services.slack.close()
        await db.dispose()


async def create(
    world: World,
    name: str = "Daily",
    participants: tuple[str, ...] = (OWNER, PEER),
    holidays: str | None = None,
) -> Created:
    draft = StandupDraft(
        name=name,
        channel_id="C0TEAM001",
        questions=["Yesterday?", "Today?", "Blockers?"],
        participant_ids=list(participants),
        weekdays=frozenset(range(5)),
        local_time="09:30",
        tz_mode="participant",
        fixed_tz=None,
    )
    client = world.services.slack.client("xoxb-never-called")
    outcome = await standups.create(world.services, client, world.caller(OWNER), draft)
    assert isinstance(outcome, Created), outcome
    if holidays:
        async with world.services.db.session() as session:
            standup = await standups_db.find_standup_by_name(
                session, world.workspace_id, name_key(name)
            )
            assert standup is not None
            standup.holiday_calendar = holidays
    return outcome


async def plan(world: World, at: dt.datetime, *, lookup: HolidayLookup | None = None) -> int:
    """One planning pass of every standup, as the scheduler does at `at`."""
    created = 0
    async with world.services.db.session() as session:
        for standup in await standups_db.active_standups(session, world.workspace_id):
            created += await planning.plan_standup(
                session,
                world.workspace_id,
                standup,
                now=at,
                grace=world.services.grace,
                close_after=world.services.close_after,
                holidays=lookup,
            )
    return created


async def states(world: World) -> dict[tuple[str, dt.date], str]:
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(Member.slack_user_id, Prompt.local_date, Prompt.state).join(
                Member, Member.id == Prompt.member_id
            )
        )
        return {(user, day): str(state) for user, day, state in rows}


async def audit_entries(world: World, action: str) -> list[AuditEntry]:
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows.scalars())


async def ooo(world: World, user: str, text: str, *, admin: bool = False) -> Any:
    return await attendance.away(world.services, world.caller(user, admin=admin), text.split())


# --- out of office: show, set, combine, clear --------------------------------------------------


async def test_set_show_and_clear_your_own_out_of_office(world: World) -> None:
    assert await ooo(world, PEER, "") == AwayStatus(PEER, True, [])
    updated = await ooo(world, PEER, "2026-12-21 2027-01-04")
    assert updated == AwayUpdated(PEER, True, D(2026, 12, 21), D(2027, 1, 4))
    assert await ooo(world, PEER, "") == AwayStatus(PEER, True, [(D(2026, 12, 21), D(2027, 1, 4))])
    again = await ooo(world, PEER, "2026-12-21 2027-01-04")
    assert isinstance(again, AwayUpdated) and not again.changed
    until = await ooo(world, OWNER, "until 2026-12-04")
    assert until == AwayUpdated(OWNER, True, TODAY, D(2026, 12, 4))

    cleared = await ooo(world, PEER, "off")
    assert cleared == AwayCleared(PEER, True, TODAY, [(D(2026, 12, 21), D(2027, 1, 4))])
    assert await ooo(world, PEER, "") == AwayStatus(PEER, True, [])
    assert await ooo(world, PEER, "off") == AwayCleared(PEER, True, TODAY, [])

    [first, second, third] = await audit_entries(world, "ooo")
    assert (first.actor_user_id, first.before, first.after) == (
        PEER,
        {"person": PEER, "away": []},
        {"person": PEER, "away": ["2026-12-21 to 2027-01-04"]},
    )
    assert second.after == {"person": OWNER, "away": ["2026-12-01 to 2026-12-04"]}
    assert third.before == {"person": PEER, "away": ["2026-12-21 to 2027-01-04"]}
    assert third.after == {"person": PEER, "away": []}


async def test_overlapping_periods_are_combined_and_say_so(world: World) -> None:
    await ooo(world, PEER, "2026-12-21 2027-01-04")
    extended = await ooo(world, PEER, "2026-12-28 2027-01-08")
    assert extended == AwayUpdated(
        PEER,
        True,
        D(2026, 12, 21),
        D(2027, 1, 8),
        absorbed=[(D(2026, 12, 21), D(2027, 1, 4))],
    )
    shortened = await ooo(world, PEER, "2026-12-21 2026-12-28")
    assert isinstance(shortened, AwayUpdated) and shortened.shortened
    assert (shortened.start, shortened.end) == (D(2026, 12, 21), D(2026, 12, 28))
    await ooo(world, PEER, "2027-02-01")
    assert await ooo(world, PEER, "") == AwayStatus(
        PEER, True, [(D(2026, 12, 21), D(2026, 12, 28)), (D(2027, 2, 1), D(2027, 2, 1))]
    )
    async with world.services.db.session() as session:
        assert len((await session.execute(select(AwayPeriod))).all()) == 2


async def test_off_ends_a_period_in_progress_yesterday_and_keeps_the_past(world: World) -> None:
    await ooo(world, PEER, "2026-11-28 2026-12-05")  # started three days ago
    cleared = await ooo(world, PEER, "off")
    assert cleared == AwayCleared(PEER, True, TODAY, [(D(2026, 11, 28), D(2026, 12, 5))])
    async with world.services.db.session() as session:
        [period] = (await session.execute(select(AwayPeriod))).scalars().all()
    assert (period.starts_on, period.ends_on) == (D(2026, 11, 28), D(2026, 11, 30))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-02-30", "“2026-02-30” is not a date I can read"),
        ("2026-12-21 2026-12-01", "ends (2026-12-01) before it starts (2026-12-21)"),
        ("2026-12-01 2027-12-31", "396 days long; the most is 366 days"),
        ("2026-11-01 2026-11-30", "already over (today is 2026-12-01)"),
        ("until", "needs a date"),
        ("@peer 2026-12-21", "pick them from the @ list"),
    ],
)
async def test_bad_input_gets_the_rules_message_and_changes_nothing(
    world: World, text: str, words: str
) -> None:
    outcome = await ooo(world, PEER, text)
    assert isinstance(outcome, Invalid) and words in outcome.message, outcome
    assert "Usage: /standup ooo" in outcome.message
    assert await audit_entries(world, "ooo") == []


async def test_today_is_the_persons_own_date(world: World) -> None:
    # 20:00 UTC on 1 Dec is already 2 Dec in Bangalore, still 1 Dec in Berlin.
    world.at(dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC))
    mine = await ooo(world, BANGALORE, "until 2026-12-03")
    assert isinstance(mine, AwayUpdated) and mine.start == D(2026, 12, 2)
    past = await ooo(world, BANGALORE, "2026-12-01")
    assert isinstance(past, Invalid) and "today is 2026-12-02" in past.message
    theirs = await ooo(world, PEER, "2026-12-01")
    assert isinstance(theirs, AwayUpdated)


# --- for someone else ------------------------------------------------------------------------


async def test_owners_of_their_standups_and_admins_may_set_it_for_someone(world: World) -> None:
    await create(world)  # OWNER owns Daily; PEER takes part
    by_owner = await ooo(world, OWNER, "<@U0PEER001|peer> 2026-12-21 2026-12-23")
    assert by_owner == AwayUpdated(PEER, False, D(2026, 12, 21), D(2026, 12, 23))
    shown = await ooo(world, OWNER, "<@U0PEER001>")
    assert shown == AwayStatus(PEER, False, [(D(2026, 12, 21), D(2026, 12, 23))])
    by_admin = await ooo(world, ADMIN, "<@U0STRANGE> off", admin=True)
    assert by_admin == AwayCleared(STRANGER, False, TODAY, [])
    async with world.services.db.session() as session:
        [period] = (await session.execute(select(AwayPeriod))).scalars().all()
    assert period.set_by == OWNER
    [entry] = await audit_entries(world, "ooo")
    assert (entry.actor_user_id, entry.after) == (
        OWNER,
        {"person": PEER, "away": ["2026-12-21 to 2026-12-23"]},
    )


async def test_anyone_else_is_refused_with_the_reason(world: World) -> None:
    await create(world)
    refused = Refusal(Why.NOT_ATTENDANCE_MANAGER)
    # A fellow participant, not an owner.
    assert await ooo(world, PEER, "<@U0OWNER01> 2026-12-21") == refused
    # An owner, but of no standup the stranger takes part in; showing is refused too.
    assert await ooo(world, OWNER, "<@U0STRANGE|s> 2026-12-21") == refused
    assert await ooo(world, STRANGER, "<@U0PEER001>") == refused
    assert await audit_entries(world, "ooo") == []


# --- the prompts it turns around --------------------------------------------------------------

DUE = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)  # 09:30 in Berlin


async def test_setting_ooo_stops_planned_prompts_and_off_brings_them_back(world: World) -> None:
    await create(world)
    assert await plan(world, DUE - dt.timedelta(minutes=5)) == 2
    updated = await ooo(world, PEER, "until 2026-12-02")
    assert isinstance(updated, AwayUpdated) and updated.not_sent == 1
    assert await states(world) == {(OWNER, TODAY): "pending", (PEER, TODAY): "away"}
    # Planning again (the standup was marked for it) keeps it away.
    await plan(world, DUE - dt.timedelta(minutes=4))
    assert (await states(world))[(PEER, TODAY)] == "away"

    # Back before the grace period ended: the prompt is pending again, and sent.
    world.at(DUE + dt.timedelta(minutes=30))
    assert isinstance(await ooo(world, PEER, "off"), AwayCleared)
    assert (await states(world))[(PEER, TODAY)] == "pending"
    async with world.services.db.session() as session:
        planned = (await session.execute(select(Standup.planned_until))).scalar()
    assert planned is None  # every scheduler plans it again


async def test_an_away_prompt_long_past_stays_away_when_cleared(world: World) -> None:
    await create(world)
    await ooo(world, PEER, "2026-12-01 2026-12-03")
    await plan(world, DUE - dt.timedelta(minutes=5))
    world.at(DUE + dt.timedelta(hours=3))  # past the grace period
    await ooo(world, PEER, "off")
    assert (await states(world))[(PEER, TODAY)] == "away"


async def test_run_now_does_not_ask_someone_away_or_on_holiday(world: World) -> None:
    await create(world, participants=(OWNER, PEER, BANGALORE))
    await ooo(world, PEER, "2026-12-01")
    async with world.services.db.session() as session:
        member = await members_db.get_member(session, world.workspace_id, BANGALORE)
        assert member is not None
        member.holiday_calendar = "IN-KA"
    world.at(dt.datetime(2026, 12, 25, 8, 0, tzinfo=dt.UTC))  # Christmas: a holiday in India
    await ooo(world, PEER, "2026-12-25")
    started = await standups.run_now(world.services, world.caller(OWNER), "Daily")
    assert started == RunStarted("Daily", 1)
    day = D(2026, 12, 25)
    assert await states(world) == {
        (OWNER, day): "pending",
        (PEER, day): "away",
        (BANGALORE, day): "holiday",
    }


# --- holidays --------------------------------------------------------------------------------


async def test_a_persons_own_holiday_calendar(world: World) -> None:
    await create(world, holidays="DE")
    services, caller = world.services, world.caller(PEER)
    shown = await attendance.holiday_calendar(services, caller, "")
    assert shown == HolidayCalendars(None, [StandupCalendar("Daily", "DE")])
    chosen = await attendance.holiday_calendar(services, caller, "in-ka")
    assert isinstance(chosen, HolidayCalendars)
    assert (chosen.own, chosen.changed) == ("IN-KA", True)
    assert chosen.next_holiday is not None and chosen.next_holiday[0] >= TODAY
    same = await attendance.holiday_calendar(services, caller, "IN-KA")
    assert isinstance(same, HolidayCalendars) and same.changed is False
    off = await attendance.holiday_calendar(services, caller, "OFF")
    assert isinstance(off, HolidayCalendars) and (off.own, off.changed) == (None, True)
    [set_entry, off_entry] = await audit_entries(world, "holidays")
    assert set_entry.after == {"person": PEER, "holidays": "IN-KA"}
    assert off_entry.before == {"person": PEER, "holidays": "IN-KA"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Germany", "Did you mean DE?"),
        ("DE-XX", "DE has no region 'XX'"),
        ("ZZ", "Unknown country code 'ZZ'"),
    ],
)
async def test_a_bad_holiday_code_is_explained(world: World, text: str, words: str) -> None:
    outcome = await attendance.holiday_calendar(world.services, world.caller(PEER), text)
    assert isinstance(outcome, Invalid) and words in outcome.message, outcome
    assert "Usage: /standup holidays" in outcome.message


async def test_planning_follows_each_persons_calendar_and_caches_look_ups(world: World) -> None:
    """Republic Day (26 Jan) and Karnataka Rajyotsava (1 Nov) are days off in Bangalore, not in
    Germany; Ascension Day is the other way round."""
    await create(world, participants=(OWNER, BANGALORE), holidays="DE")
    await attendance.holiday_calendar(world.services, world.caller(BANGALORE), "IN-KA")
    for day in (D(2027, 1, 26), D(2027, 11, 1), D(2027, 5, 6)):
        lookup = HolidayLookup()
        for hour in range(0, 24):  # a day of ticks, one look-up pass each hour
            await plan(world, dt.datetime.combine(day, dt.time(hour), dt.UTC), lookup=lookup)
        # One look-up per (calendar, date) seen in these passes, not per person and tick.
        assert lookup.misses <= 2 * 3
    got = await states(world)
    assert got[(BANGALORE, D(2027, 1, 26))] == "holiday"
    assert got[(OWNER, D(2027, 1, 26))] == "pending"
    assert got[(BANGALORE, D(2027, 11, 1))] == "holiday"
    assert got[(OWNER, D(2027, 11, 1))] == "pending"
    assert got[(BANGALORE, D(2027, 5, 6))] == "pending"  # their own calendar wins
    assert got[(OWNER, D(2027, 5, 6))] == "holiday"  # Christi Himmelfahrt


async def test_changing_your_calendar_turns_planned_prompts_around(world: World) -> None:
    await create(world, participants=(OWNER, BANGALORE))
    republic_day = D(2027, 1, 26)
    due = dt.datetime(2027, 1, 26, 4, 0, tzinfo=dt.UTC)  # 09:30 in Bangalore
    await plan(world, due - dt.timedelta(minutes=5))
    assert (await states(world))[(BANGALORE, republic_day)] == "pending"
    world.at(due - dt.timedelta(minutes=4))
    await attendance.holiday_calendar(world.services, world.caller(BANGALORE), "IN")
    assert (await states(world))[(BANGALORE, republic_day)] == "holiday"
    await attendance.holiday_calendar(world.services, world.caller(BANGALORE), "off")
    assert (await states(world))[(BANGALORE, republic_day)] == "pending"


# --- skipping a day --------------------------------------------------------------------------


async def skip(world: World, user: str, name: str, day: dt.date | None, **kw: Any) -> Any:
    return await attendance.skip_day(world.services, world.caller(user, **kw), name, day)


async def test_skip_a_date_for_everyone(world: World) -> None:
    await create(world)
    thursday = D(2026, 12, 3)
    assert await skip(world, OWNER, "daily", thursday) == DaySkipped("Daily", thursday, True)
    assert await skip(world, ADMIN, "Daily", thursday, admin=True) == DaySkipped(
        "Daily", thursday, False
    )
    # That day nothing is planned (no run either); the next day runs as usual.
    for hour in range(24):
        await plan(world, dt.datetime.combine(thursday, dt.time(hour), dt.UTC))
    await plan(world, dt.datetime(2026, 12, 4, 8, 25, tzinfo=dt.UTC))
    got = await states(world)
    assert not [key for key in got if key[1] == thursday]
    assert got[(PEER, D(2026, 12, 4))] == "pending"
    async with world.services.db.session() as session:
        run_dates = (await session.execute(select(Run.local_date))).scalars().all()
        skipped = (await session.execute(select(SkippedDay))).scalars().all()
    assert thursday not in run_dates
    assert [(s.local_date, s.skipped_by) for s in skipped] == [(thursday, OWNER)]
    [entry] = await audit_entries(world, "skip")
    assert (entry.standup_name, entry.after) == ("Daily", {"skipped": "2026-12-03"})


async def test_skip_today_drops_planned_prompts_and_the_unstarted_run(world: World) -> None:
    await create(world)
    await plan(world, DUE - dt.timedelta(minutes=5))
    outcome = await skip(world, OWNER, "Daily", None)
    assert outcome == DaySkipped("Daily", TODAY, True, dropped=2, already_sent=0)
    assert await states(world) == {}
    async with world.services.db.session() as session:
        assert (await session.execute(select(Run))).first() is None


async def test_skip_today_after_some_were_asked_excuses_them(world: World) -> None:
    await create(world)
    await plan(world, DUE - dt.timedelta(minutes=5))
    async with world.services.db.session() as session:
        owner = await members_db.get_member(session, world.workspace_id, OWNER)
        assert owner is not None
        row = (
            await session.execute(select(Prompt).where(Prompt.member_id == owner.id))
        ).scalar_one()
        row.state = PromptState.SENT
    outcome = await skip(world, OWNER, "Daily", None)
    assert outcome == DaySkipped("Daily", TODAY, True, dropped=1, already_sent=1)
    # Asked but not answered: skipped (still answerable), never missing.
    assert await states(world) == {(OWNER, TODAY): "skipped"}
    async with world.services.db.session() as session:
        [run] = (await session.execute(select(Run))).scalars().all()
    assert run.summary_requested_at == NOW


async def test_skip_refusals_and_bad_dates(world: World) -> None:
    await create(world)
    assert await skip(world, PEER, "Daily", None) == Refusal(Why.NOT_MANAGER, "Daily")
    assert await skip(world, OWNER, "Nightly", None) == Refusal(Why.NO_SUCH_STANDUP, "Nightly")
    past = await skip(world, OWNER, "Daily", D(2026, 11, 30))
    assert isinstance(past, Invalid) and "in the past" in past.message
    far = await skip(world, OWNER, "Daily", D(2027, 12, 2))
    assert isinstance(far, Invalid) and "more than a year ahead" in far.message
    saturday = await skip(world, OWNER, "Daily", D(2026, 12, 5))
    assert isinstance(saturday, NoRunThatDay) and "weekdays" in saturday.schedule_text
    assert await audit_entries(world, "skip") == []


async def test_skip_today_is_the_callers_date_or_the_fixed_zones(world: World) -> None:
    await create(world, participants=(OWNER, BANGALORE))
    world.at(dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC))  # 23:00 Berlin, 03:30 Bangalore
    by_owner = await skip(world, OWNER, "Daily", None)
    assert isinstance(by_owner, DaySkipped) and by_owner.local_date == D(2026, 12, 3)
    async with world.services.db.session() as session:
        await members_db.update_member_profile(
            session,
            world.workspace_id,
            ADMIN,
            name=ADMIN,
            tz="Asia/Kolkata",
            is_bot=False,
            deleted=False,
            now=NOW,
        )
    by_admin = await skip(world, ADMIN, "Daily", None, admin=True)
    assert isinstance(by_admin, DaySkipped) and by_admin.local_date == D(2026, 12, 4)


# --- App Home ----------------------------------------------------------------------------------


async def test_my_attendance_for_app_home(world: World) -> None:
    await create(world, holidays="DE")
    await ooo(world, PEER, "2026-12-21 2027-01-04")
    await attendance.holiday_calendar(world.services, world.caller(PEER), "IN-KA")
    mine = await attendance.my_attendance(world.services, world.caller(PEER))
    assert mine.away == [(D(2026, 12, 21), D(2027, 1, 4))]
    assert mine.holidays.own == "IN-KA"
    assert mine.holidays.standups == [StandupCalendar("Daily", "DE")]
    nobody = await attendance.my_attendance(world.services, world.caller("U0NEWBIE1"))
    assert nobody.away == [] and nobody.holidays.own is None


async def test_editing_the_standups_calendar_replans_days_already_marked_holiday(
    world: World,
) -> None:
    created = await create(world, participants=(OWNER, PEER), holidays="DE")
    ascension = D(2027, 5, 6)
    due = dt.datetime(2027, 5, 6, 7, 30, tzinfo=dt.UTC)  # 09:30 in Berlin (summer time)
    await plan(world, due - dt.timedelta(minutes=5))
    assert (await states(world))[(OWNER, ascension)] == "holiday"
    world.at(due - dt.timedelta(minutes=4))
    no_holidays = StandupDraft(
        name="Daily",
        channel_id="C0TEAM001",
        questions=["Yesterday?", "Today?", "Blockers?"],
        participant_ids=[OWNER, PEER],
        weekdays=frozenset(range(5)),
        local_time="09:30",
        tz_mode="participant",
        fixed_tz=None,
    )
    client = world.services.slack.client("xoxb-never-called")
    edited = await standups.edit(
        world.services, client, world.caller(OWNER), created.standup_id, no_holidays
    )
    assert not isinstance(edited, Refusal)
    assert not [key for key in await states(world) if key[1] == ascension]
    await plan(world, due - dt.timedelta(minutes=3))
    assert (await states(world))[(OWNER, ascension)] == "pending"


async def test_the_workspace_history_says_whose_out_of_office_changed(world: World) -> None:
    await create(world)
    await ooo(world, OWNER, "<@U0PEER001> 2026-12-21 2026-12-23")
    history = await workspaces.workspace_history(world.services, world.caller(ADMIN, admin=True))
    assert not isinstance(history, Refusal)
    text = json.dumps(wording.history(History(None, standups.changes(history))), ensure_ascii=False)
    assert f"<@{OWNER}> *ooo* for <@{PEER}> (away:  → 2026-12-21 to 2026-12-23)" in text


# --- out of office by dates (the web settings page and the REST API) ----------------------------


async def test_setting_away_by_dates_replaces_stops_prompts_and_clearing_brings_them_back(
    world: World,
) -> None:
    await create(world)
    await ooo(world, PEER, "2026-12-10 2026-12-11")
    assert await plan(world, DUE - dt.timedelta(minutes=5)) == 2
    peer = world.caller(PEER)

    away = await attendance.set_away(world.services, peer, PEER, TODAY, D(2026, 12, 2))
    assert isinstance(away, attendance.AwayTime)
    # It replaces every period not over yet, and today's planned prompt is not sent.
    assert [(p.start, p.end, p.set_by) for p in away.periods] == [(TODAY, D(2026, 12, 2), PEER)]
    assert await states(world) == {(OWNER, TODAY): "pending", (PEER, TODAY): "away"}
    shown = await attendance.away_time(world.services, world.caller(OWNER), PEER)
    assert shown == away  # an owner of her standup may see it

    # The same rule as /standup ooo @someone: a stranger is refused, nothing changes.
    refused = await attendance.set_away(world.services, world.caller(STRANGER), PEER, TODAY, TODAY)
    assert isinstance(refused, Refusal) and refused.why == Why.NOT_ATTENDANCE_MANAGER
    bad = await attendance.set_away(world.services, peer, PEER, D(2026, 11, 1), D(2026, 11, 2))
    assert isinstance(bad, FieldErrors) and "already over" in bad.errors["end"]

    cleared = await attendance.clear_away(world.services, peer, PEER)
    assert isinstance(cleared, AwayCleared) and cleared.cleared == [(TODAY, D(2026, 12, 2))]
    assert (await states(world))[(PEER, TODAY)] == "pending"
    after = await attendance.away_time(world.services, peer, PEER)
    assert isinstance(after, attendance.AwayTime) and after.periods == []
    assert len(await audit_entries(world, "ooo")) == 3
