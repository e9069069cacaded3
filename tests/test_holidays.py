"""Tests for bot.rules.holidays: codes, user-facing errors and real holiday dates.

Expected holidays are facts checked against the law (and the ``holidays`` package), e.g.
Epiphany is a public holiday in Bavaria but not in Berlin; Berlin has Women's Day instead.
The package's data and names change between releases (e.g. "International Women's Day" and no
three-letter codes before ~0.9x); these facts were checked against holidays 0.109, so a failure
after an upgrade means the data changed and deserves a look, not a blind update.
"""

from __future__ import annotations

import time as clock
from datetime import date, timedelta

import pytest

from bot.rules.holidays import (
    effective_code,
    holiday_name,
    normalize_code,
    parse_code,
    validate_code,
)

# --------------------------------------------------------------------------------------------
# Holiday dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "day", "name"),
    [
        ("DE", date(2026, 12, 25), "Christmas Day"),
        ("DE", date(2030, 10, 3), "German Unity Day"),
        ("IN", date(2027, 1, 26), "Republic Day"),
        ("IN", date(2026, 8, 15), "Independence Day"),
        ("DE-BY", date(2026, 1, 6), "Epiphany"),
        ("de-by", date(2026, 12, 25), "Christmas Day"),  # national holidays apply regionally
        ("DE-BE", date(2026, 3, 8), "Women's Day"),
        ("IN-KA", date(2027, 11, 1), "Karnataka Rajyotsava"),
        ("US-CA", date(2026, 3, 31), "Cesar Chavez Day"),
        ("US", date(2026, 7, 3), "Independence Day (observed)"),  # 4 July 2026 is a Saturday
    ],
)
def test_holiday_name(code: str, day: date, name: str) -> None:
    assert holiday_name(code, day) == name


@pytest.mark.parametrize(
    ("code", "day"),
    [
        ("DE-BE", date(2026, 1, 6)),  # Epiphany is Bavarian (and BW, ST), not Berlin's
        ("DE", date(2026, 1, 6)),
        ("DE", date(2026, 3, 8)),  # Women's Day is Berlin's (and MV's)
        ("DE", date(2026, 12, 24)),  # Christmas Eve is not a public holiday in Germany
        ("IN", date(2027, 11, 1)),  # Karnataka only
        ("US", date(2026, 3, 31)),  # California only
        ("DE", date(2026, 6, 10)),
        ("IN", date(2027, 1, 27)),
    ],
)
def test_not_a_holiday(code: str, day: date) -> None:
    assert holiday_name(code, day) is None


def test_holiday_name_rejects_bad_code() -> None:
    with pytest.raises(ValueError, match="Unknown country code 'XX'"):
        holiday_name("XX", date(2026, 1, 1))
    with pytest.raises(ValueError, match="no region 'ZZ'"):
        holiday_name("DE-ZZ", date(2026, 1, 1))


def test_names_do_not_depend_on_server_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    # Austria is used nowhere else in this module, so its calendar is built under this locale.
    monkeypatch.setenv("LANGUAGE", "de")
    monkeypatch.setenv("LANG", "de_AT.UTF-8")
    assert holiday_name("AT", date(2026, 12, 25)) == "Christmas Day"


def test_many_lookups_across_years_are_cheap() -> None:
    people = ["DE-BY", "DE-BE", "IN-KA", "US-CA", "GB-SCT", "IN"] * 50  # 300 people
    began = clock.perf_counter()
    found = 0
    for offset in range(0, 3 * 365, 15):  # every 15th day over three years
        day = date(2026, 1, 1) + timedelta(days=offset)
        found += sum(holiday_name(code, day) is not None for code in people)
    elapsed = clock.perf_counter() - began
    assert found > 0
    # ~22,000 lookups; cached calendars make each a dict lookup (well under 0.1 s in practice).
    assert elapsed < 3.0


# --------------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("DE", ("DE", None)),
        ("de", ("DE", None)),
        ("de-by", ("DE", "BY")),
        (" IN-KA ", ("IN", "KA")),
        ("US-CA", ("US", "CA")),
        ("us - ca", ("US", "CA")),
        ("DEU-BY", ("DE", "BY")),  # three-letter codes map to two
        ("UK", ("GB", None)),
        ("gb-sct", ("GB", "SCT")),
        ("de-augsburg", ("DE", "Augsburg")),  # a city-level subdivision spelled as a name
    ],
)
def test_parse_code(text: str, parsed: tuple[str, str | None]) -> None:
    assert parse_code(text) == parsed
    assert validate_code(text) is None


def test_normalize_code() -> None:
    assert normalize_code("de-by") == "DE-BY"
    assert normalize_code(" in ") == "IN"
    assert normalize_code("uk") == "GB"
    assert normalize_code("de-AUGSBURG") == "DE-Augsburg"
    assert normalize_code("") is None
    assert normalize_code("   ") is None
    assert normalize_code(None) is None
    with pytest.raises(ValueError):
        normalize_code("XX")


def test_blank_is_valid_and_means_none() -> None:
    assert validate_code("") is None
    assert validate_code("  ") is None
    with pytest.raises(ValueError, match="Enter a holiday calendar code"):
        parse_code("")


def test_unknown_country_message() -> None:
    message = validate_code("XX")
    assert message is not None
    assert "Unknown country code 'XX'" in message
    for example in ("US", "GB", "DE", "IN", "US-CA", "DE-BY"):
        assert example in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "code"),
    [("Germany", "DE"), ("india", "IN"), ("United States", "US"), ("united kingdom", "GB")],
)
def test_country_name_gets_a_suggestion(text: str, code: str) -> None:
    message = validate_code(text)
    assert message is not None
    assert f"Did you mean {code}?" in message


def test_unknown_region_lists_valid_ones() -> None:
    message = validate_code("DE-ZZ")
    assert message is not None
    assert "DE has no region 'ZZ'" in message
    assert "BY" in message and "BE" in message and "TH" in message
    assert "enter DE alone" in message


def test_unknown_region_suggests_code_for_a_region_name() -> None:
    message = validate_code("DE-Bayern")
    assert message is not None
    assert "Did you mean DE-BY?" in message


def test_long_region_lists_are_truncated() -> None:
    message = validate_code("US-XX")
    assert message is not None
    assert "AK, AL" in message
    assert "more." in message  # "... and N more."
    assert "WY" not in message
    assert len(message) < 400


def test_country_without_regions() -> None:
    message = validate_code("IS-AB")
    assert message is not None
    assert "IS has no regions" in message
    assert "enter IS on its own" in message


def test_dangling_dash() -> None:
    message = validate_code("DE-")
    assert message is not None
    assert "add a region" in message


# --------------------------------------------------------------------------------------------
# Which calendar applies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standup", "person", "expected"),
    [
        ("DE-BY", "IN-KA", "IN-KA"),  # the person's own calendar wins
        ("DE-BY", None, "DE-BY"),
        ("DE-BY", "", "DE-BY"),  # a cleared override falls back to the standup's
        ("DE-BY", "  ", "DE-BY"),
        (None, "US", "US"),
        ("", "US", "US"),
        (None, None, None),
        ("", "", None),
        (" GB ", None, "GB"),
    ],
)
def test_effective_code(standup: str | None, person: str | None, expected: str | None) -> None:
    assert effective_code(standup, person) == expected
