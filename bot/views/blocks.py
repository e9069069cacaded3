"""The one place AsyncStand builds Block Kit JSON.

Every builder enforces Slack's limits itself (truncating visibly and capping block counts)
and escapes user text, so handlers can post whatever these return without a Slack
``invalid_blocks`` error and without user text turning into mentions or broadcasts.
Limits: Slack docs and python-slack-sdk validators (shared/slack-reference/limits_and_escaping.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, TypedDict

from bot.rules.digest import Digest
from bot.rules.validation import (
    DEFAULT_QUESTIONS,
    MAX_ANSWER_LEN,
    MAX_NAME_LEN,
    MAX_PARTICIPANTS,
    MAX_QUESTIONS,
)
from bot.views.mrkdwn import DEFAULT_MARKER, channel_link, escape, mention, split_chunks, truncate

__all__ = [
    "ANSWER_CALLBACK",
    "A_ANSWER",
    "A_ANSWER_INPUT",
    "A_DELETE_CANCEL",
    "A_DELETE_CONFIRM",
    "A_EDIT",
    "A_SKIP",
    "A_VALUE",
    "B_CHANNEL",
    "B_DAYS",
    "B_NAME",
    "B_PARTICIPANTS",
    "B_QUESTIONS",
    "B_TIME",
    "B_TZ",
    "B_TZ_MODE",
    "CREATE_CALLBACK",
    "DELETE_ACTIONS_BLOCK",
    "PROMPT_ACTIONS_BLOCK",
    "WEEKDAY_LABELS",
    "Message",
    "StandupListItem",
    "answer_modal",
    "answer_reply",
    "create_modal",
    "delete_confirm_message",
    "help_message",
    "prompt_message",
    "question_block_id",
    "standup_list_message",
    "summary_message",
    "text_message",
]

# View callback ids.
CREATE_CALLBACK = "standup_create"
EDIT_CALLBACK = "standup_edit"
ANSWER_CALLBACK = "answer_submit"

# Create-form block ids; every create-form input uses action_id A_VALUE.
B_NAME = "name"
B_CHANNEL = "channel"
B_QUESTIONS = "questions"
B_PARTICIPANTS = "participants"
B_DAYS = "days"
B_TIME = "time"
B_TZ_MODE = "tz_mode"
B_TZ = "tz"
A_VALUE = "value"

# Action ids.
A_ANSWER = "prompt_answer"
A_SKIP = "prompt_skip"
A_EDIT = "prompt_edit"
A_DELETE_CONFIRM = "standup_delete_confirm"
A_DELETE_CANCEL = "standup_delete_cancel"
A_ANSWER_INPUT = "answer"

PROMPT_ACTIONS_BLOCK = "prompt_actions"
DELETE_ACTIONS_BLOCK = "standup_delete_actions"

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
TRUNCATED_NOTICE = "_… Some text was too long to show here and was truncated._"

Block = dict[str, Any]


class Message(TypedDict):
    """Keyword arguments for chat.postMessage/chat.update: fallback ``text`` plus ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class StandupListItem:
    """One row of ``/standup list``; the text fields are plain text and get escaped here."""

    name: str
    channel_id: str
    schedule_text: str
    participant_count: int
    next_run_text: str
    active: bool
    owner_id: str
    # When set, shown as a Slack date so each reader sees it in their own time zone.
    next_run: dt.datetime | None = None


