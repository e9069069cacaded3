"""Tests for bot.rules.blockers: working-day counting, overdue blockers and age wording."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.blockers import (
    DEFAULT_ESCALATION_DAYS,
    MAX_ESCALATION_DAYS,
    WORK_WEEK,
    age_text,
    escalation_days_error,
    escalation_days_of,
    is_overdue,
    working_days_between,
)

MON = date(2024, 3, 4)
FRI = date(2024, 3, 8)
SAT = date(2024, 3, 9)
NEXT_MON = date(2024, 3, 11)

weekday_sets = st.frozensets(st.integers(0, 6))
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


def brute_force(start: date, end: date, weekdays: frozenset[int]) -> int:
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        count += day.weekday() in weekdays
        day += timedelta(days=1)
    return count


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (MON, MON, 0),
        (MON, MON + timedelta(days=1), 1),
        (MON, FRI, 4),
        (FRI, SAT, 0),
        (FRI, NEXT_MON, 1),
        (SAT, NEXT_MON, 1),
        (MON, NEXT_MON, 5),
        (MON, MON + timedelta(days=28), 20),
        (FRI, MON, 0),
    ],
)
def test_working_days_mon_to_fri(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


def test_custom_weekdays() -> None:
    sun_to_thu = frozenset({6, 0, 1, 2, 3})
    assert working_days_between(date(2024, 3, 7), NEXT_MON, sun_to_thu) == 2  # Sun + Mon
    assert working_days_between(MON, NEXT_MON, frozenset()) == 0
    assert working_days_between(MON, NEXT_MON, frozenset(range(7))) == 7


def test_weekdays_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError):
        working_days_between(MON, FRI, frozenset({7}))


@settings(max_examples=300)
@given(dates, st.integers(-20, 400), weekday_sets)
def test_matches_day_by_day_count(start: date, span: int, weekdays: frozenset[int]) -> None:
    end = start + timedelta(days=span)
    assert working_days_between(start, end, weekdays) == brute_force(start, end, weekdays)


@given(dates, dates, dates, weekday_sets)
def test_additive_over_consecutive_ranges(
    a: date, b: date, c: date, weekdays: frozenset[int]
) -> None:
    a, b, c = sorted((a, b, c))
    assert working_days_between(a, c, weekdays) == working_days_between(
        a, b, weekdays
    ) + working_days_between(b, c, weekdays)


def test_is_overdue_counts_working_days_only() -> None:
    # Raised Friday with a 1-working-day threshold: not overdue over the weekend or Monday,
    # overdue on Tuesday.
    assert not is_overdue(FRI, SAT, 1)
    assert not is_overdue(FRI, NEXT_MON, 1)
    assert is_overdue(FRI, NEXT_MON + timedelta(days=1), 1)
    assert is_overdue(FRI, NEXT_MON, 0)
    assert not is_overdue(FRI, FRI, 0)
    assert not is_overdue(FRI, date(2030, 1, 1), 5, frozenset())
    assert is_overdue(FRI, NEXT_MON, 1, frozenset(range(7)))
    with pytest.raises(ValueError):
        is_overdue(FRI, NEXT_MON, -1)


@given(dates, st.integers(0, 60), st.integers(0, 20), weekday_sets)
def test_overdue_stays_overdue(
    opened: date, age: int, threshold: int, weekdays: frozenset[int]
) -> None:
    today = opened + timedelta(days=age)
    if is_overdue(opened, today, threshold, weekdays):
        assert is_overdue(opened, today + timedelta(days=1), threshold, weekdays)
        assert not is_overdue(opened, today, threshold + 60, weekdays)


def test_work_week_is_monday_to_friday() -> None:
    assert frozenset({0, 1, 2, 3, 4}) == WORK_WEEK


@pytest.mark.parametrize(
    ("days", "text"),
    [(-2, "since today"), (0, "since today"), (1, "since yesterday"), (2, "for 2 days"),
     (3, "for 3 days"), (45, "for 45 days")],
)  # fmt: skip
def test_age_text(days: int, text: str) -> None:
    assert age_text(MON, MON + timedelta(days=days)) == text


# --- "Escalate blockers after (working days)", the standup's setting --------------------------


def test_escalation_days_default_and_bounds() -> None:
    assert (DEFAULT_ESCALATION_DAYS, MAX_ESCALATION_DAYS) == (2, 30)
    assert escalation_days_of(None) == 2  # left empty
    assert escalation_days_of(0) == 0 and escalation_days_of(30) == 30
    for fine in (None, 0, 1, 2, 29, 30):
        assert escalation_days_error(fine) is None, fine


@pytest.mark.parametrize("days", [-1, 31, 100, -100_000, 10**12])
def test_escalation_days_out_of_range_say_what_to_give(days: int) -> None:
    message = escalation_days_error(days)
    assert message is not None
    assert "whole number of working days from 0 to 30" in message
    assert "empty for 2" in message


@given(st.integers())
def test_escalation_days_error_is_exactly_the_range(days: int) -> None:
    assert (escalation_days_error(days) is None) == (0 <= days <= 30)
