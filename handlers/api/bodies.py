"""Reading request bodies into what the use cases take. Only types and shapes are checked here
(with a message per field); what the values mean is the use cases' to judge, with the same
messages as the Slack form, under the same field names."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.rules.questions import QuestionType, format_question_lines, from_json
from bot.rules.schedule import ScheduleDraft
from bot.rules.validation import StandupDraft
from handlers.api.problems import invalid
from handlers.api.render import DAYS

_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,31}")
_USER = re.compile(r"[UW][A-Z0-9]{2,31}")
MAX_LIST = 1000  # longer lists are refused before any validation looks at them
MAX_TEXT = 10_000

# Body field -> StandupDraft attribute (the rest are ScheduleDraft attributes, or `active`).
_DRAFT_FIELDS = {
    "name": "name",
    "channel": "channel_id",
    "questions": "questions",
    "participants": "participant_ids",
    "participant_source": "participant_source",
    "days": "weekdays",
    "time": "local_time",
    "tz_mode": "tz_mode",
    "tz": "fixed_tz",
}
_SCHEDULE_FIELDS = {
    "repeat": "repeat",
    "every_weeks": "every_weeks",
    "starting": "starting",
    "month_day": "month_day",
    "week_of_month": "week_of_month",
    "window": "window_hours",
    "reminder": "reminder",
    "holidays": "holidays",
    "blocker_escalation_days": "blocker_escalation_days",
}
STANDUP_FIELDS = frozenset(_DRAFT_FIELDS) | frozenset(_SCHEDULE_FIELDS)

EMPTY_DRAFT = StandupDraft(
    name="",
    channel_id=None,
    questions=[],
    participant_ids=[],
    weekdays=frozenset(),
    local_time=None,
    tz_mode="participant",
    fixed_tz=None,
)


@dataclass(frozen=True)
class StandupChanges:
    """The fields a body gave, as draft values."""

    draft: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    active: bool | None = None

    def apply(self, current: StandupDraft) -> StandupDraft:
        changed = replace(current, **self.draft)
        if self.schedule:
            changed = replace(changed, schedule=replace(changed.schedule, **self.schedule))
        return changed


def _text(value: Any, what: str, *, nullable: bool = False) -> tuple[Any, str | None]:
    if value is None and nullable:
        return None, None
    if not isinstance(value, str):
        return None, f"Give {what}{' or null' if nullable else ''}."
    if len(value) > MAX_TEXT:
        return None, "Too long."
    return value, None


def _whole(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 100_000:
        return None, "Give a whole number (or null)."
    return value, None


def _strings(
    value: Any, what: str, pattern: re.Pattern[str] | None = None
) -> tuple[Any, str | None]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        return None, f"Give a list of {what}."
    if not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value):
        return None, f"Give a list of {what}."
    if pattern is not None:
        bad = [v for v in value if not pattern.fullmatch(v)]
        if bad:
            return None, f"{bad[0][:40]!r} is not one of {what}."
    return list(dict.fromkeys(value)) if pattern is not None else value, None


_QUESTION_KEYS = frozenset({"text", "type", "options", "is_blocker"})
_QUESTIONS_SHAPE = (
    "Give a list of questions: strings (a type tag may end one, as in the Slack form: "
    '"How do you feel? [mood]") or objects {"text", "type", "options", "is_blocker"}.'
)


def _questions(value: Any) -> tuple[list[str] | None, str | None]:
    """Questions as the form's lines: a string is a line as typed; an object is written as the
    line that means it, so one parser (and its messages) judges both."""
    if not isinstance(value, list) or len(value) > MAX_LIST:
        return None, _QUESTIONS_SHAPE
    lines: list[str] = []
    for number, item in enumerate(value, start=1):
        if isinstance(item, str) and len(item) <= MAX_TEXT:
            lines.append(item)
            continue
        if not isinstance(item, dict) or not set(item) <= _QUESTION_KEYS:
            return None, _QUESTIONS_SHAPE
        try:
            [question] = from_json([{"type": QuestionType.TEXT.value, **item}])
        except ValueError as error:
            return None, f"Question {number}: {str(error).removeprefix('question 0: ')}."
        if len(question.text) > MAX_TEXT or "\n" in question.text or "\r" in question.text:
            return None, "A question is one line of text."
        lines.append(format_question_lines([question]))
    return lines, None


def _read(name: str, value: Any) -> tuple[Any, str | None]:
    """One field's draft value, or what is wrong with it."""
    if name == "name":
        return _text(value, "a name")
    if name == "channel":
        if not isinstance(value, str) or not _CHANNEL.fullmatch(value):
            return None, "Give a Slack channel id such as C0123ABCD."
        return value, None
    if name == "questions":
        return _questions(value)
    if name == "participants":
        return _strings(value, "Slack user ids such as U0123ABCD", _USER)
    if name == "days":
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            return None, f"Give a list of days: {', '.join(DAYS)}."
        unknown = [d for d in value if d.lower() not in DAYS]
        if unknown:
            return None, f"{unknown[0][:20]!r} is not a day; use {', '.join(DAYS)}."
        return frozenset(DAYS.index(d.lower()) for d in value), None
    if name == "starting":
        if value is None:
            return None, None
        starting = iso_date(value)
        return (starting, None) if starting else (None, "Give a date as YYYY-MM-DD (or null).")
    if name in ("every_weeks", "month_day"):
        return _whole(value)
    if name == "week_of_month":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return _text(value, "1, 2, 3, 4 or last", nullable=True)
    if name == "window":
        if value is None:
            return None, None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            return None, "Give the answer window in hours (or null for the default)."
        return float(value), None
    if name == "reminder":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return _text(value, "off, halfway or minutes before the close", nullable=True)
    if name == "blocker_escalation_days":
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value, None  # the use case judges the range, as for the forms
        return None, "Give a whole number of working days (or null for the default, 2)."
    if name in ("tz", "holidays"):
        return _text(value, "a string", nullable=True)
    return _text(value, "a string")  # participant_source, time, tz_mode, repeat


