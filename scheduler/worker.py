"""The scheduler: refresh time zones, plan prompts, claim and send due ones, close runs.

APScheduler is only the timer. Every step claims its work in the database first, so several
replicas (or a restart) never send a prompt twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.runtime import Services
from bot.slack import PERMANENT_ERRORS, error_code, open_dm, send_dm
from bot.views import blocks
from bot.views.mrkdwn import escape
from scheduler import runs
from scheduler.planner import REPLAN_MARGIN, plan_standup
from storage import jobs, queries
from storage.models import Workspace

log = structlog.get_logger("asyncstand.scheduler")

# A replica killed mid-send loses its claims after this; another one then finishes the job.
UNDELIVERABLE = {
    "user_deleted": "their account is deactivated",
    "account_inactive": "their account is deactivated",
    "user_not_found": "Slack doesn't know this user any more",
    "user_is_bot": "it is a bot",
    "cannot_dm_bot": "it is a bot",
    "messages_tab_disabled": "the app's Messages tab is turned off",
}

PROMPT_LEASE = dt.timedelta(seconds=40)
EVENT_MEMORY = dt.timedelta(days=2)
MAX_ATTEMPTS = 5
SEND_CONCURRENCY = 50
CLAIM_BATCH = 200


async def refresh_profiles(services: Services, workspace_id: int, client: AsyncWebClient) -> None:
    """Fetch users.info for participants whose cached time zone is missing or stale."""
    now = services.clock()
    stale_before = now - dt.timedelta(hours=services.settings.tz_refresh_hours)
    async with services.db.session() as session:
        members = await queries.members_needing_profile(session, workspace_id, stale_before)
    for member in members:
        await fetch_profile(services, client, workspace_id, member.slack_user_id)


async def fetch_profile(
    services: Services, client: AsyncWebClient, workspace_id: int, slack_user_id: str
) -> dict[str, Any] | None:
    """users.info → cache name, tz, bot/deleted flags. Returns the Slack user or None."""
    now = services.clock()
    try:
        response = await client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        log.warning("users_info_failed", user=slack_user_id, error=error_code(exc))
        async with services.db.session() as session:
            await queries.mark_profile_checked(session, workspace_id, slack_user_id, now)
        return None
    user: dict[str, Any] = response["user"]
    async with services.db.session() as session:
        await queries.update_member_profile(
            session,
            workspace_id,
            slack_user_id,
            name=(user.get("profile") or {}).get("display_name") or user.get("real_name"),
            tz=user.get("tz"),
            is_bot=bool(user.get("is_bot")) or slack_user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
            is_admin=bool(
                user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
            ),
            now=now,
        )
    return user


class Worker:
    """One process's scheduler loop; safe to run in any number of processes at once."""

    def __init__(self, services: Services, metrics: Metrics | None = None) -> None:
        self.services = services
        self.metrics = metrics or Metrics()
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.services.settings.scheduler_tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
            misfire_grace_time=None,
        )
        self._scheduler.start()
        self.services.wake_scheduler = self.wake

    def wake(self) -> None:
        """Run a tick now (after a command made work due) instead of waiting for the next one."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.modify_job("tick", next_run_time=dt.datetime.now(dt.UTC))

    async def stop(self, timeout: float = 25.0) -> None:  # noqa: ASYNC109
        """Stop ticking, letting a tick in progress finish (up to `timeout` seconds).

        APScheduler's shutdown cancels running jobs, so it must come after the tick is done:
        a tick cancelled between chat.postMessage and recording "sent" would leave the prompt
        "sending", and it would be sent again once its lease ran out.
        """
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None or not scheduler.running:
            return
        scheduler.pause()  # no new ticks from here on
        try:
            async with asyncio.timeout(timeout):
                await self._lock.acquire()
        except TimeoutError:
            log.warning("scheduler_stop_timeout", seconds=timeout)
            scheduler.shutdown(wait=False)
            return
        try:
            scheduler.shutdown(wait=False)  # only a tick that never started can be cancelled
        finally:
            self._lock.release()

    # --- one tick -------------------------------------------------------------------------------

    async def tick(self) -> None:
        async with self._lock:
            try:
                await self._tick()
            except Exception:
                log.exception("scheduler_tick_failed")

    async def _tick(self) -> None:
        services = self.services
        now = services.clock()
        async with services.db.session() as session:
            workspace_ids = await queries.workspaces_needing_plans(session, now + REPLAN_MARGIN)
        for workspace_id in workspace_ids:
            await self.plan_workspace(workspace_id, now)
        async with services.db.session() as session:
            missed = await jobs.mark_overdue_missed(session, now - services.grace)
            await queries.forget_events_before(session, now - EVENT_MEMORY)
        if missed:
            self.metrics.prompts.labels("missed").inc(missed)
            log.info("prompts_missed", count=missed)
        await self.send_due()
        await self.close_due_runs()

    async def plan_workspace(self, workspace_id: int, now: dt.datetime) -> None:
        services = self.services
        structlog.contextvars.clear_contextvars()
        async with services.db.session() as session:
            workspace = await session.get(Workspace, workspace_id)
            client = await services.slack.bot_client(session, workspace_id)
        if workspace is None or client is None:
            return
        structlog.contextvars.bind_contextvars(team_id=workspace.team_id)
        try:
            await refresh_profiles(services, workspace_id, client)
            async with services.db.session() as session:
                standups = await queries.active_standups(
                    session, workspace_id, planned_before=now + REPLAN_MARGIN
                )
                for standup in standups:
                    created = await plan_standup(
                        session,
                        workspace_id,
                        standup,
                        now=now,
                        grace=services.grace,
                        close_after=services.close_after,
                    )
                    if created:
                        log.info("prompts_planned", standup_id=standup.id, count=created)
        finally:
            structlog.contextvars.clear_contextvars()

    async def send_due(self) -> int:
        """Claim due prompts in batches and send them until none is left; returns how many."""
        services = self.services
        sent_total = 0
        touched_runs: set[tuple[int, int]] = set()
        while True:
            now = services.clock()
            async with services.db.session() as session:
                claimed = await jobs.claim_due_batch(session, now, PROMPT_LEASE, CLAIM_BATCH)
                views = await queries.prompt_views_by_id(session, claimed)
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
        self, views: list[queries.PromptView], now: dt.datetime
    ) -> set[tuple[int, int]]:
        """Send claimed prompts: each run's summary first (once), then the DMs concurrently."""
        services = self.services
        clients: dict[int, AsyncWebClient | None] = {}
        teams: dict[int, str] = {}
        async with services.db.session() as session:
            for workspace_id in {v.prompt.workspace_id for v in views}:
                clients[workspace_id] = await services.slack.bot_client(session, workspace_id)
                workspace = await session.get(Workspace, workspace_id)
                teams[workspace_id] = workspace.team_id if workspace else ""
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

        async def one(view: queries.PromptView) -> None:
            workspace_id = view.prompt.workspace_id
            async with semaphore:
                structlog.contextvars.bind_contextvars(
                    team_id=teams.get(workspace_id), standup_id=view.standup.id
                )
                client = clients.get(workspace_id)
                if await self._deliver(view, client, now, summary_once):
                    touched.add((workspace_id, view.run.id))

        await asyncio.gather(*(one(v) for v in views))
        return touched

    async def send_prompt(self, workspace_id: int, prompt_id: int) -> tuple[int, int] | None:
        """Claim one prompt and DM it. Returns (workspace_id, run_id) when sent."""
        services = self.services
        now = services.clock()
        async with services.db.session() as session:
            if not await jobs.claim_prompt(session, workspace_id, prompt_id, now, PROMPT_LEASE):
                return None
            view = await queries.get_prompt_view(session, workspace_id, prompt_id)
            client = await services.slack.bot_client(session, workspace_id)
        if view is None:
            return None

        async def summary(ws: int, run_id: int, c: AsyncWebClient) -> None:
            await runs.ensure_summary(services, c, ws, run_id)

        if await self._deliver(view, client, now, summary):
            return workspace_id, view.run.id
        return None

    async def _deliver(
        self,
        view: queries.PromptView,
        client: AsyncWebClient | None,
        now: dt.datetime,
        ensure_summary: Callable[[int, int, AsyncWebClient], Awaitable[None]],
    ) -> bool:
        """DM one claimed prompt; record the outcome. True when it was sent."""
        services = self.services
        workspace_id, prompt_id = view.prompt.workspace_id, view.prompt.id
        log_ = log.bind(prompt_id=prompt_id)
        if client is None:
            await self._finish(workspace_id, prompt_id, "failed", error="no_token")
            return False
        if view.run.state != "open" or view.prompt.due_at < now - services.grace:
            await self._finish(workspace_id, prompt_id, "missed", error="run closed before sending")
            return False
        if view.member.deleted or view.member.is_bot:
            reason = "user_deleted" if view.member.deleted else "user_is_bot"
            await self._finish(workspace_id, prompt_id, "failed", error=reason)
            await self._tell_owner_once(client, view, workspace_id, reason)
            return False
        await ensure_summary(workspace_id, view.run.id, client)
        message = blocks.prompt_message(
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
            code = error_code(exc)
            if code == "channel_not_found" and view.member.dm_channel_id:
                # A stale cached DM channel: forget it and try again shortly.
                async with services.db.session() as session:
                    await queries.remember_dm_channel(session, workspace_id, view.member.id, None)
                await self._finish(workspace_id, prompt_id, "pending", error=code, retry_in=1)
                return False
            permanent = code in PERMANENT_ERRORS or view.prompt.attempts >= MAX_ATTEMPTS
            log_.warning("prompt_send_failed", error=code, permanent=permanent)
            self.metrics.prompts.labels("failed" if permanent else "retried").inc()
            if permanent:
                await self._finish(workspace_id, prompt_id, "failed", error=code[:255])
                await self._tell_owner_once(client, view, workspace_id, code)
            else:
                await self._finish(
                    workspace_id,
                    prompt_id,
                    "pending",
                    error=code[:255],
                    retry_in=5 * view.prompt.attempts,
                )
            return False
        except Exception:
            log_.exception("prompt_send_crashed")
            await self._finish(
                workspace_id,
                prompt_id,
                "pending",
                error="internal error",
                retry_in=5 * view.prompt.attempts,
            )
            return False
        fresh: queries.PromptView | None = None
        async with services.db.session() as session:  # one transaction per delivered prompt
            if opened:
                await queries.remember_dm_channel(session, workspace_id, view.member.id, channel)
            state = await queries.record_sent(
                session,
                workspace_id,
                prompt_id,
                dm_channel_id=channel,
                message_ts=str(response["ts"]),
                now=services.clock(),
            )
            if state in ("answered", "skipped"):
                # Answered in the instant between posting and recording: show it in the DM.
                fresh = await queries.get_prompt_view(session, workspace_id, prompt_id)
        if state in ("answered", "skipped") and fresh is not None:
            await runs.update_prompt_message(client, fresh, state)
        lag = (services.clock() - view.prompt.due_at).total_seconds()
        self.metrics.prompts.labels("sent").inc()
        self.metrics.scheduler_lag.observe(max(lag, 0.0))
        log_.info("prompt_sent", lag_seconds=round(lag, 3))
        return True

    async def _tell_owner_once(
        self, client: AsyncWebClient, view: queries.PromptView, workspace_id: int, reason: str
    ) -> None:
        """The owner hears about an unreachable participant once, not every day."""
        async with self.services.db.session() as session:
            first = await queries.record_delivery_issue(
                session,
                workspace_id,
                view.standup.id,
                view.member.id,
                reason,
                self.services.clock(),
            )
        if not first:
            return
        explanation = UNDELIVERABLE.get(reason, f"Slack said `{escape(reason)}`")
        message = blocks.text_message(
            f"I couldn't deliver today's *{escape(view.standup.name)}* prompt to "
            f"<@{view.member.slack_user_id}>: {explanation}. I won't mention it again; "
            f"update the participants with `/standup edit {escape(view.standup.name)}`."
        )
        try:
            await send_dm(client, view.standup.owner_user_id, message["text"], message["blocks"])
        except SlackApiError as exc:
            log.warning("owner_notice_failed", error=error_code(exc))

    async def _finish(
        self,
        workspace_id: int,
        prompt_id: int,
        state: str,
        *,
        error: str | None,
        retry_in: float | None = None,
    ) -> None:
        """Record an outcome; a retry waits `retry_in` seconds (the lease doubles as back-off)."""
        lease_until = self.services.clock() + dt.timedelta(seconds=retry_in) if retry_in else None
        async with self.services.db.session() as session:
            await queries.set_prompt_state(
                session,
                workspace_id,
                prompt_id,
                state,
                from_states=("sending",),
                lease_until=lease_until,
                error=error,
            )

    async def close_due_runs(self) -> int:
        """Finalise runs past their close time: final summary, DMs no longer answerable."""
        services = self.services
        now = services.clock()
        async with services.db.session() as session:
            due = await jobs.runs_to_close(session, now)
        closed = 0
        for workspace_id, run_id in due:
            async with services.db.session() as session:
                if not await queries.claim_run_close(session, workspace_id, run_id, now):
                    continue
                views = await queries.run_prompt_views(session, workspace_id, run_id)
                for v in views:
                    if v.prompt.state == "pending":
                        await queries.set_prompt_state(
                            session,
                            workspace_id,
                            v.prompt.id,
                            "missed",
                            from_states=("pending",),
                            error="run closed",
                        )
                client = await services.slack.bot_client(session, workspace_id)
                workspace = await session.get(Workspace, workspace_id)
            closed += 1
            self.metrics.runs_closed.inc()
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(
                team_id=workspace.team_id if workspace else None,
                standup_id=views[0].standup.id if views else None,
            )
            if client is None:
                continue
            log.info("run_closed", run_id=run_id, participants=len(views))
            await runs.refresh_summary(services, client, workspace_id, run_id)
            for v in views:
                if v.prompt.state == "sent":
                    await runs.update_prompt_message(client, v, "closed")
        structlog.contextvars.clear_contextvars()
        return closed
