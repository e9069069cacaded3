"""Tests for bot.rules.cadence: run dates per cadence kind, DST-exact instants, JSON, wording.

The oracles below enumerate dates directly from each rule's plain definition (step through
active weeks, list a month's weekdays, take the month's last day) and find UTC instants by
brute force over wall-clock minutes, so they share no code with the module under test.
"""

from __future__ import annotations

import calendar
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.rules import cadence as cadence_module  # noqa: E402
from bot.rules import timemath  # noqa: E402
from bot.rules.cadence import (  # noqa: E402
    LAST,
    Cadence,
    CadenceKind,
    EveryNWeeks,
    MonthlyDay,
    MonthlyWeekday,
    Weekly,
    cadence_error,
    describe,
    from_json,
    make_cadence,
    next_occurrence,
    occurrences_between,
    runs_on,
    to_json,
    weekly,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")
APIA = ZoneInfo("Pacific/Apia")
ZONES = {z.key: z for z in (NY, BERLIN, LORD_HOWE, KOLKATA)}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Independent oracles
# --------------------------------------------------------------------------------------------


def brute_due(local_date: date, local_time: time, tz: ZoneInfo) -> datetime:
    """Earliest UTC instant showing this wall time in tz, else the first later minute that exists.

    Candidates come from both folds; only those whose UTC -> local round trip reproduces the
    wall time are real. Scanning minute by minute handles any gap length.
    """
    naive = datetime.combine(local_date, local_time)
    for minutes in range(24 * 60):
        wall = naive + timedelta(minutes=minutes)
        real = sorted(
            instant
            for fold in (0, 1)
            for instant in [wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)]
            if instant.astimezone(tz).replace(tzinfo=None) == wall
        )
        if real:
            return real[0]
    raise AssertionError("no valid wall time within a day")  # pragma: no cover


