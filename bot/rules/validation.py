"""Rules for the create-standup form, kept pure so they can be tested without Slack.

Errors are keyed by the form's block ids because Slack shows a ``response_action: errors``
message directly under the matching input block.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.rules.form import FormField
from bot.rules.limits import (
    MAX_ANSWER_LEN,
    MAX_NAME_LEN,
    MAX_PARTICIPANTS,
    MAX_QUESTION_LEN,
    MAX_QUESTIONS,
    PARTICIPANTS_CEILING,
    QUESTIONS_CEILING,
)
from bot.rules.questions import Question, parse_question_lines
from bot.rules.schedule import ScheduleDraft, schedule_errors
from bot.rules.text import clean_text, name_key, normalise_name

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_QUESTIONS",
    "MAX_ANSWER_LEN",
    "MAX_NAME_LEN",
    "MAX_PARTICIPANTS",
    "MAX_QUESTIONS",
    "MAX_QUESTION_LEN",
    "PARTICIPANTS_CEILING",
    "QUESTIONS_CEILING",
    "TZ_MODES",
    "FormField",
    "Limits",
    "StandupDraft",
    "clean_draft",
    "clean_text",
    "name_key",
    "normalise_name",
    "parse_questions",
    "questions_of",
    "validate_draft",
]

DEFAULT_QUESTIONS = (
    "What did you do yesterday?",
    "What will you do today?",
    "Anything blocking you? [blocker]",
)

TZ_MODES = ("participant", "fixed")
PARTICIPANT_SOURCES = ("people", "channel")


_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
# Error messages quote at most this much of what the user typed.
_QUOTE_LEN = 60


@dataclass(frozen=True)
class Limits:
    """Per-standup limits, set by the operator (bot.settings); each refusal names its setting.
    The defaults are the settings' defaults."""

    participants: int = MAX_PARTICIPANTS
    questions: int = MAX_QUESTIONS
    answer_length: int = MAX_ANSWER_LEN


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class StandupDraft:
    """What the user submitted in the create form, before it is stored."""

    name: str
    channel_id: str | None
    # One line per question as typed, type tags included ("How do you feel? [mood]").
    questions: list[str]
    participant_ids: list[str]
    weekdays: frozenset[int]
    local_time: str | None
    tz_mode: str
    fixed_tz: str | None
    # Everything about when it runs beyond days and time: repeat, window, reminder, holidays.
    schedule: ScheduleDraft = field(default_factory=ScheduleDraft)
    # "people" chosen in the form, or everyone in the "channel".
    participant_source: str = "people"


def parse_questions(raw: str) -> list[str]:
    """One question per line of the multiline input; blank lines are ignored."""
    return [line for line in (clean_text(line).strip() for line in raw.splitlines()) if line]


def clean_draft(draft: StandupDraft) -> StandupDraft:
    """A submitted form as it can be stored, whoever built it: the name normalised, each
    question cleaned of characters the database or a reader can't take (blank ones dropped)."""
    questions = [q for q in (clean_text(q).strip() for q in draft.questions) if q]
    fixed_tz = clean_text(draft.fixed_tz or "").strip() or None
    return replace(draft, name=normalise_name(draft.name), questions=questions, fixed_tz=fixed_tz)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _quote(text: str) -> str:
    """Quote user text inside an error (plain text, so no escaping), kept short."""
    text = text.strip()
    if len(text) > _QUOTE_LEN:
        text = text[: _QUOTE_LEN - 1] + "…"
    return f"“{text}”"


def _raise_it(setting: str, limit: int, ceiling: int) -> str:
    """How the limit changes: an operator's setting, unless it is already as high as it goes."""
    if limit < ceiling:
        return f"or ask your operator to raise {setting}."
    return f"{limit} is as high as {setting} goes."


def _question_error(lines: list[str], limit: int) -> str | None:
    """The first problem with the questions box (one question per line, each with an optional
    type tag: see bot.rules.questions), or None."""
    if not lines:
        return "Add at least one question."
    if len(lines) > limit:
        return (
            f"Too many questions: use at most {limit} (you have {len(lines)}), one per "
            f"line. Remove some, {_raise_it('MAX_QUESTIONS_PER_STANDUP', limit, QUESTIONS_CEILING)}"
        )
    _, error = parse_question_lines("\n".join(lines), limit=QUESTIONS_CEILING)
    return error


