"""Rules for the create-standup form, kept pure so they can be tested without Slack.

Errors are keyed by the form's block ids because Slack shows a ``response_action: errors``
message directly under the matching input block.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.rules.form import FormField
from bot.rules.schedule import ScheduleDraft, schedule_errors

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
    "validate_answers",
    "validate_draft",
]

MAX_QUESTIONS = 10
MAX_QUESTION_LEN = 300
MAX_NAME_LEN = 80
MAX_PARTICIPANTS = 100
MAX_ANSWER_LEN = 3000  # Slack's plain_text_input max_length ceiling.

# How far operators may raise the limits: Slack's people picker (multi_users_select) takes at
# most 100 people, and one answer input per question must fit the answer modal and its reply.
PARTICIPANTS_CEILING = 100
QUESTIONS_CEILING = 20

DEFAULT_QUESTIONS = (
    "What did you do yesterday?",
    "What will you do today?",
    "Anything blocking you?",
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


# --- text we can store and show ---------------------------------------------------------------

# Control characters other than tab and line breaks: NUL makes Postgres refuse the whole
# statement, and the rest only ever hide or garble text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone surrogates (valid in JSON's \uD800 escapes, not in UTF-8): no database can encode them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Default-ignorable code points that are not format characters (Cf): they render as nothing.
_IGNORABLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
_ZWJ = "\u200d"
_VARIATION_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
# The longest identity a name can have: the name_key column's width. NFKC and case folding can
# make a key longer than its name ("ß" -> "ss"); keys are cut here, the same way everywhere.
MAX_NAME_KEY_LEN = 80


def clean_text(text: str) -> str:
    """Free text as it can be stored: NUL and other control characters (except tab and line
    breaks) removed, lone surrogates replaced by U+FFFD. Nothing else changes."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def _invisible(char: str) -> bool:
    """A format character (Unicode category Cf: zero-width spaces and joiners, bidi marks, BOM,
    soft hyphen…) or another default-ignorable one (fillers, variation selectors)."""
    return unicodedata.category(char) == "Cf" or ord(char) in _IGNORABLE


def _emoji_part(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or ord(char) in _VARIATION_SELECTORS


def _shown(text: str, index: int) -> bool:
    """Whether an invisible character belongs in a displayed name: only the joiners and
    variation selectors that build an emoji (👩‍💻, ❤️) do."""
    char = text[index]
    if ord(char) in _VARIATION_SELECTORS:
        return index > 0 and _emoji_part(text[index - 1])
    if char == _ZWJ:
        return (
            0 < index < len(text) - 1
            and _emoji_part(text[index - 1])
            and (_emoji_part(text[index + 1]))
        )
    return False


def normalise_name(name: str) -> str:
    """A name as stored and shown: control and invisible characters removed (emoji sequences
    kept), whitespace stripped and collapsed, so "Daily  sync " and "Daily sync" are one name
    and "Da\u200bily" is just "Daily"."""
    text = clean_text(name)
    text = "".join(c for i, c in enumerate(text) if not _invisible(c) or _shown(text, i))
    return " ".join(text.split())


def name_key(name: str) -> str:
    """The identity of a standup name, for the uniqueness check and look-ups by name: NFKC,
    every invisible character removed, whitespace collapsed, case-folded (then NFKC again, as
    case folding can un-normalise), at most MAX_NAME_KEY_LEN characters.

    So "Daily", "DAILY", "Ｄａｉｌｙ" and "Da\u200bily" are one name.
    """
    text = unicodedata.normalize("NFKC", clean_text(name))
    text = "".join(c for c in text if not _invisible(c))
    text = unicodedata.normalize("NFKC", " ".join(text.split()).casefold())
    return text[:MAX_NAME_KEY_LEN]


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


def _question_error(questions: list[str], limit: int) -> str | None:
    if not questions:
        return "Add at least one question."
    if len(questions) > limit:
        return (
            f"Too many questions: use at most {limit} (you have {len(questions)}), one per "
            f"line. Remove some, {_raise_it('MAX_QUESTIONS_PER_STANDUP', limit, QUESTIONS_CEILING)}"
        )
    too_long = [i for i, q in enumerate(questions, start=1) if len(q) > MAX_QUESTION_LEN]
    if too_long:
        lines = ", ".join(str(i) for i in too_long)
        label = "Line" if len(too_long) == 1 else "Lines"
        return (
            f"{label} {lines} {'is' if len(too_long) == 1 else 'are'} too long: "
            f"keep each question to {MAX_QUESTION_LEN} characters."
        )
    seen: dict[str, int] = {}
    for i, question in enumerate(questions, start=1):
        key = name_key(question)
        if key in seen:
            return f"Line {i} repeats line {seen[key]}: each question should be asked once."
        seen[key] = i
    return None


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


def validate_answers(answers: Sequence[str], max_length: int = MAX_ANSWER_LEN) -> dict[int, str]:
    """Every question needs an answer, within the answer length limit: ``{position: message}``."""
    errors: dict[int, str] = {}
    for position, text in enumerate(answers):
        if not text:
            errors[position] = "Please answer this question (a dash is fine)."
        elif len(text) > max_length:
            errors[position] = (
                f"Keep it to at most {max_length} characters ({len(text)} now; the limit is "
                "the MAX_ANSWER_LENGTH setting)."
            )
    return errors