def slack_date(instant: dt.datetime) -> str:
    """A date Slack renders in each reader's own time zone, with a UTC fallback."""
    epoch = int(instant.timestamp())
    fallback = instant.astimezone(dt.UTC).strftime("%a %d %b %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def question_block_id(position: int) -> str:
    """Block id of the answer input for the question at ``position`` (its list index)."""
    return f"q{position}"


# --- low-level helpers -------------------------------------------------------------------


def _plain(text: str, limit: int, fallback: str = "…") -> Block:
    """plain_text object: raw text (Slack shows it literally), truncated, never empty.

    Short fields (titles, buttons, options, headers) end in a bare "…": a "(truncated)"
    marker would eat most of a 24-character title.
    """
    marker = SHORT_MARKER if limit <= SHORT_FIELD_MAX else DEFAULT_MARKER
    text = truncate(text, limit, marker=marker)
    if not text.strip():
        text = fallback
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> Block:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def _section(text: str, *, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(text)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text, CONTEXT_TEXT_MAX)]}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, HEADER_TEXT_MAX, fallback="Standup")}


def _button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
        "value": truncate(value, BUTTON_VALUE_MAX, marker=""),
    }
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def _option(text: str, value: str) -> Block:
    return {
        "text": _plain(text, OPTION_TEXT_MAX),
        "value": truncate(value, OPTION_VALUE_MAX, marker=""),
    }


