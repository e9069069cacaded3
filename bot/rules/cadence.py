"""How often a standup runs: weekly, every N weeks, or monthly, as pure date rules.

Why a module of its own: ``timemath`` only knows "these weekdays, every week". Teams also run
fortnightly standups or a monthly check-in, and the scheduler, the settings form,
the stored JSON and the Slack summaries must all agree on exactly which local dates that means.
Deciding the *dates* lives here; turning a local date and time into a UTC instant is delegated to
:func:`bot.rules.timemath.local_occurrence_utc`, so every cadence follows the same DST rules (a
time inside a spring-forward gap fires at the first valid minute after the gap; an ambiguous
fall-back time fires at its first occurrence).

Rules worth knowing:

* Every N weeks: weeks start on Monday and the week containing ``start`` is week 0, so the
  standup runs in weeks 0, N, 2N, ... on the chosen weekdays. Nothing runs before ``start``
  itself (a start date on a Wednesday skips that week's Monday and Tuesday).
* Monthly on day 29, 30 or 31: in a month without that day it runs on the month's last day
  (day 31 runs on 30 April and on 28 or 29 February), so every month has exactly one run.
* Monthly on the nth weekday: n is 1 to 4 or "last"; "last Friday" is the Friday within the
  last seven days of the month. A fifth weekday is not offered because most months lack one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import ClassVar, TypeAlias, TypeGuard, assert_never
from zoneinfo import ZoneInfo

from bot.rules.timemath import WEEKDAY_NAMES, local_date_at, local_occurrence_utc, mask_to_weekdays

__all__ = [
    "LAST",
    "MAX_INTERVAL_WEEKS",
    "MIN_INTERVAL_WEEKS",
    "Cadence",
    "CadenceKind",
    "EveryNWeeks",
    "MonthlyDay",
    "MonthlyWeekday",
    "Weekly",
    "cadence_error",
    "describe",
    "from_json",
    "make_cadence",
    "next_occurrence",
    "occurrences_between",
    "runs_on",
    "to_json",
    "weekly",
]

MIN_INTERVAL_WEEKS = 1
MAX_INTERVAL_WEEKS = 12
LAST = -1
"""``MonthlyWeekday.nth`` value meaning "the last such weekday of the month"."""

_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_FULL_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NTH_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", LAST: "last"}
_NTH_FROM_WORD = {word: n for n, word in _NTH_WORDS.items()}


class CadenceKind(StrEnum):
    """Stored in JSON as ``"kind"``; the values are part of the storage format."""

    WEEKLY = "weekly"
    EVERY_N_WEEKS = "every_n_weeks"
    MONTHLY_DAY = "monthly_day"
    MONTHLY_WEEKDAY = "monthly_weekday"


# --------------------------------------------------------------------------------------------
# Field checks shared by the dataclasses, the form helper and from_json
# --------------------------------------------------------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    """True for real ints; ``bool`` is an int subclass but never a sensible day or count."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_weekdays(value: object) -> frozenset[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError("Weekdays must be a list of day numbers from 0 (Mon) to 6 (Sun).")
    days: set[int] = set()
    for day in value:
        if not (_is_int(day) and 0 <= day <= 6):
            raise ValueError(
                f"Weekdays must be day numbers from 0 (Mon) to 6 (Sun); {day!r} is not one."
            )
        days.add(day)
    if not days:
        raise ValueError("Pick at least one day of the week.")
    return frozenset(days)


def _check_interval(value: object) -> int:
    if _is_int(value) and MIN_INTERVAL_WEEKS <= value <= MAX_INTERVAL_WEEKS:
        return value
    raise ValueError(
        f"Repeat every {MIN_INTERVAL_WEEKS} to {MAX_INTERVAL_WEEKS} weeks; "
        f"{value!r} is out of range."
    )


def _check_start(value: object) -> date:
    if value is None:
        raise ValueError(
            "Pick a start date for a standup that repeats every few weeks: "
            "the week containing it is the first week the standup runs."
        )
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"The start date must be a calendar date; got {value!r}.")
    return value


def _check_month_day(value: object) -> int:
    if _is_int(value) and 1 <= value <= 31:
        return value
    raise ValueError(f"The day of the month must be from 1 to 31; {value!r} is not.")


