"""Out-of-office rules: parsing ``/standup ooo ...`` and deciding whether someone is away.

Why pure: the slash-command handler, the scheduler (skip prompts for people who are away) and
the summaries must agree on what a range means. Dates are ISO ``YYYY-MM-DD``, inclusive at both
ends, and read in the person's own calendar (their time zone's local date), which is why
``today`` is passed in rather than read from a clock.

Forms, after ``/standup ooo`` (tokens already split on whitespace):

* nothing: show my away time;  ``off``: clear it;
* ``YYYY-MM-DD``: that single day;  ``YYYY-MM-DD YYYY-MM-DD``: a range;
* ``until YYYY-MM-DD``: from today to that day;
* any of the above after a user mention (``<@U123ABC>`` or ``<@U123ABC|name>``, as Slack
  sends an escaped ``@name``) to act for someone else; whether that is allowed is the
  handler's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeAlias

from bot.rules.timemath import WEEKDAY_NAMES

__all__ = [
    "MAX_RANGE_DAYS",
    "USAGE",
    "AwayClear",
    "AwayCommand",
    "AwaySet",
    "AwayShow",
    "ParseError",
    "describe_range",
    "is_away",
    "parse_ooo",
]

MAX_RANGE_DAYS = 366
"""Longest range accepted, counting both ends: a year, including a leap day."""

USAGE = (
    "Usage: /standup ooo YYYY-MM-DD (one day), /standup ooo YYYY-MM-DD YYYY-MM-DD (a range, "
    "both days included), /standup ooo until YYYY-MM-DD (from today), /standup ooo off "
    "(clear), or /standup ooo alone to see what is set. Put @someone first to do it for them."
)

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_QUOTE_LEN = 40


@dataclass(frozen=True)
class AwayShow:
    """Show the away time of ``user_id`` (None: the person who typed the command)."""

    user_id: str | None = None


@dataclass(frozen=True)
class AwayClear:
    """Clear the away time of ``user_id`` (None: the person who typed the command)."""

    user_id: str | None = None


@dataclass(frozen=True)
class AwaySet:
    """Mark ``user_id`` (None: the caller) away from ``start`` to ``end``, both included."""

    start: date
    end: date
    user_id: str | None = None


@dataclass(frozen=True)
class ParseError:
    """A plain-English explanation for the user, already including the correct usage."""

    message: str


AwayCommand: TypeAlias = AwayShow | AwayClear | AwaySet


def _quote(token: str) -> str:
    shown = token if len(token) <= _QUOTE_LEN else token[: _QUOTE_LEN - 1] + "…"
    return f"“{shown}”"


def _error(problem: str) -> ParseError:
    return ParseError(f"{problem} {USAGE}")


def _parse_date(token: str, today: date) -> date | ParseError:
    if _ISO_DATE.fullmatch(token):
        try:
            return date.fromisoformat(token)
        except ValueError:
            pass
    return _error(
        f"{_quote(token)} is not a date I can read: write dates as YYYY-MM-DD, "
        f"e.g. {today.isoformat()}."
    )


def _checked_range(
    start: date, end: date, today: date, user_id: str | None
) -> AwayCommand | ParseError:
    if end < start:
        return _error(
            f"The range ends ({end.isoformat()}) before it starts ({start.isoformat()}): "
            f"put the earlier date first."
        )
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        return _error(
            f"That range is {days} days long; the most is {MAX_RANGE_DAYS} days (one year). "
            f"Set a shorter range and extend it later."
        )
    if end < today:
        when = start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
        return _error(
            f"{when} is already over (today is {today.isoformat()}): "
            f"away time can only be set for today or later."
        )
    return AwaySet(start, end, user_id)


def parse_ooo(tokens: Sequence[str], today: date) -> AwayCommand | ParseError:
    """Parse the words after ``/standup ooo`` into a command, or explain what is wrong.

    ``today`` is the local date of the person whose away time is set. A range may start in
    the past as long as it is not entirely over.
    """
    words = [t.strip() for t in tokens if t.strip()]
    if words and words[0].startswith("<@") and not words[0].endswith(">"):
        # A mention whose label holds spaces ("<@U1|Ana Lopez>") arrives split; rejoin it.
        for i, word in enumerate(words[1:], start=1):
            if word.endswith(">"):
                words = [" ".join(words[: i + 1]), *words[i + 1 :]]
                break
    user_id: str | None = None
    if words and (mention := _MENTION.fullmatch(words[0])):
        user_id = mention.group(1)
        words = words[1:]
    elif words and words[0].startswith(("@", "<@", "<#")):
        return _error(
            f"{_quote(words[0])} is not a person Slack recognised: pick them from the @ list."
        )
    if not words:
        return AwayShow(user_id)
    keyword = words[0].lower()
    if keyword == "off":
        if len(words) > 1:
            return _error(f"Nothing may follow “off”, but got {_quote(' '.join(words[1:]))}.")
        return AwayClear(user_id)
    if keyword == "until":
        if len(words) == 1:
            example = (today + timedelta(days=4)).isoformat()
            return _error(f"“until” needs a date after it, e.g. until {example}.")
        if len(words) > 2:
            return _error(
                f"Too many words after the date: {_quote(' '.join(words[2:]))} was not expected."
            )
        end = _parse_date(words[1], today)
        if isinstance(end, ParseError):
            return end
        if end < today:
            return _error(
                f"{end.isoformat()} is before today ({today.isoformat()}): “until” needs a "
                f"date from today on."
            )
        return _checked_range(today, end, today, user_id)
    if len(words) > 2:
        return _error(f"Too many words: {_quote(' '.join(words[2:]))} was not expected.")
    start = _parse_date(words[0], today)
    if isinstance(start, ParseError):
        return start
    end = start
    if len(words) == 2:
        parsed_end = _parse_date(words[1], today)
        if isinstance(parsed_end, ParseError):
            return parsed_end
        end = parsed_end
    return _checked_range(start, end, today, user_id)


def is_away(ranges: Iterable[tuple[date, date]], local_date: date) -> bool:
    """Whether ``local_date`` falls inside any inclusive ``(start, end)`` range."""
    return any(start <= local_date <= end for start, end in ranges)


def _day(value: date, *, with_year: bool) -> str:
    text = f"{WEEKDAY_NAMES[value.weekday()]} {value.day} {_MONTHS[value.month - 1]}"
    return f"{text} {value.year}" if with_year else text


def describe_range(start: date, end: date) -> str:
    """ "Mon 6 Apr 2026", or "Mon 6 Apr – Fri 10 Apr 2026 (5 days)"; locale-independent."""
    if end < start:
        raise ValueError(f"range ends ({end}) before it starts ({start})")
    if start == end:
        return _day(start, with_year=True)
    days = (end - start).days + 1
    first = _day(start, with_year=start.year != end.year)
    return f"{first} – {_day(end, with_year=True)} ({days} days)"