def days_in(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def months_in(first: date, last: date) -> list[tuple[int, int]]:
    out, (y, m) = [], (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def oracle_dates(cad: Cadence, first: date, last: date) -> list[date]:
    """Run dates in [first, last] straight from each rule's definition."""
    if isinstance(cad, Weekly):
        return [d for d in days_in(first, last) if d.weekday() in cad.weekdays]
    if isinstance(cad, EveryNWeeks):
        week0 = cad.start - timedelta(days=cad.start.weekday())
        active: set[date] = set()
        monday = week0
        while monday <= last:  # step through weeks 0, N, 2N, ...
            active.update(monday + timedelta(days=w) for w in cad.weekdays)
            monday += timedelta(weeks=cad.interval)
        return [d for d in days_in(first, last) if d in active and d >= cad.start]
    out = []
    for y, m in months_in(first, last):
        month_days = [date(y, m, n) for n in range(1, calendar.monthrange(y, m)[1] + 1)]
        if isinstance(cad, MonthlyDay):
            chosen = month_days[min(cad.day, len(month_days)) - 1]
        else:
            same = [d for d in month_days if d.weekday() == cad.weekday]
            chosen = same[-1] if cad.nth == LAST else same[cad.nth - 1]
        if first <= chosen <= last:
            out.append(chosen)
    return out


def oracle_occurrences(
    cad: Cadence, wall: time, tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[date, datetime]]:
    first = start.astimezone(tz).date() - timedelta(days=2)
    last = end.astimezone(tz).date() + timedelta(days=2)
    return [
        (d, due)
        for d in oracle_dates(cad, first, last)
        for due in [brute_due(d, wall, tz)]
        if start <= due < end
    ]


def check_instant(day: date, due: datetime, wall: time, tz: ZoneInfo) -> None:
    """The instant is on the local date at the wall time, or right after a DST gap."""
    assert due.tzinfo is UTC
    local = due.astimezone(tz)
    assert local.date() == day
    if (local.hour, local.minute) != (wall.hour, wall.minute):
        # Only allowed when the wall time does not exist: then it is the first minute after.
        before = (due - timedelta(seconds=1)).astimezone(tz)
        assert before.utcoffset() != local.utcoffset()
        assert datetime.combine(day, wall) < local.replace(tzinfo=None)
        assert local.replace(tzinfo=None) - datetime.combine(day, wall) <= timedelta(hours=1)
    assert due == brute_due(day, wall, tz)


# --------------------------------------------------------------------------------------------
# Construction and validation
# --------------------------------------------------------------------------------------------


def test_weekly_from_mask_and_days() -> None:
    assert weekly(0b0011111) == Weekly(frozenset(range(5)))
    assert weekly([0, 2, 2]) == Weekly(frozenset({0, 2}))
    assert weekly(range(7)).weekdays == frozenset(range(7))
    for bad in (0, 128, -1, True):
        with pytest.raises(ValueError):
            weekly(bad)


@pytest.mark.parametrize(
    ("kind", "fields", "needle"),
    [
        ("every_n_weeks", {"interval": 0, "weekdays": [0], "start": date(2026, 1, 5)}, "1 to 12"),
        ("every_n_weeks", {"interval": 13, "weekdays": [0], "start": date(2026, 1, 5)}, "13"),
        ("every_n_weeks", {"weekdays": [0], "start": date(2026, 1, 5)}, "how many weeks"),
        ("every_n_weeks", {"interval": 2, "weekdays": [], "start": date(2026, 1, 5)}, "one day"),
        ("every_n_weeks", {"interval": 2, "weekdays": [0]}, "start date"),
        ("weekly", {"weekdays": []}, "at least one day"),
        ("weekly", {}, "at least one day"),
        ("weekly", {"weekdays": [7]}, "0 (Mon) to 6 (Sun)"),
        ("monthly_day", {"day": 0}, "1 to 31"),
        ("monthly_day", {"day": 32}, "32"),
        ("monthly_day", {}, "day of the month"),
        ("monthly_weekday", {"nth": 5, "weekday": 0}, "first, second, third, fourth or last"),
        ("monthly_weekday", {"nth": 0, "weekday": 0}, "fourth or last"),
        ("monthly_weekday", {"nth": "fifth", "weekday": 0}, "fifth"),
        ("monthly_weekday", {"weekday": 0}, "which week"),
        ("monthly_weekday", {"nth": 1}, "day of the week"),
        ("monthly_weekday", {"nth": 1, "weekday": 7}, "0 (Mon) to 6 (Sun)"),
        ("yearly", {}, "Unknown repeat option"),
    ],
)
def test_cadence_error_messages(kind: str, fields: dict[str, Any], needle: str) -> None:
    message = cadence_error(kind, **fields)
    assert message is not None
    assert needle in message
    assert message[0].isupper() and message.endswith((".", ")"))
    with pytest.raises(ValueError) as info:
        make_cadence(kind, **fields)
    assert str(info.value) == message


def test_cadence_error_none_for_valid_and_irrelevant_fields_ignored() -> None:
    assert cadence_error("weekly", weekdays=[0, 4], day=99) is None
    assert cadence_error(CadenceKind.MONTHLY_DAY, day=31, weekdays=[]) is None
    assert cadence_error("monthly_weekday", nth="Last", weekday=4) is None
    assert make_cadence("monthly_weekday", nth="last", weekday=4) == MonthlyWeekday(LAST, 4)
    assert make_cadence("monthly_weekday", nth="first", weekday=0) == MonthlyWeekday(1, 0)
    assert make_cadence(
        "every_n_weeks", interval=12, weekdays=[6], start=date(2026, 1, 1)
    ) == EveryNWeeks(12, frozenset({6}), date(2026, 1, 1))


def test_dataclasses_validate_directly() -> None:
    with pytest.raises(ValueError):
        EveryNWeeks(2, frozenset({0}), datetime(2026, 1, 5))
    with pytest.raises(ValueError):
        EveryNWeeks(True, frozenset({0}), date(2026, 1, 5))
    with pytest.raises(ValueError):
        MonthlyWeekday(5, 0)
    with pytest.raises(ValueError):
        MonthlyWeekday("last", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MonthlyDay(32)
    with pytest.raises(ValueError):
        Weekly(frozenset())
    assert Weekly(frozenset({1})).kind is CadenceKind.WEEKLY


# --------------------------------------------------------------------------------------------
# runs_on
# --------------------------------------------------------------------------------------------


def test_runs_on_every_two_weeks_counts_monday_weeks_from_start() -> None:
    cad = EveryNWeeks(2, frozenset({0, 2}), date(2026, 3, 4))  # a Wednesday
    assert not runs_on(cad, date(2026, 3, 2))  # Monday of week 0, but before the start date
    assert runs_on(cad, date(2026, 3, 4))
    assert not runs_on(cad, date(2026, 3, 9))  # week 1
    assert not runs_on(cad, date(2026, 3, 11))
    assert runs_on(cad, date(2026, 3, 16))  # week 2
    assert runs_on(cad, date(2026, 3, 18))
    assert not runs_on(cad, date(2026, 3, 17))  # a Tuesday
    assert not runs_on(cad, date(2026, 2, 16))  # an earlier even week: before start


def test_runs_on_start_on_sunday_makes_that_week_week_zero() -> None:
    cad = EveryNWeeks(3, frozenset({0, 6}), date(2026, 3, 8))  # Sunday
    assert runs_on(cad, date(2026, 3, 8))
    assert [d for d in days_in(date(2026, 3, 1), date(2026, 4, 30)) if runs_on(cad, d)] == [
        date(2026, 3, 8),
        date(2026, 3, 23),
        date(2026, 3, 29),
        date(2026, 4, 13),
        date(2026, 4, 19),
    ]


def test_monthly_day_31_uses_last_day_of_short_months() -> None:
    got = [d for d in days_in(date(2027, 1, 1), date(2028, 12, 31)) if runs_on(MonthlyDay(31), d)]
    assert len(got) == 24
    assert got[:4] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert date(2028, 2, 29) in got
    assert all(d == date(d.year, d.month, calendar.monthrange(d.year, d.month)[1]) for d in got)
    assert runs_on(MonthlyDay(30), date(2027, 2, 28))
    assert not runs_on(MonthlyDay(30), date(2027, 3, 31))
    assert runs_on(MonthlyDay(1), date(2027, 3, 1))


def test_monthly_weekday_examples_2026() -> None:
    year = days_in(date(2026, 1, 1), date(2026, 12, 31))
    first_mondays = [d.day for d in year if runs_on(MonthlyWeekday(1, 0), d)]
    assert first_mondays == [5, 2, 2, 6, 4, 1, 6, 3, 7, 5, 2, 7]
    last_fridays = [d.day for d in year if runs_on(MonthlyWeekday(LAST, 4), d)]
    assert last_fridays == [30, 27, 27, 24, 29, 26, 31, 28, 25, 30, 27, 25]
    fourth_thursdays = [d for d in year if runs_on(MonthlyWeekday(4, 3), d)]
    assert date(2026, 11, 26) in fourth_thursdays  # US Thanksgiving
    assert len(fourth_thursdays) == 12


# --------------------------------------------------------------------------------------------
# Explicit DST cases
# --------------------------------------------------------------------------------------------


def test_every_other_monday_new_york_across_march_transition() -> None:
    cad = EveryNWeeks(2, frozenset({0}), date(2026, 2, 23))
    got = occurrences_between(cad, time(9, 30), NY, utc(2026, 2, 20), utc(2026, 4, 1))
    assert got == [
        (date(2026, 2, 23), utc(2026, 2, 23, 14, 30)),  # EST, UTC-5
        (date(2026, 3, 9), utc(2026, 3, 9, 13, 30)),  # EDT from 2026-03-08, UTC-4
        (date(2026, 3, 23), utc(2026, 3, 23, 13, 30)),
    ]


def test_every_other_monday_new_york_across_november_transition() -> None:
    cad = EveryNWeeks(2, frozenset({0}), date(2026, 2, 23))
    got = occurrences_between(cad, time(9, 30), NY, utc(2026, 10, 15), utc(2026, 11, 20))
    assert got == [
        (date(2026, 10, 19), utc(2026, 10, 19, 13, 30)),  # EDT
        (date(2026, 11, 2), utc(2026, 11, 2, 14, 30)),  # EST from 2026-11-01
        (date(2026, 11, 16), utc(2026, 11, 16, 14, 30)),
    ]
    assert next_occurrence(cad, time(9, 30), NY, utc(2026, 10, 19, 13, 30)) == got[1]


def test_every_other_sunday_in_the_gap_and_the_overlap() -> None:
    # 2026-03-08 and 2026-11-01 are both in even weeks counted from 2026-03-08.
    cad = EveryNWeeks(2, frozenset({6}), date(2026, 3, 8))
    spring = occurrences_between(cad, time(2, 30), NY, utc(2026, 3, 1), utc(2026, 3, 16))
    assert spring == [(date(2026, 3, 8), utc(2026, 3, 8, 7, 0))]  # 02:30 missing -> 03:00 EDT
    fall = occurrences_between(cad, time(1, 30), NY, utc(2026, 10, 30), utc(2026, 11, 3))
    assert fall == [(date(2026, 11, 1), utc(2026, 11, 1, 5, 30))]  # first 01:30 (EDT), once


def test_first_monday_berlin_summer_vs_winter_time() -> None:
    cad = MonthlyWeekday(1, 0)
    april = next_occurrence(cad, time(9, 30), BERLIN, utc(2026, 4, 1))
    november = next_occurrence(cad, time(9, 30), BERLIN, utc(2026, 10, 10))
    assert april == (date(2026, 4, 6), utc(2026, 4, 6, 7, 30))  # CEST, UTC+2
    assert november == (date(2026, 11, 2), utc(2026, 11, 2, 8, 30))  # CET, UTC+1


def test_first_sunday_lord_howe_lands_on_both_transitions() -> None:
    cad = MonthlyWeekday(1, 6)
    # 2026-10-04 02:00 -> 02:30: 02:15 does not exist and fires when the gap ends.
    assert next_occurrence(cad, time(2, 15), LORD_HOWE, utc(2026, 9, 10)) == (
        date(2026, 10, 4),
        utc(2026, 10, 3, 15, 30),
    )
    # 2026-04-05 02:00 -> 01:30: 01:45 happens twice and fires at the first (UTC+11).
    got = occurrences_between(cad, time(1, 45), LORD_HOWE, utc(2026, 3, 20), utc(2026, 4, 20))
    assert got == [(date(2026, 4, 5), utc(2026, 4, 4, 14, 45))]


def test_monthly_31_kolkata_leap_and_common_february() -> None:
    cad = MonthlyDay(31)
    got = occurrences_between(cad, time(9, 0), KOLKATA, utc(2027, 1, 15), utc(2027, 5, 15))
    assert got == [
        (date(2027, 1, 31), utc(2027, 1, 31, 3, 30)),
        (date(2027, 2, 28), utc(2027, 2, 28, 3, 30)),
        (date(2027, 3, 31), utc(2027, 3, 31, 3, 30)),
        (date(2027, 4, 30), utc(2027, 4, 30, 3, 30)),
    ]
    assert next_occurrence(cad, time(9, 0), KOLKATA, utc(2028, 2, 1)) == (
        date(2028, 2, 29),
        utc(2028, 2, 29, 3, 30),
    )


def test_last_friday_new_york_late_evening_crosses_utc_date() -> None:
    cad = MonthlyWeekday(LAST, 4)
    got = occurrences_between(cad, time(22, 0), NY, utc(2026, 3, 1), utc(2026, 5, 1))
    assert got == [
        (date(2026, 3, 27), utc(2026, 3, 28, 2, 0)),
        (date(2026, 4, 24), utc(2026, 4, 25, 2, 0)),
    ]


def test_skipped_calendar_day_reported_once_like_timemath() -> None:
    # Samoa skipped 2011-12-30; its midnight coincides with 2011-12-31 00:00.
    every_day = Weekly(frozenset(range(7)))
    start, end = utc(2011, 12, 29), utc(2012, 1, 1)
    got = occurrences_between(every_day, time(0, 0), APIA, start, end)
    assert got == timemath.occurrences_between(frozenset(range(7)), time(0, 0), APIA, start, end)
    assert got[1] == (date(2011, 12, 31), utc(2011, 12, 30, 10))
    assert next_occurrence(every_day, time(0, 0), APIA, utc(2011, 12, 29, 10)) == got[1]
    # Only the skipped Friday selected: its instant is still reported, under its own date.
    friday = Weekly(frozenset({4}))
    assert next_occurrence(friday, time(0, 0), APIA, utc(2011, 12, 29, 10)) == (
        date(2011, 12, 30),
        utc(2011, 12, 30, 10),
    )


def test_occurrence_pushed_onto_next_local_date_is_found() -> None:
    # 09:00 on skipped 2011-12-30 in Samoa becomes 2011-12-31 00:00 local (10:00 UTC). A window
    # starting exactly then has local date 2011-12-31 but must still report 2011-12-30's run.
    start = utc(2011, 12, 30, 10)
    friday = Weekly(frozenset({4}))
    assert occurrences_between(friday, time(9), APIA, start, start + timedelta(days=1)) == [
        (date(2011, 12, 30), start)
    ]
    assert next_occurrence(friday, time(9), APIA, start - timedelta(microseconds=1)) == (
        date(2011, 12, 30),
        start,
    )


def test_half_open_window_and_strictly_after() -> None:
    cad = MonthlyDay(15)
    due = utc(2026, 6, 15, 7, 0)  # 09:00 CEST
    # June has 30 days: 15 July 09:00 is exactly the (excluded) end of the window.
    assert occurrences_between(cad, time(9), BERLIN, due, due + timedelta(days=30)) == [
        (date(2026, 6, 15), due)
    ]
    assert occurrences_between(cad, time(9), BERLIN, due - timedelta(days=31), due) == [
        (date(2026, 5, 15), utc(2026, 5, 15, 7, 0))
    ]
    assert next_occurrence(cad, time(9), BERLIN, due - timedelta(microseconds=1)) == (
        date(2026, 6, 15),
        due,
    )
    assert next_occurrence(cad, time(9), BERLIN, due) == (
        date(2026, 7, 15),
        utc(2026, 7, 15, 7, 0),
    )


def test_empty_window_and_naive_datetimes() -> None:
    cad = Weekly(frozenset({0}))
    assert occurrences_between(cad, time(9), NY, utc(2026, 2, 1), utc(2026, 1, 1)) == []
    assert occurrences_between(cad, time(9), NY, utc(2026, 2, 1), utc(2026, 2, 1)) == []
    with pytest.raises(ValueError):
        occurrences_between(cad, time(9), NY, datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError):
        next_occurrence(cad, time(9), NY, datetime(2026, 1, 1))


def test_next_occurrence_far_future_start_and_end_of_calendar() -> None:
    cad = EveryNWeeks(12, frozenset({3}), date(2061, 5, 4))  # a Wednesday: Thursday runs
    assert next_occurrence(cad, time(9), BERLIN, utc(2026, 1, 1)) == (
        date(2061, 5, 5),
        utc(2061, 5, 5, 7, 0),
    )
    assert next_occurrence(MonthlyDay(31), time(9), KOLKATA, utc(9999, 12, 31, 12)) is None


# --------------------------------------------------------------------------------------------
# Work is proportional to run dates, not to days or to the gap before the next run
# --------------------------------------------------------------------------------------------


def lines_executed(func: Callable[[], object]) -> int:
    """Count line events executed inside bot/rules/cadence.py while running func."""
    target = cadence_module.__file__
    count = 0

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if frame.f_code.co_filename != target:
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        func()
    finally:
        sys.settrace(previous)
    return count


def test_work_bounds() -> None:
    monthly = MonthlyWeekday(LAST, 4)
    one_year = lines_executed(
        lambda: occurrences_between(monthly, time(9), BERLIN, utc(2026, 1, 1), utc(2027, 1, 1))
    )
    ten_years = lines_executed(
        lambda: occurrences_between(monthly, time(9), BERLIN, utc(2026, 1, 1), utc(2036, 1, 1))
    )
    assert ten_years < 12 * one_year  # linear in runs (10x), with room for constant overhead
    assert ten_years < 45 * 120  # ~120 runs: a small fixed number of lines each, not per day
    fortnightly = EveryNWeeks(12, frozenset({0}), date(2026, 1, 5))
    week = lines_executed(
        lambda: next_occurrence(fortnightly, time(9), NY, utc(2026, 1, 6))  # 12 weeks ahead
    )
    far = lines_executed(
        lambda: next_occurrence(
            EveryNWeeks(2, frozenset({0}), date(2300, 1, 1)), time(9), NY, utc(2026, 1, 6)
        )
    )
    assert week < 200
    assert far < 200


# --------------------------------------------------------------------------------------------
# describe / JSON
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cad", "text"),
    [
        (weekly(0b0011111), "Mon–Fri"),
        (weekly([0, 2]), "Mon, Wed"),
        (weekly([0, 2, 4]), "Mon, Wed, Fri"),
        (weekly([0, 1, 2, 4, 5]), "Mon–Wed, Fri, Sat"),
        (weekly([5, 6]), "Sat, Sun"),
        (weekly(range(7)), "every day"),
        (EveryNWeeks(2, frozenset({0, 2}), date(2026, 1, 5)), "every 2 weeks on Mon, Wed"),
        (EveryNWeeks(1, frozenset(range(5)), date(2026, 1, 5)), "every week on Mon–Fri"),
        (EveryNWeeks(3, frozenset(range(7)), date(2026, 1, 5)), "every 3 weeks, every day"),
        (MonthlyDay(15), "monthly on the 15th"),
        (MonthlyDay(1), "monthly on the 1st"),
        (MonthlyDay(2), "monthly on the 2nd"),
        (MonthlyDay(3), "monthly on the 3rd"),
        (MonthlyDay(11), "monthly on the 11th"),
        (MonthlyDay(22), "monthly on the 22nd"),
        (MonthlyDay(28), "monthly on the 28th"),
        (MonthlyDay(29), "monthly on the 29th (or the last day of shorter months)"),
        (MonthlyDay(31), "monthly on the 31st (or the last day of shorter months)"),
        (MonthlyWeekday(1, 0), "first Monday of the month"),
        (MonthlyWeekday(3, 2), "third Wednesday of the month"),
        (MonthlyWeekday(LAST, 4), "last Friday of the month"),
    ],
)
def test_describe(cad: Cadence, text: str) -> None:
    assert describe(cad) == text


def test_json_shapes() -> None:
    assert to_json(weekly(0b0010101)) == {"kind": "weekly", "weekdays": [0, 2, 4]}
    assert to_json(EveryNWeeks(2, frozenset({2, 0}), date(2026, 3, 2))) == {
        "kind": "every_n_weeks",
        "interval": 2,
        "weekdays": [0, 2],
        "start": "2026-03-02",
    }
    assert to_json(MonthlyDay(31)) == {"kind": "monthly_day", "day": 31}
    assert to_json(MonthlyWeekday(LAST, 4)) == {
        "kind": "monthly_weekday",
        "nth": "last",
        "weekday": 4,
    }
    assert to_json(MonthlyWeekday(2, 1)) == {"kind": "monthly_weekday", "nth": 2, "weekday": 1}


def test_from_json_legacy_weekly() -> None:
    assert from_json(None, weekday_mask=0b0011111) == Weekly(frozenset(range(5)))
    with pytest.raises(ValueError, match="weekday mask"):
        from_json(None)
    with pytest.raises(ValueError):
        from_json(None, weekday_mask=0)
    # Stored JSON wins over the legacy mask.
    assert from_json({"kind": "monthly_day", "day": 3}, weekday_mask=1) == MonthlyDay(3)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([], "JSON object"),
        ("weekly", "JSON object"),
        ({}, "unknown kind None"),
        ({"kind": "fortnightly"}, "unknown kind 'fortnightly'"),
        ({"kind": ["weekly"]}, "unknown kind"),
        ({"kind": "weekly"}, "missing weekdays"),
        ({"kind": "weekly", "weekdays": [1], "day": 3}, "unexpected day"),
        ({"kind": "weekly", "weekdays": []}, "at least one day"),
        ({"kind": "weekly", "weekdays": [0, 0]}, "twice"),
        ({"kind": "weekly", "weekdays": "01"}, "list"),
        ({"kind": "weekly", "weekdays": [True]}, "0 (Mon) to 6 (Sun)"),
        ({"kind": "weekly", "weekdays": [1.0]}, "0 (Mon) to 6 (Sun)"),
        ({"kind": "every_n_weeks", "interval": 2, "weekdays": [0]}, "missing start"),
        (
            {"kind": "every_n_weeks", "interval": 0, "weekdays": [0], "start": "2026-01-05"},
            "1 to 12",
        ),
        (
            {"kind": "every_n_weeks", "interval": "2", "weekdays": [0], "start": "2026-01-05"},
            "1 to 12",
        ),
        (
            {"kind": "every_n_weeks", "interval": 2, "weekdays": [0], "start": "2026-02-30"},
            "YYYY-MM-DD",
        ),
        (
            {"kind": "every_n_weeks", "interval": 2, "weekdays": [0], "start": "20260105"},
            "YYYY-MM-DD",
        ),
        ({"kind": "every_n_weeks", "interval": 2, "weekdays": [0], "start": None}, "YYYY-MM-DD"),
        ({"kind": "monthly_day", "day": 0}, "1 to 31"),
        ({"kind": "monthly_day", "day": 32}, "1 to 31"),
        ({"kind": "monthly_day", "day": "15"}, "1 to 31"),
        ({"kind": "monthly_weekday", "nth": 5, "weekday": 0}, "nth"),
        ({"kind": "monthly_weekday", "nth": -1, "weekday": 0}, "nth"),
        ({"kind": "monthly_weekday", "nth": "first", "weekday": 0}, "nth"),
        ({"kind": "monthly_weekday", "nth": 1, "weekday": 7}, "0 (Mon) to 6 (Sun)"),
    ],
)
def test_from_json_rejects_bad_data(data: object, needle: str) -> None:
    with pytest.raises(ValueError, match="cadence") as info:
        from_json(data)
    assert needle in str(info.value)


