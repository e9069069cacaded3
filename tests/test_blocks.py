"""Tests for bot.views.blocks: every builder stays inside Slack's limits and escapes user text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.rules.digest import Digest
from bot.rules.questions import Question, QuestionType
from bot.rules.validation import DEFAULT_QUESTIONS
from bot.views import blockkit, modals
from bot.views import messages as message_views
from bot.views.blockkit import Message
from bot.views.messages import StandupListItem
from bot.views.mrkdwn import Mrkdwn, escape
from tests.blockkit_limits import validate_message_blocks, validate_message_text, validate_view

EVIL = "<!channel> & <@U024BE7LH> <https://evil.example|click> &lt;"
# The only control sequences our builders may emit: user mentions and channel links.
_ALLOWED_SEQUENCE = re.compile(r"<@[UW][A-Z0-9]+>|<#[CG][A-Z0-9]+>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


# --- helpers --------------------------------------------------------------------------------


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every mrkdwn text object's text, anywhere in a payload."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


def plain_texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from plain_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from plain_texts(item)


def injection_problems(text: str) -> list[str]:
    """Raw '<'/'>' outside our own mentions/links, or an '&' that isn't a whole entity."""
    rest = _ALLOWED_SEQUENCE.sub("", text)
    problems = [f"raw control character in {text[:80]!r}" for ch in "<>" if ch in rest]
    if "&" in _ENTITY.sub("", rest):
        problems.append(f"broken entity in {text[:80]!r}")
    return problems


def assert_valid_message(message: Message) -> None:
    assert set(message) == {"text", "blocks"}
    errors = validate_message_blocks(message["blocks"]) + validate_message_text(message["text"])
    assert errors == []
    assert message["text"].strip()
    for text in [message["text"], *mrkdwn_texts(message["blocks"])]:
        assert injection_problems(text) == []
        assert text.strip(), "empty mrkdwn text"


def assert_valid_view(view: dict[str, Any]) -> None:
    assert validate_view(view) == []
    for text in mrkdwn_texts(view["blocks"]):
        assert injection_problems(text) == []


def section_texts(message: Message) -> list[str]:
    return [blk["text"]["text"] for blk in message["blocks"] if blk["type"] == "section"]


def all_text(message: Message) -> str:
    return "\n".join([*mrkdwn_texts(message["blocks"]), *plain_texts(message["blocks"])])


def buttons(message: Message) -> list[dict[str, Any]]:
    return [
        el
        for blk in message["blocks"]
        if blk["type"] == "actions"
        for el in blk["elements"]
        if el["type"] == "button"
    ]


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {blk["block_id"]: blk for blk in view["blocks"] if blk["type"] == "input"}


def digest(
    answered: list[str] | None = None,
    waiting: list[str] | None = None,
    skipped: list[str] | None = None,
    missed: list[str] | None = None,
    blockers: list[tuple[str, str]] | None = None,
) -> Digest:
    return Digest(
        answered=answered or [],
        waiting=waiting or [],
        skipped=skipped or [],
        missed=missed or [],
        blockers=blockers or [],
    )


def test_injection_checker_catches_raw_sequences() -> None:
    # Guard the helper so the escaping assertions below cannot pass vacuously.
    assert injection_problems("hi <!channel>")
    assert injection_problems("a & b")
    assert injection_problems("&am")
    assert injection_problems("<@U1> <#C1> &amp; &lt;x&gt;") == []


# --- constants ------------------------------------------------------------------------------


def test_constants_have_the_agreed_values() -> None:
    assert (blockkit.CREATE_CALLBACK, blockkit.ANSWER_CALLBACK) == (
        "standup_create",
        "answer_submit",
    )
    assert (blockkit.B_NAME, blockkit.B_CHANNEL, blockkit.B_QUESTIONS, blockkit.B_PARTICIPANTS) == (
        "name",
        "channel",
        "questions",
        "participants",
    )
    assert (
        blockkit.B_DAYS,
        blockkit.B_TIME,
        blockkit.B_TZ_MODE,
        blockkit.B_TZ,
        blockkit.A_VALUE,
    ) == (
        "days",
        "time",
        "tz_mode",
        "tz",
        "value",
    )
    assert (blockkit.A_ANSWER, blockkit.A_SKIP, blockkit.A_EDIT) == (
        "prompt_answer",
        "prompt_skip",
        "prompt_edit",
    )
    assert (blockkit.A_DELETE_CONFIRM, blockkit.A_DELETE_CANCEL, blockkit.A_ANSWER_INPUT) == (
        "standup_delete_confirm",
        "standup_delete_cancel",
        "answer",
    )
    assert blockkit.question_block_id(3) == "q3"


