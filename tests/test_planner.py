"""Pure planning rules: which occurrences become prompt rows, in whose zone, and how long a
day's run must stay open. (The scheduler-level behaviour is in test_scheduler.py.)"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.planning import HORIZON, last_due_on, member_zone, plan_for_member
from bot.rules.timemath import local_occurrence_utc, weekdays_to_mask
from storage.models import Member, Standup

DAY = dt.date(2026, 1, 14)  # a Wednesday
GRACE = dt.timedelta(minutes=120)
ZONES = [
    "America/New_York",
    "Asia/Kolkata",
    "Europe/Berlin",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/St_Johns",
]


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def standup(
    *,
    local_time: str = "09:00",
    days: range | list[int] = range(7),
    fixed_tz: str | None = None,
    schedule_from: dt.datetime | None = None,
) -> Standup:
    return Standup(
        id=1,
        workspace_id=1,
        weekday_mask=weekdays_to_mask(days),
        local_time=local_time,
        tz_mode="fixed" if fixed_tz else "participant",
        fixed_tz=fixed_tz,
        schedule_from=schedule_from or utc(DAY - dt.timedelta(days=30), 0),
    )


def member(
    member_id: int, tz: str | None, *, deleted: bool = False, is_bot: bool = False
) -> Member:
    return Member(id=member_id, workspace_id=1, tz=tz, deleted=deleted, is_bot=is_bot)


def test_member_zone_follows_the_mode() -> None:
    berlin = member(1, "Europe/Berlin")
    assert member_zone(standup(), berlin) == ZoneInfo("Europe/Berlin")
    assert member_zone(standup(fixed_tz="Asia/Tokyo"), berlin) == ZoneInfo("Asia/Tokyo")
    assert member_zone(standup(), member(2, None)) is None
    assert member_zone(standup(), member(3, "Not/AZone")) is None
    # In fixed mode a participant whose zone is unknown is still planned.
    assert member_zone(standup(fixed_tz="Asia/Tokyo"), member(2, None)) == ZoneInfo("Asia/Tokyo")


def test_plans_only_the_occurrence_within_the_horizon() -> None:
    s = standup(schedule_from=utc(DAY, 0))
    kolkata = member(1, "Asia/Kolkata")  # 09:00 IST == 03:30 UTC
    too_early = utc(DAY, 3, 30) - HORIZON - dt.timedelta(seconds=1)
    assert plan_for_member(s, kolkata, now=too_early, grace=GRACE, existing=set()) == []
    [planned] = plan_for_member(s, kolkata, now=utc(DAY, 3, 29), grace=GRACE, existing=set())
    assert (planned.member_id, planned.local_date) == (1, DAY)
    assert (planned.due_at, planned.state) == (utc(DAY, 3, 30), "pending")


def test_existing_rows_are_not_planned_again_and_late_ones_are_missed() -> None:
    s = standup(schedule_from=utc(DAY, 0))
    berlin = member(7, "Europe/Berlin")  # due 08:00 UTC
    assert plan_for_member(s, berlin, now=utc(DAY, 8, 1), grace=GRACE, existing={(7, DAY)}) == []
    [late] = plan_for_member(s, berlin, now=utc(DAY, 10, 30), grace=GRACE, existing=set())
    assert (late.local_date, late.state) == (DAY, "missed")
    [on_time] = plan_for_member(s, berlin, now=utc(DAY, 9, 30), grace=GRACE, existing=set())
    assert on_time.state == "pending"


def test_nothing_before_the_standup_existed() -> None:
    s = standup(schedule_from=utc(DAY, 9))  # created after 09:00 Berlin
    assert (
        plan_for_member(
            s, member(1, "Europe/Berlin"), now=utc(DAY, 9, 5), grace=GRACE, existing=set()
        )
        == []
    )


def test_deleted_bots_and_unknown_zones_are_not_planned() -> None:
    s = standup()
    now = utc(DAY, 8, 1)
    for m in (
        member(1, "Europe/Berlin", deleted=True),
        member(2, "Europe/Berlin", is_bot=True),
        member(3, None),
    ):
        assert plan_for_member(s, m, now=now, grace=GRACE, existing=set()) == []


def test_last_due_is_the_latest_participants_prompt_that_day() -> None:
    members = [member(1, "Asia/Kolkata"), member(2, "Europe/Berlin"), member(3, "America/New_York")]
    assert last_due_on(standup(), members, DAY) == utc(DAY, 14)  # 09:00 in New York
    # Bots, deleted people and unknown zones do not keep the run open.
    ignored = [
        member(4, "Pacific/Honolulu", is_bot=True),
        member(5, "Pacific/Honolulu", deleted=True),
        member(6, None),
    ]
    assert last_due_on(standup(), members[:2] + ignored, DAY) == utc(DAY, 8)
    assert last_due_on(standup(), ignored, DAY) is None
    # Not a standup day.
    assert last_due_on(standup(days=[0, 1]), members, DAY) is None
    # Fixed zone: everyone's prompt is the same instant.
    assert last_due_on(standup(fixed_tz="Asia/Tokyo"), members, DAY) == utc(DAY, 0)


@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=6),
    day=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
)
def test_every_planned_prompt_of_a_day_is_due_by_its_last_due(
    zones: list[str], day: dt.date, hour: int, minute: int
) -> None:
    """Whatever the zones, no participant's prompt for a local date falls after the instant
    the run is kept open for — so a run never closes before someone was prompted."""
    s = standup(
        local_time=f"{hour:02d}:{minute:02d}", schedule_from=utc(day, 0) - dt.timedelta(days=3)
    )
    members = [member(i, z) for i, z in enumerate(zones, start=1)]
    last = last_due_on(s, members, day)
    assert last is not None
    for m in members:
        due = local_occurrence_utc(day, dt.time(hour, minute), ZoneInfo(m.tz or "UTC"))
        assert due <= last
        # And the planner, asked just after that instant, plans exactly that due time.
        planned = plan_for_member(
            s, m, now=due + dt.timedelta(seconds=1), grace=GRACE, existing=set()
        )
        assert due in {p.due_at for p in planned if p.local_date == day}


def test_participant_whose_zone_slack_would_not_tell_is_still_planned_in_utc() -> None:
    never_looked_up = member(1, None)
    lookup_failed = member(2, None)
    lookup_failed.profile_refreshed_at = utc(DAY, 0)
    assert member_zone(standup(), never_looked_up) is None  # wait for users.info first
    assert member_zone(standup(), lookup_failed) == ZoneInfo("UTC")
    planned = plan_for_member(
        standup(local_time="09:00"), lookup_failed, now=utc(DAY, 9), grace=GRACE, existing=set()
    )
    assert (planned[-1].due_at, planned[-1].state) == (utc(DAY, 9), "pending")
