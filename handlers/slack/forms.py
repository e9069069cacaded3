"""The standup form (create and edit): read the submission, call the use case, and answer
Slack within its 3 seconds — field errors under their inputs, or close the modal."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import standups
from bot.outcomes import Created, Edited, FieldErrors, Refusal
from bot.rules.schedule import ScheduleDraft
from bot.rules.validation import FormField, StandupDraft, normalise_name, parse_questions
from bot.views import wording
from bot.views.blockkit import A_VALUE, CREATE_CALLBACK, EDIT_CALLBACK
from handlers.slack.context import caller_of, parse_id, services_of


def register(app: AsyncApp) -> None:
    app.view(CREATE_CALLBACK)(on_create_submit)
    app.view(EDIT_CALLBACK)(on_edit_submit)


def _value(values: dict[str, Any], field: FormField) -> dict[str, Any]:
    """The submitted element of one form field (its block id is the field's name)."""
    block = values.get(field) or {}
    element = block.get(A_VALUE) if isinstance(block, dict) else None
    return element if isinstance(element, dict) else {}


def draft_from_view(view: dict[str, Any]) -> StandupDraft:
    """Read the submitted form; anything missing becomes empty and fails validation."""
    values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
    days = _value(values, FormField.DAYS).get("selected_options") or []
    weekdays = frozenset(
        int(o["value"]) for o in days if str(o.get("value", "")).isdigit() and int(o["value"]) < 7
    )
    return StandupDraft(
        name=normalise_name(_value(values, FormField.NAME).get("value") or ""),
        channel_id=_value(values, FormField.CHANNEL).get("selected_conversation"),
        questions=parse_questions(_value(values, FormField.QUESTIONS).get("value") or ""),
        participant_ids=list(
            dict.fromkeys(_value(values, FormField.PARTICIPANTS).get("selected_users") or [])
        ),
        weekdays=weekdays,
        local_time=_value(values, FormField.TIME).get("selected_time"),
        tz_mode=_choice(values, FormField.TZ_MODE) or "participant",
        fixed_tz=_text(values, FormField.TZ),
        schedule=ScheduleDraft(
            repeat=_choice(values, FormField.REPEAT) or "weekly",
            every_weeks=_whole(_text(values, FormField.EVERY_WEEKS)),
            starting=_date(_value(values, FormField.STARTING).get("selected_date")),
            month_day=_whole(_text(values, FormField.MONTH_DAY)),
            week_of_month=_choice(values, FormField.WEEK_OF_MONTH),
            window_hours=_hours(_text(values, FormField.WINDOW)),
            reminder=_text(values, FormField.REMINDER),
            holidays=_text(values, FormField.HOLIDAYS),
            blocker_escalation_days=_whole(_text(values, FormField.BLOCKER_ESCALATION_DAYS)),
        ),
        participant_source=_choice(values, FormField.PARTICIPANT_SOURCE) or "people",
    )


def _text(values: dict[str, Any], field: FormField) -> str | None:
    return str(_value(values, field).get("value") or "").strip() or None


def _choice(values: dict[str, Any], field: FormField) -> str | None:
    chosen = _value(values, field).get("selected_option")
    return str(chosen.get("value") or "") or None if isinstance(chosen, dict) else None


# A value Slack's number inputs would never send reads as out of range, so validation names it.
NOT_A_NUMBER = -1


def _whole(text: str | None) -> int | None:
    if text is None:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else NOT_A_NUMBER


def _hours(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        hours = float(text)
    except ValueError:
        return NOT_A_NUMBER
    return hours if math.isfinite(hours) else NOT_A_NUMBER


def _date(text: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _errors(outcome: FieldErrors | Refusal) -> dict[str, str]:
    """Field errors keyed by block id; a refusal shows under the name."""
    if isinstance(outcome, Refusal):
        return {FormField.NAME: wording.refusal_plain(outcome)}
    return dict(outcome.errors)


async def on_create_submit(args: AsyncArgs) -> None:
    client = args.client
    caller = await caller_of(args.context, client, str(args.body["user"]["id"]))
    draft = draft_from_view(args.view or {})
    outcome = await standups.create(services_of(args.context), client, caller, draft)
    if await _refused(args, outcome):
        return
    assert isinstance(outcome, Created)
    await standups.announce_created(
        services_of(args.context), client, caller, outcome, bot_user_id=args.context.bot_user_id
    )


async def on_edit_submit(args: AsyncArgs) -> None:
    """The id in private_metadata is re-checked by the use case: same workspace, and the
    submitter must be an owner or a workspace admin."""
    view, client = args.view or {}, args.client
    caller = await caller_of(args.context, client, str(args.body["user"]["id"]))
    standup_id = parse_id(view.get("private_metadata"))
    outcome = await standups.edit(
        services_of(args.context), client, caller, standup_id, draft_from_view(view)
    )
    if await _refused(args, outcome):
        return
    assert isinstance(outcome, Edited)
    await standups.announce_edited(
        services_of(args.context), client, caller, outcome, bot_user_id=args.context.bot_user_id
    )


async def _refused(args: AsyncArgs, outcome: object) -> bool:
    """Acknowledge the submission: field errors under their inputs, or close the modal."""
    if isinstance(outcome, FieldErrors | Refusal):
        await args.ack(response_action="errors", errors=_errors(outcome))
        return True
    await args.ack()
    return False
