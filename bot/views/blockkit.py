"""Block Kit primitives: Slack's limits, enforced by every builder (truncating visibly and
capping block counts), and the ids that route clicks and submissions back to us.

Mrkdwn fields take :class:`Mrkdwn` only, so raw user text cannot reach them unescaped.
Limits: Slack docs and python-slack-sdk validators (shared/slack-reference/limits_and_escaping.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from bot.rules.validation import FormField
from bot.views.mrkdwn import DEFAULT_MARKER, Mrkdwn, split_chunks, truncate

# View callback ids.
CREATE_CALLBACK = "standup_create"
EDIT_CALLBACK = "standup_edit"
ANSWER_CALLBACK = "answer_submit"

# Standup-form block ids are the form's field names (errors come back keyed by them); every
# form input uses action_id A_VALUE.
B_NAME = FormField.NAME.value
B_CHANNEL = FormField.CHANNEL.value
B_QUESTIONS = FormField.QUESTIONS.value
B_PARTICIPANTS = FormField.PARTICIPANTS.value
B_DAYS = FormField.DAYS.value
B_TIME = FormField.TIME.value
B_TZ_MODE = FormField.TZ_MODE.value
B_TZ = FormField.TZ.value
A_VALUE = "value"

# Action ids.
A_ANSWER = "prompt_answer"
A_SKIP = "prompt_skip"
A_EDIT = "prompt_edit"
A_DELETE_CONFIRM = "standup_delete_confirm"
A_DELETE_CANCEL = "standup_delete_cancel"
A_ANSWER_INPUT = "answer"
# The Answer button on a reminder DM (same handler as A_ANSWER; its own id so a reminder is
# never mistaken for the prompt), and App Home's "Turn reminders off/on".
A_REMINDER_ANSWER = "reminder_answer"
A_REMINDERS_TOGGLE = "reminders_toggle"
# App Home's buttons on a standup (values: the standup's id).
A_HOME_RUN = "home_run"
A_HOME_PAUSE = "home_pause"
A_HOME_RESUME = "home_resume"
A_HOME_EDIT = "home_edit"
A_HOME_REPORT = "home_report"

PROMPT_ACTIONS_BLOCK = "prompt_actions"
DELETE_ACTIONS_BLOCK = "standup_delete_actions"
REMINDER_ACTIONS_BLOCK = "reminder_actions"
HOME_REMINDERS_BLOCK = "home_reminders"

WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Slack limits (characters are counted as Python code points, like the SDK does).
MESSAGE_MAX_BLOCKS = 50
MODAL_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
PLACEHOLDER_MAX = 150
LABEL_MAX = 2000
HINT_MAX = 2000
INPUT_MAX_LENGTH = 3000
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
FALLBACK_TEXT_MAX = 40000

BLOCKER_TEXT_MAX = 500
SHORT_FIELD_MAX = 150
SHORT_MARKER = "…"
TRUNCATED_NOTICE = Mrkdwn("_… Some text was too long to show here and was truncated._")

Block = dict[str, Any]


class Message(TypedDict):
    """Keyword arguments for chat.postMessage/chat.update: fallback ``text`` plus ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


def slack_date(instant: dt.datetime) -> Mrkdwn:
    """A date Slack renders in each reader's own time zone, with a UTC fallback."""
    epoch = int(instant.timestamp())
    fallback = instant.astimezone(dt.UTC).strftime("%a %d %b %H:%M UTC")
    return Mrkdwn(f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>")


def question_block_id(position: int) -> str:
    """Block id of the answer input for the question at ``position`` (its list index)."""
    return f"q{position}"


def display_name(standup_name: str) -> str:
    return standup_name.strip() or "Standup"


def plain(text: str, limit: int, fallback: str = "…") -> Block:
    """plain_text object: raw text (Slack shows it literally), truncated, never empty.

    Short fields (titles, buttons, options, headers) end in a bare "…": a "(truncated)"
    marker would eat most of a 24-character title.
    """
    marker = SHORT_MARKER if limit <= SHORT_FIELD_MAX else DEFAULT_MARKER
    text = truncate(text, limit, marker=marker)
    if not text.strip():
        text = fallback
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: Mrkdwn, limit: int = SECTION_TEXT_MAX) -> Block:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def section(text: Mrkdwn, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def context(text: Mrkdwn) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, CONTEXT_TEXT_MAX)]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX, fallback="Standup")}


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    button: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": truncate(value, BUTTON_VALUE_MAX, marker=""),
    }
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def option(text: str, value: str) -> Block:
    return {
        "text": plain(text, OPTION_TEXT_MAX),
        "value": truncate(value, OPTION_VALUE_MAX, marker=""),
    }


def input_block(
    block_id: str,
    label: str,
    element: Block,
    *,
    hint: str | None = None,
    optional: bool = False,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, LABEL_MAX),
        "element": element,
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = plain(hint, HINT_MAX)
    return block


def fallback(text: Mrkdwn) -> str:
    """Top-level ``text`` (notifications, screen readers): mrkdwn, like the blocks."""
    return truncate(text, FALLBACK_TEXT_MAX) or " "


def cap(blocks: list[Block], limit: int) -> list[Block]:
    """Keep at most ``limit`` blocks; the last one then says that something was cut."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], section(TRUNCATED_NOTICE)]


def message(text: Mrkdwn, blocks: list[Block]) -> Message:
    return Message(text=fallback(text), blocks=cap(blocks, MESSAGE_MAX_BLOCKS))


def text_sections(text: Mrkdwn) -> list[Block]:
    """Sections for text of any length, split on line/word boundaries (never in an entity)."""
    chunks = split_chunks(text, SECTION_TEXT_MAX)
    return [section(Mrkdwn(chunk)) for chunk in chunks if chunk.strip()]


def pack(prefix: Mrkdwn, items: list[Mrkdwn], separator: str) -> list[Mrkdwn]:
    """Join ``items`` after ``prefix`` into section texts that fit, never splitting an item."""
    texts: list[Mrkdwn] = []
    current = str(prefix)
    started = False
    for raw_item in items:
        item = truncate(raw_item, SECTION_TEXT_MAX - len(prefix))
        addition = (separator if started else "") + item
        if started and len(current) + len(addition) > SECTION_TEXT_MAX:
            texts.append(Mrkdwn(current))
            current = item
        else:
            current += addition
        started = True
    texts.append(Mrkdwn(current))
    return texts
