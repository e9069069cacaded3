"""Slack modals: the standup form (create and edit) and the answer form."""

from __future__ import annotations

from typing import Any

from bot.outcomes import EditForm
from bot.rules.blockers import DEFAULT_ESCALATION_DAYS, MAX_ESCALATION_DAYS
from bot.rules.cadence import CadenceKind
from bot.rules.form import FormField
from bot.rules.questions import MOOD_FACES, Question, QuestionType
from bot.rules.validation import (
    DEFAULT_LIMITS,
    DEFAULT_QUESTIONS,
    MAX_ANSWER_LEN,
    MAX_NAME_LEN,
    PARTICIPANTS_CEILING,
    Limits,
)
from bot.views.blockkit import (
    A_ANSWER_INPUT,
    A_VALUE,
    ANSWER_CALLBACK,
    B_CHANNEL,
    B_DAYS,
    B_NAME,
    B_PARTICIPANTS,
    B_QUESTIONS,
    B_TIME,
    B_TZ,
    B_TZ_MODE,
    CREATE_CALLBACK,
    EDIT_CALLBACK,
    INPUT_MAX_LENGTH,
    MODAL_BUTTON_MAX,
    MODAL_MAX_BLOCKS,
    MODAL_TITLE_MAX,
    PLACEHOLDER_MAX,
    PRIVATE_METADATA_MAX,
    WEEKDAY_LABELS,
    Block,
    cap,
    display_name,
    input_block,
    option,
    plain,
    question_block_id,
    section,
)
from bot.views.mrkdwn import md, truncate


def _check_metadata(private_metadata: str) -> str:
    """Truncating metadata would silently corrupt state, so refuse instead."""
    if len(private_metadata) > PRIVATE_METADATA_MAX:
        raise ValueError(f"private_metadata is longer than {PRIVATE_METADATA_MAX} characters")
    return private_metadata


def create_modal(
    *,
    creator_id: str,
    private_metadata: str = "",
    initial: EditForm | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """The create form (or, with ``initial``, the edit form); block ids match the validation,
    and the people picker takes at most ``limits.participants``."""
    day_options = [option(label, str(day)) for day, label in enumerate(WEEKDAY_LABELS)]
    participant_mode = option("Each participant's own time zone", "participant")
    fixed_mode = option("One fixed time zone", "fixed")
    chosen_people = option("People I choose", "people")
    whole_channel = option("Everyone in the channel (kept in sync)", "channel")
    repeat_options = [option(label, kind) for kind, label in REPEAT_CHOICES]
    week_options = [option(label, value) for value, label in WEEK_OF_MONTH_CHOICES]
    blocks: list[Block] = [
        input_block(
            B_NAME,
            "Name",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": MAX_NAME_LEN,
                "placeholder": plain("e.g. Backend daily", PLACEHOLDER_MAX),
            },
        ),
        input_block(
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
                "placeholder": plain("Where the answers are posted", PLACEHOLDER_MAX),
            },
            hint="Answers are posted in a thread here.",
        ),
        input_block(
            B_QUESTIONS,
            "Questions",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "multiline": True,
                "initial_value": "\n".join(DEFAULT_QUESTIONS),
                "max_length": INPUT_MAX_LENGTH,
            },
            hint=(
                f"One question per line, up to {limits.questions}. End a line with a type: "
                "[optional] [number] [mood] [choice: A, B] — and [blocker] on the one about "
                "blockers."
            ),
        ),
        input_block(
            B_PARTICIPANTS,
            "Participants",
            {
                "type": "multi_users_select",
                "action_id": A_VALUE,
                "initial_users": [creator_id],
                "max_selected_items": limits.participants,
                "placeholder": plain("Who gets asked", PLACEHOLDER_MAX),
            },
            hint="Not needed when everyone in the channel takes part.",
            optional=True,
        ),
        input_block(
            B_DAYS,
            "Days",
            {
                "type": "checkboxes",
                "action_id": A_VALUE,
                "options": day_options,
                "initial_options": day_options[:5],
            },
        ),
        input_block(
            B_TIME,
            "Time",
            {
                "type": "timepicker",
                "action_id": A_VALUE,
                "initial_time": "09:30",
                "placeholder": plain("When to ask", PLACEHOLDER_MAX),
            },
        ),
        input_block(
            B_TZ_MODE,
            "Time zone",
            {
                "type": "radio_buttons",
                "action_id": A_VALUE,
                "options": [participant_mode, fixed_mode],
                "initial_option": participant_mode,
            },
        ),
        input_block(
            B_TZ,
            "Fixed time zone",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": 64,
                "placeholder": plain("e.g. Europe/Berlin", PLACEHOLDER_MAX),
            },
            hint="Only used with one fixed time zone (IANA name)",
            optional=True,
        ),
        # New fields come after the first seven, whose order other tools rely on.
        input_block(
            FormField.PARTICIPANT_SOURCE,
            "Participants from",
            {
                "type": "radio_buttons",
                "action_id": A_VALUE,
                "options": [chosen_people, whole_channel],
                "initial_option": chosen_people,
            },
        ),
        *_schedule_inputs(repeat_options, week_options),
    ]
    if initial is not None:
        _prefill(blocks, initial, day_options, fixed_mode, limits)
        _prefill_schedule(blocks, initial, repeat_options, week_options, whole_channel)
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK if initial is None else EDIT_CALLBACK,
        "title": plain("New standup" if initial is None else "Edit standup", MODAL_TITLE_MAX),
        "submit": plain("Create" if initial is None else "Save", MODAL_BUTTON_MAX),
        "close": plain("Cancel", MODAL_BUTTON_MAX),
        "private_metadata": _check_metadata(private_metadata),
        "blocks": cap(blocks, MODAL_MAX_BLOCKS),
    }