def standup_changes(body: dict[str, Any], *, partial: bool) -> StandupChanges:
    """The standup fields of a POST (`partial` False) or PATCH body; 400 with a message per
    field for unknown fields and values of the wrong type."""
    errors: dict[str, str] = {}
    draft: dict[str, Any] = {}
    schedule: dict[str, Any] = {}
    active: bool | None = None
    for name, value in body.items():
        if name == "active" and partial:
            if not isinstance(value, bool):
                errors[name] = "Give true (running) or false (paused)."
            active = value if isinstance(value, bool) else None
            continue
        if name not in STANDUP_FIELDS:
            errors[name[:64]] = (
                "New standups start active; PATCH it to pause."
                if name == "active"
                else "Not a field of a standup."
            )
            continue
        parsed, problem = _read(name, value)
        if problem:
            errors[name] = problem
        elif name in _DRAFT_FIELDS:
            draft[_DRAFT_FIELDS[name]] = parsed
        else:
            schedule[_SCHEDULE_FIELDS[name]] = parsed
    if errors:
        raise invalid(errors)
    if "tz_mode" not in draft and "fixed_tz" in draft:  # a zone given alone says which mode
        draft["tz_mode"] = "fixed" if draft["fixed_tz"] else "participant"
    if draft.get("tz_mode") == "participant" and "fixed_tz" not in draft:
        draft["fixed_tz"] = None
    return StandupChanges(draft, schedule, active)


def new_standup(body: dict[str, Any]) -> StandupDraft:
    changes = standup_changes(body, partial=False)
    return changes.apply(replace(EMPTY_DRAFT, schedule=ScheduleDraft()))


def iso_date(value: object) -> dt.date | None:
    """A ``YYYY-MM-DD`` date, or None for anything else."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None