def questions_of(draft: StandupDraft) -> list[Question]:
    """A validated draft's questions, typed (its lines carry the type tags)."""
    questions, error = parse_question_lines("\n".join(draft.questions), limit=QUESTIONS_CEILING)
    if error is not None:
        raise ValueError(f"questions were not validated: {error}")
    return questions


def _participant_error(
    participant_ids: list[str], bot_user_ids: set[str], limit: int
) -> str | None:
    unique = list(dict.fromkeys(participant_ids))
    if not unique:
        return "Add at least one participant."
    bots = [uid for uid in unique if uid in bot_user_ids]
    if bots:
        return f"Bots can't be participants: remove {_plural(len(bots), 'bot user')}."
    if len(unique) > limit:
        setting = "MAX_PARTICIPANTS_PER_STANDUP"
        return (
            f"Too many participants: a standup can have at most {limit} (you picked "
            f"{len(unique)}). Remove some, {_raise_it(setting, limit, PARTICIPANTS_CEILING)}"
        )
    return None


def validate_draft(
    draft: StandupDraft,
    *,
    existing_names: set[str],
    bot_user_ids: set[str],
    is_valid_tz: Callable[[str], bool],
    limits: Limits = DEFAULT_LIMITS,
    default_window: dt.timedelta = dt.timedelta(minutes=240),
) -> dict[str, str]:
    """Check a draft and return ``{field: message}``; an empty dict means it can be saved.

    ``existing_names`` must already be casefolded (see :func:`name_key`). Only the first
    problem per field is reported, because Slack shows one message per input.
    """
    errors: dict[str, str] = {}
    name = normalise_name(draft.name)
    if not name:
        errors[FormField.NAME] = "Give the standup a name."
    elif len(name) > MAX_NAME_LEN:
        errors[FormField.NAME] = (
            f"That name is too long: use at most {MAX_NAME_LEN} characters (it has {len(name)})."
        )
    elif name_key(name) in existing_names or draft.name.strip().casefold() in existing_names:
        errors[FormField.NAME] = (
            f"A standup called {_quote(name)} already exists. Pick a different name."
        )

    if not draft.channel_id:
        errors[FormField.CHANNEL] = "Pick the channel where answers should be posted."

    question_error = _question_error(draft.questions, limits.questions)
    if question_error:
        errors[FormField.QUESTIONS] = question_error

    if draft.participant_source not in PARTICIPANT_SOURCES:
        errors[FormField.PARTICIPANT_SOURCE] = "Choose who takes part."
    elif draft.participant_source == "people":
        participant_error = _participant_error(
            draft.participant_ids, bot_user_ids, limits.participants
        )
        if participant_error:
            errors[FormField.PARTICIPANTS] = participant_error

    monthly_on_a_date = draft.schedule.repeat == "monthly_day"
    if not draft.weekdays and not monthly_on_a_date:
        errors[FormField.DAYS] = "Pick at least one day."
    elif not draft.weekdays <= frozenset(range(7)):
        errors[FormField.DAYS] = "Pick days from Monday to Sunday."
    for key, message in schedule_errors(draft.schedule, draft.weekdays, default_window).items():
        errors.setdefault(key, message)

    if not draft.local_time:
        errors[FormField.TIME] = "Pick a time for the prompt."
    elif not _TIME.fullmatch(draft.local_time):
        errors[FormField.TIME] = "Use a 24-hour time such as 09:30."

    if draft.tz_mode not in TZ_MODES:
        errors[FormField.TZ_MODE] = "Choose how time zones work for this standup."
    elif draft.tz_mode == "fixed":
        zone = (draft.fixed_tz or "").strip()
        if not zone:
            errors[FormField.TZ] = (
                "Enter a time zone such as Europe/Berlin, or use each participant's own time zone."
            )
        elif not is_valid_tz(zone):
            errors[FormField.TZ] = (
                f"{_quote(zone)} isn't a time zone we know. Use an IANA name such as Europe/Berlin."
            )

    return errors
