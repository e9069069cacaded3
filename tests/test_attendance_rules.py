"""Pure attendance rules (issue 9): combining away periods, clearing them, who is absent on
their own date, cached holiday look-ups, `/standup skip` parsing, and the summary's Away group."""

from __future__ import annotations

import datetime as dt
import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.attendance import (
    Absence,
    HolidayLookup,
    SkipArgs,
    absence,
    next_holiday,
    one_year_after,
    parse_skip,
    person_date,
    skip_date_problem,
)
from bot.rules.away import ParseError, Range, clear_from, mentioned_user, merge_period
from bot.rules.digest import ParticipantStatus, build_digest, nobody_asked
from bot.views.messages import summary_message

D = date


# --- merge_period ---------------------------------------------------------------------------


def test_a_period_with_nothing_around_it_stands_alone() -> None:
    merged = merge_period([(D(2026, 11, 1), D(2026, 11, 3))], D(2026, 12, 21), D(2027, 1, 4))
    assert (merged.start, merged.end, merged.absorbed, merged.shortened) == (
        D(2026, 12, 21),
        D(2027, 1, 4),
        (),
        False,
    )


def test_extending_keeps_what_was_set() -> None:
    merged = merge_period([(D(2026, 12, 21), D(2027, 1, 4))], D(2026, 12, 28), D(2027, 1, 8))
    assert (merged.start, merged.end, merged.shortened) == (D(2026, 12, 21), D(2027, 1, 8), False)
    assert merged.absorbed == ((D(2026, 12, 21), D(2027, 1, 4)),)


def test_a_new_end_for_the_same_start_moves_the_return_date_earlier() -> None:
    merged = merge_period([(D(2026, 12, 21), D(2027, 1, 4))], D(2026, 12, 21), D(2026, 12, 28))
    assert (merged.start, merged.end, merged.shortened) == (D(2026, 12, 21), D(2026, 12, 28), True)


def test_until_while_away_shortens_the_period_in_progress() -> None:
    # Away 21 Dec - 4 Jan; on 23 Dec: "/standup ooo until 2026-12-28".
    merged = merge_period([(D(2026, 12, 21), D(2027, 1, 4))], D(2026, 12, 23), D(2026, 12, 28))
    assert (merged.start, merged.end, merged.shortened) == (D(2026, 12, 21), D(2026, 12, 28), True)


def test_starting_earlier_and_touching_periods_merge_whole() -> None:
    existing = [(D(2026, 12, 21), D(2026, 12, 24)), (D(2026, 12, 29), D(2027, 1, 2))]
    # Starts before the first, ends the day before the second: all three become one.
    merged = merge_period(existing, D(2026, 12, 18), D(2026, 12, 28))
    assert (merged.start, merged.end, merged.shortened) == (D(2026, 12, 18), D(2027, 1, 2), False)
    assert merged.absorbed == tuple(existing)
    # The day right after a period: combined with it.
    after = merge_period([(D(2026, 12, 21), D(2026, 12, 24))], D(2026, 12, 25), D(2026, 12, 26))
    assert (after.start, after.end) == (D(2026, 12, 21), D(2026, 12, 26))


periods = st.tuples(st.dates(D(2026, 1, 1), D(2026, 3, 1)), st.integers(0, 20)).map(
    lambda p: (p[0], p[0] + timedelta(days=p[1]))
)


@settings(max_examples=300, deadline=None)
@given(st.lists(periods, max_size=4), periods)
def test_property_the_new_range_is_always_away_and_nothing_else_is_lost_unless_shortened(
    existing: list[Range], new: Range
) -> None:
    merged = merge_period(existing, *new)
    assert merged.start <= new[0] and merged.end >= new[1]
    kept = [r for r in existing if r not in merged.absorbed]
    # What was not absorbed neither overlaps nor touches the result.
    for start, end in kept:
        assert end + timedelta(days=1) < merged.start or start > merged.end + timedelta(days=1)
    if not merged.shortened:
        for start, end in merged.absorbed:
            assert merged.start <= start and end <= merged.end


# --- clear_from -----------------------------------------------------------------------------


def test_off_removes_later_periods_and_ends_the_current_one_yesterday() -> None:
    today = D(2026, 12, 23)
    cleared = clear_from(
        [
            (D(2026, 12, 1), D(2026, 12, 5)),  # over: kept as it was
            (D(2026, 12, 21), D(2027, 1, 4)),  # in progress: ends yesterday
            (D(2027, 2, 1), D(2027, 2, 3)),  # later: removed
            (D(2026, 12, 23), D(2026, 12, 23)),  # today only: removed
        ],
        today,
    )
    assert cleared.removed == ((D(2026, 12, 23), D(2026, 12, 23)), (D(2027, 2, 1), D(2027, 2, 3)))
    assert cleared.truncated == (
        ((D(2026, 12, 21), D(2027, 1, 4)), (D(2026, 12, 21), D(2026, 12, 22))),
    )
    assert cleared.changed
    assert not clear_from([(D(2026, 12, 1), D(2026, 12, 5))], today).changed


def test_the_mention_is_read_before_the_dates() -> None:
    assert mentioned_user(["<@U0BOB0001|bob>", "2026-12-21"]) == "U0BOB0001"
    assert mentioned_user(["<@U0BOB0001|Bob", "Smith>", "off"]) == "U0BOB0001"
    assert mentioned_user(["2026-12-21"]) is None
    assert mentioned_user(["@bob"]) is None


# --- who is absent, on whose date -------------------------------------------------------------


