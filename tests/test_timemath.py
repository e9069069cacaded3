"""Tests for bot.rules.timemath: exact UTC instants around DST transitions plus property tests.

Every DST assertion compares exact UTC instants, so dropping the gap/overlap handling (e.g. a
plain ``naive.replace(tzinfo=tz)``) makes these tests fail.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

# Make the repo root importable when pytest is run without the package installed.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from bot.rules.timemath import (  # noqa: E402
    WEEKDAY_NAMES,
    describe_schedule,
    describe_weekdays,
    is_valid_timezone,
    local_date_at,
    local_occurrence_utc,
    mask_to_weekdays,
    next_occurrence,
    occurrences_between,
    parse_local_time,
    weekdays_to_mask,
)

NY = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
CHATHAM = ZoneInfo("Pacific/Chatham")
KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
EVERY_DAY = frozenset(range(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Independent oracles (do not use the code under test)
# --------------------------------------------------------------------------------------------


def transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """(instant, offset change) for each UTC-offset change in [start, end), to the second.

    Scans daily (transitions are months apart) and bisects, so it relies only on zoneinfo's
    UTC -> local conversion, which is unambiguous.
    """

    def offset(ts: int) -> timedelta:
        off = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
        assert off is not None
        return off

    found: list[tuple[datetime, timedelta]] = []
    step = 86_400
    t = int(start.timestamp())
    stop = int(end.timestamp())
    while t < stop:
        if offset(t) != offset(t + step):
            lo, hi = t, t + step
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(mid) == offset(lo):
                    lo = mid
                else:
                    hi = mid
            found.append((datetime.fromtimestamp(hi, UTC), offset(hi) - offset(lo)))
        t += step
    return found


def utc_candidates(local_date: date, local_time: time, tz: ZoneInfo) -> list[datetime]:
    """All UTC instants whose wall clock in tz is exactly local_date + local_time (0, 1 or 2)."""
    naive = datetime.combine(local_date, local_time)
    out = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive:
            out.add(instant)
    return sorted(out)


def expected_occurrence(local_date: date, local_time: time, tz: ZoneInfo) -> datetime:
    """Brute force: earliest instant of the wall time, else of the first existing later minute."""
    naive = datetime.combine(local_date, local_time)
    for minutes in range(0, 24 * 60):
        wall = naive + timedelta(minutes=minutes)
        cands = utc_candidates(wall.date(), wall.time(), tz)
        if cands:
            return cands[0]
    raise AssertionError("no valid wall time within a day")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Concrete DST cases
# --------------------------------------------------------------------------------------------


class TestNewYork:
    def test_spring_forward_gap_fires_at_gap_end(self) -> None:
        # 02:30 does not exist on 2026-03-08; clocks jump 02:00 EST -> 03:00 EDT (07:00 UTC).
        assert utc_candidates(date(2026, 3, 8), time(2, 30), NY) == []
        assert local_occurrence_utc(date(2026, 3, 8), time(2, 30), NY) == utc(2026, 3, 8, 7, 0)
        assert local_occurrence_utc(date(2026, 3, 8), time(2, 0), NY) == utc(2026, 3, 8, 7, 0)
        assert local_occurrence_utc(date(2026, 3, 8), time(2, 59), NY) == utc(2026, 3, 8, 7, 0)

    def test_spring_forward_neighbours_are_normal(self) -> None:
        assert local_occurrence_utc(date(2026, 3, 8), time(1, 59), NY) == utc(2026, 3, 8, 6, 59)
        assert local_occurrence_utc(date(2026, 3, 8), time(3, 0), NY) == utc(2026, 3, 8, 7, 0)
        assert local_occurrence_utc(date(2026, 3, 8), time(9, 30), NY) == utc(2026, 3, 8, 13, 30)
        assert local_occurrence_utc(date(2026, 3, 7), time(9, 30), NY) == utc(2026, 3, 7, 14, 30)

    def test_gap_result_is_on_same_local_date(self) -> None:
        due = local_occurrence_utc(date(2026, 3, 8), time(2, 30), NY)
        assert due.tzinfo is UTC
        local = due.astimezone(NY)
        assert (local.date(), local.hour, local.minute) == (date(2026, 3, 8), 3, 0)

    def test_fall_back_overlap_uses_first_occurrence(self) -> None:
        # 01:30 happens twice on 2026-11-01: 05:30 UTC (EDT) and 06:30 UTC (EST).
        assert utc_candidates(date(2026, 11, 1), time(1, 30), NY) == [
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 6, 30),
        ]
        assert local_occurrence_utc(date(2026, 11, 1), time(1, 30), NY) == utc(2026, 11, 1, 5, 30)

    def test_fall_back_day_fires_exactly_once(self) -> None:
        start = datetime(2026, 11, 1, 0, 0, tzinfo=NY).astimezone(UTC)
        end = datetime(2026, 11, 2, 0, 0, tzinfo=NY).astimezone(UTC)
        assert end - start == timedelta(hours=25)  # the whole local day, both 01:30s included
        got = occurrences_between(EVERY_DAY, time(1, 30), NY, start, end)
        assert got == [(date(2026, 11, 1), utc(2026, 11, 1, 5, 30))]

    def test_spring_forward_day_fires_exactly_once(self) -> None:
        start = datetime(2026, 3, 8, 0, 0, tzinfo=NY)
        end = datetime(2026, 3, 9, 0, 0, tzinfo=NY)
        got = occurrences_between(EVERY_DAY, time(2, 30), NY, start, end)
        assert got == [(date(2026, 3, 8), utc(2026, 3, 8, 7, 0))]


class TestLordHowe:
    """Lord Howe shifts by 30 minutes: +10:30 standard, +11:00 summer."""

    def test_actual_2026_transitions(self) -> None:
        found = transitions(LORD_HOWE, utc(2026, 1, 1), utc(2027, 1, 1))
        assert found == [
            # 2026-04-05 02:00 LHDT -> 01:30 LHST
            (utc(2026, 4, 4, 15, 0), timedelta(minutes=-30)),
            # 2026-10-04 02:00 LHST -> 02:30 LHDT
            (utc(2026, 10, 3, 15, 30), timedelta(minutes=30)),
        ]

    def test_spring_forward_gap(self) -> None:
        for minute in (0, 1, 15, 29):
            due = local_occurrence_utc(date(2026, 10, 4), time(2, minute), LORD_HOWE)
            assert due == utc(2026, 10, 3, 15, 30), minute
        assert due.astimezone(LORD_HOWE).time() == time(2, 30)
        assert local_occurrence_utc(date(2026, 10, 4), time(1, 59), LORD_HOWE) == utc(
            2026, 10, 3, 15, 29
        )
        assert local_occurrence_utc(date(2026, 10, 4), time(2, 30), LORD_HOWE) == utc(
            2026, 10, 3, 15, 30
        )

    def test_fall_back_overlap(self) -> None:
        # 01:45 happens at +11:00 (14:45 UTC) and again at +10:30 (15:15 UTC).
        assert len(utc_candidates(date(2026, 4, 5), time(1, 45), LORD_HOWE)) == 2
        assert local_occurrence_utc(date(2026, 4, 5), time(1, 45), LORD_HOWE) == utc(
            2026, 4, 4, 14, 45
        )
        got = occurrences_between(
            EVERY_DAY, time(1, 45), LORD_HOWE, utc(2026, 4, 4, 0, 0), utc(2026, 4, 5, 0, 0)
        )
        assert got == [(date(2026, 4, 5), utc(2026, 4, 4, 14, 45))]
        # 01:29 is just before the overlap: it exists once.
        assert local_occurrence_utc(date(2026, 4, 5), time(1, 29), LORD_HOWE) == utc(
            2026, 4, 4, 14, 29
        )

    def test_normal_days(self) -> None:
        # Standard +10:30 in July, summer +11:00 in January.
        assert local_occurrence_utc(date(2026, 7, 1), time(9, 0), LORD_HOWE) == utc(
            2026, 6, 30, 22, 30
        )
        assert local_occurrence_utc(date(2026, 1, 15), time(9, 0), LORD_HOWE) == utc(
            2026, 1, 14, 22, 0
        )


class TestChatham:
    """Chatham is +12:45 standard / +13:45 summer; transitions at 02:45 standard time."""

    TRANSITIONS = transitions(CHATHAM, utc(2026, 1, 1), utc(2027, 1, 1))

    def test_found_two_transitions(self) -> None:
        assert [delta for _, delta in self.TRANSITIONS] == [timedelta(hours=-1), timedelta(hours=1)]
        # Pin the instants too, so a tzdata surprise is visible rather than silently retested.
        assert [t for t, _ in self.TRANSITIONS] == [utc(2026, 4, 4, 14, 0), utc(2026, 9, 26, 14, 0)]

    def test_gap_minute(self) -> None:
        instant, delta = self.TRANSITIONS[1]
        before = (instant - timedelta(seconds=1)).astimezone(CHATHAM)
        gap_wall = (before + timedelta(seconds=1, minutes=20)).replace(tzinfo=None)
        assert delta == timedelta(hours=1)
        assert gap_wall == datetime(2026, 9, 27, 3, 5)
        assert utc_candidates(gap_wall.date(), gap_wall.time(), CHATHAM) == []
        due = local_occurrence_utc(gap_wall.date(), gap_wall.time(), CHATHAM)
        assert due == instant == utc(2026, 9, 26, 14, 0)
        assert due.astimezone(CHATHAM).replace(tzinfo=None) == datetime(2026, 9, 27, 3, 45)

    def test_ambiguous_minute(self) -> None:
        instant, delta = self.TRANSITIONS[0]
        after = instant.astimezone(CHATHAM)  # first instant of the repeated hour (second pass)
        wall = (after + timedelta(minutes=10)).replace(tzinfo=None, fold=0)
        assert delta == timedelta(hours=-1)
        assert wall == datetime(2026, 4, 5, 2, 55)
        first, second = utc_candidates(wall.date(), wall.time(), CHATHAM)
        assert second - first == timedelta(hours=1)
        due = local_occurrence_utc(wall.date(), wall.time(), CHATHAM)
        assert due == first == utc(2026, 4, 4, 13, 10)  # 02:55 at +13:45

    def test_normal_offset(self) -> None:
        # +12:45 in July: 09:00 local == 20:15 UTC the previous day.
        assert local_occurrence_utc(date(2026, 7, 1), time(9, 0), CHATHAM) == utc(
            2026, 6, 30, 20, 15
        )


def test_kolkata_half_hour_offset() -> None:
    assert local_occurrence_utc(date(2026, 3, 8), time(9, 30), KOLKATA) == utc(2026, 3, 8, 4, 0)
    assert local_occurrence_utc(date(2026, 1, 1), time(0, 0), KOLKATA) == utc(2025, 12, 31, 18, 30)
    assert transitions(KOLKATA, utc(2025, 1, 1), utc(2029, 1, 1)) == []


class TestLondon:
    def test_spring_forward(self) -> None:
        # 2026-03-29 01:00 GMT -> 02:00 BST; 01:30 does not exist.
        assert local_occurrence_utc(date(2026, 3, 29), time(1, 30), LONDON) == utc(2026, 3, 29, 1)
        assert local_occurrence_utc(date(2026, 3, 29), time(0, 59), LONDON) == utc(
            2026, 3, 29, 0, 59
        )
        assert local_occurrence_utc(date(2026, 3, 29), time(9, 0), LONDON) == utc(2026, 3, 29, 8)

    def test_fall_back(self) -> None:
        # 2026-10-25 02:00 BST -> 01:00 GMT; 01:30 happens at 00:30 and 01:30 UTC.
        assert local_occurrence_utc(date(2026, 10, 25), time(1, 30), LONDON) == utc(
            2026, 10, 25, 0, 30
        )
        assert local_occurrence_utc(date(2026, 10, 25), time(9, 0), LONDON) == utc(2026, 10, 25, 9)


def test_skipped_calendar_day_reported_once() -> None:
    # Samoa skipped 2011-12-30 entirely; midnight that day maps onto midnight 2011-12-31.
    apia = ZoneInfo("Pacific/Apia")
    got = occurrences_between(EVERY_DAY, time(0, 0), apia, utc(2011, 12, 29), utc(2012, 1, 1))
    assert got == [
        (date(2011, 12, 29), utc(2011, 12, 29, 10)),
        (date(2011, 12, 31), utc(2011, 12, 30, 10)),
        (date(2012, 1, 1), utc(2011, 12, 31, 10)),
    ]


def test_occurrence_pushed_onto_next_local_date_is_found() -> None:
    # 09:00 on skipped 2011-12-30 in Samoa becomes the gap end, 2011-12-31 00:00 local. A window
    # starting exactly there must still scan 2011-12-30 (local date of start minus one day).
    apia = ZoneInfo("Pacific/Apia")
    start = utc(2011, 12, 30, 10)
    assert local_date_at(start, apia) == date(2011, 12, 31)
    got = occurrences_between(EVERY_DAY, time(9, 0), apia, start, start + timedelta(days=1))
    assert got == [
        (date(2011, 12, 30), start),
        (date(2011, 12, 31), utc(2011, 12, 30, 19)),
    ]


# --------------------------------------------------------------------------------------------
# occurrences_between / next_occurrence / local_date_at concrete cases
# --------------------------------------------------------------------------------------------


def test_occurrences_between_is_half_open_and_sorted() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    mon_wed = frozenset({0, 2})
    start = utc(2026, 6, 1, 7, 0)  # Monday 09:00 CEST exactly
    end = utc(2026, 6, 8, 7, 0)  # next Monday 09:00 CEST, excluded
    got = occurrences_between(mon_wed, time(9, 0), berlin, start, end)
    assert got == [(date(2026, 6, 1), utc(2026, 6, 1, 7)), (date(2026, 6, 3), utc(2026, 6, 3, 7))]


def test_occurrences_between_sorts_across_zones_and_accepts_any_tz_bounds() -> None:
    # Local date in Kiritimati (+14) is a day ahead of UTC; bounds given in Honolulu time.
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    start = datetime(2026, 6, 1, 0, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))  # 10:00 UTC
    got = occurrences_between(EVERY_DAY, time(8, 0), kiritimati, start, start + timedelta(days=2))
    assert got == [
        (date(2026, 6, 2), utc(2026, 6, 1, 18)),
        (date(2026, 6, 3), utc(2026, 6, 2, 18)),
    ]


def test_occurrences_between_empty_cases() -> None:
    assert occurrences_between(frozenset(), time(9), NY, utc(2026, 1, 1), utc(2026, 2, 1)) == []
    assert occurrences_between(EVERY_DAY, time(9), NY, utc(2026, 2, 1), utc(2026, 1, 1)) == []


def test_naive_datetimes_rejected() -> None:
    with pytest.raises(ValueError):
        occurrences_between(EVERY_DAY, time(9), NY, datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError):
        next_occurrence(EVERY_DAY, time(9), NY, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        local_date_at(datetime(2026, 1, 1), NY)


def test_next_occurrence_is_strictly_after() -> None:
    weekdays = frozenset({0, 1, 2, 3, 4})
    due = utc(2026, 3, 9, 13, 30)  # Monday 09:30 EDT
    assert next_occurrence(weekdays, time(9, 30), NY, due - timedelta(microseconds=1)) == (
        date(2026, 3, 9),
        due,
    )
    assert next_occurrence(weekdays, time(9, 30), NY, due) == (
        date(2026, 3, 10),
        utc(2026, 3, 10, 13, 30),
    )
    # Friday after the prompt -> Monday, across the DST change (EST Friday, EDT Monday).
    assert next_occurrence(weekdays, time(9, 30), NY, utc(2026, 3, 6, 15)) == (
        date(2026, 3, 9),
        utc(2026, 3, 9, 13, 30),
    )


def test_next_occurrence_single_weekday_and_empty() -> None:
    sunday = frozenset({6})
    after = utc(2026, 3, 8, 7, 0)  # exactly the gap-adjusted Sunday occurrence
    assert next_occurrence(sunday, time(2, 30), NY, after - timedelta(seconds=1)) == (
        date(2026, 3, 8),
        after,
    )
    assert next_occurrence(sunday, time(2, 30), NY, after) == (
        date(2026, 3, 15),
        utc(2026, 3, 15, 6, 30),
    )
    assert next_occurrence(frozenset(), time(9), NY, after) is None


def test_local_date_at() -> None:
    instant = utc(2026, 6, 1, 23, 30)
    assert local_date_at(instant, KOLKATA) == date(2026, 6, 2)
    assert local_date_at(instant, NY) == date(2026, 6, 1)
    assert local_date_at(instant, ZoneInfo("Pacific/Pago_Pago")) == date(2026, 6, 1)
    assert local_date_at(datetime(2026, 6, 2, 5, tzinfo=KOLKATA), ZoneInfo("UTC")) == date(
        2026, 6, 1
    )


# --------------------------------------------------------------------------------------------
# Parsing / validation / descriptions / masks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("09:30", time(9, 30)),
        ("9:30", time(9, 30)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
        (" 17:05 ", time(17, 5)),
    ],
)
def test_parse_local_time_valid(value: str, expected: time) -> None:
    assert parse_local_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "25:00",
        "24:00",
        "9:3x",
        "12:60",
        "1230",
        "12:3",
        "12:30:00",
        "-1:30",
        "12:30pm",
        "٠٩:٣٠",
    ],
)
def test_parse_local_time_invalid(value: str) -> None:
    with pytest.raises(ValueError):
        parse_local_time(value)


@pytest.mark.parametrize(
    "name",
    [
        "UTC",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/St_Johns",
        "Etc/GMT+5",
        "America/Argentina/Buenos_Aires",
    ],
)
def test_is_valid_timezone_true(name: str) -> None:
    assert is_valid_timezone(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Base",
        "../etc",
        "/etc/passwd",
        "America",
        "America/",
        "UTC/../UTC",
        "a\x00b",
        " UTC",
        "America/New York",
        "Europe/Berlin\n",
    ],
)
def test_is_valid_timezone_false(name: str) -> None:
    assert not is_valid_timezone(name)


def test_weekday_names() -> None:
    assert WEEKDAY_NAMES == ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    assert WEEKDAY_NAMES[date(2026, 3, 9).weekday()] == "Mon"


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (frozenset(), "never"),
        (frozenset(range(7)), "every day"),
        (frozenset(range(5)), "weekdays"),
        (frozenset({5, 6}), "weekends"),
        (frozenset({4, 0, 2}), "Mon, Wed, Fri"),
        (frozenset({6}), "Sun"),
        (frozenset({0, 1, 2, 3}), "Mon, Tue, Wed, Thu"),
        (frozenset({0, 1, 2, 3, 4, 5}), "Mon, Tue, Wed, Thu, Fri, Sat"),
    ],
)
def test_describe_weekdays(days: frozenset[int], expected: str) -> None:
    assert describe_weekdays(days) == expected


def test_describe_weekdays_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        describe_weekdays(frozenset({7}))


def test_describe_schedule() -> None:
    assert (
        describe_schedule(frozenset(range(5)), time(9, 30), None)
        == "weekdays at 09:30 in each participant's time zone"
    )
    assert (
        describe_schedule(frozenset({0, 2}), time(17, 0), "Europe/Berlin")
        == "Mon, Wed at 17:00 Europe/Berlin"
    )


def test_mask_examples() -> None:
    assert weekdays_to_mask([]) == 0
    assert weekdays_to_mask([0]) == 1
    assert weekdays_to_mask([6]) == 64
    assert weekdays_to_mask(range(5)) == 0b0011111
    assert weekdays_to_mask([2, 2, 0]) == 0b101
    assert mask_to_weekdays(0) == frozenset()
    assert mask_to_weekdays(127) == frozenset(range(7))
    assert mask_to_weekdays(0b1100000) == frozenset({5, 6})


@pytest.mark.parametrize("bad", [[7], [-1], [0, 8]])
def test_weekdays_to_mask_rejects_out_of_range(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        weekdays_to_mask(bad)


@pytest.mark.parametrize("bad", [-1, 128, 1 << 20])
def test_mask_to_weekdays_rejects_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        mask_to_weekdays(bad)


@given(st.frozensets(st.integers(0, 6)))
def test_mask_round_trip(days: frozenset[int]) -> None:
    mask = weekdays_to_mask(days)
    assert 0 <= mask <= 127
    assert mask_to_weekdays(mask) == days


@given(st.integers(0, 127))
def test_mask_round_trip_from_int(mask: int) -> None:
    assert weekdays_to_mask(mask_to_weekdays(mask)) == mask


@given(st.integers(0, 23), st.integers(0, 59))
def test_parse_local_time_round_trip(hour: int, minute: int) -> None:
    assert parse_local_time(f"{hour:02d}:{minute:02d}") == time(hour, minute)


# --------------------------------------------------------------------------------------------
# Property tests over many zones, biased towards transition days
# --------------------------------------------------------------------------------------------

ZONE_NAMES = (
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Europe/London",
    "UTC",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "Asia/Kathmandu",
    "America/St_Johns",
)
ZONES = {name: ZoneInfo(name) for name in ZONE_NAMES}
PROPERTY_RANGE = (utc(2025, 1, 1), utc(2029, 1, 1))

# (zone, local date, wall time just before the transition) for every 2025-2028 transition, so
# gaps and overlaps are exercised on every run rather than by luck.
TRANSITION_POINTS = [
    (name, local.date(), local.time().replace(second=0, microsecond=0, fold=0))
    for name, tz in ZONES.items()
    for instant, _ in transitions(tz, *PROPERTY_RANGE)
    for local in [(instant - timedelta(seconds=1)).astimezone(tz)]
]

zone_names = st.sampled_from(ZONE_NAMES)
local_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
local_dates = st.dates(date(2025, 1, 1), date(2028, 12, 31))
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
instants = st.datetimes(
    datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.sampled_from(list(ZONES.values()))
)


@st.composite
def zone_date_time(draw: st.DrawFn) -> tuple[ZoneInfo, date, time]:
    """A random (zone, date, time), half the time within +-90 minutes of a real transition."""
    if draw(st.booleans()):
        name, day, wall = draw(st.sampled_from(TRANSITION_POINTS))
        shifted = datetime.combine(day, wall) + timedelta(minutes=draw(st.integers(-90, 90)))
        return ZONES[name], shifted.date(), shifted.time()
    return ZONES[draw(zone_names)], draw(local_dates), draw(local_times)


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_transition_points_cover_gaps_and_overlaps() -> None:
    # Sanity check of the test data itself: every DST zone contributes transitions each year.
    names = {name for name, _, _ in TRANSITION_POINTS}
    assert names == {
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Europe/London",
        "Europe/Berlin",
        "America/St_Johns",
    }


@PROPERTY_SETTINGS
@given(zone_date_time())
def test_property_local_occurrence(case: tuple[ZoneInfo, date, time]) -> None:
    tz, day, wall = case
    due = local_occurrence_utc(day, wall, tz)
    assert due.tzinfo is UTC
    local = due.astimezone(tz)
    requested = datetime.combine(day, wall)
    cands = utc_candidates(day, wall, tz)
    # (a) lands on the requested local date.
    assert local.date() == day
    # (b) never earlier than the requested wall time.
    assert local.replace(tzinfo=None) >= requested
    if cands:
        # Existing wall time: same hour/minute, and the first occurrence if ambiguous.
        assert (local.hour, local.minute) == (wall.hour, wall.minute)
        assert due == cands[0]
    else:
        # Gap: the first valid minute after the requested time, i.e. the transition instant.
        assert due == expected_occurrence(day, wall, tz)
        assert local.replace(tzinfo=None) - requested <= timedelta(hours=1)
        just_before = (due - timedelta(seconds=1)).astimezone(tz)
        assert just_before.utcoffset() != local.utcoffset()
    assert due == expected_occurrence(day, wall, tz)
    assert local_date_at(due, tz) == day


@PROPERTY_SETTINGS
@given(zone_names, weekday_sets, local_times, instants, st.booleans())
def test_property_occurrences_between_14_days(
    name: str, weekdays: frozenset[int], wall: time, start: datetime, near_transition: bool
) -> None:
    tz = ZONES[name]
    if near_transition:
        # Centre some windows on real transition days.
        points = [p for p in TRANSITION_POINTS if p[0] == name]
        assume(points)
        _, day, _ = points[start.toordinal() % len(points)]
        start = datetime.combine(day - timedelta(days=7), start.time(), tzinfo=start.tzinfo)
    end = start + timedelta(days=14)
    got = occurrences_between(weekdays, wall, tz, start, end)

    dues = [due for _, due in got]
    dates = [d for d, _ in got]
    assert dues == sorted(dues)
    assert len(set(dues)) == len(dues)
    assert len(set(dates)) == len(dates)
    assert all(start <= due < end for due in dues)
    assert all(d.weekday() in weekdays for d in dates)

    # Brute force over a generous range of local dates, using the independent oracle.
    first = start.astimezone(tz).date() - timedelta(days=3)
    expected = [
        (d, due)
        for d in (first + timedelta(days=i) for i in range(21))
        if d.weekday() in weekdays
        for due in [expected_occurrence(d, wall, tz)]
        if start <= due < end
    ]
    assert got == expected
    # Two weeks hold each selected weekday about twice; a DST shift can push one across an edge.
    for weekday in weekdays:
        assert 1 <= sum(1 for d in dates if d.weekday() == weekday) <= 3


@PROPERTY_SETTINGS
@given(zone_names, weekday_sets, local_times, instants)
def test_property_next_occurrence(
    name: str, weekdays: frozenset[int], wall: time, after: datetime
) -> None:
    tz = ZONES[name]
    result = next_occurrence(weekdays, wall, tz, after)
    assert result is not None
    day, due = result
    assert due > after
    assert due - after <= timedelta(days=7, hours=1)
    window = occurrences_between(
        weekdays, wall, tz, after + timedelta(microseconds=1), after + timedelta(days=8)
    )
    assert window[0] == result
    assert due == expected_occurrence(day, wall, tz)
    # Nothing was skipped: no selected local date yields an occurrence in (after, due).
    first = after.astimezone(tz).date() - timedelta(days=1)
    for d in (first + timedelta(days=i) for i in range(10)):
        if d.weekday() in weekdays:
            other = expected_occurrence(d, wall, tz)
            assert not after < other < due
    assert next_occurrence(frozenset(), wall, tz, after) is None