# --------------------------------------------------------------------------------------------
# Property tests across DST zones
# --------------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

zone_names = st.sampled_from(sorted(ZONES))
# Half the wall times sit where New York, Berlin and Lord Howe have gaps or overlaps.
local_times = st.one_of(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59])),
    st.sampled_from([time(1, 30), time(2, 0), time(2, 15), time(2, 30), time(2, 45)]),
)
starts = st.dates(date(2025, 1, 1), date(2028, 6, 30))
window_starts = st.datetimes(datetime(2025, 1, 1), datetime(2028, 6, 30), timezones=st.just(UTC))
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)

cadences = st.one_of(
    st.builds(Weekly, weekday_sets),
    st.builds(EveryNWeeks, st.integers(1, 12), weekday_sets, starts),
    st.builds(MonthlyDay, st.integers(1, 31)),
    st.builds(MonthlyWeekday, st.sampled_from([1, 2, 3, 4, LAST]), st.integers(0, 6)),
)


@PROPERTY_SETTINGS
@given(zone_names, weekday_sets, starts, window_starts, local_times)
def test_property_every_two_weeks(
    zone: str, weekdays: frozenset[int], start: date, window_start: datetime, wall: time
) -> None:
    tz = ZONES[zone]
    cad = EveryNWeeks(2, weekdays, start)
    window_end = window_start + timedelta(weeks=9)
    got = occurrences_between(cad, wall, tz, window_start, window_end)
    week0 = start - timedelta(days=start.weekday())
    for day, due in got:
        assert window_start <= due < window_end
        assert day >= start
        assert day.weekday() in weekdays
        assert (day - timedelta(days=day.weekday()) - week0).days % 14 == 0  # alternate weeks
        check_instant(day, due, wall, tz)
    # Exactly one per chosen day in each active week, whenever that day's instant is in range.
    assert got == oracle_occurrences(cad, wall, tz, window_start, window_end)
    assert [d for d, _ in got] == sorted({d for d, _ in got})
    assert all(runs_on(cad, d) for d, _ in got)


