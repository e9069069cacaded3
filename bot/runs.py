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

from bot import webhooks
from bot.metrics import Metrics
from bot.rules.blockers import age_text
from bot.rules.digest import (
    AnswerEntry,
    OngoingBlocker,
    ParticipantStatus,
    build_digest,
    nobody_asked,
)
from bot.rules.questions import (
    blocker_text,
    display_answer,
    from_json,
    mood_position,
    texts_of,
)
from bot.runtime import Services
from bot.slack import recovery
from bot.slack.gateway import error_code
from bot.slack.recovery import CannotTell, find_tagged, tag
from bot.views.blockkit import Message
from bot.views.messages import answer_reply, prompt_message, summary_message
from storage import attendance as attendance_db
from storage import home as home_rows
from storage import jobs, participation, prompts, runs, workspaces
from storage import reminders as reminder_rows
from storage.models import PromptState, Run, RunState
from storage.prompts import PromptView
from storage.reports import open_blockers

log = structlog.get_logger("asyncstand.runs")

# While one replica publishes a summary or a reply, the others leave it alone this long.
LEASE = dt.timedelta(seconds=30)
# Publishing left over by a crash (or a lost race) is picked up once this old.
SWEEP_AFTER = dt.timedelta(seconds=10)


async def render_summary(services: Services, workspace_id: int, run: Run) -> Message:
    """The summary for a run as it stands in the database (two queries; a third once closed,
    for the blockers still open from earlier runs)."""
    final = run.state == RunState.CLOSED
    ongoing: list[OngoingBlocker] = []
    async with services.db.session() as session:
        views = await prompts.run_prompt_views(session, workspace_id, run.id)
        answers = await prompts.run_answers(session, workspace_id, run.id)
        if final:
            ongoing = [
                OngoingBlocker(b.user_id, b.text, age_text(b.opened_on, run.local_date))
                for b in await open_blockers(session, workspace_id, [run.standup_id])
                if b.opened_on < run.local_date
            ]
    questions = from_json(run.questions)
    user_of_prompt = {v.prompt.id: v.member.slack_user_id for v in views}
    by_prompt: dict[int, list[str]] = defaultdict(lambda: [""] * len(questions))
    for answer in answers:
        if 0 <= answer.position < len(questions):
            by_prompt[answer.prompt_id][answer.position] = answer.body
    statuses = [
        ParticipantStatus(v.member.slack_user_id, v.prompt.state, late=v.prompt.late) for v in views
    ]
    entries = [
        AnswerEntry(user_of_prompt[pid], blocker_text(questions, bodies))
        for pid, bodies in by_prompt.items()
    ]
    digest = build_digest(statuses, entries, final=final, ongoing=ongoing)
    standup_name = views[0].standup.name if views else ""
    return summary_message(
        standup_name=standup_name,
        local_date=run.local_date.isoformat(),
        digest=digest,
        final=final,
        total=len(statuses),
    )


async def publish_summary(
    services: Services, client: AsyncWebClient, workspace_id: int, run_id: int
) -> str | None:
    """Post the run's summary once, or bring it up to date; returns its ts when known.

    One replica at a time holds it (a lease). A post that may have reached Slack before its
    poster died is looked for (message metadata) before posting again, so a run has exactly
    one summary. A change requested while we render stays pending and is published next.
    """
    for _ in range(3):  # catch up with answers that arrive while we publish
        async with services.db.session() as session:
            run = await runs.claim_summary(session, workspace_id, run_id, services.clock(), LEASE)
        if run is None:
            return await _summary_ts(services, workspace_id, run_id)
        try:
            ts = await _post_or_update_summary(services, client, workspace_id, run)
        except (SlackApiError, CannotTell) as exc:
            code = error_code(exc) if isinstance(exc, SlackApiError) else str(exc)
            log.warning("summary_publish_failed", run_id=run_id, error=code)
            async with services.db.session() as session:
                await runs.release_summary(session, workspace_id, run_id)
            return run.summary_ts
        async with services.db.session() as session:
            await runs.record_summary(session, workspace_id, run_id, ts, run.summary_requested_at)
            fresh = await runs.get_run(session, workspace_id, run_id)
        if fresh is None or fresh.summary_requested_at is None:
            return ts
    return ts