# --- help -----------------------------------------------------------------------------------


def test_help_lists_every_command_with_escaped_placeholders() -> None:
    message = message_views.help_message()
    assert_valid_message(message)
    text = "\n".join(section_texts(message))
    for command in (
        "/standup create",
        "/standup list",
        "/standup run &lt;name&gt;",
        "/standup delete &lt;name&gt;",
        "/standup help",
    ):
        assert f"`{command}` — " in text
    assert "<name>" not in text


# --- create modal ---------------------------------------------------------------------------


def test_create_modal_shape() -> None:
    view = modals.create_modal(creator_id="U0CREATOR", private_metadata='{"channel": "C1"}')
    assert_valid_view(view)
    assert view["type"] == "modal"
    assert view["callback_id"] == blockkit.CREATE_CALLBACK
    assert view["title"]["text"] == "New standup"
    assert view["submit"]["text"] == "Create"
    assert view["close"]["text"] == "Cancel"
    assert view["private_metadata"] == '{"channel": "C1"}'

    fields = inputs(view)
    labels = {block_id: blk["label"]["text"] for block_id, blk in fields.items()}
    assert labels == {
        blockkit.B_NAME: "Name",
        blockkit.B_CHANNEL: "Channel",
        blockkit.B_QUESTIONS: "Questions",
        "participant_source": "Participants from",
        blockkit.B_PARTICIPANTS: "Participants",
        blockkit.B_DAYS: "Days",
        blockkit.B_TIME: "Time",
        blockkit.B_TZ_MODE: "Time zone",
        blockkit.B_TZ: "Fixed time zone",
        "repeat": "Repeat",
        "every_weeks": "Every N weeks",
        "starting": "Starting",
        "month_day": "Day of month",
        "week_of_month": "Week of month",
        "window": "Answer window",
        "reminder": "Reminder",
        "holidays": "Holidays",
        "blocker_escalation_days": "Escalate blockers after (working days)",
    }
    assert all(blk["element"]["action_id"] == blockkit.A_VALUE for blk in fields.values())
    required = {block_id for block_id, blk in fields.items() if not blk["optional"]}
    assert required == {"name", "channel", "questions", "participant_source", "days", "time"} | {
        "tz_mode",
        "repeat",
    }

    name = fields[blockkit.B_NAME]["element"]
    assert (name["type"], name["max_length"]) == ("plain_text_input", 80)

    channel = fields[blockkit.B_CHANNEL]["element"]
    assert channel["type"] == "conversations_select"
    assert channel["default_to_current_conversation"] is True
    assert channel["filter"] == {
        "include": ["public", "private"],
        "exclude_bot_users": True,
        "exclude_external_shared_channels": False,
    }

    questions = fields[blockkit.B_QUESTIONS]
    assert questions["element"]["multiline"] is True
    assert questions["element"]["initial_value"] == "\n".join(DEFAULT_QUESTIONS)
    assert questions["hint"]["text"].startswith("One question per line, up to 10. End a line")
    assert "[blocker]" in questions["hint"]["text"]

    participants = fields[blockkit.B_PARTICIPANTS]["element"]
    assert participants["type"] == "multi_users_select"
    assert participants["initial_users"] == ["U0CREATOR"]

    days = fields[blockkit.B_DAYS]["element"]
    assert days["type"] == "checkboxes"
    assert [o["text"]["text"] for o in days["options"]] == [
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Sat",
        "Sun",
    ]
    assert [o["value"] for o in days["options"]] == [str(i) for i in range(7)]
    assert days["initial_options"] == days["options"][:5]

    time = fields[blockkit.B_TIME]["element"]
    assert (time["type"], time["initial_time"]) == ("timepicker", "09:30")

    mode = fields[blockkit.B_TZ_MODE]["element"]
    assert mode["type"] == "radio_buttons"
    assert [(o["value"], o["text"]["text"]) for o in mode["options"]] == [
        ("participant", "Each participant's own time zone"),
        ("fixed", "One fixed time zone"),
    ]
    assert mode["initial_option"] == mode["options"][0]

    tz = fields[blockkit.B_TZ]
    assert tz["element"]["type"] == "plain_text_input"
    assert tz["element"]["placeholder"]["text"] == "e.g. Europe/Berlin"
    assert tz["hint"]["text"] == "Only used with one fixed time zone (IANA name)"

    escalation = fields["blocker_escalation_days"]["element"]
    assert escalation["type"] == "number_input"
    assert escalation["is_decimal_allowed"] is False
    assert (escalation["min_value"], escalation["max_value"]) == ("0", "30")
    assert "initial_value" not in escalation  # empty: the default, 2
    assert escalation["placeholder"]["text"] == "2"