def _input(
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
        "label": _plain(label, LABEL_MAX),
        "element": element,
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = _plain(hint, HINT_MAX)
    return block


def _fallback(text: str) -> str:
    """Top-level ``text`` (notifications, screen readers): mrkdwn, so callers pass it escaped."""
    return truncate(text, FALLBACK_TEXT_MAX) or " "


def _cap(blocks: list[Block], limit: int) -> list[Block]:
    """Keep at most ``limit`` blocks; the last one then says that something was cut."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], _section(TRUNCATED_NOTICE)]


def _message(text: str, blocks: list[Block]) -> Message:
    return Message(text=_fallback(text), blocks=_cap(blocks, MESSAGE_MAX_BLOCKS))


def _text_sections(text: str) -> list[Block]:
    """Sections for (escaped) text of any length, split on line/word boundaries."""
    return [_section(chunk) for chunk in split_chunks(text, SECTION_TEXT_MAX) if chunk.strip()]


def _pack(prefix: str, items: list[str], separator: str) -> list[str]:
    """Join ``items`` after ``prefix`` into section texts that fit, never splitting an item."""
    texts: list[str] = []
    current = prefix
    started = False
    for raw_item in items:
        item = truncate(raw_item, SECTION_TEXT_MAX - len(prefix))
        addition = (separator if started else "") + item
        if started and len(current) + len(addition) > SECTION_TEXT_MAX:
            texts.append(current)
            current = item
        else:
            current += addition
        started = True
    texts.append(current)
    return texts


def _display_name(standup_name: str) -> str:
    return standup_name.strip() or "Standup"


# --- messages -------------------------------------------------------------------------------


def help_message() -> Message:
    """Ephemeral ``/standup help``: each command with the reason you would use it."""
    commands = [
        ("/standup create", "set up a new standup: channel, questions, people and schedule."),
        ("/standup list", "see your standups, when each runs next and how many people are in it."),
        ("/standup run <name>", "start today's round right now, e.g. to try out a new standup."),
        ("/standup edit <name>", "change a standup's questions, people or schedule."),
        ("/standup pause <name>", "stop prompts for a while (`/standup resume <name>` restarts)."),
        ("/standup owners <name> add|remove @user", "share who may manage a standup."),
        ("/standup history <name>", "see who changed a standup, when, and what."),
        ("/standup delete <name>", "remove a standup and its schedule once the team is done."),
        ("/standup settings creators admins|everyone", "admins: who may create standups."),
        ("/standup help", "show this message."),
    ]
    lines = [
        "*AsyncStand* runs standups in a thread, so nobody has to be online at the same time.",
        *(f"• `{escape(command)}` — {escape(why)}" for command, why in commands),
    ]
    return _message("AsyncStand commands", [_section("\n".join(lines))])


def welcome_message() -> Message:
    """The DM the installer gets right after installing."""
    text = (
        "*Thanks for installing AsyncStand!* :wave:\n"
        "Run `/standup create` in any channel to set up your first standup: pick the channel, "
        "the questions, who takes part, the days and the time. Everyone is asked at that time "
        "*in their own time zone*, and answers land in a thread in the channel.\n"
        "Try it straight away with `/standup run <name>`; `/standup help` lists everything."
    )
    return _message("Thanks for installing AsyncStand!", [_section(text)])


def home_view(items: list[StandupListItem] | None = None) -> dict[str, Any]:
    """The App Home tab: your standups (if any), then what AsyncStand does and the commands."""
    mine: list[Block] = []
    if items:
        listing = standup_list_message(items)["blocks"][: MODAL_MAX_BLOCKS - 10]
        mine = [_section("*Your standups*"), *listing, {"type": "divider"}]
    help_blocks = help_message()["blocks"]
    return {
        "type": "home",
        "blocks": _cap([_header("AsyncStand"), *mine, *help_blocks], MODAL_MAX_BLOCKS),
    }


def history_message(standup_name: str, lines: list[str]) -> Message:
    """`/standup history`: recent changes, newest first (lines are already escaped)."""
    title = f"*Recent changes to {escape(_display_name(standup_name))}*"
    if not lines:
        return _message(title, [_section(f"{title}\nNo changes recorded yet.")])
    packed = _pack(title + "\n", lines, "\n")
    return _message(title, _cap([_section(chunk) for chunk in packed], MESSAGE_MAX_BLOCKS))


def prompt_message(
    *,
    prompt_id: int,
    standup_name: str,
    questions: list[str],
    state: str,
    local_date: str | None = None,
    answered_at_text: str | None = None,
    reason: str | None = None,
) -> Message:
    """The DM that asks one participant to check in, re-rendered as its state changes.

    States: "pending"/"sent" (questions + Answer/Skip), "answered" (Edit), "skipped"
    (Answer anyway), "missed"/"closed"/"failed" (closed, no buttons).
    """
    name = escape(_display_name(standup_name))
    value = str(prompt_id)
    blocks: list[Block]
    if state in ("pending", "sent"):
        numbered = "\n".join(f"{i}. {escape(q)}" for i, q in enumerate(questions, start=1))
        blocks = [_section(f"*{name}* standup — time to check in")]
        if local_date:
            blocks.append(_context(escape(local_date)))
        blocks += _text_sections(numbered)
        blocks.append(
            {
                "type": "actions",
                "block_id": PROMPT_ACTIONS_BLOCK,
                "elements": [
                    _button("Answer", A_ANSWER, value, style="primary"),
                    _button("Skip today", A_SKIP, value),
                ],
            }
        )
        text = f"Time to check in: {name} standup"
    elif state == "answered":
        blocks = [_section(f"*{name}* standup\n✅ Answered — thanks!")]
        if answered_at_text:
            blocks.append(_context(escape(answered_at_text)))
        blocks.append(
            {
                "type": "actions",
                "block_id": PROMPT_ACTIONS_BLOCK,
                "elements": [_button("Edit", A_EDIT, value)],
            }
        )
        text = f"{name} standup: answered — thanks!"
    elif state == "skipped":
        blocks = [
            _section(f"*{name}* standup\nSkipped today"),
            {
                "type": "actions",
                "block_id": PROMPT_ACTIONS_BLOCK,
                "elements": [_button("Answer anyway", A_ANSWER, value)],
            },
        ]
        text = f"{name} standup: skipped today"
    elif state in ("missed", "closed", "failed"):
        blocks = [
            _section(f"*{name}* standup\nThis standup closed — answers are no longer collected.")
        ]
        text = f"{name} standup closed"
    else:
        raise ValueError(f"unknown prompt state: {state!r}")
    if local_date and state not in ("pending", "sent"):
        blocks.insert(1, _context(escape(local_date)))
    if reason:
        blocks.append(_context(escape(reason)))
    return _message(text, blocks)


def answer_reply(
    *, user_id: str, questions: list[str], answers: list[str], edited: bool = False
) -> Message:
    """A participant's answers as a reply in the standup's channel thread.

    Long answers are split over several sections; if the reply would need more than 50 blocks
    the last block says that text was truncated.
    """
    title = f"{mention(user_id)}'s answers" + (" (edited)" if edited else "")
    blocks: list[Block] = [_section(title)]
    fallback_lines = [title]
    pairs = zip_longest(questions, answers, fillvalue=None)
    for position, (question, answer) in enumerate(pairs, start=1):
        # Questions are one line by design; keep the bold line intact and reasonably short.
        shown_question = " ".join((question or f"Question {position}").split())
        question_line = "*" + truncate(escape(shown_question), SECTION_TEXT_MAX // 3) + "*"
        body = escape(answer) if answer and answer.strip() else "_No answer_"
        # split_chunks prefers the latest newline, so the question line never gets split.
        blocks += _text_sections(f"{question_line}\n{body}")
        fallback_lines.append(f"{escape(shown_question)}: {body}")
    return _message("\n".join(fallback_lines), blocks)


def summary_message(
    *, standup_name: str, local_date: str, digest: Digest, final: bool, total: int
) -> Message:
    """The channel post that heads the thread: progress while open, blockers first once closed."""
    name = _display_name(standup_name)
    blocks: list[Block] = [_header(f"{name} — {local_date}")]

    def group(title: str, user_ids: list[str]) -> None:
        if user_ids:
            mentions = [mention(uid) for uid in user_ids]
            blocks.extend(_section(t) for t in _pack(f"*{title}*: ", mentions, ", "))

    answered_title = f"Answered ({len(digest.answered)}/{total})"
    if final:
        if digest.blockers:
            lines = [
                f"• {mention(uid)}: " + truncate(escape(" ".join(text.split())), BLOCKER_TEXT_MAX)
                for uid, text in digest.blockers
            ]
            blocks.extend(_section(t) for t in _pack("*Blockers*\n", lines, "\n"))
        else:
            blocks.append(_section("No blockers reported 🎉"))
        group(answered_title, digest.answered)
        group("Skipped", digest.skipped)
        group("Didn't answer", digest.missed)
        blocks.append(_context("Standup closed"))
    else:
        if digest.answered:
            group(answered_title, digest.answered)
        else:
            blocks.append(_section(f"*{answered_title}*: nobody yet"))
        group("Waiting on", digest.waiting)
        group("Skipped", digest.skipped)
        blocks.append(_context("Answers are in the thread 🧵"))

    text = f"{escape(name)} — {escape(local_date)}: {len(digest.answered)}/{total} answered"
    if final:
        count = len(digest.blockers)
        text += f", {count} blocker{'' if count == 1 else 's'} (closed)"
    return _message(text, blocks)


def standup_list_message(items: list[StandupListItem]) -> Message:
    """``/standup list``: one section per standup, capped at 50 blocks with an "…and N more"."""
    if not items:
        empty = "No standups yet — create one with `/standup create`."
        return _message(empty, [_section(empty)])
    shown = items if len(items) <= MESSAGE_MAX_BLOCKS else items[: MESSAGE_MAX_BLOCKS - 1]
    blocks: list[Block] = []
    for item in shown:
        count = item.participant_count
        line = (
            f"*{escape(_display_name(item.name))}* in {channel_link(item.channel_id)}"
            f" — {escape(item.schedule_text)}, {count} participant{'' if count == 1 else 's'}."
            f" Next: {slack_date(item.next_run) if item.next_run else escape(item.next_run_text)}"
        )
        if not item.active:
            line += " (paused)"
        blocks.append(_section(line))
    if len(shown) < len(items):
        blocks.append(_section(f"…and {len(items) - len(shown)} more"))
    count = len(items)
    return _message(f"You have {count} standup{'' if count == 1 else 's'}", blocks)


def delete_confirm_message(*, standup_id: int, standup_name: str) -> Message:
    """Ask before deleting, with Slack's own confirm dialog as a second safety net."""
    name = _display_name(standup_name)
    value = str(standup_id)
    confirm: Block = {
        "title": _plain("Delete standup?", CONFIRM_TITLE_MAX),
        "text": _plain(
            f"“{truncate(name, 200)}” and its whole history will be deleted. This can't be undone.",
            CONFIRM_TEXT_MAX,
        ),
        "confirm": _plain("Delete", CONFIRM_BUTTON_MAX),
        "deny": _plain("Keep it", CONFIRM_BUTTON_MAX),
        "style": "danger",
    }
    blocks: list[Block] = [
        _section(f"Delete *{escape(name)}*? This removes its schedule and history."),
        {
            "type": "actions",
            "block_id": DELETE_ACTIONS_BLOCK,
            "elements": [
                _button("Delete", A_DELETE_CONFIRM, value, style="danger", confirm=confirm),
                _button("Cancel", A_DELETE_CANCEL, value),
            ],
        },
    ]
    return _message(f"Delete {escape(name)}?", blocks)


def text_message(text: str) -> Message:
    """A single section of already-formatted mrkdwn (the caller escapes user text)."""
    if not text.strip():
        raise ValueError("text_message needs non-empty text")
    return _message(text, [_section(text)])


# --- views ----------------------------------------------------------------------------------


def _check_metadata(private_metadata: str) -> str:
    """Truncating metadata would silently corrupt state, so refuse instead."""
    if len(private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError(f"private_metadata is longer than {PRIVATE_METADATA_MAX} characters")
    return private_metadata


@dataclass(frozen=True)
class StandupFormValues:
    """An existing standup's settings, to prefill the form when editing it."""

    name: str
    channel_id: str
    questions: list[str]
    participant_ids: list[str]
    weekdays: frozenset[int]
    local_time: str
    tz_mode: str
    fixed_tz: str | None


def create_modal(
    *,
    creator_id: str,
    private_metadata: str = "",
    initial: StandupFormValues | None = None,
) -> dict[str, Any]:
    """The create form (or, with ``initial``, the edit form); block ids match the validation."""
    day_options = [_option(label, str(day)) for day, label in enumerate(WEEKDAY_LABELS)]
    participant_mode = _option("Each participant's own time zone", "participant")
    fixed_mode = _option("One fixed time zone", "fixed")
    blocks: list[Block] = [
        _input(
            B_NAME,
            "Name",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": MAX_NAME_LEN,
                "placeholder": _plain("e.g. Backend daily", PLACEHOLDER_MAX),
            },
        ),
        _input(
            B_CHANNEL,
            "Channel",
            {
                "type": "conversations_select",
                "action_id": A_VALUE,
                "default_to_current_conversation": True,
                "filter": {
                    "include": ["public", "private"],
                    "exclude_bot_users": True,
                    "exclude_external_shared_channels": False,
                },
                "placeholder": _plain("Where the answers are posted", PLACEHOLDER_MAX),
            },
            hint="Answers are posted in a thread here.",
        ),
        _input(
            B_QUESTIONS,
            "Questions",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "multiline": True,
                "initial_value": "\n".join(DEFAULT_QUESTIONS),
                "max_length": INPUT_MAX_LENGTH,
            },
            hint=f"One question per line, up to {MAX_QUESTIONS}.",
        ),
        _input(
            B_PARTICIPANTS,
            "Participants",
            {
                "type": "multi_users_select",
                "action_id": A_VALUE,
                "initial_users": [creator_id],
                "max_selected_items": MAX_PARTICIPANTS,
                "placeholder": _plain("Who gets asked", PLACEHOLDER_MAX),
            },
        ),
        _input(
            B_DAYS,
            "Days",
            {
                "type": "checkboxes",
                "action_id": A_VALUE,
                "options": day_options,
                "initial_options": day_options[:5],
            },
        ),
        _input(
            B_TIME,
            "Time",
            {
                "type": "timepicker",
                "action_id": A_VALUE,
                "initial_time": "09:30",
                "placeholder": _plain("When to ask", PLACEHOLDER_MAX),
            },
        ),
        _input(
            B_TZ_MODE,
            "Time zone",
            {
                "type": "radio_buttons",
                "action_id": A_VALUE,
                "options": [participant_mode, fixed_mode],
                "initial_option": participant_mode,
            },
        ),
        _input(
            B_TZ,
            "Fixed time zone",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": 64,
                "placeholder": _plain("e.g. Europe/Berlin", PLACEHOLDER_MAX),
            },
            hint="Only used with one fixed time zone (IANA name)",
            optional=True,
        ),
    ]
    if initial is not None:
        _prefill(blocks, initial, day_options, fixed_mode)
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK if initial is None else EDIT_CALLBACK,
        "title": _plain("New standup" if initial is None else "Edit standup", MODAL_TITLE_MAX),
        "submit": _plain("Create" if initial is None else "Save", MODAL_BUTTON_MAX),
        "close": _plain("Cancel", MODAL_BUTTON_MAX),
        "private_metadata": _check_metadata(private_metadata),
        "blocks": _cap(blocks, MODAL_MAX_BLOCKS),
    }


