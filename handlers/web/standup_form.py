"""The standup form on the web: the same fields as the Slack form, read into the same
StandupDraft (validated by the same use cases), and filled back in from an EditForm or from
what was typed when something needs fixing.

The web has no Slack pickers: the channel is its id (C…, or a #channel link pasted from Slack)
and participants are Slack user ids separated by commas or spaces (U…, or <@U…> mentions).
What cannot be read as such is reported under its field, in the same words as the rest.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDictProxy

from bot.outcomes import EditForm
from bot.rules.schedule import ScheduleDraft
from bot.rules.validation import (
    DEFAULT_QUESTIONS,
    FormField,
    StandupDraft,
    normalise_name,
    parse_questions,
)

_CHANNEL = re.compile(r"<?#?([CG][A-Z0-9]{2,20})(?:\|[^>]*)?>?")
_USER = re.compile(r"<?@?([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>?")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?")
# A number the form could never have sent reads as out of range, so validation names it.
NOT_A_NUMBER = -1
MAX_FIELD = 4000


@dataclass(frozen=True)
class ReadForm:
    """A submitted form: the draft for the use case, what was typed (to show again) and the
    problems found just reading it (they take precedence over the use case's messages)."""

    draft: StandupDraft
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: Mapping[str, str], key: str, limit: int = 200) -> str:
    return str(form.get(key) or "")[:limit].strip()


def read_form(form: MultiDictProxy[str]) -> ReadForm:
    """Read the posted fields; anything missing becomes empty and fails validation."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        key: _text(form, key, MAX_FIELD if key == "questions" else 200)
        for key in (
            "name",
            "channel",
            "questions",
            "participants",
            "time",
            "tz_mode",
            "tz",
            "participant_source",
            "repeat",
            "every_weeks",
            "starting",
            "month_day",
            "week_of_month",
            "window",
            "reminder",
            "holidays",
            "blocker_escalation_days",
        )
    }
    values["days"] = {d for d in form.getall("days", []) if d in {str(i) for i in range(7)}}

    channel = None
    if values["channel"]:
        match = _CHANNEL.fullmatch(values["channel"])
        if match:
            channel = match.group(1)
        else:
            errors[FormField.CHANNEL] = (
                "Enter the channel's id, such as C0123ABCD (in Slack: open the channel's "
                "details; the id is at the bottom)."
            )

    people: list[str] = []
    for token in re.split(r"[\s,]+", values["participants"]):
        if not token:
            continue
        match = _USER.fullmatch(token)
        if match is None:
            shown = token if len(token) <= 40 else token[:39] + "…"
            errors.setdefault(
                FormField.PARTICIPANTS,
                f"“{shown}” isn't a Slack user id. Use ids such as U0123ABCD, separated by "
                "commas (in Slack: a person's profile → ⋮ → Copy member ID).",
            )
        else:
            people.append(match.group(1))

    time = None
    if values["time"]:
        match = _TIME.fullmatch(values["time"])
        time = f"{match.group(1)}:{match.group(2)}" if match else values["time"][:5]

    draft = StandupDraft(
        name=normalise_name(values["name"]),
        channel_id=channel,
        questions=parse_questions(values["questions"]),
        participant_ids=list(dict.fromkeys(people)),
        weekdays=frozenset(int(d) for d in values["days"]),
        local_time=time,
        tz_mode=values["tz_mode"] or "participant",
        fixed_tz=values["tz"] or None,
        schedule=ScheduleDraft(
            repeat=values["repeat"] or "weekly",
            every_weeks=_whole(values["every_weeks"]),
            starting=form_date(values["starting"]),
            month_day=_whole(values["month_day"]),
            week_of_month=values["week_of_month"] or None,
            window_hours=_hours(values["window"]),
            reminder=values["reminder"] or None,
            holidays=values["holidays"] or None,
            blocker_escalation_days=_whole(values["blocker_escalation_days"]),
        ),
        participant_source=values["participant_source"] or "people",
    )
    if values["starting"] and draft.schedule.starting is None:
        errors[FormField.STARTING] = "Use a date such as 2026-01-05."
    return ReadForm(draft, values, errors)


def _whole(text: str) -> int | None:
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else NOT_A_NUMBER


def _hours(text: str) -> float | None:
    if not text:
        return None
    try:
        hours = float(text)
    except ValueError:
        return NOT_A_NUMBER
    return hours if math.isfinite(hours) else NOT_A_NUMBER


def form_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def new_values(creator_id: str) -> dict[str, Any]:
    """The create form's starting values: the Slack form's defaults."""
    return {
        "name": "",
        "channel": "",
        "questions": "\n".join(DEFAULT_QUESTIONS),
        "participants": creator_id,
        "days": {str(d) for d in range(5)},
        "time": "09:30",
        "tz_mode": "participant",
        "tz": "",
        "participant_source": "people",
        "repeat": "weekly",
        "every_weeks": "",
        "starting": "",
        "month_day": "",
        "week_of_month": "",
        "window": "",
        "reminder": "",
        "holidays": "",
        "blocker_escalation_days": "",
    }


def edit_values(form: EditForm) -> dict[str, Any]:
    """The edit form filled in with a standup's settings."""
    schedule = form.schedule
    return {
        "name": form.name,
        "channel": form.channel_id,
        "questions": "\n".join(form.questions),
        "participants": ", ".join(form.participant_ids),
        "days": {str(d) for d in form.weekdays},
        "time": form.local_time,
        "tz_mode": form.tz_mode,
        "tz": form.fixed_tz or "",
        "participant_source": form.participant_source,
        "repeat": schedule.repeat,
        "every_weeks": _number(schedule.every_weeks),
        "starting": schedule.starting.isoformat() if schedule.starting else "",
        "month_day": _number(schedule.month_day),
        "week_of_month": schedule.week_of_month or "",
        "window": _number(schedule.window_hours),
        "reminder": schedule.reminder or "",
        "holidays": schedule.holidays or "",
        "blocker_escalation_days": _number(schedule.blocker_escalation_days),
    }
