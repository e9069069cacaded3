"""Tests for bot.rules.validation: each create-form rule reports on the right block."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bot.rules import schedule
from bot.rules.validation import (
    DEFAULT_QUESTIONS,
    MAX_ANSWER_LEN,
    MAX_NAME_LEN,
    MAX_PARTICIPANTS,
    MAX_QUESTION_LEN,
    MAX_QUESTIONS,
    FormField,
    Limits,
    StandupDraft,
    clean_draft,
    clean_text,
    name_key,
    normalise_name,
    parse_questions,
    validate_draft,
)
from bot.views import blockkit, modals

VALID_ZONES = {"Europe/Berlin", "UTC", "America/New_York"}


def good_draft(**changes: Any) -> StandupDraft:
    draft = StandupDraft(
        name="Backend daily",
        channel_id="C024BE7LR",
        questions=list(DEFAULT_QUESTIONS),
        participant_ids=["U1", "U2"],
        weekdays=frozenset({0, 1, 2, 3, 4}),
        local_time="09:30",
        tz_mode="participant",
        fixed_tz=None,
    )
    return dataclasses.replace(draft, **changes)


def check(
    draft: StandupDraft,
    *,
    existing: set[str] | None = None,
    bots: set[str] | None = None,
) -> dict[str, str]:
    return validate_draft(
        draft,
        existing_names=existing or set(),
        bot_user_ids=bots or {"UBOT1", "UBOT2"},
        is_valid_tz=VALID_ZONES.__contains__,
    )


def test_constants() -> None:
    assert (MAX_QUESTIONS, MAX_QUESTION_LEN, MAX_NAME_LEN) == (10, 300, 80)
    assert (MAX_PARTICIPANTS, MAX_ANSWER_LEN) == (100, 3000)
    assert DEFAULT_QUESTIONS == (
        "What did you do yesterday?",
        "What will you do today?",
        "Anything blocking you? [blocker]",
    )


def test_valid_draft_has_no_errors() -> None:
    assert check(good_draft()) == {}
    fixed = good_draft(tz_mode="fixed", fixed_tz=" Europe/Berlin ")
    assert check(fixed) == {}
    assert check(good_draft(participant_ids=[f"U{i}" for i in range(MAX_PARTICIPANTS)])) == {}
    assert check(good_draft(name="n" * MAX_NAME_LEN)) == {}
    assert check(good_draft(questions=["q" * MAX_QUESTION_LEN] * 1)) == {}


def test_error_block_ids_exist_in_the_create_form() -> None:
    """Slack only shows an error if its key is a block id in the submitted view."""
    form_ids = {blk["block_id"] for blk in modals.create_modal(creator_id="U1")["blocks"]}
    everything_wrong = StandupDraft(
        name="",
        channel_id=None,
        questions=[],
        participant_ids=[],
        weekdays=frozenset(),
        local_time=None,
        tz_mode="fixed",
        fixed_tz=None,
    )
    errors = check(everything_wrong)
    assert set(errors) == {
        blockkit.B_NAME,
        blockkit.B_CHANNEL,
        blockkit.B_QUESTIONS,
        blockkit.B_PARTICIPANTS,
        blockkit.B_DAYS,
        blockkit.B_TIME,
        blockkit.B_TZ,
    }
    assert set(errors) <= form_ids
    assert all(message.strip() for message in errors.values())


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_name(name: str) -> None:
    assert set(check(good_draft(name=name))) == {blockkit.B_NAME}


def test_name_too_long_counts_after_normalising() -> None:
    errors = check(good_draft(name="n" * (MAX_NAME_LEN + 1)))
    assert "80" in errors[blockkit.B_NAME]
    # Surrounding and repeated whitespace doesn't count against the limit.
    assert check(good_draft(name="  " + "n" * 40 + "     " + "n" * 39 + "  ")) == {}


def test_duplicate_name_is_case_insensitive() -> None:
    existing = {name_key("Backend Daily")}
    errors = check(good_draft(name="  BACKEND   daily "), existing=existing)
    assert set(errors) == {blockkit.B_NAME}
    assert "already exists" in errors[blockkit.B_NAME]
    assert check(good_draft(name="Frontend daily"), existing=existing) == {}


def test_duplicate_name_against_strip_casefold_keys() -> None:
    # Older keys may keep internal double spaces; both spellings must still collide.
    assert set(check(good_draft(name=" Daily  Sync "), existing={"daily  sync"})) == {
        blockkit.B_NAME
    }


def test_missing_channel() -> None:
    for channel in (None, ""):
        assert set(check(good_draft(channel_id=channel))) == {blockkit.B_CHANNEL}


def test_no_questions() -> None:
    errors = check(good_draft(questions=[]))
    assert set(errors) == {blockkit.B_QUESTIONS}
    assert "at least one" in errors[blockkit.B_QUESTIONS]


def test_too_many_questions() -> None:
    assert check(good_draft(questions=[f"Q{i}?" for i in range(MAX_QUESTIONS)])) == {}
    errors = check(good_draft(questions=[f"Q{i}?" for i in range(MAX_QUESTIONS + 1)]))
    assert set(errors) == {blockkit.B_QUESTIONS}
    assert "10" in errors[blockkit.B_QUESTIONS]


def test_too_long_question_names_the_line() -> None:
    questions = ["Fine?", "q" * (MAX_QUESTION_LEN + 1), "Also fine?"]
    errors = check(good_draft(questions=questions))
    assert set(errors) == {blockkit.B_QUESTIONS}
    assert "Line 2 " in errors[blockkit.B_QUESTIONS]
    assert "300" in errors[blockkit.B_QUESTIONS]
    # The first problem is named; fixing it shows the next.
    questions.append("z" * 400)
    assert "Line 2 " in check(good_draft(questions=questions))[blockkit.B_QUESTIONS]
    questions[1] = "Now fine?"
    assert "Line 4 " in check(good_draft(questions=questions))[blockkit.B_QUESTIONS]


def test_duplicate_question() -> None:
    errors = check(good_draft(questions=["What's up?", "Blockers?", "what's  UP?"]))
    assert set(errors) == {blockkit.B_QUESTIONS}
    assert "Line 3 repeats line 1" in errors[blockkit.B_QUESTIONS]


def test_no_participants() -> None:
    assert set(check(good_draft(participant_ids=[]))) == {blockkit.B_PARTICIPANTS}


def test_bot_participants_are_counted_in_plain_text() -> None:
    errors = check(good_draft(participant_ids=["U1", "UBOT1", "UBOT2", "UBOT1"]))
    assert errors == {blockkit.B_PARTICIPANTS: "Bots can't be participants: remove 2 bot users."}
    one = check(good_draft(participant_ids=["U1", "UBOT1"]))
    assert one[blockkit.B_PARTICIPANTS] == "Bots can't be participants: remove 1 bot user."
    assert "<@" not in one[blockkit.B_PARTICIPANTS]


def test_too_many_participants() -> None:
    ids = [f"U{i}" for i in range(MAX_PARTICIPANTS + 1)]
    errors = check(good_draft(participant_ids=ids))
    assert set(errors) == {blockkit.B_PARTICIPANTS}
    assert "100" in errors[blockkit.B_PARTICIPANTS]
    # Duplicates are not double-counted.
    assert check(good_draft(participant_ids=ids[:MAX_PARTICIPANTS] * 2)) == {}


def test_days() -> None:
    assert set(check(good_draft(weekdays=frozenset()))) == {blockkit.B_DAYS}
    assert set(check(good_draft(weekdays=frozenset({7})))) == {blockkit.B_DAYS}
    assert check(good_draft(weekdays=frozenset({6}))) == {}


@pytest.mark.parametrize("value", [None, "", "9:30", "24:00", "12:60", "noon", "09:30:00"])
def test_bad_time(value: str | None) -> None:
    assert set(check(good_draft(local_time=value))) == {blockkit.B_TIME}


@pytest.mark.parametrize("value", ["00:00", "09:30", "23:59"])
def test_good_time(value: str) -> None:
    assert check(good_draft(local_time=value)) == {}


def test_fixed_zone_required_and_checked() -> None:
    for missing in (None, "", "   "):
        errors = check(good_draft(tz_mode="fixed", fixed_tz=missing))
        assert set(errors) == {blockkit.B_TZ}
    errors = check(good_draft(tz_mode="fixed", fixed_tz="Mars/Olympus"))
    assert set(errors) == {blockkit.B_TZ}
    assert "Mars/Olympus" in errors[blockkit.B_TZ]


def test_participant_mode_ignores_the_fixed_zone_field() -> None:
    assert check(good_draft(tz_mode="participant", fixed_tz="Mars/Olympus")) == {}


def test_unknown_tz_mode() -> None:
    assert set(check(good_draft(tz_mode="sometimes"))) == {blockkit.B_TZ_MODE}


def test_parse_questions() -> None:
    raw = "  What did you do?  \n\n\r\nBlockers?\n   \nToday?"
    assert parse_questions(raw) == ["What did you do?", "Blockers?", "Today?"]
    assert parse_questions("") == []
    assert parse_questions("\n".join(DEFAULT_QUESTIONS)) == list(DEFAULT_QUESTIONS)


def test_normalise_name_and_key() -> None:
    assert normalise_name("  Backend \t  daily\n") == "Backend daily"
    assert name_key("  BACKEND   Daily ") == "backend daily"
    assert name_key("Straße") == name_key("STRASSE")


def test_clean_text_drops_what_a_database_or_reader_cannot_take() -> None:
    assert clean_text("a\x00b\x07c\x7f\x9bd") == "abcd"
    assert clean_text("keeps\ttabs\nand\r\nlines") == "keeps\ttabs\nand\r\nlines"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("Ünïcödé 👩\u200d💻 and RTL \u200f") == "Ünïcödé 👩\u200d💻 and RTL \u200f"


def test_invisible_characters_are_not_part_of_a_name() -> None:
    for twin in ("Da\u200bily", "Dai\u2060ly", "\ufeffDaily", "Da\u200eily\u202e", "Da\xadily"):
        assert normalise_name(twin) == "Daily"
        assert name_key(twin) == "daily"
    assert name_key("ＤＡＩＬＹ") == "daily"
    assert name_key("ﬁx") == "fix" and name_key("Ⅻ") == "xii"
    assert normalise_name("❤\ufe0f 👩\u200d💻") == "❤\ufe0f 👩\u200d💻"  # emoji sequences kept
    assert len(name_key("\ufdfa" * MAX_NAME_LEN)) == MAX_NAME_LEN  # NFKC expands; the key fits


def test_clean_draft_cleans_what_any_caller_submits() -> None:
    cleaned = clean_draft(
        good_draft(name=" Back\x00end\u200b daily ", questions=["Q\x00?", "\x00 ", " R? "])
    )
    assert cleaned.name == "Backend daily"
    assert cleaned.questions == ["Q?", "R?"]
    assert clean_draft(good_draft(fixed_tz=" \x00 ")).fixed_tz is None


def test_limits_are_parameters_and_each_message_names_its_setting() -> None:
    limits = Limits(participants=3, questions=2, answer_length=5)
    errors = validate_draft(
        good_draft(participant_ids=["U1", "U2", "U3", "U4"], questions=["A?", "B?", "C?"]),
        existing_names=set(),
        bot_user_ids=set(),
        is_valid_tz=VALID_ZONES.__contains__,
        limits=limits,
    )
    assert "at most 3 (you picked 4)" in errors[blockkit.B_PARTICIPANTS]
    assert "raise MAX_PARTICIPANTS_PER_STANDUP" in errors[blockkit.B_PARTICIPANTS]
    assert "at most 2 (you have 3)" in errors[blockkit.B_QUESTIONS]
    assert "raise MAX_QUESTIONS_PER_STANDUP" in errors[blockkit.B_QUESTIONS]
    # At Slack's own ceiling there is nothing to raise: the message says so.
    ceiling = check(good_draft(participant_ids=[f"U{i}" for i in range(101)]))
    assert "100 is as high as MAX_PARTICIPANTS_PER_STANDUP goes" in ceiling[blockkit.B_PARTICIPANTS]


# --- escalate blockers after (working days) ----------------------------------------------------


def _escalating_after(days: int | None) -> StandupDraft:
    draft = good_draft()
    return dataclasses.replace(
        draft, schedule=dataclasses.replace(draft.schedule, blocker_escalation_days=days)
    )


@pytest.mark.parametrize("days", [-1, 31])
def test_escalation_days_out_of_range_is_an_error_under_its_input(days: int) -> None:
    errors = check(_escalating_after(days))
    assert set(errors) == {"blocker_escalation_days"}
    assert "from 0 to 30" in errors["blocker_escalation_days"]


@pytest.mark.parametrize(("typed", "stored"), [(None, 2), (0, 0), (7, 7), (30, 30)])
def test_escalation_days_are_stored_and_shown_again(typed: int | None, stored: int) -> None:
    draft = _escalating_after(typed)
    assert check(draft) == {}
    settled = schedule.settle(draft.schedule, draft.weekdays, dt.timedelta(hours=4))
    assert settled.blocker_escalation_days == stored
    shown = schedule.draft_of(None, None, None, None, settled.blocker_escalation_days)
    assert shown.blocker_escalation_days == stored  # the edit form prefills what is stored


def test_escalation_days_block_id_is_the_field_name() -> None:
    modal = modals.create_modal(creator_id="U1")
    block_ids = {b["block_id"] for b in modal["blocks"] if b["type"] == "input"}
    assert FormField.BLOCKER_ESCALATION_DAYS in block_ids