def _prefill(
    blocks: list[Block], initial: StandupFormValues, day_options: list[Block], fixed_mode: Block
) -> None:
    elements = {b["block_id"]: b["element"] for b in blocks if b.get("type") == "input"}
    elements[B_NAME]["initial_value"] = initial.name[:MAX_NAME_LEN]
    elements[B_CHANNEL].pop("default_to_current_conversation", None)
    elements[B_CHANNEL]["initial_conversation"] = initial.channel_id
    elements[B_QUESTIONS]["initial_value"] = "\n".join(initial.questions)[:INPUT_MAX_LENGTH]
    elements[B_PARTICIPANTS]["initial_users"] = initial.participant_ids[:MAX_PARTICIPANTS]
    chosen = [o for o in day_options if int(o["value"]) in initial.weekdays]
    if chosen:
        elements[B_DAYS]["initial_options"] = chosen
    else:
        elements[B_DAYS].pop("initial_options", None)
    elements[B_TIME]["initial_time"] = initial.local_time
    if initial.tz_mode == "fixed":
        elements[B_TZ_MODE]["initial_option"] = fixed_mode
    if initial.fixed_tz:
        elements[B_TZ]["initial_value"] = initial.fixed_tz


def answer_modal(
    *,
    prompt_id: int,
    standup_name: str,
    questions: list[str],
    existing: dict[int, str] | None = None,
) -> dict[str, Any]:
    """The answer form: one required multiline input per question, prefilled when editing.

    ``existing`` and the block ids are keyed by the question's index in ``questions``.
    """
    existing = existing or {}
    blocks: list[Block] = []
    for position, question in enumerate(questions):
        element: Block = {
            "type": "plain_text_input",
            "action_id": A_ANSWER_INPUT,
            "multiline": True,
            "max_length": MAX_ANSWER_LEN,
        }
        previous = existing.get(position)
        if previous:
            element["initial_value"] = truncate(previous, MAX_ANSWER_LEN)
        label = question if question.strip() else f"Question {position + 1}"
        blocks.append(_input(question_block_id(position), label, element))
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": ANSWER_CALLBACK,
        "private_metadata": _check_metadata(str(prompt_id)),
        "title": _plain(_display_name(standup_name), MODAL_TITLE_MAX),
        "close": _plain("Cancel", MODAL_BUTTON_MAX),
    }
    if blocks:
        view["submit"] = _plain("Update" if existing else "Submit", MODAL_BUTTON_MAX)
    else:
        blocks = [_section("This standup has no questions yet.")]
    view["blocks"] = _cap(blocks, MODAL_MAX_BLOCKS)
    return view