def test_person_date_is_their_own_calendar() -> None:
    # A standup at 17:00 in Los Angeles on the 25th: 06:30 on the 26th in Bangalore.
    due = dt.datetime(2027, 1, 26, 1, 0, tzinfo=dt.UTC)
    assert person_date(due, "Asia/Kolkata", D(2027, 1, 25)) == D(2027, 1, 26)
    assert person_date(due, "America/Los_Angeles", D(2027, 1, 25)) == D(2027, 1, 25)
    assert person_date(due, None, D(2027, 1, 25)) == D(2027, 1, 25)
    assert person_date(due, "Not/AZone", D(2027, 1, 25)) == D(2027, 1, 25)


def test_away_wins_over_a_holiday_and_a_person_follows_their_own_calendar() -> None:
    holidays = HolidayLookup()
    republic_day = D(2027, 1, 26)
    away = [(D(2027, 1, 25), D(2027, 1, 27))]
    assert absence(day=republic_day, away=away, calendar="IN-KA", holidays=holidays) == (
        Absence.AWAY
    )
    assert absence(day=republic_day, away=[], calendar="IN-KA", holidays=holidays) == (
        Absence.HOLIDAY
    )
    assert absence(day=republic_day, away=[], calendar="DE", holidays=holidays) is None
    assert absence(day=D(2027, 11, 1), away=[], calendar="IN-KA", holidays=holidays) == (
        Absence.HOLIDAY
    )
    assert absence(day=D(2027, 11, 1), away=[], calendar=None, holidays=holidays) is None


def test_holiday_look_ups_are_cached_per_calendar_and_date() -> None:
    asked: list[tuple[str, date]] = []

    def lookup(code: str, day: date) -> str | None:
        asked.append((code, day))
        if code == "XX":
            raise ValueError("a code the package no longer knows")
        return "Republic Day" if (code, day) == ("IN", D(2027, 1, 26)) else None

    holidays = HolidayLookup(lookup)
    for _ in range(300):  # 300 participants, two calendars, one day
        assert holidays.name("IN", D(2027, 1, 26)) == "Republic Day"
        assert holidays.name("DE", D(2027, 1, 26)) is None
        assert holidays.name("XX", D(2027, 1, 26)) is None  # counts as no holiday
        assert holidays.name(None, D(2027, 1, 26)) is None
    assert sorted(asked) == [("DE", D(2027, 1, 26)), ("IN", D(2027, 1, 26)), ("XX", D(2027, 1, 26))]
    assert holidays.misses == 3


def test_next_holiday() -> None:
    holidays = HolidayLookup()
    assert next_holiday("IN-KA", D(2027, 1, 20), holidays) == (D(2027, 1, 26), "Republic Day")
    assert next_holiday(None, D(2027, 1, 20), holidays) is None


# --- /standup skip ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("Daily", SkipArgs("Daily")),
        ("Team sync", SkipArgs("Team sync")),
        ("Daily 2026-12-24", SkipArgs("Daily", D(2026, 12, 24))),
        ("Team  sync   2026-12-24", SkipArgs("Team sync", D(2026, 12, 24))),
        ("2026-12-24", SkipArgs("2026-12-24")),  # a lone word is the name
        ("Retro v2", SkipArgs("Retro v2")),
    ],
)
def test_parse_skip(argument: str, expected: SkipArgs) -> None:
    assert parse_skip(argument) == expected


@pytest.mark.parametrize("bad", ["2026-02-30", "24/12/2026", "2026-13-01", "12-24"])
def test_parse_skip_refuses_a_date_it_cannot_read(bad: str) -> None:
    result = parse_skip(f"Daily {bad}")
    assert isinstance(result, ParseError)
    assert f"“{bad}”" in result.message and "YYYY-MM-DD" in result.message
    assert isinstance(parse_skip("   "), ParseError)


def test_skip_dates_from_today_up_to_a_year_ahead() -> None:
    today = D(2026, 12, 1)
    assert skip_date_problem(today, today) is None
    assert skip_date_problem(D(2027, 12, 1), today) is None
    past = skip_date_problem(D(2026, 11, 30), today)
    assert past is not None and "in the past" in past and "2026-12-01" in past
    far = skip_date_problem(D(2027, 12, 2), today)
    assert far is not None and "more than a year ahead" in far and "2027-12-01" in far
    assert one_year_after(D(2028, 2, 29)) == D(2029, 2, 28)


# --- the summary ----------------------------------------------------------------------------


def test_away_and_holiday_are_away_before_and_after_the_close_never_missing() -> None:
    statuses = [
        ParticipantStatus("U1", "answered"),
        ParticipantStatus("U2", "away"),
        ParticipantStatus("U3", "sent"),
        ParticipantStatus("U4", "holiday"),
    ]
    for final in (False, True):
        digest = build_digest(statuses, [], final=final)
        assert digest.away == ["U2", "U4"]
        assert "U2" not in digest.missed + digest.waiting
        assert "U4" not in digest.missed + digest.waiting
    assert nobody_asked(["away", "holiday"]) and not nobody_asked(["away", "sent"])
    assert not nobody_asked([])


@pytest.mark.parametrize("final", [False, True])
def test_summary_lists_the_away_group_and_counts_only_those_asked(final: bool) -> None:
    statuses = [
        ParticipantStatus("U0ALICE01", "answered"),
        ParticipantStatus("U0BOB0001", "away"),
        ParticipantStatus("U0CAROL01", "pending"),
    ]
    digest = build_digest(statuses, [], final=final)
    message = summary_message(
        standup_name="Daily", local_date="2026-12-21", digest=digest, final=final, total=3
    )
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert "*Away*: <@U0BOB0001>" in sections
    assert "*Answered (1/2)*: <@U0ALICE01>" in sections
    assert not any("U0BOB0001" in s for s in sections if not s.startswith("*Away*"))
    assert "1/2 answered" in message["text"]
    assert json.dumps(message).count("U0BOB0001") == 1
