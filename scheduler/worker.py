"""The scheduler: a timer that, on each tick, plans prompts, sends due ones and due reminders,
closes runs, delivers outgoing webhooks, redraws out-of-date App Homes (and, a few at a time,
reads channel-synced standups' channels again: bot.roster).

APScheduler is only the timer. Every step it triggers claims its work in the database first
(bot.delivery, bot.runs, bot.webhooks), so several replicas (or a restart) never send a prompt
twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import (
    events,
    home,
    idempotency,
    planning,
    reminders,
    runs,
    web_sessions,
    webhooks,
    workspaces,
)
from bot.blockers import escalate_due
from bot.delivery import Delivery
from bot.metrics import Metrics
from bot.roster import Reconciler
from bot.runtime import Services

log = structlog.get_logger("asyncstand.scheduler")

# Forgetting old event ids, expired states and sessions is not urgent: at most once a minute (per
# process) keeps idle ticks to a few statements.
HOUSEKEEPING_EVERY = dt.timedelta(minutes=1)
# Old webhook deliveries are dropped from their log at most once an hour (per process).
WEBHOOK_LOG_PRUNE_EVERY = dt.timedelta(hours=1)


class Worker:
    """One process's scheduler loop; safe to run in any number of processes at once."""

    def __init__(self, services: Services, metrics: Metrics | None = None) -> None:
        self.services = services
        self.metrics = metrics or Metrics()
        self.delivery = Delivery(services, self.metrics)
        self.reconciler = Reconciler(services)
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._housekept: dt.datetime | None = None
        self._pruned_webhook_log: dt.datetime | None = None

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

    async def tick(self) -> None:
        async with self._lock:
            try:
                await self._tick()
            except Exception:
                log.exception("scheduler_tick_failed")

    async def _tick(self) -> None:
        services = self.services
        now = services.clock()
        await planning.plan_due(services, now)
        await self.delivery.expire_overdue()
        await self.delivery.send_due()
        await reminders.send_due(services, self.metrics)
        await runs.close_due(services, self.metrics)
        await runs.sweep(services)
        await webhooks.deliver_due(services, self.metrics)
        # Opened App Homes whose content changed, a bounded number (bot.home).
        await home.republish_stale(services)
        await self._housekeeping()
        # Last: channel members are read again every few hours, never ahead of a due prompt.
        await self.reconciler.step(now)

    async def _housekeeping(self) -> None:
        """Escalate overdue blockers (bot.blockers), forget old event ids, expired OAuth and
        sign-in states, dead web sessions and API idempotency keys, at most once a minute; drop
        old webhook deliveries at most once an hour. By the clock as it is now (a tick's start
        may be minutes old by this point); the sweeps use that same reading, so what one round
        left behind waits for the next, a minute later."""
        now = self.services.clock()
        last = self._housekept
        if last is not None and abs(now - last) < HOUSEKEEPING_EVERY:
            return
        self._housekept = now
        await self._sweep(now)

    async def _sweep(self, now: dt.datetime) -> None:
        # Blockers open too long reach their owners within a minute: no hurry, so not every tick.
        escalated = await escalate_due(self.services)
        if escalated:
            log.info("blockers_escalated", count=escalated)
        await events.forget_old(self.services, now)
        dropped = await workspaces.forget_expired_oauth_states(self.services, now)
        if dropped:
            log.info("oauth_states_expired", count=dropped)
        expired_keys = await idempotency.forget_expired(self.services, now)
        if expired_keys:
            log.info("idempotency_keys_expired", count=expired_keys)
        pruned = self._pruned_webhook_log
        if pruned is None or abs(now - pruned) >= WEBHOOK_LOG_PRUNE_EVERY:
            self._pruned_webhook_log = now
            forgotten = await webhooks.forget_old(self.services, now)
            if forgotten:
                log.info("webhook_deliveries_forgotten", count=forgotten)
        forgotten = await web_sessions.forget_expired(self.services, now)
        if forgotten:
            log.info("web_sessions_expired", count=forgotten)
