"""Question types for a standup: how they are typed in the form, stored, answered and shown.

Each question carries its own type (free text, optional text, single choice, number, mood) and
at most one question is *the* blocker question. Teams type questions in one multiline box, so the
type is a short trailing tag in square brackets that works on any keyboard, on Slack and on a web
form alike::

    What did you do yesterday?
    Anything blocking you? [blocker]
    How do you feel? [mood]
    Which project? [choice: Alpha, Beta, Gamma]
    Hours spent? [number]
    Anything else? [optional]
    Blockers? [optional, blocker]

Syntax details (the parser and :func:`format_question_lines` agree on all of them):

* The tag is the last ``[...]`` at the very end of a line. A line ending in brackets that are
  part of the question gets an explicit ``[text]`` tag: ``Rate [1-5] [text]``.
* Tags are case-insensitive and comma-separated: ``text``, ``optional``, ``number``, ``mood``,
  ``blocker`` and ``choice: A, B, C``. ``choice`` takes the rest of the tag as its options, so
  nothing can follow it. Only text and optional questions can be the blocker question.
* Inside a tag a backslash escapes ``,`` ``[`` ``]`` and ``\\`` (``[choice: Yes\\, sure, No]``);
  any other backslash is kept as typed. Empty options (``A, , B`` or a trailing comma) are
  ignored.
* Error messages name the line as typed, counting blank lines.

Everything here is pure so the form, the answer modal, the summary and the web form share one
set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from bot.rules.digest import is_no_blocker
from bot.rules.limits import MAX_ANSWER_LEN, MAX_QUESTION_LEN, MAX_QUESTIONS
from bot.rules.text import name_key

__all__ = [
    "MAX_CHOICE_OPTIONS",
    "MAX_NUMBER_LEN",
    "MAX_OPTION_LEN",
    "MAX_QUESTIONS_INPUT_LEN",
    "MIN_CHOICE_OPTIONS",
    "MOOD_FACES",
    "Question",
    "QuestionType",
    "blocker_text",
    "display_answer",
    "format_question_lines",
    "from_json",
    "lines_of",
    "mood_of",
    "mood_position",
    "parse_question_lines",
    "texts_of",
    "to_json",
    "validate_answer",
    "validate_answers",
]

MIN_CHOICE_OPTIONS = 2
MAX_CHOICE_OPTIONS = 25
MAX_OPTION_LEN = 75  # Slack's option text limit (bot.views.blocks.OPTION_TEXT_MAX).
MAX_QUESTIONS_INPUT_LEN = 3000  # Slack's plain_text_input limit: the edit form must fit.
MAX_NUMBER_LEN = 40
MOOD_FACES = ("😞", "🙁", "😐", "🙂", "😄")  # Mood 1..5, one face per level.
EMPTY_DISPLAY = "—"


class QuestionType(StrEnum):
    """How a question is answered; stored by value, so never rename a member's value."""

    TEXT = "text"  # Required free text.
    OPTIONAL = "optional"  # Free text that may be left empty.
    CHOICE = "choice"  # Exactly one of the question's options.
    NUMBER = "number"  # A decimal number.
    MOOD = "mood"  # An integer from 1 to 5.


_FREE_TEXT = frozenset({QuestionType.TEXT, QuestionType.OPTIONAL})


@dataclass(frozen=True)
class Question:
    """One question. ``options`` is only used by choice questions, in display order."""

    text: str
    type: QuestionType = QuestionType.TEXT
    options: tuple[str, ...] = ()
    is_blocker: bool = False


# ---------------------------------------------------------------------------------------------
# The line syntax
# ---------------------------------------------------------------------------------------------

_TAG_SPECIALS = frozenset("\\,[]")
_CHOICE_ITEM = re.compile(r"\s*choice\s*:(.*)", re.IGNORECASE | re.DOTALL)
_BLOCKER = "blocker"
_TYPE_WORDS = frozenset(t.value for t in QuestionType)
_KNOWN_TAGS = "text, optional, number, mood, blocker or choice: A, B, C"
_QUOTE_LEN = 40


