"""Delivering prompts: claim due ones in batches, DM each person, record what happened.

Every step claims its work in the database first, so several replicas (or a restart) never
send a claimed prompt twice while its lease holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import blockers, home, runs
from bot.group_commit import GroupWriter
from bot.metrics import Metrics
from bot.rules import attendance
from bot.rules.away import Range, is_away
from bot.rules.questions import texts_of
from bot.rules.reminders import prompt_reminder_at
from bot.runtime import Services
from bot.slack import recovery
from bot.slack.gateway import (
    PERMANENT_ERRORS,
    ShapedWebClient,
    error_code,
    open_dm,
    send_dm,
)
from bot.slack.recovery import CannotTell, find_tagged, tag
from bot.views.messages import prompt_message, text_message
from bot.views.mrkdwn import md, mention
from storage import attendance as attendance_db
from storage import jobs, members, prompts, workspaces
from storage import runs as run_rows
from storage.models import PromptState, RunState
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.delivery")

# A replica killed mid-send loses its claims after the lease (PROMPT_LEASE_SECONDS, by default
# this); another one then finishes the job. A live sender extends its leases four times per
# lease, however long it waits for Slack.
PROMPT_LEASE = dt.timedelta(seconds=40)
KEEPS_PER_LEASE = 4
MAX_ATTEMPTS = 5
SEND_CONCURRENCY = 50
CLAIM_BATCH = 200
# Fair fan-out: one workspace's sends at a time (most of them may be waiting for its rate
# limit), prompts claimed but not yet sent in this process, and the wait for a Slack slot
# beyond which a workspace is left out of a claim (its prompts stay for a later round).
SENDS_PER_WORKSPACE = 10
MAX_IN_FLIGHT = 4 * CLAIM_BATCH
RATE_LIMITED_AFTER = 2.0
# The workspace-wide bucket a fan-out waits for (chat.postMessage is limited per channel).
FAN_OUT_METHOD = "conversations.open"

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
        # Each prompt's "may be posting" mark and its record after posting wait for their own
        # write, but share transactions with the other prompts being sent (one SQLite writer).
        self._marking = GroupWriter(self._write_marks)
        self._recording = GroupWriter(self._write_sent)

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
        """Claim due prompts in batches and send them until none is left; returns how many.

        Fair between workspaces (PROMPT_CLAIM_PER_WORKSPACE > 0): each claim takes at most that
        many of one workspace's prompts and none of a workspace still being sent by this process
        or waiting out a Slack rate limit, and batches are sent side by side, so a small
        workspace's prompts go out while a big one's fan-out proceeds at Slack's pace. With 0,
        batches are claimed in strict due order, one after the other."""
        services = self.services
        cap = services.settings.prompt_claim_per_workspace or None
        fan = _FanOut()
        pending: set[asyncio.Task[None]] = set()
        try:
            while True:
                now = services.clock()
                token = secrets.token_hex(16)
                busy = fan.busy_workspaces() | await fan.rate_limited() if cap else set()
                fan.progress.clear()
                async with services.db.session() as session:
                    claimed = await jobs.claim_due_batch(
                        session,
                        now,
                        services.prompt_lease,
                        token,
                        CLAIM_BATCH,
                        per_workspace=cap,
                        busy=busy,
                    )
                    views = await prompts.prompt_views_by_id(session, claimed)
                if claimed:
                    self.metrics.prompts_due.inc(len(claimed))
                    fan.start(views, cap)  # busy from now on, before the next claim
                    batch = asyncio.create_task(self._send_claimed(views, now, token, fan))
                    pending.add(batch)
                    batch.add_done_callback(pending.discard)
                    if cap is None:
                        await batch  # strict due order: one batch after the other
                    if len(claimed) == CLAIM_BATCH and fan.in_flight < MAX_IN_FLIGHT:
                        continue  # more is claimable right away
                if not pending:
                    break
                await fan.progress.wait()  # a workspace finished a batch: claim again
        finally:
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for workspace_id, run_id in fan.touched:
            async with services.db.session() as session:
                client = await services.slack.bot_client(session, workspace_id)
            if client is not None:
                await runs.request_summary(services, client, workspace_id, run_id)
        await home.runs_changed(services, fan.touched)
        return fan.claimed

    async def _send_claimed(
        self, views: list[PromptView], now: dt.datetime, token: str, fan: _FanOut
    ) -> None:
        """Send one claimed batch under its lease; each workspace in it is busy until done."""
        try:
            async with self._keeping(token):
                await self._deliver_batch(views, now, token, fan)
        except Exception:
            log.exception("prompt_batch_failed")  # its leases run out; a later tick retries
        finally:
            fan.finish(views)

    @asynccontextmanager
    async def _keeping(self, token: str) -> AsyncIterator[None]:
        """While a batch is being sent, keep extending its leases: a prompt waiting for a
        rate-limit slot in a live process is never taken over by another replica."""

        lease = self.services.prompt_lease

        async def keep() -> None:
            while True:
                await asyncio.sleep(lease.total_seconds() / KEEPS_PER_LEASE)
                try:
                    async with self.services.db.session() as session:
                        until = self.services.clock() + lease
                        await jobs.keep_claims(session, token, until)
                except Exception:  # a missed heartbeat is retried; the lease covers several
                    log.warning("lease_keep_failed", exc_info=True)

        keeper = asyncio.create_task(keep())
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _deliver_batch(
        self, views: list[PromptView], now: dt.datetime, token: str, fan: _FanOut
    ) -> None:
        """Send claimed prompts: each run's summary first (once), then the DMs concurrently,
        at most SENDS_PER_WORKSPACE of one workspace at a time (one waiting for its rate limit
        never takes every slot)."""
        services = self.services
        workspace_ids = {v.prompt.workspace_id for v in views}
        async with services.db.session() as session:
            clients = {w: await services.slack.bot_client(session, w) for w in workspace_ids}
            teams = await workspaces.team_ids(session, workspace_ids)
            away = await _away_in_batch(session, views)
            follow_ups = await blockers.open_in_batch(session, views)
        fan.clients.update(clients)

        async def summary_once(workspace_id: int, run_id: int, client: AsyncWebClient) -> None:
            """Each run's summary heads its thread before the first DM goes out."""
            key = (workspace_id, run_id)
            if key not in fan.summaries:
                fan.summaries[key] = asyncio.ensure_future(
                    runs.publish_summary(services, client, workspace_id, run_id)
                )
            await fan.summaries[key]

        async def one(view: PromptView) -> None:
            workspace_id = view.prompt.workspace_id
            async with fan.workspace_slots(workspace_id), fan.slots:
                with structlog.contextvars.bound_contextvars(
                    team_id=teams.get(workspace_id), standup_id=view.standup.id
                ):
                    client = clients.get(workspace_id)
                    if client is None:
                        await self._finish(view, token, PromptState.FAILED, error="no_token")
                    elif await self._ready(
                        view,
                        client,
                        now,
                        token,
                        away=away.get((workspace_id, view.prompt.member_id), []),
                    ):
                        await summary_once(workspace_id, view.run.id, client)
                        # "Still blocked on …?" comes first, above the prompt.
                        await blockers.ask_still_blocked(services, client, view, follow_ups)
                        if await self._send(view, client, token):
                            fan.touched.add((workspace_id, view.run.id))

        await asyncio.gather(*(one(v) for v in views))

    async def _ready(
        self,
        view: PromptView,
        client: AsyncWebClient,
        now: dt.datetime,
        token: str,
        *,
        away: list[Range] | None = None,
    ) -> bool:
        """Whether a claimed prompt should still go out; if not, its outcome is recorded.
        `away`: the person's away periods around the prompt's date (loaded for the batch)."""
        uncertain = view.prompt.posting_at is not None and view.prompt.message_ts is None
        # An earlier sender died while posting: the DM may be in Slack already.
        if uncertain and not await self._recover(view, client, token):
            return False
        if away and self._is_away(view, away):
            # Out of office, set after this prompt was planned: never sent, listed as away.
            await self._finish(view, token, PromptState.AWAY, error=None)
            log.info("prompt_not_sent_away", prompt_id=view.prompt.id)
            if view.run.summary_ts:  # the summary in the channel will list them as away
                async with self.services.db.session() as session:
                    await run_rows.request_summary(
                        session, view.prompt.workspace_id, view.run.id, self.services.clock()
                    )
            return False
        if view.run.state != RunState.OPEN or view.prompt.due_at < now - self.services.grace:
            await self._finish(view, token, PromptState.MISSED, error="run closed before sending")
            return False
        if view.member.deleted or view.member.is_bot:
            reason = "user_deleted" if view.member.deleted else "user_is_bot"
            await self._finish(view, token, PromptState.FAILED, error=reason)
            await self._tell_owner_once(client, view, reason)
            return False
        return True

    @staticmethod
    def _is_away(view: PromptView, away: list[Range]) -> bool:
        prompt = view.prompt
        day = attendance.person_date(prompt.due_at, view.member.tz, prompt.local_date)
        return is_away(away, day)

    async def _recover(self, view: PromptView, client: AsyncWebClient, token: str) -> bool:
        """Look for the DM in the person's conversation with us (its metadata names the
        prompt); if it is there, record it as sent instead of sending it again. True when it
        is certainly not there (send it), False when it was recorded or we cannot tell yet."""
        assert view.prompt.posting_at is not None
        try:
            channel = view.member.dm_channel_id or await open_dm(client, view.member.slack_user_id)
            found = await find_tagged(
                client, channel, recovery.PROMPT, view.prompt.id, view.prompt.posting_at
            )
        except (SlackApiError, CannotTell) as exc:
            code = error_code(exc) if isinstance(exc, SlackApiError) else str(exc)
            log.warning("prompt_recovery_failed", prompt_id=view.prompt.id, error=code)
            await self._finish(view, token, PromptState.PENDING, error=code[:255], retry_in=10)
            return False
        if found is None:
            return True  # it never reached Slack: send it now
        log.info("prompt_recovered", prompt_id=view.prompt.id)
        await self._recorded(view, client, channel, found)
        return False

    async def _send(self, view: PromptView, client: AsyncWebClient, token: str) -> bool:
        """DM one claimed prompt; record the outcome. True when it was sent."""
        services = self.services
        workspace_id, prompt_id = view.prompt.workspace_id, view.prompt.id
        log_ = log.bind(prompt_id=prompt_id)
        message = prompt_message(
            prompt_id=prompt_id,
            standup_name=view.standup.name,
            questions=texts_of(view.run.questions),
            state="pending",
            local_date=view.run.local_date.isoformat(),
        )
        try:
            channel = view.member.dm_channel_id
            opened = channel is None
            if channel is None:
                channel = await open_dm(client, view.member.slack_user_id)
            still_ours = await self._marking.submit((workspace_id, prompt_id, token))
            if not still_ours:  # our lease ran out and another replica took it over
                log_.warning("prompt_claim_lost")
                return False
            response = await client.chat_postMessage(
                channel=channel, metadata=tag(recovery.PROMPT, prompt_id), **message
            )
        except SlackApiError as exc:
            await self._failed(view, client, token, error_code(exc))
            return False
        except Exception:
            # Whether the DM reached Slack is unknown: the next attempt looks before sending.
            log_.exception("prompt_send_crashed")
            await self._finish(
                view,
                token,
                PromptState.PENDING,
                error="internal error",
                retry_in=5 * view.prompt.attempts,
                posted=None,
            )
            return False
        await self._recorded(view, client, channel, str(response["ts"]), opened=opened)
        lag = (services.clock() - view.prompt.due_at).total_seconds()
        self.metrics.prompts.labels("sent").inc()
        self.metrics.scheduler_lag.observe(max(lag, 0.0))
        log_.info("prompt_sent", lag_seconds=round(lag, 3))
        return True

    async def _recorded(
        self,
        view: PromptView,
        client: AsyncWebClient,
        channel: str,
        ts: str,
        *,
        opened: bool = False,
    ) -> None:
        """Record the DM that is in Slack (together with other prompts' records: one
        transaction per group, bot.group_commit)."""
        workspace_id, prompt_id = view.prompt.workspace_id, view.prompt.id
        now = self.services.clock()
        sent = prompts.SentDM(
            workspace_id,
            prompt_id,
            channel,
            ts,
            sent_at=now,
            # From the run's close as it is now; checked again when due (bot.reminders).
            remind_at=prompt_reminder_at(
                now, view.run.close_at, view.standup.reminder_minutes_before
            ),
        )
        remember = (workspace_id, view.member.id, channel) if opened else None
        state = await self._recording.submit((sent, remember))
        if state in ANSWERED_MEANWHILE:
            # Answered in the instant between posting and recording: show it in the DM.
            async with self.services.db.session() as session:
                fresh = await prompts.get_prompt_view(session, workspace_id, prompt_id)
            if fresh is not None:
                await runs.update_prompt_message(client, fresh, str(state))

    async def _write_marks(self, claims: Sequence[tuple[int, int, str]]) -> list[bool]:
        """mark_posting for a group of prompts: whether each claim still holds."""
        now = self.services.clock()
        async with self.services.db.session() as session:
            marked = await prompts.mark_posting(
                session, claims, now=now, lease=self.services.prompt_lease
            )
        return [(w, p) in marked for w, p, _ in claims]

    async def _write_sent(
        self, items: Sequence[tuple[prompts.SentDM, tuple[int, int, str] | None]]
    ) -> list[PromptState | None]:
        """record_sent for a group of prompts (and the DM channels opened for them)."""
        async with self.services.db.session() as session:
            await members.remember_dm_channels(session, [c for _, c in items if c is not None])
            states = await prompts.record_sent(session, [sent for sent, _ in items])
        return [states.get((s.workspace_id, s.prompt_id)) for s, _ in items]

    async def _failed(
        self, view: PromptView, client: AsyncWebClient, token: str, code: str
    ) -> None:
        """Slack refused the DM (so it is not there): forget a stale channel, retry with
        back-off, or give up."""
        if code == "channel_not_found" and view.member.dm_channel_id:
            # A stale cached DM channel: forget it and try again shortly.
            async with self.services.db.session() as session:
                await members.remember_dm_channels(
                    session, [(view.prompt.workspace_id, view.member.id, None)]
                )
            await self._finish(view, token, PromptState.PENDING, error=code, retry_in=1)
            return
        permanent = code in PERMANENT_ERRORS or view.prompt.attempts >= MAX_ATTEMPTS
        log.warning("prompt_send_failed", prompt_id=view.prompt.id, error=code, permanent=permanent)
        self.metrics.prompts.labels("failed" if permanent else "retried").inc()
        if permanent:
            await self._finish(view, token, PromptState.FAILED, error=code[:255])
            await self._tell_owner_once(client, view, code)
        else:
            await self._finish(
                view,
                token,
                PromptState.PENDING,
                error=code[:255],
                retry_in=5 * view.prompt.attempts,
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
        token: str,
        state: PromptState,
        *,
        error: str | None,
        retry_in: float | None = None,
        posted: bool | None = False,
    ) -> None:
        """Record an outcome of our claim; a retry waits `retry_in` seconds (the lease doubles
        as back-off). `posted=False`: Slack certainly has no such DM, so the "may have been
        posted" marker goes; None: unknown, the marker stays for the next attempt to check."""
        lease_until = self.services.clock() + dt.timedelta(seconds=retry_in) if retry_in else None
        values: dict[str, object] = {"lease_until": lease_until, "error": error}
        if posted is False and view.prompt.message_ts is None:
            values["posting_at"] = None
        async with self.services.db.session() as session:
            await prompts.set_prompt_state(
                session,
                view.prompt.workspace_id,
                view.prompt.id,
                state,
                from_states=(PromptState.SENDING,),
                held_by=token,
                claim_token=None,
                **values,
            )


