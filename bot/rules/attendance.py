"""Who is not asked on a given day, and why: out of office, a public holiday, a skipped date.

Pure, so the planner, the sender (a period set after planning), ``/standup run`` and the
commands that change these settings all decide the same way.

A person's away periods and holidays are read in their own calendar: the local date, in
their own time zone, of the instant their prompt is due. For a standup that follows each
participant's zone that is the run's date; for one with a fixed zone it may be the day before
or after (09:00 in Los Angeles is already tomorrow in Bangalore).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.rules.away import ParseError, Range, is_away
from bot.rules.holidays import holiday_name

__all__ = [
    "SKIP_USAGE",
    "Absence",
    "HolidayLookup",
    "SkipArgs",
    "absence",
    "next_holiday",
    "one_year_after",
    "parse_skip",
    "person_date",
    "skip_date_problem",
]


class Absence(enum.StrEnum):
    """Why someone gets no prompt on a day (the values match the prompt states)."""

    AWAY = "away"
    HOLIDAY = "holiday"


def person_date(due_at: datetime, tz_name: str | None, fallback: date) -> date:
    """The person's own local date when their prompt is due; ``fallback`` (the run's date)
    while their time zone is unknown or not one we can read."""
    if not tz_name:
        return fallback
    try:
        return due_at.astimezone(ZoneInfo(tz_name)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


class HolidayLookup:
    """Holiday names by (calendar, date), each looked up once per planning pass: a standup of
    300 people on three calendars costs three look-ups a day, not 300. A code the holiday
    data no longer knows (say, after an upgrade) counts as a calendar without holidays."""

    def __init__(self, lookup: Callable[[str, date], str | None] = holiday_name) -> None:
        self._lookup = lookup
        self._names: dict[tuple[str, date], str | None] = {}
        self.misses = 0

    def name(self, code: str | None, day: date) -> str | None:
        if not code:
            return None
        key = (code, day)
        if key not in self._names:
            self.misses += 1
            try:
                self._names[key] = self._lookup(code, day)
            except ValueError:
                self._names[key] = None
        return self._names[key]


def absence(
    *, day: date, away: Iterable[Range], calendar: str | None, holidays: HolidayLookup
) -> Absence | None:
    """Why the person is not asked on ``day`` (their own date), or None: out of office wins
    over a holiday (it is what they told us themselves)."""
    if is_away(away, day):
        return Absence.AWAY
    if holidays.name(calendar, day):
        return Absence.HOLIDAY
    return None


def next_holiday(
    code: str | None, today: date, holidays: HolidayLookup, *, within_days: int = 366
) -> tuple[date, str] | None:
    """The next public holiday of ``code`` from ``today`` on (inclusive), within a year."""
    if not code:
        return None
    for offset in range(within_days):
        day = today + timedelta(days=offset)
        name = holidays.name(code, day)
        if name:
            return day, name
    return None


# --------------------------------------------------------------------------------------------
# /standup skip <name> [YYYY-MM-DD]
# --------------------------------------------------------------------------------------------

SKIP_USAGE = (
    "Usage: /standup skip <name> skips today's run, /standup skip <name> YYYY-MM-DD skips that "
    "date, for everyone in the standup."
)
# A last word made of digits and date separators is meant as a date, even a malformed one.
_DATE_LIKE = re.compile(r"[0-9]+[-/.][0-9]+(?:[-/.][0-9]+)*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class SkipArgs:
    """The standup's name and the date to skip (None: today's run)."""

    name: str
    day: date | None = None


def parse_skip(argument: str) -> SkipArgs | ParseError:
    """``Daily`` -> today's run of Daily; ``Team sync 2026-12-24`` -> that date."""
    words = argument.split()
    if not words:
        return ParseError(f"Which standup? {SKIP_USAGE}")
    last = words[-1]
    if len(words) == 1 or not _DATE_LIKE.fullmatch(last):
        return SkipArgs(" ".join(words))
    if _ISO_DATE.fullmatch(last):
        try:
            return SkipArgs(" ".join(words[:-1]), date.fromisoformat(last))
        except ValueError:
            pass
    shown = last if len(last) <= 40 else last[:39] + "…"
    return ParseError(
        f"“{shown}” is not a date I can read: write dates as YYYY-MM-DD. {SKIP_USAGE}"
    )


def one_year_after(day: date) -> date:
    """The same calendar day a year later (29 February: the 28th)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def skip_date_problem(day: date, today: date) -> str | None:
    """Why ``day`` can't be skipped (``today`` in the standup's calendar), or None."""
    if day < today:
        return (
            f"{day.isoformat()} is in the past (today is {today.isoformat()}): only today or "
            f"a later date can be skipped."
        )
    latest = one_year_after(today)
    if day > latest:
        return (
            f"{day.isoformat()} is more than a year ahead: dates up to {latest.isoformat()} "
            f"can be skipped."
        )
    return None