def _quote(text: str) -> str:
    text = text.strip()
    if len(text) > _QUOTE_LEN:
        text = text[: _QUOTE_LEN - 1] + "…"
    return f"“{text}”"


def _escaped(text: str, index: int) -> bool:
    """True when ``text[index]`` follows an odd number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _split_tag(line: str) -> tuple[str, str | None]:
    """Split a stripped line into (question text, tag content or None)."""
    if not line.endswith("]") or _escaped(line, len(line) - 1):
        return line, None
    for index in range(len(line) - 2, -1, -1):
        if line[index] == "[" and not _escaped(line, index):
            return line[:index].rstrip(), line[index + 1 : -1]
    return line, None


def _tag_items(content: str) -> list[str]:
    """Split tag content on unescaped commas, removing the escapes."""
    items: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(content):
        char = content[index]
        if char == "\\" and index + 1 < len(content) and content[index + 1] in _TAG_SPECIALS:
            current.append(content[index + 1])
            index += 2
            continue
        if char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    items.append("".join(current))
    return items


def _escape_option(option: str) -> str:
    return "".join("\\" + char if char in _TAG_SPECIALS else char for char in option)


class _LineError(Exception):
    """A problem with one line of the questions box; the message is shown to the user."""


def _parse_tag(content: str, where: str) -> tuple[QuestionType, tuple[str, ...], bool]:
    """Read one tag's content into (type, options, is_blocker); raises :class:`_LineError`."""
    items = _tag_items(content)
    qtype: QuestionType | None = None
    options: tuple[str, ...] = ()
    is_blocker = False
    for position, item in enumerate(items):
        choice = _CHOICE_ITEM.fullmatch(item)
        word = item.strip().casefold()
        if choice is not None:
            new = QuestionType.CHOICE
            raw_options = [choice.group(1), *items[position + 1 :]]
            options = tuple(o.strip() for o in raw_options if o.strip())
        elif not word:
            if len(items) == 1:
                raise _LineError(f"{where} has an empty tag []: remove it or add a tag.")
            continue
        elif word == _BLOCKER:
            is_blocker = True
            continue
        elif word == QuestionType.CHOICE.value:
            raise _LineError(
                f"{where}: list the options after “choice:”, e.g. [choice: Alpha, Beta]."
            )
        elif word in _TYPE_WORDS:
            new = QuestionType(word)
        elif word.split(":", 1)[0].strip() in _TYPE_WORDS | {_BLOCKER}:
            raise _LineError(f"{where}: only choice takes options, as in [choice: Alpha, Beta].")
        else:
            raise _LineError(
                f"{where} has an unknown tag {_quote(item)}. Use {_KNOWN_TAGS} "
                "(if the brackets belong to the question, end the line with [text])."
            )
        if qtype is not None and qtype != new:
            raise _LineError(f"{where} has two question types ({qtype} and {new}): pick one.")
        qtype = new
        if qtype == QuestionType.CHOICE:
            break  # choice takes the rest of the tag as its options

    final = qtype or QuestionType.TEXT
    if final == QuestionType.CHOICE:
        _check_options(options, where)
    if is_blocker and final not in _FREE_TEXT:
        raise _LineError(
            f"{where}: a {final} question can't be the blocker question; "
            "use [blocker] or [optional, blocker] on a text question."
        )
    return final, options, is_blocker