def test_create_modal_refuses_oversized_private_metadata() -> None:
    assert modals.create_modal(creator_id="U1", private_metadata="x" * 3000)["private_metadata"]
    with pytest.raises(ValueError):
        modals.create_modal(creator_id="U1", private_metadata="x" * 3001)


# --- prompt DM ------------------------------------------------------------------------------


def test_prompt_pending_lists_questions_and_buttons() -> None:
    message = message_views.prompt_message(
        prompt_id=42,
        standup_name="Team <!channel> & co",
        questions=["What & why?", "Any <blockers>?"],
        state="pending",
        local_date="2024-05-06",
    )
    assert_valid_message(message)
    texts = section_texts(message)
    assert texts[0] == "*Team &lt;!channel&gt; &amp; co* standup — time to check in"
    assert "1. What &amp; why?\n2. Any &lt;blockers&gt;?" in texts
    assert "2024-05-06" in all_text(message)
    actions = [blk for blk in message["blocks"] if blk["type"] == "actions"]
    assert [a["block_id"] for a in actions] == [blockkit.PROMPT_ACTIONS_BLOCK] == ["prompt_actions"]
    assert [(x["text"]["text"], x["action_id"], x["value"]) for x in buttons(message)] == [
        ("Answer", blockkit.A_ANSWER, "42"),
        ("Skip today", blockkit.A_SKIP, "42"),
    ]
    assert buttons(message)[0]["style"] == "primary"
    assert "<!channel>" not in message["text"]


def test_prompt_answered_has_edit_button() -> None:
    message = message_views.prompt_message(
        prompt_id=7,
        standup_name="Daily",
        questions=["Q"],
        state="answered",
        answered_at_text="at 09:42 <!here>",
    )
    assert_valid_message(message)
    assert any("✅ Answered — thanks!" in t for t in section_texts(message))
    assert "at 09:42 &lt;!here&gt;" in all_text(message)
    assert [(x["action_id"], x["value"]) for x in buttons(message)] == [(blockkit.A_EDIT, "7")]


def test_prompt_skipped_offers_answer_anyway() -> None:
    message = message_views.prompt_message(
        prompt_id=7, standup_name="Daily", questions=["Q"], state="skipped"
    )
    assert_valid_message(message)
    assert any("Skipped today" in t for t in section_texts(message))
    assert [(x["text"]["text"], x["action_id"]) for x in buttons(message)] == [
        ("Answer anyway", blockkit.A_ANSWER)
    ]


@pytest.mark.parametrize("state", ["missed", "closed"])
def test_prompt_closed_has_no_buttons(state: str) -> None:
    message = message_views.prompt_message(
        prompt_id=1, standup_name="Daily", questions=["Q"], state=state, reason="Closed <early>"
    )
    assert_valid_message(message)
    assert any(
        "This standup closed — answers are no longer collected." in t
        for t in section_texts(message)
    )
    assert buttons(message) == []
    assert "Closed &lt;early&gt;" in all_text(message)


def test_prompt_unknown_state_is_an_error() -> None:
    with pytest.raises(ValueError):
        message_views.prompt_message(prompt_id=1, standup_name="x", questions=[], state="bogus")


def test_prompt_with_long_escaped_questions_stays_in_limits() -> None:
    questions = ["&" * 300 for _ in range(10)]  # escapes to 1,500 characters each
    message = message_views.prompt_message(
        prompt_id=1, standup_name="N" * 500, questions=questions, state="pending"
    )
    assert_valid_message(message)
    assert "".join(section_texts(message)).count("&amp;") == 3000


# --- answer modal ---------------------------------------------------------------------------


