"""Check-in use cases: open the answer form, answer (or edit), skip — and show the outcome in
the person's DM, the channel thread and the run's summary.

Prompt ids come from button values and modal metadata: they are only hints, honoured only for
a prompt of the requesting workspace that belongs to the requesting user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import blockers, runs, webhooks
from bot.outcomes import Refusal
from bot.rules.permissions import Why
from bot.rules.questions import Question, from_json, mood_of, validate_answers
from bot.rules.validation import clean_text
from bot.runtime import Services
from storage import home as home_rows
from storage import participation, prompts
from storage import runs as run_rows
from storage.models import PromptState, RunState
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.checkins")

# 'sending': the DM is already in Slack while its delivery is being recorded.
ANSWERABLE = (PromptState.SENDING, PromptState.SENT, PromptState.ANSWERED, PromptState.SKIPPED)
SKIPPABLE = (PromptState.SENDING, PromptState.SENT)


@dataclass(frozen=True)
class PromptRef:
    """Someone pointing at a prompt: a hint (an id from a button or a modal), not a right."""

    workspace_id: int
    user_id: str
    prompt_id: int | None


@dataclass(frozen=True)
class AnswerForm:
    """What the answer form shows: the run's questions, prefilled when editing, and how long
    an answer may be."""

    prompt_id: int
    standup_name: str
    questions: list[Question]
    existing: dict[int, str]
    max_length: int


@dataclass(frozen=True)
class Answered:
    prompt_id: int
    run_id: int
    edited: bool


@dataclass(frozen=True)
class AnswerErrors:
    """Answers that can't be stored: a message per question position."""

    errors: dict[int, str]


@dataclass(frozen=True)
class Skipped:
    prompt_id: int
    run_id: int


async def _own_prompt(session: AsyncSession, ref: PromptRef) -> PromptView | Refusal:
    """The user's own prompt of this workspace, or a refusal."""
    view = (
        await prompts.get_prompt_view(
            session, ref.workspace_id, ref.prompt_id, for_user=ref.user_id
        )
        if ref.prompt_id is not None
        else None
    )
    return view if view is not None else Refusal(Why.NOT_YOUR_CHECKIN)


async def _answer_window(session: AsyncSession, workspace_id: int, view: PromptView) -> str:
    """Whether answers are taken: "open" while the run is; "late" once it closed, until the
    standup's next run starts (any of its prompts sent), and they are then marked late;
    "closed" after that."""
    if view.prompt.state not in ANSWERABLE:
        return "closed"
    if view.run.state == RunState.OPEN:
        return "open"
    if await run_rows.next_run_started(session, workspace_id, view.standup.id, view.run.local_date):
        return "closed"
    return "late"


async def answer_form(services: Services, ref: PromptRef) -> AnswerForm | Refusal:
    async with services.db.session() as session:
        view = await _own_prompt(session, ref)
        if isinstance(view, Refusal):
            return view
        if await _answer_window(session, ref.workspace_id, view) == "closed":
            return Refusal(Why.CHECKIN_CLOSED)
        existing = {
            a.position: a.body
            for a in await prompts.prompt_answers(session, ref.workspace_id, view.prompt.id)
        }
    return AnswerForm(
        view.prompt.id,
        view.standup.name,
        from_json(view.run.questions),
        existing,
        services.settings.max_answer_length,
    )


async def answer(
    services: Services, ref: PromptRef, answers: Sequence[str | None]
) -> Answered | AnswerErrors | Refusal:
    """Store (or update) a person's answers to their prompt, in one transaction; after the
    run closed (until the standup's next run starts) a first answer is marked late.

    ``answers`` are by question position, None where nothing was entered or picked; each is
    checked against its question's type (the run's questions, as they were when it started).
    """
    async with services.db.session() as session:
        view = await _own_prompt(session, ref)
        if isinstance(view, Refusal):
            return view
        questions = from_json(view.run.questions)
        # Cleaned here, whoever read the form: NUL and the like never reach the database.
        raws = [None if a is None else clean_text(a) for a in answers]
        wanted, errors = validate_answers(
            questions, raws, max_length=services.settings.max_answer_length
        )
        if errors:
            return AnswerErrors(errors)
        window = await _answer_window(session, ref.workspace_id, view)
        if window == "closed":
            return Refusal(Why.CHECKIN_CLOSED)
        now = services.clock()
        edited = await prompts.save_answers(
            session,
            ref.workspace_id,
            view,
            wanted,
            now,
            question_texts=[q.text for q in questions],
            late=window == "late",
        )
        if window == "late":  # the run's records were written at the close: keep them true
            if not edited:  # they said missed: now late
                await participation.answered_late(
                    session, ref.workspace_id, view.run.id, view.member.id, now
                )
            await participation.set_mood(
                session,
                ref.workspace_id,
                view.run.id,
                view.member.id,
                mood_of(questions, wanted),
            )
        await run_rows.request_summary(session, ref.workspace_id, view.run.id, now)
        await home_rows.mark_members_stale(session, ref.workspace_id, [view.member.id], now)
        # Outgoing webhooks (issue 11): the event enters the outbox with the answers.
        await webhooks.answer_saved(session, view, wanted, edited=edited, now=now)
        await blockers.answers_saved(session, view, questions, wanted, now)
    log.info("answers_saved", standup_id=view.standup.id, prompt_id=view.prompt.id, edited=edited)
    return Answered(view.prompt.id, view.run.id, edited)


async def skip(services: Services, ref: PromptRef) -> Skipped | Refusal:
    async with services.db.session() as session:
        view = await _own_prompt(session, ref)
        if isinstance(view, Refusal):
            return view
        skipped = view.run.state == RunState.OPEN and await prompts.set_prompt_state(
            session, ref.workspace_id, view.prompt.id, PromptState.SKIPPED, from_states=SKIPPABLE
        )
        if skipped:
            now = services.clock()
            await run_rows.request_summary(session, ref.workspace_id, view.run.id, now)
            await home_rows.mark_members_stale(session, ref.workspace_id, [view.member.id], now)
    if not skipped:
        return Refusal(Why.NOTHING_TO_SKIP)
    return Skipped(view.prompt.id, view.run.id)


async def show_closed(services: Services, client: AsyncWebClient, ref: PromptRef) -> None:
    """After answering was refused because the check-in has closed for good: an unanswered DM
    that still offers a late answer (its run closed, the next one has started since) says
    it is closed instead."""
    async with services.db.session() as session:
        view = await _own_prompt(session, ref)
    if isinstance(view, Refusal):
        return
    if view.run.state == RunState.CLOSED and view.prompt.state == PromptState.SENT:
        await runs.update_prompt_message(client, view, "closed")


async def publish(
    services: Services,
    client: AsyncWebClient,
    workspace_id: int,
    outcome: Answered | Skipped,
) -> None:
    """Show an answer or a skip everywhere: the DM prompt, the thread reply, the summary."""
    async with services.db.session() as session:
        view = await prompts.get_prompt_view(session, workspace_id, outcome.prompt_id)
    if view is None:
        return
    if isinstance(outcome, Answered):
        await runs.update_prompt_message(client, view, "answered")
        await runs.publish_reply(services, client, workspace_id, outcome.prompt_id)
    else:
        await runs.update_prompt_message(client, view, "skipped")
    await runs.publish_summary(services, client, workspace_id, outcome.run_id)