def _check_options(options: tuple[str, ...], where: str) -> None:
    if len(options) < MIN_CHOICE_OPTIONS:
        raise _LineError(
            f"{where}: a choice question needs at least {MIN_CHOICE_OPTIONS} options, "
            "separated by commas, e.g. [choice: Alpha, Beta]."
        )
    if len(options) > MAX_CHOICE_OPTIONS:
        raise _LineError(
            f"{where} has too many options: use at most {MAX_CHOICE_OPTIONS} "
            f"(it has {len(options)})."
        )
    seen: set[str] = set()
    for option in options:
        if len(option) > MAX_OPTION_LEN:
            raise _LineError(
                f"{where}: the option {_quote(option)} is too long: keep each option to "
                f"{MAX_OPTION_LEN} characters."
            )
        key = name_key(option)
        if key in seen:
            raise _LineError(
                f"{where} lists the option {_quote(option)} twice: list each option once."
            )
        seen.add(key)


def _parse_line(line: str, where: str) -> Question:
    text, tag = _split_tag(line)
    parsed: tuple[QuestionType, tuple[str, ...], bool] = (QuestionType.TEXT, (), False)
    if tag is not None:
        parsed = _parse_tag(tag, where)
    if not text:
        raise _LineError(f"{where} is only a tag: write the question before [{tag}].")
    if len(text) > MAX_QUESTION_LEN:
        raise _LineError(
            f"{where} is too long: keep each question to {MAX_QUESTION_LEN} characters "
            "(not counting the [tag])."
        )
    return Question(text, *parsed)


def parse_question_lines(
    raw: str, *, limit: int = MAX_QUESTIONS
) -> tuple[list[Question], str | None]:
    """Parse the form's "Questions" box; returns (questions, first problem or None).

    Blank lines are ignored, NUL characters dropped; ``limit`` is the operator's
    MAX_QUESTIONS_PER_STANDUP. On error the question list holds what was read before the
    problem and should not be saved.
    """
    lines = raw.replace("\x00", "").splitlines()
    count = sum(1 for line in lines if line.strip())
    if count > limit:
        return [], f"Too many questions: use at most {limit} (you have {count}), one per line."
    questions: list[Question] = []
    seen: dict[str, int] = {}
    blocker_line: int | None = None
    try:
        for number, physical in enumerate(lines, start=1):
            if physical.strip():
                question = _parse_line(physical.strip(), f"Line {number}")
                key = name_key(question.text)
                if key in seen:
                    raise _LineError(
                        f"Line {number} repeats line {seen[key]}: "
                        "each question should be asked once."
                    )
                seen[key] = number
                if question.is_blocker:
                    if blocker_line is not None:
                        raise _LineError(
                            f"Line {number} is a second blocker question (line {blocker_line} "
                            "already is): mark only one question [blocker]."
                        )
                    blocker_line = number
                questions.append(question)
    except _LineError as error:
        return questions, str(error)
    if not questions:
        return questions, "Add at least one question."
    if len(format_question_lines(questions)) > MAX_QUESTIONS_INPUT_LEN:
        return questions, (
            f"The questions are too long altogether: keep the whole box to "
            f"{MAX_QUESTIONS_INPUT_LEN} characters (shorten questions or choice options)."
        )
    return questions, None


def _format_tag(question: Question) -> str:
    if question.type == QuestionType.CHOICE:
        return "choice: " + ", ".join(_escape_option(o) for o in question.options)
    words: list[str] = []
    if question.type != QuestionType.TEXT:
        words.append(question.type.value)
    if question.is_blocker:
        words.append(_BLOCKER)
    if not words and question.text.endswith("]"):
        words.append(QuestionType.TEXT.value)
    return ", ".join(words)


def format_question_lines(questions: Sequence[Question]) -> str:
    """The form text for ``questions``: ``parse_question_lines`` reads it back unchanged."""
    lines: list[str] = []
    for question in questions:
        tag = _format_tag(question)
        lines.append(f"{question.text} [{tag}]" if tag else question.text)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------


def to_json(questions: Sequence[Question]) -> list[dict[str, Any]]:
    """The JSON-ready storage form: one dict per question, in order."""
    return [
        {
            "text": q.text,
            "type": q.type.value,
            "options": list(q.options),
            "is_blocker": q.is_blocker,
        }
        for q in questions
    ]