def test_answer_modal_shape() -> None:
    view = modals.answer_modal(
        prompt_id=99, standup_name="Daily", questions=[Question("One?"), Question("Two?")]
    )
    assert_valid_view(view)
    assert view["callback_id"] == blockkit.ANSWER_CALLBACK
    assert view["private_metadata"] == "99"
    assert view["title"]["text"] == "Daily"
    assert view["submit"]["text"] == "Submit"
    fields = inputs(view)
    assert list(fields) == ["q0", "q1"]
    for block_id, question in zip(fields, ["One?", "Two?"], strict=True):
        blk = fields[block_id]
        assert blk["label"]["text"] == question
        assert blk["optional"] is False
        element = blk["element"]
        assert element["action_id"] == blockkit.A_ANSWER_INPUT
        assert element["multiline"] is True
        assert element["max_length"] == 3000
        assert "initial_value" not in element


def test_answer_modal_prefills_when_editing() -> None:
    view = modals.answer_modal(
        prompt_id=1,
        standup_name="Daily",
        questions=[Question("A"), Question("B")],
        existing={1: "done & dusted"},
    )
    assert_valid_view(view)
    assert view["submit"]["text"] == "Update"
    fields = inputs(view)
    assert "initial_value" not in fields["q0"]["element"]
    # plain_text input: the raw answer, not escaped.
    assert fields["q1"]["element"]["initial_value"] == "done & dusted"


def test_answer_modal_title_and_labels_are_truncated_but_not_escaped() -> None:
    name = "Platform & <Infra> weekly sync for everyone"
    view = modals.answer_modal(prompt_id=1, standup_name=name, questions=[Question("Q" * 2500)])
    assert_valid_view(view)
    title = view["title"]["text"]
    assert len(title) == 24
    assert title == "Platform & <Infra> week…"  # plain_text shows text literally: no escaping
    label = inputs(view)["q0"]["label"]["text"]
    assert len(label) <= 2000
    assert label.endswith("(truncated)")


# --- answer reply ---------------------------------------------------------------------------


def test_answer_reply_escapes_and_mentions() -> None:
    message = message_views.answer_reply(
        user_id="U024BE7LH",
        questions=["What <did> you do?", "Blockers?"],
        answers=["<!channel> shipped A & B", "&lt; none"],
    )
    assert_valid_message(message)
    texts = section_texts(message)
    assert texts[0] == "<@U024BE7LH>'s answers"
    assert texts[1] == "*What &lt;did&gt; you do?*\n&lt;!channel&gt; shipped A &amp; B"
    assert texts[2] == "*Blockers?*\n&amp;lt; none"
    assert "<!channel>" not in message["text"]
    assert "&lt;!channel&gt;" in message["text"]


def test_answer_reply_edited_and_bad_user_id() -> None:
    message = message_views.answer_reply(
        user_id="U1>|<!here", questions=["Q"], answers=["A"], edited=True
    )
    assert_valid_message(message)
    assert section_texts(message)[0] == "U1&gt;|&lt;!here's answers (edited)"


def test_answer_reply_splits_a_10000_character_answer() -> None:
    answer = ("lorem ipsum <dolor> & sit amet " * 400)[:10_000]
    message = message_views.answer_reply(user_id="U1", questions=["Long?"], answers=[answer])
    assert_valid_message(message)
    texts = section_texts(message)[1:]
    assert len(texts) >= 4
    assert all(len(t) <= 3000 for t in texts)
    assert texts[0].startswith("*Long?*\n")
    # Nothing is lost: the pieces re-joined contain the whole escaped answer (split on spaces).
    rejoined = " ".join(texts)[len("*Long?*\n") :]
    assert rejoined.split() == escape(answer).split()
    assert len(message["blocks"]) <= 50


def test_answer_reply_with_60_huge_questions_truncates_visibly() -> None:
    questions = [f"Question {i} " + "q" * 2990 for i in range(60)]
    answers = ["a & " * 750 for _ in range(60)]
    message = message_views.answer_reply(user_id="U1", questions=questions, answers=answers)
    assert_valid_message(message)
    assert len(message["blocks"]) == 50
    assert "truncated" in message["blocks"][-1]["text"]["text"]
    assert len(message["text"]) <= 40_000
    assert message["text"].endswith("(truncated)")


def test_answer_reply_handles_missing_answers() -> None:
    message = message_views.answer_reply(user_id="U1", questions=["A", "B"], answers=["x", "  "])
    assert_valid_message(message)
    assert section_texts(message)[2] == "*B*\n_No answer_"


# --- summary --------------------------------------------------------------------------------


