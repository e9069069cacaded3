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
    "Cleared",
    "Merged",
    "ParseError",
    "Range",
    "clear_from",
    "describe_range",
    "is_away",
    "mentioned_user",
    "merge_period",
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
Range: TypeAlias = tuple[date, date]
"""An away period: first and last day, both included."""


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


def _split_mention(tokens: Sequence[str]) -> tuple[str | None, list[str]]:
    """The user a leading mention names (or None), and the words after it."""
    words = [t.strip() for t in tokens if t.strip()]
    if words and words[0].startswith("<@") and not words[0].endswith(">"):
        # A mention whose label holds spaces ("<@U1|Ana Lopez>") arrives split; rejoin it.
        for i, word in enumerate(words[1:], start=1):
            if word.endswith(">"):
                words = [" ".join(words[: i + 1]), *words[i + 1 :]]
                break
    if words and (mention := _MENTION.fullmatch(words[0])):
        return mention.group(1), words[1:]
    return None, words


def mentioned_user(tokens: Sequence[str]) -> str | None:
    """The person a ``/standup ooo`` command is about when it starts with a mention (their
    own calendar decides what "today" is, so it is needed before the dates are read)."""
    return _split_mention(tokens)[0]


def parse_ooo(tokens: Sequence[str], today: date) -> AwayCommand | ParseError:
    """Parse the words after ``/standup ooo`` into a command, or explain what is wrong.

    ``today`` is the local date of the person whose away time is set. A range may start in
    the past as long as it is not entirely over.
    """
    user_id, words = _split_mention(tokens)
    if user_id is None and words and words[0].startswith(("@", "<@", "<#")):
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


# --------------------------------------------------------------------------------------------
# Combining a new period with those already set
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """The one period that replaces ``absorbed`` (the periods the new one overlapped or
    touched) once a new period is set; ``shortened`` when a day that was away no longer is."""

    start: date
    end: date
    absorbed: tuple[Range, ...]
    shortened: bool


def merge_period(existing: Iterable[Range], start: date, end: date) -> Merged:
    """Combine a new period with those already set, so a person never has overlapping ones.

    Periods that overlap the new one or touch it (end the day before it starts, or start the
    day after it ends) become a single period with it:

    * one that contains the new start is read as a new return date: the combined period keeps
      its start and ends where the new one ends, even if that is earlier ("ooo until ..."
      while away, or the same start with another end, moves the return date);
    * any other one is kept whole (merged): nothing already set is lost by extending.
    """
    day = timedelta(days=1)
    periods = set(existing)
    absorbed: set[Range] = set()
    new_start, new_end = start, end
    while more := {
        r for r in periods - absorbed if r[0] <= new_end + day and r[1] + day >= new_start
    }:
        absorbed |= more  # until nothing more overlaps or touches the combined period
        new_start = min([start, *(s for s, _ in absorbed)])
        new_end = max([end, *(e for s, e in absorbed if s > start)])
    shortened = any(e > new_end for _, e in absorbed)
    return Merged(new_start, new_end, tuple(sorted(absorbed)), shortened)


@dataclass(frozen=True)
class Cleared:
    """What ``/standup ooo off`` does: periods removed, and one in progress cut to end
    yesterday (``truncated``: (old range, new range)). Past periods stay as they were."""

    removed: tuple[Range, ...]
    truncated: tuple[tuple[Range, Range], ...]

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.truncated)


def clear_from(existing: Iterable[Range], today: date) -> Cleared:
    """Nobody is away from ``today`` on: later periods go, one in progress ends yesterday."""
    removed: list[Range] = []
    truncated: list[tuple[Range, Range]] = []
    for start, end in sorted(existing):
        if end < today:
            continue
        if start < today:
            truncated.append(((start, end), (start, today - timedelta(days=1))))
        else:
            removed.append((start, end))
    return Cleared(tuple(removed), tuple(truncated))
