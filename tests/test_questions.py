"""Tests for bot.rules.questions: the line syntax, storage, answer validation and display."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.rules.questions import (
    MAX_CHOICE_OPTIONS,
    MAX_OPTION_LEN,
    MAX_QUESTIONS_INPUT_LEN,
    MOOD_FACES,
    Question,
    QuestionType,
    blocker_text,
    display_answer,
    format_question_lines,
    from_json,
    parse_question_lines,
    to_json,
    validate_answer,
)
from bot.rules.validation import (
    DEFAULT_QUESTIONS,
    MAX_ANSWER_LEN,
    MAX_QUESTION_LEN,
    MAX_QUESTIONS,
    name_key,
)
from bot.views import blockkit as blocks

T = QuestionType

EXAMPLE = """What did you do yesterday?
Anything blocking you? [blocker]
How do you feel? [mood]
Which project? [choice: Alpha, Beta, Gamma]
Hours spent? [number]
Anything else? [optional]"""


def parse_ok(raw: str) -> list[Question]:
    questions, error = parse_question_lines(raw)
    assert error is None, error
    return questions


def parse_error(raw: str) -> str:
    _, error = parse_question_lines(raw)
    assert error is not None
    return error


# --- limits -----------------------------------------------------------------------------------


def test_limits_fit_slack() -> None:
    assert MAX_OPTION_LEN == blocks.OPTION_TEXT_MAX
    assert MAX_OPTION_LEN <= blocks.OPTION_VALUE_MAX  # options can be their own select value
    assert MAX_CHOICE_OPTIONS <= 100  # static_select ceiling
    assert MAX_QUESTIONS_INPUT_LEN == blocks.INPUT_MAX_LENGTH
    assert MAX_ANSWER_LEN == blocks.INPUT_MAX_LENGTH


# --- the line syntax ----------------------------------------------------------------------------


def test_parses_the_documented_example() -> None:
    assert parse_ok(EXAMPLE) == [
        Question("What did you do yesterday?"),
        Question("Anything blocking you?", T.TEXT, (), True),
        Question("How do you feel?", T.MOOD),
        Question("Which project?", T.CHOICE, ("Alpha", "Beta", "Gamma")),
        Question("Hours spent?", T.NUMBER),
        Question("Anything else?", T.OPTIONAL),
    ]


def test_formats_the_documented_example_back() -> None:
    assert format_question_lines(parse_ok(EXAMPLE)) == EXAMPLE


@pytest.mark.parametrize(
    "line",
    [
        "Blockers? [optional, blocker]",
        "Blockers? [blocker, optional]",
        "Blockers? [ Optional ,BLOCKER ]",
        "Blockers?[optional,blocker]",
        "Blockers? [optional, blocker, blocker]",
        "Blockers? [optional, , blocker]",
    ],
)
def test_combined_tags(line: str) -> None:
    assert parse_ok(line) == [Question("Blockers?", T.OPTIONAL, (), True)]


def test_blank_lines_and_outer_whitespace_are_ignored() -> None:
    raw = "\n  First?  \n\n\t Second? [mood] \r\n\n"
    assert parse_ok(raw) == [Question("First?"), Question("Second?", T.MOOD)]


def test_nul_characters_are_dropped() -> None:
    assert parse_ok("Fir\x00st? [num\x00ber]") == [Question("First?", T.NUMBER)]


def test_explicit_text_tag_keeps_brackets_in_the_question() -> None:
    assert parse_ok("Rate [1-5] [text]") == [Question("Rate [1-5]")]
    assert format_question_lines([Question("Rate [1-5]")]) == "Rate [1-5] [text]"
    assert format_question_lines([Question("Rate [1-5]", T.TEXT, (), True)]) == (
        "Rate [1-5] [blocker]"
    )


def test_brackets_inside_a_question_are_not_a_tag() -> None:
    assert parse_ok("What about [PROJ-1] today?") == [Question("What about [PROJ-1] today?")]
    assert parse_ok("Status of [PROJ-1]? [optional]") == [
        Question("Status of [PROJ-1]?", T.OPTIONAL)
    ]


def test_choice_options_are_trimmed_and_empty_ones_ignored() -> None:
    assert parse_ok("Pick? [Choice :  A ,B,, C, ]") == [
        Question("Pick?", T.CHOICE, ("A", "B", "C"))
    ]


def test_choice_options_may_contain_colons_and_escaped_specials() -> None:
    raw = r"Pick? [choice: 10:00, Yes\, sure, a\[b\], C:\\, C:\Temp]"
    options = ("10:00", "Yes, sure", "a[b]", "C:\\", "C:\\Temp")
    assert parse_ok(raw) == [Question("Pick?", T.CHOICE, options)]
    formatted = format_question_lines([Question("Pick?", T.CHOICE, options)])
    assert parse_ok(formatted) == [Question("Pick?", T.CHOICE, options)]


def test_choice_takes_the_rest_of_the_tag() -> None:
    # "blocker" after choice is an option, not a flag.
    assert parse_ok("Pick? [choice: Yes, No, blocker]") == [
        Question("Pick?", T.CHOICE, ("Yes", "No", "blocker"))
    ]


def test_legacy_plain_questions_parse_as_text() -> None:
    raw = "\n".join(
        ("What did you do yesterday?", "What will you do today?", "Anything blocking you?")
    )
    assert [q.type for q in parse_ok(raw)] == [T.TEXT] * 3
    assert not any(q.is_blocker for q in parse_ok(raw))  # the form marks blockers explicitly


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Q? [foo]", "Line 1 has an unknown tag “foo”"),
        ("Rate [1-5]", "end the line with [text]"),
        ("A?\n\nB? [mod]", "Line 3 has an unknown tag “mod”"),
        ("[mood]", "Line 1 is only a tag: write the question before [mood]."),
        ("A?\n  [optional, blocker] ", "Line 2 is only a tag"),
        ("Q? [choice: Alpha]", "Line 1: a choice question needs at least 2 options"),
        ("Q? [choice:]", "needs at least 2 options"),
        ("Q? [choice]", "list the options after “choice:”"),
        ("Q? [choice: " + ", ".join(f"o{i}" for i in range(26)) + "]", "at most 25 (it has 26)"),
        ("Q? [choice: A, " + "x" * 76 + "]", "keep each option to 75 characters"),
        ("Q? [choice: Alpha, beta, ALPHA]", "lists the option “ALPHA” twice"),
        ("A? [blocker]\nB? [optional, blocker]", "Line 2 is a second blocker question (line 1"),
        ("Q? [mood, number]", "Line 1 has two question types (mood and number)"),
        ("Q? [optional, choice: A, B]", "two question types (optional and choice)"),
        ("Q? [mood, blocker]", "a mood question can't be the blocker question"),
        ("Q? [number: 1, 2]", "only choice takes options"),
        ("Q? []", "Line 1 has an empty tag []"),
        ("A?\nB?\na?", "Line 3 repeats line 1"),
        ("x" * (MAX_QUESTION_LEN + 1), "Line 1 is too long: keep each question to 300"),
        ("", "Add at least one question."),
        ("\n \n", "Add at least one question."),
        ("\n".join(f"Q{i}?" for i in range(11)), "at most 10 (you have 11)"),
    ],
)
def test_errors_are_plain_english_and_name_the_line(raw: str, expected: str) -> None:
    error = parse_error(raw)
    assert expected in error
    assert error.endswith((".", ")")) and "\n" not in error


def test_limits_from_validation_still_apply() -> None:
    assert parse_ok("x" * MAX_QUESTION_LEN + " [choice: A, B]")[0].text == "x" * MAX_QUESTION_LEN
    assert len(parse_ok("\n".join(f"Q{i}?" for i in range(MAX_QUESTIONS)))) == MAX_QUESTIONS


def test_whole_box_must_fit_the_edit_form() -> None:
    options = ", ".join(f"{i:02d}" + "o" * 70 for i in range(MAX_CHOICE_OPTIONS))
    raw = "\n".join(f"Q{i}? [choice: {options}]" for i in range(2))
    assert "too long altogether" in parse_error(raw)


def test_partial_result_on_error_holds_earlier_lines() -> None:
    questions, error = parse_question_lines("A?\nB? [nope]\nC?")
    assert error is not None and "Line 2" in error
    assert questions == [Question("A?")]


# --- the round trip -----------------------------------------------------------------------------

_plain_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"))
_chars = st.one_of(_plain_chars, st.sampled_from(list("[]\\,: ")))


def _stripped_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_chars, min_size=1, max_size=max_size).map(str.strip).filter(bool)


@st.composite
def question_lists(draw: st.DrawFn) -> list[Question]:
    texts = draw(
        st.lists(
            _stripped_text(MAX_QUESTION_LEN // 4) | _stripped_text(MAX_QUESTION_LEN),
            min_size=1,
            max_size=MAX_QUESTIONS,
            unique_by=name_key,
        )
    )
    blocker_at = draw(st.none() | st.integers(0, len(texts) - 1))
    questions: list[Question] = []
    for position, text in enumerate(texts):
        if position == blocker_at:
            qtype = draw(st.sampled_from([T.TEXT, T.OPTIONAL]))
        else:
            qtype = draw(st.sampled_from(list(T)))
        options: tuple[str, ...] = ()
        if qtype == T.CHOICE:
            options = tuple(
                draw(
                    st.lists(
                        _stripped_text(MAX_OPTION_LEN),
                        min_size=2,
                        max_size=MAX_CHOICE_OPTIONS,
                        unique_by=name_key,
                    )
                )
            )
        questions.append(Question(text, qtype, options, position == blocker_at))
    return questions


@settings(max_examples=300)
@given(question_lists())
def test_parse_of_format_is_identity(questions: list[Question]) -> None:
    formatted = format_question_lines(questions)
    assume(len(formatted) <= MAX_QUESTIONS_INPUT_LEN)
    assert parse_question_lines(formatted) == (questions, None)


@settings(max_examples=300)
@given(st.text(st.one_of(st.characters(), st.sampled_from(list("[]\\,:\n")))))
def test_parse_never_crashes_and_its_output_is_stable(raw: str) -> None:
    questions, error = parse_question_lines(raw)
    if error is None:
        assert parse_question_lines(format_question_lines(questions)) == (questions, None)
        assert 1 <= len(questions) <= MAX_QUESTIONS
        assert sum(q.is_blocker for q in questions) <= 1


@settings(max_examples=100)
@given(question_lists())
def test_storage_round_trip_through_json(questions: list[Question]) -> None:
    stored = json.loads(json.dumps(to_json(questions)))
    assert from_json(stored) == questions


# --- storage ------------------------------------------------------------------------------------


def test_to_json_shape() -> None:
    assert to_json([Question("Pick?", T.CHOICE, ("A", "B")), Question("B?", T.TEXT, (), True)]) == [
        {"text": "Pick?", "type": "choice", "options": ["A", "B"], "is_blocker": False},
        {"text": "B?", "type": "text", "options": [], "is_blocker": True},
    ]


def test_from_json_legacy_strings_marks_the_first_block_question() -> None:
    legacy = ["Yesterday?", "Today?", "Anything BLOCKING you?", "Blocked on reviews?"]
    assert from_json(legacy) == [
        Question("Yesterday?"),
        Question("Today?"),
        Question("Anything BLOCKING you?", T.TEXT, (), True),
        Question("Blocked on reviews?"),
    ]
    assert from_json(["Yesterday?", "Today?"]) == [Question("Yesterday?"), Question("Today?")]
    assert from_json([]) == []


def test_legacy_defaults_migrate_to_an_editable_form() -> None:
    legacy = ["What did you do yesterday?", "What will you do today?", "Anything blocking you?"]
    migrated = from_json(legacy)
    assert format_question_lines(migrated) == (
        "What did you do yesterday?\nWhat will you do today?\nAnything blocking you? [blocker]"
    )
    assert parse_ok(format_question_lines(migrated)) == migrated
    # New standups start from these very lines.
    assert format_question_lines(migrated).splitlines() == list(DEFAULT_QUESTIONS)


def test_from_json_fills_defaults() -> None:
    assert from_json([{"text": "Q?"}]) == [Question("Q?")]


@pytest.mark.parametrize(
    "value",
    [
        "Q?",
        None,
        {"text": "Q?"},
        ["Q?", {"text": "R?"}],
        [{"type": "text"}],
        [{"text": "Q?", "type": "essay"}],
        [{"text": "Q?", "type": "choice", "options": "A,B"}],
        [{"text": "Q?", "type": "text", "options": ["A", "B"]}],
        [{"text": "Q?", "is_blocker": "yes"}],
        [3],
    ],
)
def test_from_json_rejects_malformed_data(value: object) -> None:
    with pytest.raises(ValueError):
        from_json(value)


# --- answers ------------------------------------------------------------------------------------

TEXT_Q = Question("Yesterday?")
OPTIONAL_Q = Question("Anything else?", T.OPTIONAL)
CHOICE_Q = Question("Project?", T.CHOICE, ("Alpha", "Beta", "Gamma"))
NUMBER_Q = Question("Hours?", T.NUMBER)
MOOD_Q = Question("Mood?", T.MOOD)
ALL_TYPES = (TEXT_Q, OPTIONAL_Q, CHOICE_Q, NUMBER_Q, MOOD_Q)


def test_text_answers() -> None:
    assert validate_answer(TEXT_Q, "  line one\r\n  line two \n") == ("line one\n  line two", None)
    assert validate_answer(TEXT_Q, "a\x00b") == ("ab", None)
    assert validate_answer(TEXT_Q, "x" * MAX_ANSWER_LEN) == ("x" * MAX_ANSWER_LEN, None)
    for empty in (None, "", "  \n ", "\x00"):
        value, error = validate_answer(TEXT_Q, empty)
        assert value is None and error == "Please answer this question (a dash is fine)."
    value, error = validate_answer(TEXT_Q, "x" * (MAX_ANSWER_LEN + 1))
    assert value is None and error is not None and "3000 characters (it has 3001)" in error


def test_optional_answers() -> None:
    assert validate_answer(OPTIONAL_Q, None) == ("", None)
    assert validate_answer(OPTIONAL_Q, "   ") == ("", None)
    assert validate_answer(OPTIONAL_Q, " hi ") == ("hi", None)
    assert validate_answer(OPTIONAL_Q, "x" * (MAX_ANSWER_LEN + 1))[0] is None


def test_choice_answers() -> None:
    assert validate_answer(CHOICE_Q, "Beta") == ("Beta", None)
    assert validate_answer(CHOICE_Q, " Beta ") == ("Beta", None)
    value, error = validate_answer(CHOICE_Q, "beta")
    assert (
        value is None
        and error == "“beta” isn't one of the options. Pick one of: Alpha, Beta, Gamma."
    )
    assert validate_answer(CHOICE_Q, None) == (None, "Pick one of the options.")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("3", "3"),
        ("2.5", "2.5"),
        ("-1", "-1"),
        ("1,5", "1.5"),
        (" 2.50 ", "2.5"),
        ("+4", "4"),
        ("\u22123", "-3"),
        (".5", "0.5"),
        ("7.", "7"),
        ("-0", "0"),
        ("0.000", "0"),
        ("1000", "1000"),
        ("0,125", "0.125"),
        ("007", "7"),
    ],
)
def test_number_answers(raw: str, stored: str) -> None:
    assert validate_answer(NUMBER_Q, raw) == (stored, None)


@pytest.mark.parametrize(
    "raw",
    [None, "", "NaN", "nan", "inf", "-Infinity", "three", "1e3", "1.2.3", "1,2,3", "1 000", "1,500",
     "١٢", "3 hours", "0x10", "--1", "9" * 41],
)  # fmt: skip
def test_number_answers_rejected(raw: str | None) -> None:
    value, error = validate_answer(NUMBER_Q, raw)
    assert value is None and error


def test_ambiguous_thousands_gets_a_helpful_error() -> None:
    assert validate_answer(NUMBER_Q, "1,500")[1] == (
        "“1,500” is ambiguous: write 1500 without the comma, or 1.5 for a decimal."
    )


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**9), max_value=10**9
    )
)
def test_any_plain_decimal_is_stored_canonically(number: Decimal) -> None:
    value, error = validate_answer(NUMBER_Q, format(number, "f"))
    assert error is None and value is not None
    assert Decimal(value) == number
    assert value == "0" or not value.endswith(("0", ".")) or "." not in value


def test_mood_answers() -> None:
    for level in range(1, 6):
        assert validate_answer(MOOD_Q, f" {level} ") == (str(level), None)
    for bad in (None, "0", "6", "3.5", "great", "-1", "٣"):
        value, error = validate_answer(MOOD_Q, bad)
        assert value is None and error == "Pick a mood from 1 (bad) to 5 (great)."


@settings(max_examples=200)
@given(st.sampled_from(ALL_TYPES), st.none() | st.text())
def test_validation_is_idempotent(question: Question, raw: str | None) -> None:
    value, error = validate_answer(question, raw)
    assert (value is None) != (error is None)
    if value is not None:
        assert validate_answer(question, value) == (value, None)
        assert "\x00" not in value and "\r" not in value and value == value.strip()
        assert len(value) <= MAX_ANSWER_LEN


# --- display ------------------------------------------------------------------------------------


def test_display_answers() -> None:
    assert [display_answer(MOOD_Q, str(level)) for level in range(1, 6)] == [
        f"{level}/5 {face}" for level, face in zip(range(1, 6), MOOD_FACES, strict=True)
    ]
    assert display_answer(MOOD_Q, "4") == "4/5 🙂"
    assert len(set(MOOD_FACES)) == 5
    assert display_answer(OPTIONAL_Q, "") == "—"
    assert display_answer(OPTIONAL_Q, None) == "—"
    assert display_answer(NUMBER_Q, "2.5") == "2.5"
    assert display_answer(CHOICE_Q, "Beta") == "Beta"
    assert display_answer(TEXT_Q, "line *one*\n<@U1>") == "line *one*\n<@U1>"


# --- blockers -----------------------------------------------------------------------------------

QUESTIONS = [
    Question("Yesterday?"),
    Question("Mood?", T.MOOD),
    Question("Blockers?", T.OPTIONAL, (), True),
]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("  Waiting on review from Ops  ", "Waiting on review from Ops"),
        ("None.", None),
        ("n/a", None),
        ("-", None),
        ("", None),
        (None, None),
    ],
)
def test_blocker_text(answer: str | None, expected: str | None) -> None:
    assert blocker_text(QUESTIONS, ["did stuff", "4", answer]) == expected


def test_blocker_text_without_a_blocker_question_or_answer() -> None:
    assert blocker_text([Question("Blocked?")], ["yes, on CI"]) is None  # wording no longer counts
    assert blocker_text(QUESTIONS, ["did stuff"]) is None
