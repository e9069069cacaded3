"""Delivering prompts: claim due ones in batches, DM each person, record what happened.

Every step claims its work in the database first, so several replicas (or a restart) never
send a claimed prompt twice while its lease holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import runs
from bot.metrics import Metrics
from bot.runtime import Services
from bot.slack.gateway import PERMANENT_ERRORS, error_code, open_dm, send_dm
from bot.views.messages import prompt_message, text_message
from bot.views.mrkdwn import md, mention
from storage import jobs, members, prompts, workspaces
from storage.models import PromptState, RunState
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.delivery")

# A replica killed mid-send loses its claims after this; another one then finishes the job.
PROMPT_LEASE = dt.timedelta(seconds=40)
MAX_ATTEMPTS = 5
SEND_CONCURRENCY = 50
CLAIM_BATCH = 200

UNDELIVERABLE = {
    "user_deleted": "their account is deactivated",
    "account_inactive": "their account is deactivated",
    "user_not_found": "Slack doesn't know this user any more",
    "user_is_bot": "it is a bot",
    "cannot_dm_bot": "it is a bot",
    "messages_tab_disabled": "the app's Messages tab is turned off",
}
ANSWERED_MEANWHILE = (PromptState.ANSWERED, PromptState.SKIPPED)


class Delivery:
    """Sends due prompts for one process; safe to run in any number of processes at once."""

    def __init__(self, services: Services, metrics: Metrics) -> None:
        self.services = services
        self.metrics = metrics

    async def expire_overdue(self) -> int:
        """Prompts too late to send (after downtime) are recorded as missed."""
        now = self.services.clock()
        async with self.services.db.session() as session:
            missed = await jobs.mark_overdue_missed(session, now - self.services.grace)
        if missed:
            self.metrics.prompts.labels("missed").inc(missed)
            log.info("prompts_missed", count=missed)
        return missed

    async def send_due(self) -> int:
        """Claim due prompts in batches and send them until none is left; returns how many."""
        services = self.services
        sent_total = 0
        touched_runs: set[tuple[int, int]] = set()
        while True:
            now = services.clock()
            async with services.db.session() as session:
                claimed = await jobs.claim_due_batch(session, now, PROMPT_LEASE, CLAIM_BATCH)
                views = await prompts.prompt_views_by_id(session, claimed)
            if not claimed:
                break
            self.metrics.prompts_due.inc(len(claimed))
            touched_runs |= await self._deliver_batch(views, now)
            sent_total += len(claimed)
            if len(claimed) < CLAIM_BATCH:
                break
        for workspace_id, run_id in touched_runs:
            async with services.db.session() as session:
                client = await services.slack.bot_client(session, workspace_id)
            if client is not None:
                await runs.refresh_summary(services, client, workspace_id, run_id)
        return sent_total

    async def _deliver_batch(
        self, views: list[PromptView], now: dt.datetime
    ) -> set[tuple[int, int]]:
        """Send claimed prompts: each run's summary first (once), then the DMs concurrently."""
        services = self.services
        workspace_ids = {v.prompt.workspace_id for v in views}
        async with services.db.session() as session:
            clients = {w: await services.slack.bot_client(session, w) for w in workspace_ids}
            teams = await workspaces.team_ids(session, workspace_ids)
        semaphore = asyncio.Semaphore(SEND_CONCURRENCY)
        summaries: dict[tuple[int, int], asyncio.Task[str | None]] = {}
        touched: set[tuple[int, int]] = set()

        async def summary_once(workspace_id: int, run_id: int, client: AsyncWebClient) -> None:
            key = (workspace_id, run_id)
            if key not in summaries:
                summaries[key] = asyncio.ensure_future(
                    runs.ensure_summary(services, client, workspace_id, run_id)
                )
            await summaries[key]

        async def one(view: PromptView) -> None:
            workspace_id = view.prompt.workspace_id
            async with semaphore:
                with structlog.contextvars.bound_contextvars(
                    team_id=teams.get(workspace_id), standup_id=view.standup.id
                ):
                    client = clients.get(workspace_id)
                    if client is None:
                        await self._finish(view, PromptState.FAILED, error="no_token")
                    elif await self._ready(view, client, now):
                        await summary_once(workspace_id, view.run.id, client)
                        if await self._send(view, client):
                            touched.add((workspace_id, view.run.id))

        await asyncio.gather(*(one(v) for v in views))
        return touched

    async def _ready(self, view: PromptView, client: AsyncWebClient, now: dt.datetime) -> bool:
        """Whether a claimed prompt should still go out; if not, its outcome is recorded."""
        if view.run.state != RunState.OPEN or view.prompt.due_at < now - self.services.grace:
            await self._finish(view, PromptState.MISSED, error="run closed before sending")
            return False
        if view.member.deleted or view.member.is_bot:
            reason = "user_deleted" if view.member.deleted else "user_is_bot"
            await self._finish(view, PromptState.FAILED, error=reason)
            await self._tell_owner_once(client, view, reason)
            return False
        return True

    async def _send(self, view: PromptView, client: AsyncWebClient) -> bool:
        """DM one claimed prompt; record the outcome. True when it was sent."""
        services = self.services
        workspace_id, prompt_id = view.prompt.workspace_id, view.prompt.id
        log_ = log.bind(prompt_id=prompt_id)
        message = prompt_message(
            prompt_id=prompt_id,
            standup_name=view.standup.name,
            questions=list(view.run.questions),
            state="pending",
            local_date=view.run.local_date.isoformat(),
        )
        try:
            channel = view.member.dm_channel_id
            opened = channel is None
            if channel is None:
                channel = await open_dm(client, view.member.slack_user_id)
            response = await client.chat_postMessage(
                channel=channel, text=message["text"], blocks=message["blocks"]
            )
        except SlackApiError as exc:
            await self._failed(view, client, error_code(exc))
            return False
        except Exception:
            log_.exception("prompt_send_crashed")
            await self._finish(
                view,
                PromptState.PENDING,
                error="internal error",
                retry_in=5 * view.prompt.attempts,
            )
            return False
        fresh: PromptView | None = None
        async with services.db.session() as session:  # one transaction per delivered prompt
            if opened:
                await members.remember_dm_channel(session, workspace_id, view.member.id, channel)
            state = await prompts.record_sent(
                session,
                workspace_id,
                prompt_id,
                dm_channel_id=channel,
                message_ts=str(response["ts"]),
                now=services.clock(),
            )
            if state in ANSWERED_MEANWHILE:
                # Answered in the instant between posting and recording: show it in the DM.
                fresh = await prompts.get_prompt_view(session, workspace_id, prompt_id)
        if state in ANSWERED_MEANWHILE and fresh is not None:
            await runs.update_prompt_message(client, fresh, str(state))
        lag = (services.clock() - view.prompt.due_at).total_seconds()
        self.metrics.prompts.labels("sent").inc()
        self.metrics.scheduler_lag.observe(max(lag, 0.0))
        log_.info("prompt_sent", lag_seconds=round(lag, 3))
        return True

    async def _failed(self, view: PromptView, client: AsyncWebClient, code: str) -> None:
        """Slack refused the DM: forget a stale channel, retry with back-off, or give up."""
        if code == "channel_not_found" and view.member.dm_channel_id:
            # A stale cached DM channel: forget it and try again shortly.
            async with self.services.db.session() as session:
                await members.remember_dm_channel(
                    session, view.prompt.workspace_id, view.member.id, None
                )
            await self._finish(view, PromptState.PENDING, error=code, retry_in=1)
            return
        permanent = code in PERMANENT_ERRORS or view.prompt.attempts >= MAX_ATTEMPTS
        log.warning("prompt_send_failed", prompt_id=view.prompt.id, error=code, permanent=permanent)
        self.metrics.prompts.labels("failed" if permanent else "retried").inc()
        if permanent:
            await self._finish(view, PromptState.FAILED, error=code[:255])
            await self._tell_owner_once(client, view, code)
        else:
            await self._finish(
                view, PromptState.PENDING, error=code[:255], retry_in=5 * view.prompt.attempts
            )

    async def _tell_owner_once(self, client: AsyncWebClient, view: PromptView, reason: str) -> None:
        """The owner hears about an unreachable participant once, not every day."""
        async with self.services.db.session() as session:
            first = await prompts.record_delivery_issue(
                session,
                view.prompt.workspace_id,
                view.standup.id,
                view.member.id,
                reason,
                self.services.clock(),
            )
        if not first:
            return
        explanation = (
            md("{}", UNDELIVERABLE[reason])
            if reason in UNDELIVERABLE
            else md("Slack said `{}`", reason)
        )
        message = text_message(
            md(
                "I couldn't deliver today's *{name}* prompt to {who}: {why}. I won't mention it "
                "again; update the participants with `/standup edit {name}`.",
                name=view.standup.name,
                who=mention(view.member.slack_user_id),
                why=explanation,
            )
        )
        try:
            await send_dm(client, view.standup.owner_user_id, message["text"], message["blocks"])
        except SlackApiError as exc:
            log.warning("owner_notice_failed", error=error_code(exc))

    async def _finish(
        self,
        view: PromptView,
        state: PromptState,
        *,
        error: str | None,
        retry_in: float | None = None,
    ) -> None:
        """Record an outcome; a retry waits `retry_in` seconds (the lease doubles as back-off)."""
        lease_until = self.services.clock() + dt.timedelta(seconds=retry_in) if retry_in else None
        async with self.services.db.session() as session:
            await prompts.set_prompt_state(
                session,
                view.prompt.workspace_id,
                view.prompt.id,
                state,
                from_states=(PromptState.SENDING,),
                lease_until=lease_until,
                error=error,
            )
