"""Pure time-zone arithmetic for standup schedules.

Everything here is deterministic and side-effect free so the scheduler, the Slack handlers and the
tests can share one definition of "when is this standup due". All instants returned are aware
UTC datetimes; local wall-clock times are interpreted with ``zoneinfo`` so DST gaps and overlaps
(including 30-minute shifts and 45-minute offsets) are handled explicitly, not by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "WEEKDAY_NAMES",
    "describe_schedule",
    "describe_weekdays",
    "is_valid_timezone",
    "local_date_at",
    "local_occurrence_utc",
    "mask_to_weekdays",
    "next_occurrence",
    "occurrences_between",
    "parse_local_time",
    "weekdays_to_mask",
]

WEEKDAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Short day names indexed like ``datetime.weekday()`` (Monday == 0)."""

_ALL_DAYS = frozenset(range(7))
_WORK_DAYS = frozenset(range(5))
_WEEKEND = frozenset({5, 6})

# ASCII digits only: ``\d`` would also accept e.g. Arabic-Indic digits that int() silently parses.
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
# IANA zone names only ever use these characters; rejecting anything else up front keeps path
# tricks ("../etc", absolute paths, NUL bytes) away from the filesystem lookup ZoneInfo performs.
_TZ_NAME_RE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


def parse_local_time(value: str) -> time:
    """Parse a user-supplied ``HH:MM`` wall-clock time.

    Strict on purpose: a typo such as ``"9:3x"`` must be reported to the user, not guessed at.
    Surrounding whitespace is tolerated because it comes from Slack text inputs.
    """
    match = _TIME_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"invalid time {value!r}: expected HH:MM (24-hour clock)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid time {value!r}: hour must be 0-23 and minute 0-59")
    return time(hour, minute)


def is_valid_timezone(name: str) -> bool:
    """Return True if ``name`` is an IANA zone key that ``ZoneInfo`` can load.

    Used to validate user/Slack-profile input before it is persisted, so a bad value can never
    crash the scheduler later.
    """
    if not _TZ_NAME_RE.fullmatch(name):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _require_aware(value: datetime, what: str) -> None:
    """Reject naive datetimes: comparing them with UTC instants would silently assume a zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def _utc_offset_at(instant: datetime, tz: ZoneInfo) -> timedelta:
    """UTC offset in force in ``tz`` at an absolute instant."""
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # ZoneInfo always yields an offset for aware datetimes
    return offset


def _gap_end(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """Find the transition instant between two UTC instants with different offsets.

    ``zoneinfo`` does not expose its transition table, so bisect on whole seconds (tzdata
    transitions are always on whole seconds). The window is at most a few hours, so this takes a
    handful of iterations.
    """
    target = _utc_offset_at(after, tz)
    lo = int(before.timestamp())  # offset != target here
    hi = int(after.timestamp())  # offset == target here
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _utc_offset_at(datetime.fromtimestamp(mid, UTC), tz) == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def local_occurrence_utc(local_date: date, local_time: time, tz: ZoneInfo) -> datetime:
    """Return the aware UTC instant at which ``local_time`` happens on ``local_date`` in ``tz``.

    Why the special cases: a standup must fire exactly once per scheduled day.

    * Ambiguous wall time (fall-back overlap): the first occurrence (``fold=0``) is used, so the
      prompt is not sent twice.
    * Non-existent wall time (spring-forward gap): the prompt fires at the instant the gap ends,
      i.e. the first valid wall-clock time after the gap, rather than being skipped.

    A gap is detected by round-tripping through UTC: if the wall clock does not survive the trip
    the requested time does not exist that day.
    """
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap, fold=0 and fold=1 interpret the wall time with the offsets on either side of the
    # transition, giving two UTC instants that bracket it.
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    if _utc_offset_at(lo, tz) == _utc_offset_at(hi, tz):  # pragma: no cover - defensive
        return hi
    return _gap_end(lo, hi, tz)


def local_date_at(instant: datetime, tz: ZoneInfo) -> date:
    """Calendar date in ``tz`` at an absolute instant (e.g. "which day's standup is this?")."""
    _require_aware(instant, "instant")
    return instant.astimezone(tz).date()


def occurrences_between(
    weekdays: frozenset[int],
    local_time: time,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
) -> list[tuple[date, datetime]]:
    """List every ``(local_date, due_utc)`` with ``start <= due_utc < end``, sorted by ``due_utc``.

    The half-open window lets callers tile time into consecutive windows without firing a
    standup twice or missing one. Local dates one day either side of the window are examined
    because a local date's occurrence can fall on a different UTC date. If two local dates map to
    the same instant (only possible when a zone skips a whole calendar day) it is reported once.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if not weekdays or start >= end:
        return []
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    by_instant: dict[datetime, date] = {}
    while day <= last:
        if day.weekday() in weekdays:
            due = local_occurrence_utc(day, local_time, tz)
            # On a collision keep the date the instant really falls on, not the skipped one.
            if start <= due < end and (due not in by_instant or local_date_at(due, tz) == day):
                by_instant[due] = day
        day += timedelta(days=1)
    return sorted(((d, due) for due, d in by_instant.items()), key=lambda item: item[1])