@PROPERTY_SETTINGS
@given(zone_names, st.sampled_from([1, LAST]), st.sampled_from([0, 4]), window_starts, local_times)
def test_property_first_monday_and_last_friday(
    zone: str, nth: int, weekday: int, window_start: datetime, wall: time
) -> None:
    tz = ZONES[zone]
    cad = MonthlyWeekday(nth, weekday)
    window_end = window_start + timedelta(days=400)
    got = occurrences_between(cad, wall, tz, window_start, window_end)
    assert 12 <= len(got) <= 14
    for day, due in got:
        assert day.weekday() == weekday
        month_length = calendar.monthrange(day.year, day.month)[1]
        if nth == 1:
            assert day.day <= 7
        else:
            assert day.day > month_length - 7
        check_instant(day, due, wall, tz)
    months = [(d.year, d.month) for d, _ in got]
    assert len(set(months)) == len(months)  # one per month
    assert got == oracle_occurrences(cad, wall, tz, window_start, window_end)


@PROPERTY_SETTINGS
@given(zone_names, st.integers(28, 31), window_starts, local_times)
def test_property_monthly_day_late_in_month(
    zone: str, day_of_month: int, window_start: datetime, wall: time
) -> None:
    tz = ZONES[zone]
    cad = MonthlyDay(day_of_month)
    window_end = window_start + timedelta(days=370)
    got = occurrences_between(cad, wall, tz, window_start, window_end)
    for day, due in got:
        month_length = calendar.monthrange(day.year, day.month)[1]
        assert day.day == min(day_of_month, month_length)
        check_instant(day, due, wall, tz)
    assert got == oracle_occurrences(cad, wall, tz, window_start, window_end)