def edit_modal(
    form: EditForm, *, editor_id: str, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """The edit form of one standup, prefilled; its id travels in private_metadata (and is
    checked again when the form comes back)."""
    return create_modal(
        creator_id=editor_id, private_metadata=str(form.standup_id), initial=form, limits=limits
    )


REPEAT_CHOICES = (
    (CadenceKind.WEEKLY, "Every week, on the days below"),
    (CadenceKind.EVERY_N_WEEKS, "Every few weeks, on the days below"),
    (CadenceKind.MONTHLY_DAY, "Monthly, on a day of the month"),
    (CadenceKind.MONTHLY_WEEKDAY, "Monthly, on one weekday (e.g. first Monday)"),
)
WEEK_OF_MONTH_CHOICES = (
    ("1", "First"),
    ("2", "Second"),
    ("3", "Third"),
    ("4", "Fourth"),
    ("last", "Last"),
)


def _schedule_inputs(repeat_options: list[Block], week_options: list[Block]) -> list[Block]:
    """How often it repeats, the answer window, the reminder, public holidays, and when an
    open blocker goes to the owners."""
    return [
        input_block(
            FormField.REPEAT,
            "Repeat",
            {
                "type": "static_select",
                "action_id": A_VALUE,
                "options": repeat_options,
                "initial_option": repeat_options[0],
            },
        ),
        input_block(
            FormField.EVERY_WEEKS,
            "Every N weeks",
            {
                "type": "number_input",
                "action_id": A_VALUE,
                "is_decimal_allowed": False,
                "min_value": "1",
                "max_value": "12",
                "placeholder": plain("e.g. 2 for every other week", PLACEHOLDER_MAX),
            },
            hint="With “every few weeks”: 2 is every other week.",
            optional=True,
        ),
        input_block(
            FormField.STARTING,
            "Starting",
            {"type": "datepicker", "action_id": A_VALUE},
            hint="With “every few weeks”: the weeks are counted from this date (default: today).",
            optional=True,
        ),
        input_block(
            FormField.MONTH_DAY,
            "Day of month",
            {
                "type": "number_input",
                "action_id": A_VALUE,
                "is_decimal_allowed": False,
                "min_value": "1",
                "max_value": "31",
            },
            hint="With “monthly on a day”: 29–31 run on the last day of shorter months.",
            optional=True,
        ),
        input_block(
            FormField.WEEK_OF_MONTH,
            "Week of month",
            {"type": "static_select", "action_id": A_VALUE, "options": week_options},
            hint="With “monthly on one weekday”: tick exactly one day above.",
            optional=True,
        ),
        input_block(
            FormField.WINDOW,
            "Answer window",
            {
                "type": "number_input",
                "action_id": A_VALUE,
                "is_decimal_allowed": True,
                "min_value": "0.25",
                "max_value": "168",
                "placeholder": plain("hours, e.g. 4", PLACEHOLDER_MAX),
            },
            hint="Hours from the prompt to the summary. Late answers are taken until the next run.",
            optional=True,
        ),
        input_block(
            FormField.REMINDER,
            "Reminder",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": 20,
                "placeholder": plain("halfway", PLACEHOLDER_MAX),
            },
            hint="“halfway” through the window (default), “off”, or minutes before it closes.",
            optional=True,
        ),
        input_block(
            FormField.HOLIDAYS,
            "Holidays",
            {
                "type": "plain_text_input",
                "action_id": A_VALUE,
                "max_length": 16,
                "placeholder": plain("e.g. DE-BY, US-CA, IN", PLACEHOLDER_MAX),
            },
            hint="No prompts on this country's public holidays (a person can follow their own).",
            optional=True,
        ),
        input_block(
            FormField.BLOCKER_ESCALATION_DAYS,
            "Escalate blockers after (working days)",
            {
                "type": "number_input",
                "action_id": A_VALUE,
                "is_decimal_allowed": False,
                "min_value": "0",
                "max_value": str(MAX_ESCALATION_DAYS),
                "placeholder": plain(str(DEFAULT_ESCALATION_DAYS), PLACEHOLDER_MAX),
            },
            hint=(
                "A blocker open longer than this many of the standup's working days is sent "
                f"once to its owners (default {DEFAULT_ESCALATION_DAYS})."
            ),
            optional=True,
        ),
    ]