def _check_nth(value: object) -> int:
    """1-4 or LAST; form input may also use the words "first" ... "fourth" and "last"."""
    if isinstance(value, str) and value.strip().lower() in _NTH_FROM_WORD:
        return _NTH_FROM_WORD[value.strip().lower()]
    if _is_int(value) and value in _NTH_WORDS:
        return value
    raise _nth_error(value)


def _nth_error(value: object) -> ValueError:
    return ValueError(
        f"The week of the month must be first, second, third, fourth or last; {value!r} is not "
        f"(a fifth weekday is not offered because most months do not have one)."
    )


def _check_weekday(value: object) -> int:
    if value is None:
        raise ValueError("Pick the day of the week.")
    if _is_int(value) and 0 <= value <= 6:
        return value
    raise ValueError(
        f"The day of the week must be a number from 0 (Mon) to 6 (Sun); {value!r} is not."
    )


# --------------------------------------------------------------------------------------------
# Cadence kinds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weekly:
    """Every week on the chosen weekdays (Monday == 0): the original standup schedule."""

    weekdays: frozenset[int]
    kind: ClassVar[CadenceKind] = CadenceKind.WEEKLY

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekdays", _check_weekdays(self.weekdays))


@dataclass(frozen=True)
class EveryNWeeks:
    """Every ``interval`` weeks on the chosen weekdays, counted from the week holding ``start``.

    Weeks run Monday to Sunday; the week containing ``start`` is week 0 and the standup runs in
    weeks 0, N, 2N, ... but never on a date before ``start``.
    """

    interval: int
    weekdays: frozenset[int]
    start: date
    kind: ClassVar[CadenceKind] = CadenceKind.EVERY_N_WEEKS

    def __post_init__(self) -> None:
        _check_interval(self.interval)
        object.__setattr__(self, "weekdays", _check_weekdays(self.weekdays))
        _check_start(self.start)


@dataclass(frozen=True)
class MonthlyDay:
    """Once a month on day ``day`` (1-31); months without that day use their last day."""

    day: int
    kind: ClassVar[CadenceKind] = CadenceKind.MONTHLY_DAY

    def __post_init__(self) -> None:
        _check_month_day(self.day)


@dataclass(frozen=True)
class MonthlyWeekday:
    """Once a month on the ``nth`` (1-4, or :data:`LAST`) ``weekday`` (Monday == 0)."""

    nth: int
    weekday: int
    kind: ClassVar[CadenceKind] = CadenceKind.MONTHLY_WEEKDAY

    def __post_init__(self) -> None:
        if not (_is_int(self.nth) and self.nth in _NTH_WORDS):  # words are for make_cadence
            raise _nth_error(self.nth)
        _check_weekday(self.weekday)


Cadence: TypeAlias = Weekly | EveryNWeeks | MonthlyDay | MonthlyWeekday


def weekly(mask_or_days: int | Iterable[int]) -> Weekly:
    """A :class:`Weekly` cadence from today's stored 7-bit weekday mask or from day numbers."""
    if isinstance(mask_or_days, int):
        return Weekly(mask_to_weekdays(mask_or_days))  # rejects bools and bits beyond Sunday
    return Weekly(frozenset(mask_or_days))


def make_cadence(
    kind: CadenceKind | str,
    *,
    weekdays: Iterable[int] | None = None,
    interval: int | None = None,
    start: date | None = None,
    day: int | None = None,
    nth: int | str | None = None,
    weekday: int | None = None,
) -> Cadence:
    """Build a cadence from form-style inputs, raising ``ValueError`` with a plain message.

    Only the fields the kind needs are read, so a form can pass every field it has. ``nth``
    accepts 1-4, :data:`LAST`, or the words "first" ... "fourth" / "last".
    """
    try:
        kind = CadenceKind(kind)
    except ValueError:
        choices = ", ".join(k.value for k in CadenceKind)
        raise ValueError(f"Unknown repeat option {kind!r}; choose one of {choices}.") from None
    if kind is CadenceKind.WEEKLY:
        return Weekly(_check_weekdays(weekdays if weekdays is not None else ()))
    if kind is CadenceKind.EVERY_N_WEEKS:
        if interval is None:
            raise ValueError(
                f"Say how many weeks apart the standup runs "
                f"({MIN_INTERVAL_WEEKS} to {MAX_INTERVAL_WEEKS})."
            )
        return EveryNWeeks(
            _check_interval(interval),
            _check_weekdays(weekdays if weekdays is not None else ()),
            _check_start(start),
        )
    if kind is CadenceKind.MONTHLY_DAY:
        if day is None:
            raise ValueError("Pick the day of the month (1 to 31).")
        return MonthlyDay(_check_month_day(day))
    if kind is CadenceKind.MONTHLY_WEEKDAY:
        if nth is None:
            raise ValueError("Pick which week of the month: first, second, third, fourth or last.")
        return MonthlyWeekday(_check_nth(nth), _check_weekday(weekday))
    assert_never(kind)


