"""Answering a prompt: the Answer / Skip / Edit buttons and the answer modal.

Ids in button values and private_metadata are only hints: every one is re-checked against the
requesting workspace and user before anything is read or written.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.rules.validation import MAX_ANSWER_LEN
from bot.runtime import Services, services_from
from bot.slack import error_code
from bot.views import blocks
from handlers.context import log, parse_id, workspace_id_for
from scheduler import runs
from storage import queries

# 'sending': the DM is already in Slack while its delivery is being recorded.
ANSWERABLE = ("sending", "sent", "answered", "skipped")
NOT_YOURS = "That check-in isn't yours, or it no longer exists."


def register(app: AsyncApp) -> None:
    app.action(blocks.A_ANSWER)(on_answer_button)
    app.action(blocks.A_EDIT)(on_answer_button)
    app.action(blocks.A_SKIP)(on_skip_button)
    app.view(blocks.ANSWER_CALLBACK)(on_answer_submit)


async def _own_prompt(
    services: Services, workspace_id: int, prompt_id: int | None, user_id: str
) -> queries.PromptView | None:
    if prompt_id is None:
        return None
    async with services.db.session() as session:
        return await queries.get_prompt_view(session, workspace_id, prompt_id, for_user=user_id)


async def on_answer_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    view = await _own_prompt(services, workspace_id, parse_id(action.get("value")), user_id)
    if view is None:
        await respond(replace_original=False, response_type="ephemeral", text=NOT_YOURS)
        return
    if view.run.state != "open" or view.prompt.state not in ANSWERABLE:
        await respond(
            replace_original=False,
            response_type="ephemeral",
            text="This standup has closed; answers are no longer collected.",
        )
        return
    async with services.db.session() as session:
        existing = {
            a.position: a.body
            for a in await queries.prompt_answers(session, workspace_id, view.prompt.id)
        }
    try:
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.answer_modal(
                prompt_id=view.prompt.id,
                standup_name=view.standup.name,
                questions=list(view.run.questions),
                existing=existing or None,
            ),
        )
    except SlackApiError as exc:
        log.warning("answer_modal_failed", prompt_id=view.prompt.id, error=error_code(exc))


async def on_skip_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    view = await _own_prompt(services, workspace_id, parse_id(action.get("value")), user_id)
    if view is None:
        await respond(replace_original=False, response_type="ephemeral", text=NOT_YOURS)
        return
    async with services.db.session() as session:
        skipped = view.run.state == "open" and await queries.set_prompt_state(
            session, workspace_id, view.prompt.id, "skipped", from_states=("sending", "sent")
        )
    if not skipped:
        await respond(
            replace_original=False,
            response_type="ephemeral",
            text="Nothing to skip: this check-in was already answered or has closed.",
        )
        return
    await runs.update_prompt_message(client, view, "skipped")
    await runs.refresh_summary(services, client, workspace_id, view.run.id)


def answers_from_view(view: dict[str, Any], count: int) -> tuple[list[str], dict[str, str]]:
    """The submitted answers in question order, and field errors for bad ones."""
    values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
    answers: list[str] = []
    errors: dict[str, str] = {}
    for position in range(count):
        block_id = blocks.question_block_id(position)
        element = (values.get(block_id) or {}).get(blocks.A_ANSWER_INPUT) or {}
        text = str(element.get("value") or "").strip()
        if not text:
            errors[block_id] = "Please answer this question (a dash is fine)."
        elif len(text) > MAX_ANSWER_LEN:
            errors[block_id] = f"Keep it under {MAX_ANSWER_LEN} characters ({len(text)} now)."
        answers.append(text)
    return answers, errors


async def on_answer_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    prompt = await _own_prompt(
        services, workspace_id, parse_id(view.get("private_metadata")), user_id
    )
    first_block = blocks.question_block_id(0)
    if prompt is None:
        await ack(response_action="errors", errors={first_block: NOT_YOURS})
        return
    answers, errors = answers_from_view(view, len(prompt.run.questions))
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    if prompt.run.state != "open" or prompt.prompt.state not in ANSWERABLE:
        await ack(
            response_action="errors",
            errors={first_block: "This standup has closed; answers are no longer collected."},
        )
        return
    async with services.db.session() as session:
        edited = await queries.save_answers(
            session, workspace_id, prompt, answers, services.clock()
        )
    await ack()
    log.info(
        "answers_saved", standup_id=prompt.standup.id, prompt_id=prompt.prompt.id, edited=edited
    )
    await runs.update_prompt_message(client, prompt, "answered")
    await runs.post_answer_reply(services, client, workspace_id, prompt.prompt.id, edited=edited)
    await runs.refresh_summary(services, client, workspace_id, prompt.run.id)