async def _post_or_update_summary(
    services: Services, client: AsyncWebClient, workspace_id: int, run: Run
) -> str:
    message = await render_summary(services, workspace_id, run)
    if run.summary_ts:
        await client.chat_update(channel=run.channel_id, ts=run.summary_ts, **message)
        return run.summary_ts
    if run.summary_posting_at is not None:
        found = await find_tagged(
            client, run.channel_id, recovery.SUMMARY, run.id, run.summary_posting_at
        )
        if found:
            log.info("summary_recovered", run_id=run.id)
            await client.chat_update(channel=run.channel_id, ts=found, **message)
            return found
    async with services.db.session() as session:
        await runs.mark_summary_posting(session, workspace_id, run.id, services.clock())
    response = await client.chat_postMessage(
        channel=run.channel_id, metadata=tag(recovery.SUMMARY, run.id), **message
    )
    return str(response["ts"])


async def _summary_ts(services: Services, workspace_id: int, run_id: int) -> str | None:
    async with services.db.session() as session:
        run = await runs.get_run(session, workspace_id, run_id)
    return run.summary_ts if run else None


async def request_summary(
    services: Services, client: AsyncWebClient, workspace_id: int, run_id: int
) -> None:
    """Note that the summary must change, then publish it (a crash leaves it to the sweep)."""
    async with services.db.session() as session:
        await runs.request_summary(session, workspace_id, run_id, services.clock())
    await publish_summary(services, client, workspace_id, run_id)


async def publish_reply(
    services: Services, client: AsyncWebClient, workspace_id: int, prompt_id: int
) -> None:
    """Post (or edit in place) a person's answers as one reply in the summary's thread."""
    async with services.db.session() as session:
        view = await prompts.claim_reply(session, workspace_id, prompt_id, services.clock(), LEASE)
    if view is None:
        return
    requested = view.prompt.reply_requested_at
    try:
        ts = await _post_or_update_reply(services, client, workspace_id, view)
    except (SlackApiError, CannotTell) as exc:
        code = error_code(exc) if isinstance(exc, SlackApiError) else str(exc)
        log.warning("answer_reply_failed", prompt_id=prompt_id, error=code)
        async with services.db.session() as session:
            await prompts.release_reply(session, workspace_id, prompt_id)
        return
    async with services.db.session() as session:
        await prompts.record_reply(session, workspace_id, prompt_id, ts, requested)


async def _post_or_update_reply(
    services: Services, client: AsyncWebClient, workspace_id: int, view: PromptView
) -> str:
    async with services.db.session() as session:
        answers = await prompts.prompt_answers(session, workspace_id, view.prompt.id)
    questions = from_json(view.run.questions)
    message = answer_reply(
        user_id=view.member.slack_user_id,
        questions=[a.question for a in answers],
        # Each as its type reads best: a mood as "4/5 🙂", an empty optional answer as "—".
        answers=[
            display_answer(questions[a.position], a.body)
            if 0 <= a.position < len(questions)
            else a.body
            for a in answers
        ],
        edited=any(a.edited_at is not None for a in answers),
        late=view.prompt.late,
    )
    channel = view.run.channel_id
    if view.prompt.reply_ts:
        await client.chat_update(channel=channel, ts=view.prompt.reply_ts, **message)
        return view.prompt.reply_ts
    thread_ts = view.run.summary_ts or await publish_summary(
        services, client, workspace_id, view.run.id
    )
    if not thread_ts:
        raise CannotTell("the summary is not posted yet")
    if view.prompt.reply_posting_at is not None:
        found = await find_tagged(
            client,
            channel,
            recovery.REPLY,
            view.prompt.id,
            view.prompt.reply_posting_at,
            thread_ts=thread_ts,
        )
        if found:
            await client.chat_update(channel=channel, ts=found, **message)
            return found
    async with services.db.session() as session:
        await prompts.mark_reply_posting(session, workspace_id, view.prompt.id, services.clock())
    response = await client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        metadata=tag(recovery.REPLY, view.prompt.id),
        **message,
    )
    return str(response["ts"])


