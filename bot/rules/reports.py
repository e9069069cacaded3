"""Participation reports: who answers, how reliably, in streaks, and how the mood moves.

Computed from plain per-day records so the same numbers back the channel report, the web page
and exports, and so the rules (what counts against someone, what breaks a streak) live in one
tested place. One pass over the records plus one sort per person: linear apart from the sort.

Rules:

* Participation rate = (answered + late) / (answered + late + skipped + missed). Away, holiday
  and undeliverable days never count against anyone; the rate is None when nothing counts.
* Streaks run over a person's records in date order: answered and late extend, skipped and
  missed break, away/holiday/undeliverable are neutral. Records on the same date keep their
  input order.
* Mood trend is the least-squares slope of mood against date (calendar days). It is "up" or
  "down" when the fitted line moves by at least :data:`MOOD_TREND_DEAD_BAND` mood points over the
  series' date span, else "flat"; None with fewer than :data:`MOOD_TREND_MIN_POINTS` moods or
  when all moods fall on one date. The arithmetic is exact (integers), so it is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from bot.rules.away import ParseError

__all__ = [
    "DEFAULT_PERIOD_DAYS",
    "MOOD_TREND_DEAD_BAND",
    "MOOD_TREND_MIN_POINTS",
    "PERIODS",
    "PERIOD_ERROR",
    "REPORT_USAGE",
    "Counts",
    "MoodTrend",
    "Outcome",
    "OverallStats",
    "PersonStats",
    "Record",
    "Report",
    "ReportArgs",
    "build_report",
    "parse_period",
    "parse_report_args",
    "period_start",
]

PERIODS = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 30
PERIOD_ERROR = "Pick a period of 7d, 30d or 90d (for example “30d”)."
REPORT_USAGE = "Usage: /standup report <name> [7d|30d|90d] (30d when left out)."
MOOD_TREND_MIN_POINTS = 4
MOOD_TREND_DEAD_BAND = Fraction(1, 2)  # mood points over the whole span
MOOD_MIN, MOOD_MAX = 1, 5


class Outcome(StrEnum):
    """What happened to one person's prompt on one day; stored by value."""

    ANSWERED = "answered"  # Answered before the close.
    LATE = "late"  # Answered after the close.
    SKIPPED = "skipped"  # Pressed "skip".
    AWAY = "away"  # Marked away (personal leave, paused participation).
    HOLIDAY = "holiday"  # A team or public holiday: no prompt expected.
    MISSED = "missed"  # Prompted, never answered.
    UNDELIVERABLE = "undeliverable"  # Slack refused the DM (deactivated user, DMs closed…).


_ANSWERED = frozenset({Outcome.ANSWERED, Outcome.LATE})
_BREAKS = frozenset({Outcome.SKIPPED, Outcome.MISSED})

Counts = dict[Outcome, int]
"""Every outcome as a key (zero when it never happened)."""


