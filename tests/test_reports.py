"""Tests for bot.rules.reports: counts, participation, streaks, mood trends and periods."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.away import ParseError
from bot.rules.permissions import Actor, ReportScope, report_scope
from bot.rules.reports import (
    PERIOD_ERROR,
    PERIODS,
    REPORT_USAGE,
    MoodTrend,
    Outcome,
    PersonStats,
    Record,
    Report,
    ReportArgs,
    build_report,
    parse_period,
    parse_report_args,
    period_start,
)

OC = Outcome
D0 = date(2024, 3, 4)  # a Monday
NEUTRAL = (OC.AWAY, OC.HOLIDAY, OC.UNDELIVERABLE)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def series(person: str, outcomes: str, moods: list[int | None] | None = None) -> list[Record]:
    """Records on consecutive days from a compact string: A=answered L=late S=skipped
    W=away H=holiday M=missed U=undeliverable."""
    codes = {
        "A": OC.ANSWERED,
        "L": OC.LATE,
        "S": OC.SKIPPED,
        "W": OC.AWAY,
        "H": OC.HOLIDAY,
        "M": OC.MISSED,
        "U": OC.UNDELIVERABLE,
    }
    moods = moods or [None] * len(outcomes)
    return [
        Record(person, day(i), codes[c], mood)
        for i, (c, mood) in enumerate(zip(outcomes, moods, strict=True))
    ]


def only(report: Report, person: str) -> PersonStats:
    [stats] = [p for p in report.people if p.person == person]
    return stats


# --- examples -----------------------------------------------------------------------------------


def test_counts_rate_and_streaks_for_one_person() -> None:
    stats = only(build_report(series("U1", "AALSAWHAUAM" + "AAL"), ["U1"]), "U1")
    assert stats.counts == {
        OC.ANSWERED: 7,
        OC.LATE: 2,
        OC.SKIPPED: 1,
        OC.AWAY: 1,
        OC.HOLIDAY: 1,
        OC.MISSED: 1,
        OC.UNDELIVERABLE: 1,
    }
    assert stats.total == 14
    assert stats.participation_rate == pytest.approx(9 / 11)
    assert (stats.current_streak, stats.longest_streak) == (3, 3)


def test_neutral_days_neither_extend_nor_break_a_streak() -> None:
    stats = only(build_report(series("U1", "AWAHUAS" + "AWWA"), ["U1"]), "U1")
    assert (stats.current_streak, stats.longest_streak) == (2, 3)


def test_a_trailing_miss_ends_the_current_streak() -> None:
    stats = only(build_report(series("U1", "AAAAM"), ["U1"]), "U1")
    assert (stats.current_streak, stats.longest_streak) == (0, 4)


def test_streaks_follow_dates_not_input_order() -> None:
    records = series("U1", "SAAA")
    stats = only(build_report(list(reversed(records)), ["U1"]), "U1")
    assert (stats.current_streak, stats.longest_streak) == (3, 3)


def test_rate_is_none_when_nothing_counts() -> None:
    report = build_report(series("U1", "WHU"), ["U1", "U2"])
    assert only(report, "U1").participation_rate is None
    assert only(report, "U2").participation_rate is None
    assert only(report, "U2").total == 0
    assert report.overall.participation_rate is None


def test_people_order_zero_entries_and_unlisted_people() -> None:
    records = series("U9", "A") + series("U2", "A") + series("U0", "M")
    report = build_report(records, ["U2", "U1", "U2"])
    assert [p.person for p in report.people] == ["U2", "U1", "U0", "U9"]
    u1 = only(report, "U1")
    assert u1.counts == dict.fromkeys(OC, 0)
    assert (u1.current_streak, u1.longest_streak, u1.mood_average, u1.mood_trend) == (
        0,
        0,
        None,
        None,
    )
    assert report.overall.total == 3
    assert report.overall.participation_rate == pytest.approx(2 / 3)


def test_empty_report() -> None:
    report = build_report([], [])
    assert report.people == []
    assert report.overall.total == 0
    assert report.overall.counts == dict.fromkeys(OC, 0)
    assert report.overall.mood_average is None and report.overall.mood_trend is None


def test_mood_average_and_trends() -> None:
    up = series("up", "AAAA", [2, 3, 3, 4])
    down = series("down", "AAAAA", [5, 4, 4, 3, 3])
    flat = series("flat", "AAAAA", [3, 4, 4, 3, 3])  # fitted change -0.4: inside the band
    few = series("few", "AAA", [1, 5, 5])
    none = series("none", "AA")
    report = build_report(up + down + flat + few + none, [])
    assert only(report, "up").mood_average == pytest.approx(3.0)
    assert only(report, "up").mood_trend == MoodTrend.UP
    assert MoodTrend.UP.value == "up"
    assert only(report, "down").mood_trend == "down"
    assert only(report, "flat").mood_trend == "flat"
    assert only(report, "few").mood_trend is None
    assert only(report, "few").mood_average == pytest.approx(11 / 3)
    assert only(report, "none").mood_average is None
    assert only(report, "none").mood_trend is None
    moods = [2, 3, 3, 4, 5, 4, 4, 3, 3, 3, 4, 4, 3, 3, 1, 5, 5]
    assert report.overall.mood_average == pytest.approx(sum(moods) / len(moods))


def test_mood_trend_uses_dates_and_ignores_days_without_mood() -> None:
    records = series("U1", "AASAWA", [1, 2, None, 4, None, 5])
    assert only(build_report(records, []), "U1").mood_trend == "up"
    same_day = [Record("U1", D0, OC.ANSWERED, m) for m in (1, 5, 1, 5)]
    assert only(build_report(same_day, []), "U1").mood_trend is None


def test_overall_trend_pools_everyone() -> None:
    records = [Record(p, day(i), OC.ANSWERED, i + 1) for i in range(5) for p in ("U1", "U2")]
    assert build_report(records, []).overall.mood_trend == "up"


def test_mood_outside_the_scale_is_refused() -> None:
    with pytest.raises(ValueError):
        Record("U1", D0, OC.ANSWERED, 6)
    with pytest.raises(ValueError):
        Record("U1", D0, OC.ANSWERED, 0)


# --- properties ---------------------------------------------------------------------------------

PEOPLE = ("U1", "U2", "U3")
records_strategy = st.lists(
    st.builds(
        Record,
        st.sampled_from(PEOPLE),
        st.dates(min_value=D0, max_value=day(120)),
        st.sampled_from(list(OC)),
        st.none() | st.integers(1, 5),
    ),
    max_size=60,
)


def reference_streaks(records: list[Record]) -> tuple[int, int]:
    ordered = sorted(records, key=lambda r: r.local_date)
    marks = "".join(
        "A" if r.outcome in (OC.ANSWERED, OC.LATE) else "B"
        for r in ordered
        if r.outcome not in NEUTRAL
    )
    runs = [len(run) for run in marks.split("B")]
    return runs[-1], max(runs)


@settings(max_examples=200)
@given(records_strategy)
def test_counts_sum_to_the_records(records: list[Record]) -> None:
    report = build_report(records, ["U1"])
    assert sum(report.overall.counts.values()) == report.overall.total == len(records)
    assert sum(p.total for p in report.people) == len(records)
    for stats in report.people:
        assert sum(stats.counts.values()) == stats.total
        assert stats.total == sum(r.person == stats.person for r in records)
    for outcome in OC:
        assert report.overall.counts[outcome] == sum(p.counts[outcome] for p in report.people)


@settings(max_examples=200)
@given(records_strategy)
def test_streaks_and_rates_are_consistent(records: list[Record]) -> None:
    for stats in build_report(records, list(PEOPLE)).people:
        mine = [r for r in records if r.person == stats.person]
        assert 0 <= stats.current_streak <= stats.longest_streak
        assert stats.longest_streak <= stats.counts[OC.ANSWERED] + stats.counts[OC.LATE]
        assert (stats.current_streak, stats.longest_streak) == reference_streaks(mine)
        if stats.participation_rate is None:
            assert all(r.outcome in NEUTRAL for r in mine)
        else:
            assert 0.0 <= stats.participation_rate <= 1.0


@settings(max_examples=200)
@given(
    records_strategy,
    st.sampled_from(PEOPLE),
    st.dates(min_value=D0 - timedelta(days=3), max_value=day(123)),
    st.sampled_from(NEUTRAL),
    st.integers(0, 60),
)
def test_inserting_a_neutral_day_anywhere_never_changes_streaks(
    records: list[Record], person: str, when: date, outcome: Outcome, position: int
) -> None:
    before = build_report(records, list(PEOPLE))
    with_neutral = list(records)
    with_neutral.insert(min(position, len(records)), Record(person, when, outcome))
    after = build_report(with_neutral, list(PEOPLE))
    for old, new in zip(before.people, after.people, strict=True):
        assert (old.current_streak, old.longest_streak) == (new.current_streak, new.longest_streak)
        assert old.participation_rate == new.participation_rate


@settings(max_examples=100)
@given(st.lists(st.sampled_from(list(OC)), max_size=40), st.randoms(use_true_random=False))
def test_order_of_records_does_not_matter_with_one_record_per_day(
    outcomes: list[Outcome], rng: random.Random
) -> None:
    records = [Record("U1", day(i), o, (i % 5) + 1) for i, o in enumerate(outcomes)]
    shuffled = list(records)
    rng.shuffle(shuffled)
    assert build_report(shuffled, ["U1"]) == build_report(records, ["U1"])


@settings(max_examples=100)
@given(st.lists(st.integers(1, 5), min_size=4, max_size=30))
def test_mirroring_moods_in_time_flips_the_trend(moods: list[int]) -> None:
    forward = [Record("U1", day(i), OC.ANSWERED, m) for i, m in enumerate(moods)]
    backward = [Record("U1", day(i), OC.ANSWERED, m) for i, m in enumerate(reversed(moods))]
    flipped = {MoodTrend.UP: MoodTrend.DOWN, MoodTrend.DOWN: MoodTrend.UP}
    trend = build_report(forward, []).overall.mood_trend
    assert trend is not None
    assert build_report(backward, []).overall.mood_trend == flipped.get(trend, trend)
    if len(set(moods)) == 1:
        assert trend == "flat"


def test_large_input_is_fast() -> None:
    outcomes = list(OC)
    records = [
        Record(f"U{i % 50}", day(i // 50), outcomes[i % 7], (i % 5) + 1) for i in range(100_000)
    ]
    started = time.perf_counter()
    report = build_report(reversed(records), [f"U{i}" for i in range(50)])
    assert time.perf_counter() - started < 5.0  # a quadratic pass would take minutes
    assert report.overall.total == 100_000


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("", 30),
        ("   ", 30),
        ("7d", 7),
        ("30d", 30),
        ("90D", 90),
        (" 30 ", 30),
        ("30 days", 30),
        ("7 day", 7),
    ],
)
def test_parse_period(text: str, days: int) -> None:
    assert parse_period(text) == days


@pytest.mark.parametrize("text", ["14d", "0d", "-7d", "7w", "week", "d", "30dd", "1e2", "30 d s"])
def test_parse_period_rejects(text: str) -> None:
    assert parse_period(text) is None
    assert PERIOD_ERROR == "Pick a period of 7d, 30d or 90d (for example “30d”)."


def test_period_start_is_inclusive() -> None:
    assert period_start(date(2024, 3, 7), 7) == date(2024, 3, 1)
    assert period_start(date(2024, 3, 7), 1) == date(2024, 3, 7)


# --- /standup report arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "days"),
    [
        ("Daily", "Daily", 30),
        ("Daily 7d", "Daily", 7),
        ("Team sync 90D", "Team sync", 90),
        ("  Daily   30d ", "Daily", 30),
        ("Sprint 7", "Sprint 7", 30),  # a bare number is part of the name
        ("R&D", "R&D", 30),
    ],
)
def test_report_arguments(text: str, name: str, days: int) -> None:
    assert parse_report_args(text) == ReportArgs(name, days)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Daily 14d", PERIOD_ERROR),
        ("Daily 0d", PERIOD_ERROR),
        ("Daily -7d", PERIOD_ERROR),
        ("30d", "Which standup?"),
        ("", "Which standup?"),
    ],
)
def test_report_argument_mistakes(text: str, message: str) -> None:
    problem = parse_report_args(text)
    assert isinstance(problem, ParseError)
    assert message in problem.message and REPORT_USAGE in problem.message


@settings(max_examples=200)
@given(st.text(max_size=120))
def test_report_arguments_are_a_name_and_a_known_period_or_a_message(text: str) -> None:
    parsed = parse_report_args(text)
    if isinstance(parsed, ReportArgs):
        assert parsed.days in PERIODS and parsed.name == parsed.name.strip() and parsed.name
    else:
        assert REPORT_USAGE in parsed.message


# --- who may read a report ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "admin", "scope"),
    [
        ("U0OWNER01", False, ReportScope.EVERYONE),
        ("U0ADMIN01", True, ReportScope.EVERYONE),
        ("U0PEER001", True, ReportScope.EVERYONE),  # an admin who takes part sees everyone
        ("U0PEER001", False, ReportScope.OWN),
        ("U0OWNER01", False, ReportScope.EVERYONE),
        ("U0OTHER01", False, ReportScope.NONE),
    ],
)
def test_report_scope(user: str, admin: bool, scope: ReportScope) -> None:
    owners, participants = {"U0OWNER01"}, {"U0OWNER01", "U0PEER001"}
    assert report_scope(Actor(user, admin), owners, participants) == scope
