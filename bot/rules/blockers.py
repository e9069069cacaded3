"""How long a blocker has been open, counted in the team's working days.

A blocker raised on Friday is not "3 days old" on Monday for a Mon–Fri team, so escalation
("open for more than N working days") counts only the standup's weekdays. Kept pure and O(1) so
the summary, reminders and reports agree and any date range is cheap.
Weekdays are numbered like ``date.weekday()``: Monday is 0, Sunday is 6.
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "DEFAULT_ESCALATION_DAYS",
    "MAX_ESCALATION_DAYS",
    "WORK_WEEK",
    "age_text",
    "escalation_days_error",
    "escalation_days_of",
    "is_overdue",
    "working_days_between",
]

WORK_WEEK: frozenset[int] = frozenset(range(5))
"""Monday to Friday."""

DEFAULT_ESCALATION_DAYS = 2
"""A standup's "Escalate blockers after" when the form leaves it empty (issue 10)."""
MAX_ESCALATION_DAYS = 30
"""Past six working weeks a blocker is no longer news to escalate."""


def _check_weekdays(weekdays: frozenset[int]) -> None:
    if not weekdays <= frozenset(range(7)):
        raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), not {sorted(weekdays)}")


def working_days_between(start: date, end: date, weekdays: frozenset[int] = WORK_WEEK) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``).

    Friday → next Monday is 1 working day for a Mon–Fri week.
    """
    _check_weekdays(weekdays)
    days = (end - start).days
    if days <= 0 or not weekdays:
        return 0
    weeks, rest = divmod(days, 7)
    first = start.weekday()
    partial = sum(1 for offset in range(1, rest + 1) if (first + offset) % 7 in weekdays)
    return weeks * len(weekdays) + partial


def is_overdue(
    opened_on: date,
    today: date,
    threshold_days: int,
    weekdays: frozenset[int] = WORK_WEEK,
) -> bool:
    """True once a blocker has been open for more than ``threshold_days`` working days."""
    if threshold_days < 0:
        raise ValueError(f"threshold_days must be 0 or more, not {threshold_days}")
    return working_days_between(opened_on, today, weekdays) > threshold_days


def age_text(opened_on: date, today: date) -> str:
    """Calendar age for people: "since today", "since yesterday", "for 3 days".

    A date in the future (clock or time-zone skew) reads "since today".
    """
    days = (today - opened_on).days
    if days <= 0:
        return "since today"
    if days == 1:
        return "since yesterday"
    return f"for {days} days"


def escalation_days_error(days: int | None) -> str | None:
    """What is wrong with a standup's "Escalate blockers after" (working days), or None.
    None (left empty) means the default; 0 escalates a blocker the working day after it opens."""
    if days is None or 0 <= days <= MAX_ESCALATION_DAYS:
        return None
    return (
        f"Give a whole number of working days from 0 to {MAX_ESCALATION_DAYS}, e.g. 2 "
        f"(leave it empty for {DEFAULT_ESCALATION_DAYS})."
    )


def escalation_days_of(days: int | None) -> int:
    """The stored threshold for a checked value: empty takes the default."""
    return DEFAULT_ESCALATION_DAYS if days is None else days
