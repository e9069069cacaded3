"""When to nudge someone who has not answered yet, and the rules for the reminder setting.

Why pure: the scheduler plans the nudge from a run's opening and closing instants, and the
settings form must reject values the scheduler could not honour; both use these rules. A
reminder is either off, halfway through the answer window (the default), or a chosen number of
minutes before the window closes, but never before it opens.

The form value is text: ``off``, ``halfway`` (or blank, the default), or whole minutes such as
``30``. :func:`parse_reminder` turns it into the two stored settings that
:func:`reminder_due_at` takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "ReminderSetting",
    "parse_reminder",
    "prompt_reminder_at",
    "reminder_due_at",
    "reminder_error",
]

_MINUTES = re.compile(r"([0-9]{1,6})\s*(?:m|min|mins|minutes?)?")
_OFF_WORDS = frozenset({"off", "no", "none", "never"})
_HALFWAY_WORDS = frozenset({"", "halfway", "default"})


@dataclass(frozen=True)
class ReminderSetting:
    """What to store; pass both fields to :func:`reminder_due_at`.

    ``minutes_before`` None with ``default_halfway`` True: halfway through the window;
    None with False: no reminder; a number: that many minutes before closing.
    """

    minutes_before: int | None
    default_halfway: bool


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def reminder_due_at(
    opens_at: datetime,
    closes_at: datetime,
    minutes_before: int | None,
    *,
    default_halfway: bool,
) -> datetime | None:
    """The instant to send the reminder, or None when reminders are off.

    * ``minutes_before`` None: halfway between opening and closing if ``default_halfway``,
      else no reminder.
    * Otherwise ``closes_at - minutes_before``, moved up to ``opens_at`` if that is earlier
      (e.g. a standup run late with a shortened window).

    Raises ``ValueError`` for naive datetimes, a window that does not close after it opens, or
    a non-positive ``minutes_before``; stored values are validated by :func:`parse_reminder`.
    """
    _require_aware(opens_at, "opens_at")
    _require_aware(closes_at, "closes_at")
    if closes_at <= opens_at:
        raise ValueError(f"window closes ({closes_at}) no later than it opens ({opens_at})")
    if minutes_before is None:
        return opens_at + (closes_at - opens_at) / 2 if default_halfway else None
    if isinstance(minutes_before, bool) or minutes_before <= 0:
        raise ValueError(f"minutes_before must be a positive number, got {minutes_before!r}")
    return max(opens_at, closes_at - timedelta(minutes=minutes_before))


def prompt_reminder_at(
    sent_at: datetime | None, closes_at: datetime, stored_minutes_before: int | None
) -> datetime | None:
    """When one person's automatic reminder is due, from the standup's stored setting
    (``standup.reminder_minutes_before``: None halfway, 0 off, N minutes before the close).

    Their window opens when their prompt reached them (``sent_at``, not when it was due: a
    prompt sent late after downtime must not be followed by an immediate reminder) and
    closes with the run. None when reminders are off, when the prompt was never sent, or
    when the reminder would fall no later than the prompt itself (a window too short to be
    worth a nudge).
    """
    off = stored_minutes_before is not None and stored_minutes_before <= 0
    if sent_at is None or off or closes_at <= sent_at:
        return None
    due = reminder_due_at(sent_at, closes_at, stored_minutes_before, default_halfway=True)
    return due if due is not None and due > sent_at else None


def _window_text(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes} minutes ({minutes // 60} hours)"
    return f"{minutes} minutes"


def parse_reminder(value: str | None, window: timedelta) -> ReminderSetting:
    """Read the reminder form field; raises ``ValueError`` with a message for the user.

    ``window`` is how long answers are collected (from opening to closing). A number of
    minutes must be at least 1 and smaller than the window, so the reminder falls inside it.
    """
    text = (value or "").strip().lower()
    if text in _OFF_WORDS:
        return ReminderSetting(None, default_halfway=False)
    if text in _HALFWAY_WORDS:
        return ReminderSetting(None, default_halfway=True)
    usage = (
        "Enter “off”, “halfway”, or how many minutes before the standup closes to remind "
        "people, e.g. 30."
    )
    match = _MINUTES.fullmatch(text)
    if match is None:
        quoted = value.strip() if value else ""
        raise ValueError(f"“{quoted[:40]}” is not a reminder setting. {usage}")
    minutes = int(match.group(1))
    if minutes < 1:
        raise ValueError(f"The reminder must be at least 1 minute before closing. {usage}")
    if timedelta(minutes=minutes) >= window:
        raise ValueError(
            f"A reminder {minutes} minutes before closing would not fall while answers are "
            f"being collected ({_window_text(window)}). Use a number smaller than that."
        )
    return ReminderSetting(minutes, default_halfway=True)


def reminder_error(value: str | None, window: timedelta) -> str | None:
    """The plain-English problem with a reminder form value, or None if it is fine."""
    try:
        parse_reminder(value, window)
    except ValueError as exc:
        return str(exc)
    return None
