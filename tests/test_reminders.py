"""Tests for bot.rules.reminders: when the nudge is due, and the reminder form value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.reminders import (
    ReminderSetting,
    parse_reminder,
    prompt_reminder_at,
    reminder_due_at,
    reminder_error,
)

OPENS = datetime(2026, 4, 8, 7, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(hours=4)
WINDOW = CLOSES - OPENS


def test_off() -> None:
    assert reminder_due_at(OPENS, CLOSES, None, default_halfway=False) is None


def test_halfway_by_default() -> None:
    assert reminder_due_at(OPENS, CLOSES, None, default_halfway=True) == OPENS + timedelta(hours=2)
    odd = OPENS + timedelta(minutes=5)  # halfway is exact, not rounded to minutes
    assert reminder_due_at(OPENS, odd, None, default_halfway=True) == OPENS + timedelta(
        minutes=2, seconds=30
    )


def test_minutes_before_close() -> None:
    assert reminder_due_at(OPENS, CLOSES, 30, default_halfway=True) == CLOSES - timedelta(
        minutes=30
    )
    # The flag only matters when no minutes are set.
    assert reminder_due_at(OPENS, CLOSES, 30, default_halfway=False) == CLOSES - timedelta(
        minutes=30
    )
    assert reminder_due_at(OPENS, CLOSES, 239, default_halfway=True) == OPENS + timedelta(minutes=1)


def test_never_before_opening() -> None:
    assert reminder_due_at(OPENS, CLOSES, 240, default_halfway=True) == OPENS
    assert reminder_due_at(OPENS, CLOSES, 10_000, default_halfway=True) == OPENS
    short = OPENS + timedelta(minutes=20)  # e.g. a run started late with a shortened window
    assert reminder_due_at(OPENS, short, 30, default_halfway=True) == OPENS


def test_works_with_any_zone_and_returns_same_instant() -> None:
    berlin_open = OPENS.astimezone(ZoneInfo("Europe/Berlin"))
    due = reminder_due_at(berlin_open, CLOSES, None, default_halfway=True)
    assert due == OPENS + timedelta(hours=2)


@pytest.mark.parametrize("minutes", [0, -5, True])
def test_rejects_non_positive_minutes(minutes: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        reminder_due_at(OPENS, CLOSES, minutes, default_halfway=True)


def test_rejects_bad_windows() -> None:
    with pytest.raises(ValueError, match="closes"):
        reminder_due_at(OPENS, OPENS, None, default_halfway=True)
    with pytest.raises(ValueError, match="closes"):
        reminder_due_at(CLOSES, OPENS, 30, default_halfway=True)
    with pytest.raises(ValueError, match="aware"):
        reminder_due_at(datetime(2026, 4, 8, 7), CLOSES, None, default_halfway=True)
    with pytest.raises(ValueError, match="aware"):
        reminder_due_at(OPENS, datetime(2026, 4, 8, 11), None, default_halfway=True)


# --------------------------------------------------------------------------------------------
# Form value
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", ReminderSetting(None, default_halfway=False)),
        (" Off ", ReminderSetting(None, default_halfway=False)),
        ("none", ReminderSetting(None, default_halfway=False)),
        ("", ReminderSetting(None, default_halfway=True)),
        (None, ReminderSetting(None, default_halfway=True)),
        ("halfway", ReminderSetting(None, default_halfway=True)),
        ("30", ReminderSetting(30, default_halfway=True)),
        ("30 min", ReminderSetting(30, default_halfway=True)),
        ("45m", ReminderSetting(45, default_halfway=True)),
        ("1", ReminderSetting(1, default_halfway=True)),
        ("239", ReminderSetting(239, default_halfway=True)),
    ],
)
def test_parse_reminder_valid(value: str | None, expected: ReminderSetting) -> None:
    assert parse_reminder(value, WINDOW) == expected
    assert reminder_error(value, WINDOW) is None


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("0", "at least 1 minute"),
        ("240", "240 minutes (4 hours)"),
        ("1000", "smaller"),
        ("-5", "“-5” is not a reminder setting"),
        ("1.5", "not a reminder setting"),
        ("soon", "“soon”"),
        ("2h", "“2h”"),
        ("٣٠", "not a reminder setting"),  # non-ASCII digits are not quietly accepted
    ],
)
def test_parse_reminder_errors(value: str, needle: str) -> None:
    message = reminder_error(value, WINDOW)
    assert message is not None
    assert needle in message
    with pytest.raises(ValueError) as info:
        parse_reminder(value, WINDOW)
    assert str(info.value) == message


def test_error_names_the_window_in_minutes() -> None:
    message = reminder_error("90", timedelta(minutes=90))
    assert message is not None
    assert "(90 minutes)" in message


# --------------------------------------------------------------------------------------------
# Properties: a valid form value always yields a reminder strictly inside the window
# --------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 24 * 60), st.integers(1, 24 * 60), st.booleans())
def test_property_valid_setting_falls_inside_window(
    window_minutes: int, minutes: int, halfway_flag: bool
) -> None:
    window = timedelta(minutes=window_minutes)
    closes = OPENS + window
    value = str(minutes)
    if minutes >= window_minutes:
        assert reminder_error(value, window) is not None
        return
    setting = parse_reminder(value, window)
    due = reminder_due_at(
        OPENS, closes, setting.minutes_before, default_halfway=setting.default_halfway
    )
    assert due is not None
    assert OPENS < due < closes
    assert closes - due == timedelta(minutes=minutes)
    halfway = reminder_due_at(OPENS, closes, None, default_halfway=True)
    assert halfway is not None and OPENS < halfway < closes
    assert halfway - OPENS == closes - halfway
    assert reminder_due_at(OPENS, closes, None, default_halfway=halfway_flag) == (
        halfway if halfway_flag else None
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 48 * 60), st.integers(1, 100_000))
def test_property_clamped_to_opening(window_minutes: int, minutes: int) -> None:
    closes = OPENS + timedelta(minutes=window_minutes)
    due = reminder_due_at(OPENS, closes, minutes, default_halfway=True)
    assert due is not None
    assert OPENS <= due < closes
    assert due == max(OPENS, closes - timedelta(minutes=minutes))


# --------------------------------------------------------------------------------------------
# One person's reminder, from the stored setting (None halfway, 0 off, N minutes before)
# --------------------------------------------------------------------------------------------


def test_prompt_reminder_follows_the_stored_setting() -> None:
    assert prompt_reminder_at(OPENS, CLOSES, None) == OPENS + timedelta(hours=2)
    assert prompt_reminder_at(OPENS, CLOSES, 30) == CLOSES - timedelta(minutes=30)
    assert prompt_reminder_at(OPENS, CLOSES, 0) is None
    assert prompt_reminder_at(OPENS, CLOSES, -3) is None  # never stored, never a crash


def test_prompt_reminder_counts_from_when_the_prompt_was_sent() -> None:
    late = OPENS + timedelta(hours=1)  # sent an hour late, after downtime
    assert prompt_reminder_at(late, CLOSES, None) == late + timedelta(hours=1, minutes=30)


def test_no_prompt_reminder_when_it_would_not_come_after_the_prompt() -> None:
    assert prompt_reminder_at(None, CLOSES, None) is None  # never sent
    assert prompt_reminder_at(CLOSES, CLOSES, None) is None  # sent as the run closed
    assert prompt_reminder_at(CLOSES + timedelta(minutes=1), CLOSES, 30) is None
    # 30 minutes before the close would be before the prompt: no reminder at the prompt itself.
    short = CLOSES - timedelta(minutes=20)
    assert prompt_reminder_at(short, CLOSES, 30) is None


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 24 * 60),
    st.integers(1, 24 * 60),
    st.one_of(st.none(), st.integers(0, 24 * 60)),
)
def test_property_a_prompt_reminder_falls_after_the_prompt_and_before_the_close(
    sent_after_open: int, window_minutes: int, stored: int | None
) -> None:
    sent = OPENS + timedelta(minutes=sent_after_open)
    closes = OPENS + timedelta(minutes=window_minutes)
    due = prompt_reminder_at(sent, closes, stored)
    if due is not None:
        assert sent < due < closes
        # A close that moves later never brings the reminder earlier.
        later = prompt_reminder_at(sent, closes + timedelta(minutes=90), stored)
        assert later is not None and later >= due