def _legacy_is_blocker(text: str) -> bool:
    # The wording rule questions were stored under before types existed (digest's
    # is_blocker_question); applied once, to the first matching question only.
    return "block" in text.casefold()


def from_json(value: object) -> list[Question]:
    """Read stored questions: the dicts of :func:`to_json`, or the legacy list of strings.

    Legacy lists become text questions, and the first whose wording contains "block" becomes the
    blocker question. Raises ``ValueError`` for anything else; form limits are not re-checked so
    older data always loads.
    """
    if not isinstance(value, list):
        raise ValueError(f"questions must be a list, not {type(value).__name__}")
    if all(isinstance(item, str) for item in value):
        questions: list[Question] = []
        blocker_found = False
        for item in value:
            is_blocker = not blocker_found and _legacy_is_blocker(item)
            blocker_found = blocker_found or is_blocker
            questions.append(Question(item, QuestionType.TEXT, (), is_blocker))
        return questions
    return [_question_from_dict(item, index) for index, item in enumerate(value)]


def texts_of(value: object) -> list[str]:
    """Just the wording of stored questions, in order (for lists and prompts)."""
    return [question.text for question in from_json(value)]


def lines_of(value: object) -> list[str]:
    """Stored questions as the form shows them: one line each, type tags included."""
    return format_question_lines(from_json(value)).splitlines()


def _question_from_dict(item: object, index: int) -> Question:
    if not isinstance(item, dict):
        raise ValueError(f"question {index}: expected an object, not {type(item).__name__}")
    text = item.get("text")
    if not isinstance(text, str):
        raise ValueError(f"question {index}: text must be a string")
    try:
        qtype = QuestionType(item.get("type", QuestionType.TEXT.value))
    except ValueError:
        raise ValueError(f"question {index}: unknown type {item.get('type')!r}") from None
    options = item.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ValueError(f"question {index}: options must be a list of strings")
    if options and qtype != QuestionType.CHOICE:
        raise ValueError(f"question {index}: only choice questions have options")
    is_blocker = item.get("is_blocker", False)
    if not isinstance(is_blocker, bool):
        raise ValueError(f"question {index}: is_blocker must be true or false")
    return Question(text, qtype, tuple(options), is_blocker)


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------

# ASCII digits only; one decimal separator, dot or comma. U+2212 (minus sign) counts as "-".
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# "1,500" could be 1.5 or 1500 depending on the reader's locale, so it is refused.
_THOUSANDS_LIKE = re.compile(r"[+-]?[1-9][0-9]{0,2},[0-9]{3}")


def _clean_text(raw: str) -> str:
    text = raw.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _validate_free_text(
    raw: str | None, *, required: bool, max_length: int
) -> tuple[str | None, str | None]:
    text = _clean_text(raw or "")
    if not text:
        return (
            ("", None) if not required else (None, "Please answer this question (a dash is fine).")
        )
    if len(text) > max_length:
        return None, (
            f"That answer is too long: keep it to {max_length} characters (it has {len(text)})."
        )
    return text, None


def _validate_choice(question: Question, raw: str | None) -> tuple[str | None, str | None]:
    value = (raw or "").strip()
    if not value:
        return None, "Pick one of the options."
    if value in question.options:
        return value, None
    shown = ", ".join(question.options[:5]) + (", …" if len(question.options) > 5 else "")
    return None, f"{_quote(value)} isn't one of the options. Pick one of: {shown}."


def _validate_number(raw: str | None) -> tuple[str | None, str | None]:
    text = (raw or "").strip().replace("\u2212", "-")
    if not text:
        return None, "Enter a number, such as 3 or 2.5."
    if len(text) > MAX_NUMBER_LEN:
        return None, f"That number is too long: use at most {MAX_NUMBER_LEN} characters."
    if _THOUSANDS_LIKE.fullmatch(text):
        return None, (
            f"{_quote(text)} is ambiguous: write {text.replace(',', '')} without the comma, "
            f"or {format(Decimal(text.replace(',', '.')).normalize(), 'f')} for a decimal."
        )
    if not _NUMBER.fullmatch(text):
        return None, f"{_quote(text)} isn't a number. Enter a number such as 3, 2.5 or -1."
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern only lets finite decimals through
        return None, f"{_quote(text)} isn't a number. Enter a number such as 3, 2.5 or -1."
    if number == 0:
        return "0", None
    return format(number.normalize(), "f"), None