def _prefill_schedule(
    blocks: list[Block],
    initial: EditForm,
    repeat_options: list[Block],
    week_options: list[Block],
    whole_channel: Block,
) -> None:
    elements = {b["block_id"]: b["element"] for b in blocks if b.get("type") == "input"}
    draft = initial.schedule
    if initial.participant_source == "channel":
        elements[FormField.PARTICIPANT_SOURCE]["initial_option"] = whole_channel
    chosen = [o for o in repeat_options if o["value"] == draft.repeat]
    if chosen:
        elements[FormField.REPEAT]["initial_option"] = chosen[0]
    if draft.every_weeks is not None:
        elements[FormField.EVERY_WEEKS]["initial_value"] = str(draft.every_weeks)
    if draft.starting is not None:
        elements[FormField.STARTING]["initial_date"] = draft.starting.isoformat()
    if draft.month_day is not None:
        elements[FormField.MONTH_DAY]["initial_value"] = str(draft.month_day)
    week = [o for o in week_options if o["value"] == draft.week_of_month]
    if week:
        elements[FormField.WEEK_OF_MONTH]["initial_option"] = week[0]
    if draft.window_hours is not None:
        elements[FormField.WINDOW]["initial_value"] = f"{draft.window_hours:g}"
    if draft.reminder:
        elements[FormField.REMINDER]["initial_value"] = draft.reminder
    if draft.holidays:
        elements[FormField.HOLIDAYS]["initial_value"] = draft.holidays
    if draft.blocker_escalation_days is not None:
        elements[FormField.BLOCKER_ESCALATION_DAYS]["initial_value"] = str(
            draft.blocker_escalation_days
        )