def cadence_error(
    kind: CadenceKind | str,
    *,
    weekdays: Iterable[int] | None = None,
    interval: int | None = None,
    start: date | None = None,
    day: int | None = None,
    nth: int | str | None = None,
    weekday: int | None = None,
) -> str | None:
    """The plain-English problem with these form inputs, or None if they make a valid cadence."""
    try:
        make_cadence(
            kind,
            weekdays=weekdays,
            interval=interval,
            start=start,
            day=day,
            nth=nth,
            weekday=weekday,
        )
    except ValueError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------------------------
# Which local dates
# --------------------------------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_index(start: date, day: date) -> int:
    """Weeks (Monday-based) from the week holding ``start`` to the week holding ``day``."""
    return (_monday(day) - _monday(start)).days // 7


def _nth_weekday(year: int, month: int, nth: int, weekday: int) -> date:
    if nth == LAST:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _run_date_in_month(cadence: MonthlyDay | MonthlyWeekday, year: int, month: int) -> date:
    if isinstance(cadence, MonthlyDay):
        return date(year, month, min(cadence.day, calendar.monthrange(year, month)[1]))
    return _nth_weekday(year, month, cadence.nth, cadence.weekday)


def runs_on(cadence: Cadence, local_date: date) -> bool:
    """Whether the standup runs on this date of the participant's (or the fixed) calendar."""
    match cadence:
        case Weekly():
            return local_date.weekday() in cadence.weekdays
        case EveryNWeeks():
            return (
                local_date >= cadence.start
                and local_date.weekday() in cadence.weekdays
                and _week_index(cadence.start, local_date) % cadence.interval == 0
            )
        case MonthlyDay() | MonthlyWeekday():
            return local_date == _run_date_in_month(cadence, local_date.year, local_date.month)
    assert_never(cadence)


def _first_run_on_or_after(cadence: Cadence, day: date) -> date | None:
    """The first run date ``>= day``, computed arithmetically (a few steps, never a day scan).

    None only when it would lie beyond ``date.max``.
    """
    try:
        match cadence:
            case Weekly():
                return day + timedelta(days=min((w - day.weekday()) % 7 for w in cadence.weekdays))
            case EveryNWeeks():
                day = max(day, cadence.start)
                days = sorted(cadence.weekdays)
                while True:  # at most two passes: the next active week always has a run day
                    behind = _week_index(cadence.start, day) % cadence.interval
                    if behind == 0:
                        later = [w for w in days if w >= day.weekday()]
                        if later:
                            return day + timedelta(days=later[0] - day.weekday())
                        day = _monday(day) + cadence.interval * _WEEK
                    else:
                        day = _monday(day) + (cadence.interval - behind) * _WEEK
            case MonthlyDay() | MonthlyWeekday():
                candidate = _run_date_in_month(cadence, day.year, day.month)
                if candidate >= day:
                    return candidate
                year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
                return _run_date_in_month(cadence, year, month)
    except (OverflowError, ValueError):  # past date.max (year 10000)
        return None
    assert_never(cadence)


def _run_dates(cadence: Cadence, first: date, last: date) -> Iterator[date]:
    """Run dates in ``[first, last]``; one step per run date, so never more than the days."""
    day: date | None = first
    while day is not None and day <= last:
        day = _first_run_on_or_after(cadence, day)
        if day is None or day > last:
            return
        yield day
        day = day + _DAY if day < date.max else None