async def update_prompt_message(
    client: AsyncWebClient,
    view: PromptView,
    state: str,
) -> None:
    """Show the DM prompt's new state (answered / skipped / late / closed) in place."""
    if not (view.prompt.dm_channel_id and view.prompt.message_ts):
        return
    message = prompt_message(
        prompt_id=view.prompt.id,
        standup_name=view.standup.name,
        questions=texts_of(view.run.questions),
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


def _mood_position(run: Run | None) -> int | None:
    """Where the run's mood question is, if it has one (its answers become report moods)."""
    return None if run is None else mood_position(from_json(run.questions))


async def close_due(services: Services, metrics: Metrics) -> int:
    """Finalise runs past their close time: final summary, reminders not sent by now dropped,
    and the unanswered DMs say so — keeping an Answer button while a late answer is still
    possible (until the standup's next run starts)."""
    now = services.clock()
    async with services.db.session() as session:
        due = await jobs.runs_to_close(session, now)
    closed = 0
    for workspace_id, run_id in due:
        async with services.db.session() as session:
            if not await runs.claim_run_close(session, workspace_id, run_id, now):
                continue
            await prompts.close_unsent(session, workspace_id, run_id)
            run = await runs.get_run(session, workspace_id, run_id)
            await participation.record_run(
                session, workspace_id, run_id, now, mood_position=_mood_position(run)
            )
            await reminder_rows.drop_run_reminders(session, workspace_id, run_id)
            await home_rows.mark_runs_stale(session, workspace_id, [run_id], now)
            views = await prompts.run_prompt_views(session, workspace_id, run_id)
            late_possible = bool(views) and not await runs.next_run_started(
                session, workspace_id, views[0].standup.id, views[0].run.local_date
            )
            client = await services.slack.bot_client(session, workspace_id)
            workspace = await workspaces.workspace_by_id(session, workspace_id)
            # Outgoing webhooks (issue 11): run.closed enters the outbox with the close.
            await webhooks.run_closed(session, workspace_id, run_id, now)
        closed += 1
        metrics.runs_closed.inc()
        with structlog.contextvars.bound_contextvars(
            team_id=workspace.team_id if workspace else None,
            standup_id=views[0].standup.id if views else None,
        ):
            if client is None:
                continue
            log.info("run_closed", run_id=run_id, participants=len(views))
            if nobody_asked([v.prompt.state for v in views]) and not views[0].run.summary_ts:
                # Everyone was away or on holiday: nothing to report in the channel.
                async with services.db.session() as session:
                    await attendance_db.forget_summary_request(session, workspace_id, run_id)
                continue
            await publish_summary(services, client, workspace_id, run_id)
            for view in views:
                if view.prompt.state == PromptState.SENT:
                    await update_prompt_message(client, view, "late" if late_possible else "closed")
    return closed


async def sweep(services: Services) -> int:
    """Publish what a crash (or a lost race) left pending: summaries and thread replies."""
    now = services.clock()
    async with services.db.session() as session:
        due = await jobs.publishing_due(session, now - SWEEP_AFTER, now)
    clients: dict[int, AsyncWebClient | None] = {}
    for kind, workspace_id, key in due:
        if workspace_id not in clients:
            async with services.db.session() as session:
                clients[workspace_id] = await services.slack.bot_client(session, workspace_id)
        client = clients[workspace_id]
        if client is None:
            continue
        if kind == "summary":
            await publish_summary(services, client, workspace_id, key)
        else:
            await publish_reply(services, client, workspace_id, key)
    return len(due)