def next_occurrence(
    weekdays: frozenset[int],
    local_time: time,
    tz: ZoneInfo,
    after: datetime,
) -> tuple[date, datetime] | None:
    """First occurrence strictly after ``after`` (within 8 days), or None if no days are selected.

    Strictly-after means a job that just fired at ``due`` can reschedule itself with
    ``after=due`` without firing again.
    """
    _require_aware(after, "after")
    if not weekdays:
        return None
    window = occurrences_between(
        weekdays,
        local_time,
        tz,
        after + timedelta(microseconds=1),
        after + timedelta(days=8),
    )
    return window[0] if window else None


def _validated(weekdays: Iterable[int]) -> frozenset[int]:
    """Normalise weekday numbers, rejecting anything outside ``datetime.weekday()``'s range."""
    result: set[int] = set()
    for day in weekdays:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"invalid weekday {day!r}: expected an int 0 (Mon) to 6 (Sun)")
        result.add(day)
    return frozenset(result)


def describe_weekdays(weekdays: frozenset[int]) -> str:
    """Human-readable day set for Slack messages ("weekdays", "Mon, Wed, Fri", ...)."""
    days = _validated(weekdays)
    if not days:
        return "never"
    if days == _ALL_DAYS:
        return "every day"
    if days == _WORK_DAYS:
        return "weekdays"
    if days == _WEEKEND:
        return "weekends"
    return ", ".join(WEEKDAY_NAMES[d] for d in sorted(days))


def describe_schedule(weekdays: frozenset[int], local_time: time, fixed_tz: str | None) -> str:
    """One-line schedule summary, making clear whose clock the time refers to."""
    when = f"{describe_weekdays(weekdays)} at {local_time.strftime('%H:%M')}"
    if fixed_tz is None:
        return f"{when} in each participant's time zone"
    return f"{when} {fixed_tz}"


def weekdays_to_mask(weekdays: Iterable[int]) -> int:
    """Pack weekdays into a 7-bit int (bit i <=> weekday i) for compact storage."""
    mask = 0
    for day in _validated(weekdays):
        mask |= 1 << day
    return mask


def mask_to_weekdays(mask: int) -> frozenset[int]:
    """Inverse of :func:`weekdays_to_mask`; rejects bits beyond Sunday so corrupt rows surface."""
    if isinstance(mask, bool) or not isinstance(mask, int) or not 0 <= mask <= 0b1111111:
        raise ValueError(f"invalid weekday mask {mask!r}: expected an int 0-127")
    return frozenset(d for d in range(7) if mask >> d & 1)