@PROPERTY_SETTINGS
@given(zone_names, cadences, window_starts, local_times)
def test_property_any_cadence_matches_oracle_and_runs_on(
    zone: str, cad: Cadence, window_start: datetime, wall: time
) -> None:
    tz = ZONES[zone]
    window_end = window_start + timedelta(days=45)
    got = occurrences_between(cad, wall, tz, window_start, window_end)
    assert got == oracle_occurrences(cad, wall, tz, window_start, window_end)
    first = window_start.date() - timedelta(days=3)
    expected_dates = set(oracle_dates(cad, first, first + timedelta(days=51)))
    for day in days_in(first, first + timedelta(days=51)):
        assert runs_on(cad, day) == (day in expected_dates)


@PROPERTY_SETTINGS
@given(zone_names, cadences, window_starts, local_times)
def test_property_next_occurrence_is_first_of_window(
    zone: str, cad: Cadence, after: datetime, wall: time
) -> None:
    tz = ZONES[zone]
    result = next_occurrence(cad, wall, tz, after)
    horizon = after + timedelta(days=400)
    if isinstance(cad, EveryNWeeks):
        horizon = max(horizon, datetime.combine(cad.start, time(), UTC) + timedelta(days=100))
    window = occurrences_between(cad, wall, tz, after + timedelta(microseconds=1), horizon)
    assert window, "every cadence runs within 400 days (or 12 weeks of its start)"
    assert result == window[0]
    day, due = result
    assert due > after
    check_instant(day, due, wall, tz)
    # Re-scheduling from the occurrence itself yields the next element.
    if len(window) > 1:
        assert next_occurrence(cad, wall, tz, due) == window[1]


@PROPERTY_SETTINGS
@given(weekday_sets, window_starts, st.builds(time, st.integers(0, 23), st.integers(0, 59)))
def test_property_weekly_is_todays_behaviour(
    weekdays: frozenset[int], window_start: datetime, wall: time
) -> None:
    for tz in ZONES.values():
        end = window_start + timedelta(days=15)
        mask = timemath.weekdays_to_mask(weekdays)
        cad = from_json(None, weekday_mask=mask)
        assert occurrences_between(cad, wall, tz, window_start, end) == (
            timemath.occurrences_between(weekdays, wall, tz, window_start, end)
        )
        assert next_occurrence(cad, wall, tz, window_start) == timemath.next_occurrence(
            weekdays, wall, tz, window_start
        )


@settings(max_examples=100, deadline=None)
@given(cadences)
def test_property_json_round_trip(cad: Cadence) -> None:
    stored = json.loads(json.dumps(to_json(cad)))
    assert from_json(stored) == cad
    assert describe(from_json(stored)) == describe(cad)
    assert describe(cad) and "  " not in describe(cad)