class _FanOut:
    """One send_due pass: what is in flight, per workspace, across its concurrent batches."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(SEND_CONCURRENCY)
        self.progress = asyncio.Event()
        self.claimed = 0
        self.in_flight = 0
        self.touched: set[tuple[int, int]] = set()
        self.clients: dict[int, AsyncWebClient | None] = {}
        self.summaries: dict[tuple[int, int], asyncio.Future[str | None]] = {}
        self._busy: dict[int, int] = {}
        self._more: set[int] = set()  # took a whole cap in their last claim: may have more due
        self._per_workspace: dict[int, asyncio.Semaphore] = {}

    def workspace_slots(self, workspace_id: int) -> asyncio.Semaphore:
        slots = self._per_workspace.get(workspace_id)
        if slots is None:
            slots = self._per_workspace[workspace_id] = asyncio.Semaphore(SENDS_PER_WORKSPACE)
        return slots

    def start(self, views: list[PromptView], cap: int | None) -> None:
        self.claimed += len(views)
        self.in_flight += len(views)
        taken = Counter(v.prompt.workspace_id for v in views)
        for workspace_id, count in taken.items():
            self._busy[workspace_id] = self._busy.get(workspace_id, 0) + 1
            if count == cap:
                self._more.add(workspace_id)
            else:
                self._more.discard(workspace_id)

    def finish(self, views: list[PromptView]) -> None:
        self.in_flight -= len(views)
        for workspace_id in {v.prompt.workspace_id for v in views}:
            left = self._busy.pop(workspace_id, 1) - 1
            if left > 0:
                self._busy[workspace_id] = left
        self.progress.set()

    def busy_workspaces(self) -> set[int]:
        """Workspaces with a batch still being sent by this process."""
        return set(self._busy)

    async def rate_limited(self) -> set[int]:
        """Workspaces of this pass that may have more due and whose Slack limit (shared by
        replicas through Redis, pushed back by a 429's Retry-After) would hold a new claim for
        a while."""
        limited = set()
        for workspace_id in self._more - set(self._busy):
            client = self.clients.get(workspace_id)
            if not isinstance(client, ShapedWebClient):
                continue
            if await client.backlog(FAN_OUT_METHOD) > RATE_LIMITED_AFTER:
                limited.add(workspace_id)
        return limited


async def _away_in_batch(
    session: AsyncSession, views: list[PromptView]
) -> dict[tuple[int, int], list[Range]]:
    """Away periods of everyone in a claimed batch, around its dates: one query per batch."""
    if not views:
        return {}
    dates = [v.prompt.local_date for v in views]
    return await attendance_db.away_ranges_of_pairs(
        session,
        {(v.prompt.workspace_id, v.prompt.member_id) for v in views},
        min(dates) - dt.timedelta(days=1),
        max(dates) + dt.timedelta(days=1),
    )