# --------------------------------------------------------------------------------------------
# Which UTC instants
# --------------------------------------------------------------------------------------------


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def occurrences_between(
    cadence: Cadence,
    local_time: time,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
) -> list[tuple[date, datetime]]:
    """Every ``(local_date, due_utc)`` with ``start <= due_utc < end``, sorted by ``due_utc``.

    Same contract as :func:`bot.rules.timemath.occurrences_between` (half-open window, local
    dates one day either side examined, an instant reported once if a zone skips a whole day),
    but for any cadence. Work is proportional to the number of run dates in the window.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if start >= end:
        return []
    first = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    first = first - _DAY if first > date.min else first
    last = last + _DAY if last < date.max else last
    by_instant: dict[datetime, date] = {}
    for day in _run_dates(cadence, first, last):
        due = local_occurrence_utc(day, local_time, zone)
        # On a collision keep the date the instant really falls on, not the skipped one.
        if start <= due < end and (due not in by_instant or local_date_at(due, zone) == day):
            by_instant[due] = day
    return sorted(((d, due) for due, d in by_instant.items()), key=lambda item: item[1])


def next_occurrence(
    cadence: Cadence,
    local_time: time,
    zone: ZoneInfo,
    after: datetime,
) -> tuple[date, datetime] | None:
    """The first occurrence strictly after ``after`` (so a job can reschedule from its own due).

    Found by jumping from run date to run date (a handful of steps, however far away the next
    monthly or every-12-weeks run, or a future start date, is). None only past ``date.max``.
    Always equal to the first element of :func:`occurrences_between` from just after ``after``.
    """
    _require_aware(after, "after")
    # No look-back needed (unlike occurrences_between): an occurrence pushed onto the next
    # local date by a gap is the first instant of that date, so it cannot be after ``after``
    # when ``after`` itself is on that date.
    day: date | None = after.astimezone(zone).date()
    while day is not None:
        run = _first_run_on_or_after(cadence, day)
        if run is None:
            return None
        due = local_occurrence_utc(run, local_time, zone)
        if due > after:
            # A skipped calendar day can share its instant with the next run date; report the
            # date the instant really falls on, as occurrences_between does.
            following = _first_run_on_or_after(cadence, run + _DAY) if run < date.max else None
            if (
                following is not None
                and local_occurrence_utc(following, local_time, zone) == due
                and local_date_at(due, zone) == following
            ):
                return following, due
            return run, due
        day = run + _DAY if run < date.max else None
    return None


# --------------------------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------------------------


def _describe_days(weekdays: frozenset[int]) -> str:
    """Day list such as "Mon–Fri", "Mon, Wed, Fri" or "Mon–Wed, Sat" (runs of 3+ days as ranges).

    ``timemath.describe_weekdays`` says "weekdays"/"weekends"; cadence summaries read better
    with explicit ranges next to "every 2 weeks on ...", so this formats the days itself.
    """
    days = sorted(weekdays)
    parts: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{WEEKDAY_NAMES[days[i]]}–{WEEKDAY_NAMES[days[j]]}")
        else:
            parts.extend(WEEKDAY_NAMES[d] for d in days[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(cadence: Cadence) -> str:
    """Plain-English summary: "Mon–Fri", "every 2 weeks on Mon, Wed", "monthly on the 15th",
    "first Monday of the month", "last Friday of the month"."""
    match cadence:
        case Weekly():
            if len(cadence.weekdays) == 7:
                return "every day"
            return _describe_days(cadence.weekdays)
        case EveryNWeeks():
            every = "every week" if cadence.interval == 1 else f"every {cadence.interval} weeks"
            if len(cadence.weekdays) == 7:
                return f"{every}, every day"
            return f"{every} on {_describe_days(cadence.weekdays)}"
        case MonthlyDay():
            text = f"monthly on the {_ordinal(cadence.day)}"
            if cadence.day >= 29:
                text += " (or the last day of shorter months)"
            return text
        case MonthlyWeekday():
            return f"{_NTH_WORDS[cadence.nth]} {_FULL_DAY_NAMES[cadence.weekday]} of the month"
    assert_never(cadence)


# --------------------------------------------------------------------------------------------
# JSON storage
# --------------------------------------------------------------------------------------------

_FIELDS: dict[CadenceKind, frozenset[str]] = {
    CadenceKind.WEEKLY: frozenset({"kind", "weekdays"}),
    CadenceKind.EVERY_N_WEEKS: frozenset({"kind", "interval", "weekdays", "start"}),
    CadenceKind.MONTHLY_DAY: frozenset({"kind", "day"}),
    CadenceKind.MONTHLY_WEEKDAY: frozenset({"kind", "nth", "weekday"}),
}


def to_json(cadence: Cadence) -> dict[str, object]:
    """JSON-ready dict for a JSON column; :func:`from_json` reads it back to an equal value."""
    match cadence:
        case Weekly():
            return {"kind": cadence.kind.value, "weekdays": sorted(cadence.weekdays)}
        case EveryNWeeks():
            return {
                "kind": cadence.kind.value,
                "interval": cadence.interval,
                "weekdays": sorted(cadence.weekdays),
                "start": cadence.start.isoformat(),
            }
        case MonthlyDay():
            return {"kind": cadence.kind.value, "day": cadence.day}
        case MonthlyWeekday():
            nth: int | str = "last" if cadence.nth == LAST else cadence.nth
            return {"kind": cadence.kind.value, "nth": nth, "weekday": cadence.weekday}
    assert_never(cadence)


def _json_weekdays(value: object) -> frozenset[int]:
    if not isinstance(value, list):
        raise ValueError(f"'weekdays' must be a list of day numbers 0-6, got {value!r}")
    days = _check_weekdays(value)
    if len(days) != len(value):
        raise ValueError(f"'weekdays' lists a day twice: {value!r}")
    return days


def _json_start(value: object) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(f"'start' must be a YYYY-MM-DD string, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'start' must be a YYYY-MM-DD date, got {value!r}") from None


def from_json(data: object, *, weekday_mask: int | None = None) -> Cadence:
    """Read a stored cadence, raising ``ValueError`` that says what is wrong with the data.

    A missing cadence (``None``) means a standup saved before cadences existed: pass its
    ``weekday_mask`` and it reads as the weekly cadence it always had. Data is checked strictly
    (unknown kind, missing or extra keys, wrong types, out-of-range values) so corruption
    surfaces where it is read rather than as a wrong schedule.
    """
    if data is None:
        if weekday_mask is None:
            raise ValueError("no cadence stored and no weekday mask to fall back on")
        return weekly(weekday_mask)
    if not isinstance(data, Mapping):
        raise ValueError(f"stored cadence must be a JSON object, got {type(data).__name__}")
    raw_kind = data.get("kind")
    try:
        if not isinstance(raw_kind, str):
            raise ValueError
        kind = CadenceKind(raw_kind)
    except ValueError:
        choices = ", ".join(k.value for k in CadenceKind)
        raise ValueError(
            f"stored cadence has unknown kind {raw_kind!r}; expected one of {choices}"
        ) from None
    keys = set(data)
    expected = _FIELDS[kind]
    if keys != expected:
        problems = []
        if missing := sorted(expected - keys):
            problems.append(f"missing {', '.join(missing)}")
        if extra := sorted(str(k) for k in keys - expected):
            problems.append(f"unexpected {', '.join(extra)}")
        raise ValueError(f"stored {kind.value} cadence is malformed: {'; '.join(problems)}")
    try:
        if kind is CadenceKind.WEEKLY:
            return Weekly(_json_weekdays(data["weekdays"]))
        if kind is CadenceKind.EVERY_N_WEEKS:
            return EveryNWeeks(
                _check_interval(data["interval"]),
                _json_weekdays(data["weekdays"]),
                _json_start(data["start"]),
            )
        if kind is CadenceKind.MONTHLY_DAY:
            return MonthlyDay(_check_month_day(data["day"]))
        if kind is CadenceKind.MONTHLY_WEEKDAY:
            nth = data["nth"]
            if nth == "last":
                nth = LAST
            elif not (_is_int(nth) and 1 <= nth <= 4):
                raise ValueError(f"'nth' must be 1, 2, 3, 4 or \"last\", got {nth!r}")
            return MonthlyWeekday(nth, _check_weekday(data["weekday"]))
    except ValueError as exc:
        raise ValueError(f"stored {kind.value} cadence is invalid: {exc}") from None
    assert_never(kind)
