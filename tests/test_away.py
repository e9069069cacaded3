"""Tests for bot.rules.away: every ``/standup ooo`` form, each error, ranges and wording."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.away import (
    MAX_RANGE_DAYS,
    USAGE,
    AwayClear,
    AwayCommand,
    AwaySet,
    AwayShow,
    ParseError,
    describe_range,
    is_away,
    parse_ooo,
)

TODAY = date(2026, 4, 8)  # a Wednesday


def ok(tokens: list[str], today: date = TODAY) -> AwayCommand:
    result = parse_ooo(tokens, today)
    assert not isinstance(result, ParseError), result
    return result


def error(tokens: list[str], today: date = TODAY) -> str:
    result = parse_ooo(tokens, today)
    assert isinstance(result, ParseError), result
    assert result.message.endswith(USAGE)  # every error names the correct usage
    return result.message


# --------------------------------------------------------------------------------------------
# Valid forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ([], AwayShow()),
        (["off"], AwayClear()),
        (["OFF"], AwayClear()),
        (["until", "2026-04-10"], AwaySet(TODAY, date(2026, 4, 10))),
        (["Until", "2026-04-08"], AwaySet(TODAY, TODAY)),
        (["2026-04-13", "2026-04-17"], AwaySet(date(2026, 4, 13), date(2026, 4, 17))),
        (["2026-04-13"], AwaySet(date(2026, 4, 13), date(2026, 4, 13))),
        (["2026-04-08"], AwaySet(TODAY, TODAY)),  # today itself is fine
        (["2026-04-01", "2026-04-08"], AwaySet(date(2026, 4, 1), TODAY)),  # started already
        (["2026-04-08", "2027-04-08"], AwaySet(TODAY, date(2027, 4, 8))),  # 366 days, the max
        (["", " 2026-04-13 ", "  "], AwaySet(date(2026, 4, 13), date(2026, 4, 13))),
    ],
)
def test_forms_for_myself(tokens: list[str], expected: AwayCommand) -> None:
    assert ok(tokens) == expected


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (["<@U123ABC>"], AwayShow("U123ABC")),
        (["<@U123ABC|ana>", "off"], AwayClear("U123ABC")),
        (["<@W9ZZ>", "until", "2026-04-10"], AwaySet(TODAY, date(2026, 4, 10), "W9ZZ")),
        (
            ["<@U123ABC|ana>", "2026-04-13", "2026-04-17"],
            AwaySet(date(2026, 4, 13), date(2026, 4, 17), "U123ABC"),
        ),
        (["<@U123ABC>", "2026-04-13"], AwaySet(date(2026, 4, 13), date(2026, 4, 13), "U123ABC")),
        # A label containing spaces arrives split over tokens.
        (["<@U123ABC|Ana", "López>", "off"], AwayClear("U123ABC")),
    ],
)
def test_forms_for_someone_else(tokens: list[str], expected: AwayCommand) -> None:
    assert ok(tokens) == expected


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["tomorrow", "2026-4-13", "13/04/2026", "2026-02-30", "2026-13-01", "20260413", "٢٠٢٦-٠٤-١٣"],
)
def test_unparseable_date_is_quoted_with_the_format(bad: str) -> None:
    message = error([bad])
    assert f"“{bad}”" in message
    assert "YYYY-MM-DD" in message
    assert "e.g. 2026-04-08" in message


def test_unparseable_end_date_and_until_date() -> None:
    assert "“2026-04-31”" in error(["2026-04-13", "2026-04-31"])
    assert "“friday”" in error(["until", "friday"])


def test_long_bad_token_is_shortened() -> None:
    message = error(["x" * 500])
    assert "x" * 39 + "…" in message
    assert "x" * 41 not in message


def test_end_before_start() -> None:
    message = error(["2026-04-17", "2026-04-13"])
    assert "ends (2026-04-17)" not in message
    assert "ends (2026-04-13) before it starts (2026-04-17)" in message
    assert "earlier date first" in message


def test_range_longer_than_a_year() -> None:
    message = error(["2026-04-08", "2027-04-09"])
    assert "367 days" in message
    assert f"most is {MAX_RANGE_DAYS} days" in message
    assert "2030" not in error(["until", "2030-01-01"])
    assert "days long" in error(["until", "2030-01-01"])


@pytest.mark.parametrize(
    ("tokens", "needle"),
    [
        (["2026-04-07"], "2026-04-07 is already over"),
        (["2026-03-01", "2026-04-07"], "2026-03-01 to 2026-04-07 is already over"),
        (["until", "2026-04-07"], "2026-04-07 is before today (2026-04-08)"),
    ],
)
def test_entirely_in_the_past(tokens: list[str], needle: str) -> None:
    message = error(tokens)
    assert needle in message
    assert "today" in message


@pytest.mark.parametrize(
    ("tokens", "needle"),
    [
        (["2026-04-13", "2026-04-14", "2026-04-15"], "“2026-04-15” was not expected"),
        (["off", "now"], "Nothing may follow “off”"),
        (["until", "2026-04-13", "please"], "“please” was not expected"),
        (["until"], "needs a date"),
        (["<@U1>", "<@U2>"], "“<@U2>”"),
        (["<@U1>", "off", "x"], "“x”"),
    ],
)
def test_extra_or_missing_tokens(tokens: list[str], needle: str) -> None:
    assert needle in error(tokens)


@pytest.mark.parametrize("token", ["@ana", "<@ana>", "<@u123>", "<#C123|general>"])
def test_unrecognised_mention(token: str) -> None:
    message = error([token, "off"])
    assert f"“{token}”" in message
    assert "pick them from the @ list" in message


# --------------------------------------------------------------------------------------------
# is_away / describe_range
# --------------------------------------------------------------------------------------------


def test_is_away_inclusive_bounds() -> None:
    ranges = [(date(2026, 4, 13), date(2026, 4, 17)), (date(2026, 5, 1), date(2026, 5, 1))]
    assert is_away(ranges, date(2026, 4, 13))
    assert is_away(ranges, date(2026, 4, 15))
    assert is_away(ranges, date(2026, 4, 17))
    assert is_away(ranges, date(2026, 5, 1))
    assert not is_away(ranges, date(2026, 4, 12))
    assert not is_away(ranges, date(2026, 4, 18))
    assert not is_away(ranges, date(2026, 4, 30))
    assert not is_away([], date(2026, 4, 15))
    assert is_away(iter(ranges), date(2026, 5, 1))  # any iterable, e.g. rows from a query


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (date(2026, 4, 6), date(2026, 4, 6), "Mon 6 Apr 2026"),
        (date(2026, 4, 6), date(2026, 4, 10), "Mon 6 Apr – Fri 10 Apr 2026 (5 days)"),
        (date(2026, 12, 28), date(2027, 1, 8), "Mon 28 Dec 2026 – Fri 8 Jan 2027 (12 days)"),
        (date(2026, 4, 6), date(2026, 4, 7), "Mon 6 Apr – Tue 7 Apr 2026 (2 days)"),
    ],
)
def test_describe_range(start: date, end: date, text: str) -> None:
    assert describe_range(start, end) == text


def test_describe_range_rejects_reversed() -> None:
    with pytest.raises(ValueError):
        describe_range(date(2026, 4, 7), date(2026, 4, 6))


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

dates = st.dates(date(2020, 1, 1), date(2032, 12, 31))


@settings(max_examples=300, deadline=None)
@given(dates, dates, dates)
def test_property_range_rules(today: date, first: date, second: date) -> None:
    result = parse_ooo([first.isoformat(), second.isoformat()], today)
    length = (second - first).days + 1
    valid = first <= second and length <= MAX_RANGE_DAYS and second >= today
    if valid:
        assert result == AwaySet(first, second)
        assert is_away([(first, second)], first) and is_away([(first, second)], second)
        assert not is_away([(first, second)], first - timedelta(days=1))
        assert not is_away([(first, second)], second + timedelta(days=1))
        text = describe_range(first, second)
        assert str(second.year) in text
        assert (f"({length} days)" in text) == (length > 1)
    else:
        assert isinstance(result, ParseError)


@settings(max_examples=200, deadline=None)
@given(dates, st.integers(-400, 400))
def test_property_until(today: date, offset: int) -> None:
    end = today + timedelta(days=offset)
    result = parse_ooo(["until", end.isoformat()], today)
    if 0 <= offset < MAX_RANGE_DAYS:
        assert result == AwaySet(today, end)
    else:
        assert isinstance(result, ParseError)