def _validate_mood(raw: str | None) -> tuple[str | None, str | None]:
    text = (raw or "").strip()
    if text in {"1", "2", "3", "4", "5"}:
        return text, None
    return None, "Pick a mood from 1 (bad) to 5 (great)."


def validate_answer(
    question: Question, raw: str | None, *, max_length: int = MAX_ANSWER_LEN
) -> tuple[str | None, str | None]:
    """Check one answer; returns (value to store, None) or (None, plain-English error).

    ``raw`` is None when nothing was entered or selected; ``max_length`` bounds free text (the
    operator's MAX_ANSWER_LENGTH). Stored values: free text stripped,
    NUL-free, line breaks kept as ``\\n``; optional may be ""; choice is the exact option; number
    is a canonical decimal ("2.5", "-1", "0"); mood is "1".."5".
    """
    match question.type:
        case QuestionType.TEXT:
            return _validate_free_text(raw, required=True, max_length=max_length)
        case QuestionType.OPTIONAL:
            return _validate_free_text(raw, required=False, max_length=max_length)
        case QuestionType.CHOICE:
            return _validate_choice(question, raw)
        case QuestionType.NUMBER:
            return _validate_number(raw)
        case QuestionType.MOOD:
            return _validate_mood(raw)


def validate_answers(
    questions: Sequence[Question], raws: Sequence[str | None], *, max_length: int = MAX_ANSWER_LEN
) -> tuple[list[str], dict[int, str]]:
    """Check a whole answer form: (values to store by position, {position: error}).

    Answers beyond the questions are ignored and missing ones count as empty, whatever the form
    sent; a value is only meaningful when there are no errors.
    """
    values: list[str] = []
    errors: dict[int, str] = {}
    for position, question in enumerate(questions):
        raw = raws[position] if position < len(raws) else None
        value, error = validate_answer(question, raw, max_length=max_length)
        if error is not None:
            errors[position] = error
        values.append(value or "")
    return values, errors


def mood_position(questions: Sequence[Question]) -> int | None:
    """Where the first mood question is (its answers are the person's mood), or None."""
    for position, question in enumerate(questions):
        if question.type == QuestionType.MOOD:
            return position
    return None


def mood_of(questions: Sequence[Question], answers: Sequence[str]) -> int | None:
    """The answer to the first mood question as 1–5, or None (no such question or answer)."""
    position = mood_position(questions)
    if position is None or position >= len(answers):
        return None
    value = answers[position].strip()
    return int(value) if value in {"1", "2", "3", "4", "5"} else None


def display_answer(question: Question, value: str | None) -> str:
    """Plain text for the thread reply (not escaped for Slack): "4/5 🙂", "—" when empty."""
    if value is None or not value.strip():
        return EMPTY_DISPLAY
    if question.type == QuestionType.MOOD and value.strip() in {"1", "2", "3", "4", "5"}:
        level = int(value.strip())
        return f"{level}/5 {MOOD_FACES[level - 1]}"
    return value


def blocker_text(questions: Sequence[Question], answers: Sequence[str | None]) -> str | None:
    """The answer to the blocker question (answers are by question position), unless it means
    "no blocker" ("none", "n/a", "-"…) or is missing. The first blocker question counts."""
    for position, question in enumerate(questions):
        if not question.is_blocker:
            continue
        answer = answers[position] if position < len(answers) else None
        if answer is None or is_no_blocker(answer):
            return None
        return answer.strip()
    return None