def _prefill(
    blocks: list[Block],
    initial: EditForm,
    day_options: list[Block],
    fixed_mode: Block,
    limits: Limits,
) -> None:
    elements = {b["block_id"]: b["element"] for b in blocks if b.get("type") == "input"}
    elements[B_NAME]["initial_value"] = initial.name[:MAX_NAME_LEN]
    elements[B_CHANNEL].pop("default_to_current_conversation", None)
    elements[B_CHANNEL]["initial_conversation"] = initial.channel_id
    elements[B_QUESTIONS]["initial_value"] = "\n".join(initial.questions)[:INPUT_MAX_LENGTH]
    # Everyone stays in the form, even past a limit lowered since: saving then says what to do,
    # instead of quietly dropping people.
    people = initial.participant_ids[:PARTICIPANTS_CEILING]
    elements[B_PARTICIPANTS]["initial_users"] = people
    elements[B_PARTICIPANTS]["max_selected_items"] = max(limits.participants, len(people))
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


_MOOD_LABELS = ("bad", "not great", "okay", "good", "great")


def _answer_element(question: Question, previous: str | None, max_length: int) -> Block:
    """The input for one question's type, prefilled with ``previous`` when editing."""
    element: Block
    match question.type:
        case QuestionType.CHOICE:
            choices = [option(o, o) for o in question.options]
            element = {"type": "static_select", "action_id": A_ANSWER_INPUT, "options": choices}
            chosen = [c for c in choices if c["value"] == previous]
            if chosen:
                element["initial_option"] = chosen[0]
        case QuestionType.MOOD:
            moods = [
                option(f"{level} {face} {word}", str(level))
                for level, (face, word) in enumerate(zip(MOOD_FACES, _MOOD_LABELS, strict=True), 1)
            ]
            element = {"type": "radio_buttons", "action_id": A_ANSWER_INPUT, "options": moods}
            chosen = [m for m in moods if m["value"] == previous]
            if chosen:
                element["initial_option"] = chosen[0]
        case QuestionType.NUMBER:
            element = {
                "type": "number_input",
                "action_id": A_ANSWER_INPUT,
                "is_decimal_allowed": True,
            }
            if previous:
                element["initial_value"] = previous
        case QuestionType.TEXT | QuestionType.OPTIONAL:
            element = {
                "type": "plain_text_input",
                "action_id": A_ANSWER_INPUT,
                "multiline": True,
                "max_length": max_length,
            }
            if previous:
                element["initial_value"] = truncate(previous, MAX_ANSWER_LEN)
                # An answer longer than a limit lowered since is shown whole; saving says so.
                element["max_length"] = max(max_length, len(element["initial_value"]))
    return element


def answer_modal(
    *,
    prompt_id: int,
    standup_name: str,
    questions: list[Question],
    existing: dict[int, str] | None = None,
    max_length: int = MAX_ANSWER_LEN,
) -> dict[str, Any]:
    """The answer form: one input per question, of its type (text, optional text, a choice, a
    number, a mood from 1 to 5), prefilled when editing; free text at most ``max_length``
    characters, line breaks kept.

    ``existing`` and the block ids are keyed by the question's index in ``questions``.
    """
    existing = existing or {}
    blocks: list[Block] = []
    for position, question in enumerate(questions):
        element = _answer_element(question, existing.get(position), max_length)
        label = question.text if question.text.strip() else f"Question {position + 1}"
        blocks.append(
            input_block(
                question_block_id(position),
                label,
                element,
                optional=question.type == QuestionType.OPTIONAL,
            )
        )
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": ANSWER_CALLBACK,
        "private_metadata": _check_metadata(str(prompt_id)),
        "title": plain(display_name(standup_name), MODAL_TITLE_MAX),
        "close": plain("Cancel", MODAL_BUTTON_MAX),
    }
    if blocks:
        view["submit"] = plain("Update" if existing else "Submit", MODAL_BUTTON_MAX)
    else:
        blocks = [section(md("This standup has no questions yet."))]
    view["blocks"] = cap(blocks, MODAL_MAX_BLOCKS)
    return view
