"""A run's Slack messages — the channel summary, each person's thread reply, the DM prompt —
and closing runs whose answer window has ended.

Shared by delivery (fan-out), closing, and check-ins (refresh after an answer).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.rules.digest import AnswerEntry, ParticipantStatus, build_digest
from bot.runtime import Services
from bot.slack.gateway import error_code
from bot.views.blockkit import Message
from bot.views.messages import answer_reply, prompt_message, summary_message
from storage import jobs, prompts, runs, workspaces
from storage.models import PromptState, Run, RunState
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.runs")

SUMMARY_LEASE = dt.timedelta(seconds=30)


async def render_summary(services: Services, workspace_id: int, run: Run) -> Message:
    """The summary for a run as it stands in the database (two queries)."""
    async with services.db.session() as session:
        views = await prompts.run_prompt_views(session, workspace_id, run.id)
        answers = await prompts.run_answers(session, workspace_id, run.id)
    user_of_prompt = {v.prompt.id: v.member.slack_user_id for v in views}
    by_prompt: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for answer in answers:
        by_prompt[answer.prompt_id].append((answer.question, answer.body))
    statuses = [ParticipantStatus(v.member.slack_user_id, v.prompt.state) for v in views]
    entries = [AnswerEntry(user_of_prompt[pid], qa) for pid, qa in by_prompt.items()]
    final = run.state == RunState.CLOSED
    digest = build_digest(statuses, entries, final=final)
    standup_name = views[0].standup.name if views else ""
    return summary_message(
        standup_name=standup_name,
        local_date=run.local_date.isoformat(),
        digest=digest,
        final=final,
        total=len(statuses),
    )


async def ensure_summary(
    services: Services, client: AsyncWebClient, workspace_id: int, run_id: int
) -> str | None:
    """Post the run's summary message once (lease-guarded across replicas); return its ts."""
    now = services.clock()
    async with services.db.session() as session:
        run = await runs.get_run(session, workspace_id, run_id)
        if run is None or run.summary_ts:
            return run.summary_ts if run else None
        claimed = await runs.claim_summary_post(session, workspace_id, run_id, now, SUMMARY_LEASE)
    if not claimed:
        return None
    message = await render_summary(services, workspace_id, run)
    try:
        response = await client.chat_postMessage(
            channel=run.channel_id, text=message["text"], blocks=message["blocks"]
        )
    except SlackApiError as exc:
        log.warning("summary_post_failed", run_id=run_id, error=error_code(exc))
        async with services.db.session() as session:
            await runs.set_summary_ts(session, workspace_id, run_id, None)
        return None
    ts = str(response["ts"])
    async with services.db.session() as session:
        await runs.set_summary_ts(session, workspace_id, run_id, ts)
    return ts


async def refresh_summary(
    services: Services, client: AsyncWebClient, workspace_id: int, run_id: int
) -> None:
    """Re-render the summary in place (or post it if it was never posted)."""
    async with services.db.session() as session:
        run = await runs.get_run(session, workspace_id, run_id)
    if run is None:
        return
    if not run.summary_ts:
        await ensure_summary(services, client, workspace_id, run_id)
        return
    message = await render_summary(services, workspace_id, run)
    try:
        await client.chat_update(
            channel=run.channel_id,
            ts=run.summary_ts,
            text=message["text"],
            blocks=message["blocks"],
        )
    except SlackApiError as exc:
        log.warning("summary_update_failed", run_id=run_id, error=error_code(exc))


async def post_answer_reply(
    services: Services, client: AsyncWebClient, workspace_id: int, prompt_id: int, *, edited: bool
) -> None:
    """Post (or edit in place) this person's answers as a reply in the summary's thread."""
    async with services.db.session() as session:
        view = await prompts.get_prompt_view(session, workspace_id, prompt_id)
        answers = await prompts.prompt_answers(session, workspace_id, prompt_id)
    if view is None:
        return
    thread_ts = view.run.summary_ts or await ensure_summary(
        services, client, workspace_id, view.run.id
    )
    message = answer_reply(
        user_id=view.member.slack_user_id,
        questions=[a.question for a in answers],
        answers=[a.body for a in answers],
        edited=edited,
    )
    try:
        if view.prompt.reply_ts:
            await client.chat_update(
                channel=view.run.channel_id,
                ts=view.prompt.reply_ts,
                text=message["text"],
                blocks=message["blocks"],
            )
            return
        response = await client.chat_postMessage(
            channel=view.run.channel_id,
            thread_ts=thread_ts,
            text=message["text"],
            blocks=message["blocks"],
        )
    except SlackApiError as exc:
        log.warning("answer_reply_failed", prompt_id=prompt_id, error=error_code(exc))
        return
    async with services.db.session() as session:
        await prompts.set_reply_ts(session, workspace_id, prompt_id, str(response["ts"]))


async def update_prompt_message(
    client: AsyncWebClient,
    view: PromptView,
    state: str,
) -> None:
    """Show the DM prompt's new state (answered / skipped / closed) in place."""
    if not (view.prompt.dm_channel_id and view.prompt.message_ts):
        return
    message = prompt_message(
        prompt_id=view.prompt.id,
        standup_name=view.standup.name,
        questions=list(view.run.questions),
        state=state,
        local_date=view.run.local_date.isoformat(),
    )
    try:
        await client.chat_update(
            channel=view.prompt.dm_channel_id,
            ts=view.prompt.message_ts,
            text=message["text"],
            blocks=message["blocks"],
        )
    except SlackApiError as exc:
        log.warning("prompt_update_failed", prompt_id=view.prompt.id, error=error_code(exc))


async def close_due(services: Services, metrics: Metrics) -> int:
    """Finalise runs past their close time: final summary, DMs no longer answerable."""
    now = services.clock()
    async with services.db.session() as session:
        due = await jobs.runs_to_close(session, now)
    closed = 0
    for workspace_id, run_id in due:
        async with services.db.session() as session:
            if not await runs.claim_run_close(session, workspace_id, run_id, now):
                continue
            await prompts.close_unsent(session, workspace_id, run_id)
            views = await prompts.run_prompt_views(session, workspace_id, run_id)
            client = await services.slack.bot_client(session, workspace_id)
            workspace = await workspaces.workspace_by_id(session, workspace_id)
        closed += 1
        metrics.runs_closed.inc()
        with structlog.contextvars.bound_contextvars(
            team_id=workspace.team_id if workspace else None,
            standup_id=views[0].standup.id if views else None,
        ):
            if client is None:
                continue
            log.info("run_closed", run_id=run_id, participants=len(views))
            await refresh_summary(services, client, workspace_id, run_id)
            for view in views:
                if view.prompt.state == PromptState.SENT:
                    await update_prompt_message(client, view, "closed")
    return closed
