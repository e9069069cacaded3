"""Answering a prompt: the Answer / Skip / Edit buttons and the answer modal.

Ids in button values and private_metadata are only hints; the use cases re-check each one
against the requesting workspace and user.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError

from bot import checkins
from bot.outcomes import Refusal
from bot.rules.permissions import Why
from bot.rules.validation import QUESTIONS_CEILING
from bot.slack.gateway import error_code
from bot.views import wording
from bot.views.blockkit import (
    A_ANSWER,
    A_ANSWER_INPUT,
    A_EDIT,
    A_REMINDER_ANSWER,
    A_SKIP,
    ANSWER_CALLBACK,
    question_block_id,
)
from bot.views.modals import answer_modal
from handlers.slack.context import acked, after_ack, parse_id, services_of, workspace_id_of
from handlers.slack.home import show_notice

log = structlog.get_logger("asyncstand.handlers")


def register(app: AsyncApp) -> None:
    answer_button = acked(open_answer_form, opens_modal=True)
    for action_id in (A_ANSWER, A_EDIT, A_REMINDER_ANSWER):
        app.action(action_id)(answer_button)
    app.action(A_SKIP)(acked(on_skip_button))
    app.view(ANSWER_CALLBACK)(on_answer_submit)


async def _ref(args: AsyncArgs, prompt_id: object) -> checkins.PromptRef:
    workspace_id = await workspace_id_of(args.context)
    return checkins.PromptRef(workspace_id, str(args.body["user"]["id"]), parse_id(prompt_id))


async def _button_ref(args: AsyncArgs) -> checkins.PromptRef:
    return await _ref(args, (args.action or {}).get("value"))


async def _say(args: AsyncArgs, refusal: Refusal) -> None:
    if not args.body.get("response_url"):  # a click on App Home: no message to answer under
        await show_notice(args, "AsyncStand", wording.refusal_message(refusal)["blocks"])
        return
    text = wording.refusal(refusal)
    await args.respond(replace_original=False, response_type="ephemeral", text=text)


async def open_answer_form(args: AsyncArgs) -> None:
    services = services_of(args.context)
    ref = await _button_ref(args)
    form = await checkins.answer_form(services, ref)
    if isinstance(form, Refusal):
        await _say(args, form)
        if form.why == Why.CHECKIN_CLOSED:  # a late answer is no longer possible: say so
            await checkins.show_closed(services, args.client, ref)
        return
    view = answer_modal(
        prompt_id=form.prompt_id,
        standup_name=form.standup_name,
        questions=form.questions,
        existing=form.existing or None,
        max_length=form.max_length,
    )
    try:
        await args.client.views_open(trigger_id=args.body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("answer_modal_failed", prompt_id=form.prompt_id, error=error_code(exc))


async def on_skip_button(args: AsyncArgs) -> None:
    services = services_of(args.context)
    ref = await _button_ref(args)
    outcome = await checkins.skip(services, ref)
    if isinstance(outcome, Refusal):
        await _say(args, outcome)
        return
    await checkins.publish(services, args.client, ref.workspace_id, outcome)


def _submitted(element: object) -> str | None:
    """What one input holds: typed text or a number (``value``), or the picked option."""
    if not isinstance(element, dict):
        return None
    picked = element.get("selected_option")
    value = picked.get("value") if isinstance(picked, dict) else element.get("value")
    return value if isinstance(value, str) else None


def answers_from_view(view: dict[str, Any]) -> list[str | None]:
    """The submitted answers by question position (q0, q1, …), None where nothing was entered
    or picked; the use case keeps as many as the run has questions and checks each."""
    values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
    answers: list[str | None] = []
    for position in range(QUESTIONS_CEILING):
        block = values.get(question_block_id(position))
        answers.append(_submitted(block.get(A_ANSWER_INPUT) if isinstance(block, dict) else None))
    return answers


async def on_answer_submit(args: AsyncArgs) -> None:
    ack, view = args.ack, args.view or {}
    services = services_of(args.context)
    ref = await _ref(args, view.get("private_metadata"))
    outcome = await checkins.answer(services, ref, answers_from_view(view))
    if isinstance(outcome, Refusal):
        errors = {question_block_id(0): wording.refusal_plain(outcome)}
        await ack(response_action="errors", errors=errors)
        return
    if isinstance(outcome, checkins.AnswerErrors):
        errors = {question_block_id(p): message for p, message in outcome.errors.items()}
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    async with after_ack(args.context):
        await checkins.publish(services, args.client, ref.workspace_id, outcome)