def test_summary_in_progress() -> None:
    message = message_views.summary_message(
        standup_name="Daily <!channel>",
        local_date="2024-05-06",
        digest=digest(answered=["U1", "U2"], waiting=["U3"]),
        final=False,
        total=3,
    )
    assert_valid_message(message)
    header = message["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "Daily <!channel> — 2024-05-06"  # plain_text: raw
    texts = section_texts(message)
    assert texts == ["*Answered (2/3)*: <@U1>, <@U2>", "*Waiting on*: <@U3>"]
    assert message["blocks"][-1]["type"] == "context"
    assert "Answers are in the thread 🧵" in all_text(message)
    assert "Daily &lt;!channel&gt;" in message["text"]


def test_summary_in_progress_nobody_answered_yet() -> None:
    message = message_views.summary_message(
        standup_name="D", local_date="d", digest=digest(waiting=["U1"]), final=False, total=1
    )
    assert_valid_message(message)
    assert section_texts(message)[0].startswith("*Answered (0/1)*")


def test_summary_final_puts_blockers_first_and_escapes_them() -> None:
    message = message_views.summary_message(
        standup_name="Daily",
        local_date="2024-05-06",
        digest=digest(
            answered=["U1", "U2"],
            skipped=["U3"],
            missed=["U4"],
            blockers=[("U1", "Waiting on <!channel> & ops"), ("U2", "x" * 800)],
        ),
        final=True,
        total=4,
    )
    assert_valid_message(message)
    texts = section_texts(message)
    assert message["blocks"][1]["type"] == "section"
    assert texts[0].startswith("*New blockers*\n")
    lines = texts[0].split("\n")[1:]
    assert lines[0] == "• <@U1>: Waiting on &lt;!channel&gt; &amp; ops"
    assert lines[1].startswith("• <@U2>: xxx")
    assert len(lines[1]) == len("• <@U2>: ") + 500
    assert texts[1:] == [
        "*Answered (2/4)*: <@U1>, <@U2>",
        "*Skipped*: <@U3>",
        "*Didn't answer*: <@U4>",
    ]
    assert "Standup closed" in all_text(message)
    assert "Waiting on" not in "".join(texts[1:])


def test_summary_final_without_blockers_omits_empty_groups() -> None:
    message = message_views.summary_message(
        standup_name="Daily",
        local_date="2024-05-06",
        digest=digest(answered=["U1"]),
        final=True,
        total=1,
    )
    assert_valid_message(message)
    assert section_texts(message) == ["No blockers reported 🎉", "*Answered (1/1)*: <@U1>"]


def test_summary_with_many_people_and_blockers_stays_in_limits() -> None:
    users = [f"U{i:010d}" for i in range(1000)]
    message = message_views.summary_message(
        standup_name="N" * 300,
        local_date="2024-05-06",
        digest=digest(answered=users, blockers=[(u, "b" * 600) for u in users]),
        final=True,
        total=1000,
    )
    assert_valid_message(message)
    assert len(message["blocks"][0]["text"]["text"]) == 150
    assert len(message["blocks"]) == 50
    assert "truncated" in message["blocks"][-1]["text"]["text"]


def test_summary_splits_long_mention_lists_into_sections() -> None:
    users = [f"U{i:010d}" for i in range(300)]
    message = message_views.summary_message(
        standup_name="D", local_date="d", digest=digest(answered=users), final=False, total=300
    )
    assert_valid_message(message)
    texts = section_texts(message)
    assert len(texts) >= 2
    mentioned = re.findall(r"<@(U\d+)>", " ".join(texts))
    assert mentioned == users  # every mention kept whole, in order


# --- standup list ---------------------------------------------------------------------------


def item(name: str = "Daily", *, count: int = 3, active: bool = True) -> StandupListItem:
    return StandupListItem(
        name=name,
        channel_id="C024BE7LR",
        schedule_text="Mon–Fri at 09:30",
        participant_count=count,
        next_run_text="tomorrow 09:30",
        active=active,
        owner_id="U1",
    )


def test_list_empty() -> None:
    message = message_views.standup_list_message([])
    assert_valid_message(message)
    assert section_texts(message) == ["No standups yet — create one with `/standup create`."]


def test_list_items() -> None:
    message = message_views.standup_list_message(
        [item("Daily <!here>"), item("Solo", count=1, active=False)]
    )
    assert_valid_message(message)
    assert section_texts(message) == [
        "*Daily &lt;!here&gt;* in <#C024BE7LR> — Mon–Fri at 09:30, 3 participants."
        " Next: tomorrow 09:30",
        "*Solo* in <#C024BE7LR> — Mon–Fri at 09:30, 1 participant. Next: tomorrow 09:30 (paused)",
    ]


def test_list_caps_at_50_blocks() -> None:
    message = message_views.standup_list_message([item(f"S{i}") for i in range(75)])
    assert_valid_message(message)
    assert len(message["blocks"]) == 50
    assert section_texts(message)[-1] == "…and 26 more"
    assert len(message_views.standup_list_message([item() for _ in range(50)])["blocks"]) == 50


# --- delete confirmation --------------------------------------------------------------------


def test_delete_confirm() -> None:
    message = message_views.delete_confirm_message(standup_id=5, standup_name="Daily & <!channel>")
    assert_valid_message(message)
    assert section_texts(message) == [
        "Delete *Daily &amp; &lt;!channel&gt;*? This removes its schedule and history."
    ]
    delete, cancel = buttons(message)
    assert (delete["action_id"], delete["value"], delete["style"]) == (
        blockkit.A_DELETE_CONFIRM,
        "5",
        "danger",
    )
    assert delete["confirm"]["style"] == "danger"
    assert "Daily & <!channel>" in delete["confirm"]["text"]["text"]  # plain_text: raw
    assert (cancel["action_id"], cancel["value"]) == (blockkit.A_DELETE_CANCEL, "5")


def test_delete_confirm_long_name_fits_dialog() -> None:
    message = message_views.delete_confirm_message(standup_id=5, standup_name="n" * 1000)
    assert_valid_message(message)


# --- text message ---------------------------------------------------------------------------


def test_text_message_truncates() -> None:
    message = message_views.text_message(Mrkdwn("hello *world*"))
    assert_valid_message(message)
    assert section_texts(message) == ["hello *world*"]
    long = message_views.text_message(Mrkdwn("x" * 5000))
    assert_valid_message(long)
    assert section_texts(long)[0].endswith("(truncated)")
    with pytest.raises(ValueError):
        message_views.text_message(Mrkdwn("  "))


# --- escaping across every builder ----------------------------------------------------------


def test_evil_text_never_reaches_any_output_unescaped() -> None:
    messages = [
        message_views.prompt_message(
            prompt_id=1,
            standup_name=EVIL,
            questions=[EVIL],
            state=state,
            local_date=EVIL,
            answered_at_text=EVIL,
            reason=EVIL,
        )
        for state in ("pending", "answered", "skipped", "closed")
    ]
    messages += [
        message_views.answer_reply(user_id=EVIL, questions=[EVIL], answers=[EVIL], edited=True),
        message_views.summary_message(
            standup_name=EVIL,
            local_date=EVIL,
            digest=digest(answered=[EVIL, "U1"], blockers=[("U1", EVIL)], missed=[EVIL]),
            final=True,
            total=2,
        ),
        message_views.standup_list_message(
            [
                StandupListItem(
                    name=EVIL,
                    channel_id=EVIL,
                    schedule_text=EVIL,
                    participant_count=1,
                    next_run_text=EVIL,
                    active=True,
                    owner_id=EVIL,
                )
            ]
        ),
        message_views.delete_confirm_message(standup_id=1, standup_name=EVIL),
    ]
    for message in messages:
        assert_valid_message(message)  # includes the raw-control-sequence check
        assert "<!channel>" not in message["text"]
        assert all("<!channel>" not in t for t in mrkdwn_texts(message["blocks"]))


def test_answer_modal_of_every_type_at_its_limits_is_valid() -> None:
    options = tuple(f"{i:02d} " + "o" * 72 for i in range(25))  # 25 options of 75 characters
    questions = [
        Question("T" * 300),
        Question("Optional?", QuestionType.OPTIONAL),
        Question("Pick?", QuestionType.CHOICE, options),
        Question("How many?", QuestionType.NUMBER),
        Question("Mood?", QuestionType.MOOD),
    ] * 4  # 20 questions, the most a standup may have
    existing = {2: options[-1], 3: "-2.5", 4: "5", 1: ""}
    view = modals.answer_modal(
        prompt_id=1, standup_name="Daily", questions=questions, existing=existing
    )
    assert_valid_view(view)
    fields = inputs(view)
    assert fields["q2"]["element"]["initial_option"]["value"] == options[-1]
    assert fields["q3"]["element"]["initial_value"] == "-2.5"
    assert fields["q4"]["element"]["initial_option"]["text"]["text"] == "5 😄 great"
    assert fields["q1"]["optional"] is True and "initial_value" not in fields["q1"]["element"]