class MoodTrend(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"


@dataclass(frozen=True)
class Record:
    """One person's outcome for one standup day; ``mood`` is 1..5 when a mood was answered."""

    person: str
    local_date: date
    outcome: Outcome
    mood: int | None = None

    def __post_init__(self) -> None:
        if self.mood is not None and not MOOD_MIN <= self.mood <= MOOD_MAX:
            raise ValueError(f"mood must be {MOOD_MIN}..{MOOD_MAX}, not {self.mood}")


@dataclass(frozen=True)
class PersonStats:
    person: str
    counts: Counts
    total: int
    participation_rate: float | None
    current_streak: int
    longest_streak: int
    mood_average: float | None
    mood_trend: MoodTrend | None


@dataclass(frozen=True)
class OverallStats:
    counts: Counts
    total: int
    participation_rate: float | None
    mood_average: float | None
    mood_trend: MoodTrend | None


@dataclass(frozen=True)
class Report:
    """``people`` follows the requested order, then anyone else found in the records, by name."""

    people: list[PersonStats]
    overall: OverallStats


@dataclass
class _MoodSums:
    """Running sums for mean and least-squares slope; x is days since ``origin``."""

    origin: date | None = None
    n: int = 0
    sum_x: int = 0
    sum_y: int = 0
    sum_xx: int = 0
    sum_xy: int = 0
    min_x: int = 0
    max_x: int = 0

    def add(self, day: date, mood: int) -> None:
        if self.origin is None:
            self.origin = day
        x = (day - self.origin).days
        if self.n == 0:
            self.min_x = self.max_x = x
        self.min_x = min(self.min_x, x)
        self.max_x = max(self.max_x, x)
        self.n += 1
        self.sum_x += x
        self.sum_y += mood
        self.sum_xx += x * x
        self.sum_xy += x * mood

    def average(self) -> float | None:
        return self.sum_y / self.n if self.n else None

    def trend(self) -> MoodTrend | None:
        if self.n < MOOD_TREND_MIN_POINTS:
            return None
        denominator = self.n * self.sum_xx - self.sum_x * self.sum_x
        if denominator == 0:  # every mood on the same date: no time series to fit
            return None
        slope = Fraction(self.n * self.sum_xy - self.sum_x * self.sum_y, denominator)
        change = slope * (self.max_x - self.min_x)
        if change >= MOOD_TREND_DEAD_BAND:
            return MoodTrend.UP
        if change <= -MOOD_TREND_DEAD_BAND:
            return MoodTrend.DOWN
        return MoodTrend.FLAT


@dataclass
class _Person:
    records: list[Record] = field(default_factory=list)
    counts: Counts = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    moods: _MoodSums = field(default_factory=_MoodSums)


def _rate(counts: Counts) -> float | None:
    answered = counts[Outcome.ANSWERED] + counts[Outcome.LATE]
    expected = answered + counts[Outcome.SKIPPED] + counts[Outcome.MISSED]
    return answered / expected if expected else None


def _streaks(records: list[Record]) -> tuple[int, int]:
    """(current, longest) over records already in date order."""
    current = longest = 0
    for record in records:
        if record.outcome in _ANSWERED:
            current += 1
            longest = max(longest, current)
        elif record.outcome in _BREAKS:
            current = 0
    return current, longest


def build_report(records: Iterable[Record], people: list[str]) -> Report:
    """Per-person and overall statistics (see the module docstring for the rules).

    Everyone in ``people`` gets an entry, even without records; people who only appear in the
    records (e.g. former participants) are listed after them, sorted, so every record counts.
    """
    by_person: dict[str, _Person] = {person: _Person() for person in people}
    overall_counts: Counts = dict.fromkeys(Outcome, 0)
    overall_moods = _MoodSums()
    total = 0
    for record in records:
        person = by_person.get(record.person)
        if person is None:
            person = by_person[record.person] = _Person()
        person.records.append(record)
        person.counts[record.outcome] += 1
        overall_counts[record.outcome] += 1
        total += 1
        if record.mood is not None:
            person.moods.add(record.local_date, record.mood)
            overall_moods.add(record.local_date, record.mood)

    listed = set(people)
    order = list(dict.fromkeys(people)) + sorted(p for p in by_person if p not in listed)
    stats: list[PersonStats] = []
    for name in order:
        person = by_person[name]
        person.records.sort(key=lambda record: record.local_date)  # stable: ties keep order
        current, longest = _streaks(person.records)
        stats.append(
            PersonStats(
                person=name,
                counts=person.counts,
                total=len(person.records),
                participation_rate=_rate(person.counts),
                current_streak=current,
                longest_streak=longest,
                mood_average=person.moods.average(),
                mood_trend=person.moods.trend(),
            )
        )
    return Report(
        people=stats,
        overall=OverallStats(
            counts=overall_counts,
            total=total,
            participation_rate=_rate(overall_counts),
            mood_average=overall_moods.average(),
            mood_trend=overall_moods.trend(),
        ),
    )


_PERIOD = re.compile(r"([0-9]{1,3})\s*(?:d|days?)?")


def parse_period(text: str) -> int | None:
    """Days in a report period: "7d", "30d" or "90d" (also "30", "30 days"); "" means 30.

    Returns None for anything else; show :data:`PERIOD_ERROR` then.
    """
    text = text.strip().casefold()
    if not text:
        return DEFAULT_PERIOD_DAYS
    match = _PERIOD.fullmatch(text)
    if match is None:
        return None
    days = int(match.group(1))
    return days if days in PERIODS else None


def period_start(today: date, days: int) -> date:
    """First local date of a period of ``days`` days ending with (and including) ``today``."""
    return today - timedelta(days=days - 1)


@dataclass(frozen=True)
class ReportArgs:
    """``/standup report <name> [period]``: the standup's name and the period in days."""

    name: str
    days: int


# A last word that is meant as a period: digits then "d" ("30d", "14d", "-7d"). A bare number
# stays part of the name, so "Sprint 7" is a standup, not "Sprint" over 7 days.
_PERIOD_WORD = re.compile(r"[-+]?[0-9]+d", re.IGNORECASE)


def parse_report_args(argument: str) -> ReportArgs | ParseError:
    """The name and period of ``/standup report``, or a message saying what is wrong."""
    words = argument.split()
    if words and _PERIOD_WORD.fullmatch(words[-1]):
        days = parse_period(words[-1])
        if days is None:
            return ParseError(f"{PERIOD_ERROR} {REPORT_USAGE}")
        words = words[:-1]
    else:
        days = DEFAULT_PERIOD_DAYS
    if not words:
        return ParseError(f"Which standup? {REPORT_USAGE}")
    return ReportArgs(" ".join(words), days)
