"""Reminders: the automatic one of each run, nudges on demand (`/standup remind`), and each
person's own setting (`/standup reminders`, App Home).

**When.** A prompt's reminder time is computed when its DM is recorded as sent
(bot.delivery): the person's window opens when the prompt reaches them (so a prompt sent late
after downtime is not followed by an immediate reminder) and closes with the run; the
standup's setting says where in it (halfway by default, N minutes before the close, or off;
bot.rules.reminders). A run's close only ever moves later (a participant in a later zone is
planned, someone is added), so the stored time is never too late; when it falls due it is
computed again from the run's close as it is then, and given back for later if the close moved.

**Once.** A due reminder is taken by a compare-and-set on `reminded_at` (one statement, one
replica wins; storage.reminders.claim_due), and a nudge takes the prompts it reminds the same
way, so it counts as the run's reminder too. Reminders are *at most once*: a replica that
dies between taking a reminder and posting it loses that one reminder, and none is ever sent
twice. A DM Slack refused (certainly not posted) is given back for another try a few minutes
later, until the run closes.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import standups
from bot.metrics import Metrics
from bot.outcomes import Nudged, OwnReminders, Refusal
from bot.people import Caller
from bot.rules.away import is_away
from bot.rules.permissions import Why
from bot.rules.reminders import prompt_reminder_at
from bot.runtime import Services
from bot.slack import recovery
from bot.slack.gateway import PERMANENT_ERRORS, error_code, open_dm
from bot.slack.recovery import tag
from bot.views.messages import reminder_message
from storage import attendance as attendance_db
from storage import prompts, workspaces
from storage import reminders as reminder_rows
from storage.models import PromptState, RunState
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.reminders")

# A second `/standup remind` of one standup within this is refused; nobody is nudged again
# within it after any reminder.
NUDGE_COOLDOWN = dt.timedelta(minutes=10)
CLAIM_BATCH = 200
SEND_CONCURRENCY = 20
# A reminder Slack refused for now is tried again this much later (until its run closes).
RETRY_IN = dt.timedelta(minutes=5)


# --- the automatic reminder (a scheduler step) --------------------------------------------------


async def send_due(services: Services, metrics: Metrics | None = None) -> int:
    """Take every due reminder (in batches) and DM it; returns how many were sent. An idle
    call is one indexed statement."""
    sent = 0
    while True:
        now = services.clock()
        async with services.db.session() as session:
            claimed = await reminder_rows.claim_due(session, now, CLAIM_BATCH)
            views = await prompts.prompt_views_by_id(session, claimed) if claimed else []
        if not claimed:
            return sent
        sent += await _remind_all(services, views, now, metrics)
        if len(claimed) < CLAIM_BATCH:
            return sent


def _why_not(view: PromptView, now: dt.datetime) -> str | None:
    """Why a reminder taken for this prompt must not go out, or None."""
    if view.prompt.state != PromptState.SENT:
        return "answered"
    if view.run.state != RunState.OPEN or now >= view.run.close_at:
        return "run_closed"
    if not view.standup.active:
        return "paused"
    if view.member.reminders_off:
        return "reminders_off"
    if view.member.deleted or view.member.is_bot:
        return "unreachable"
    return None


async def _remind_all(
    services: Services, views: list[PromptView], claimed_at: dt.datetime, metrics: Metrics | None
) -> int:
    workspace_ids = {v.prompt.workspace_id for v in views}
    dates = [v.prompt.local_date for v in views]
    async with services.db.session() as session:
        clients = {w: await services.slack.bot_client(session, w) for w in workspace_ids}
        teams = await workspaces.team_ids(session, workspace_ids)
        # Someone who went out of office after their prompt went out is not reminded.
        away = await attendance_db.away_ranges_of_pairs(
            session, {(v.prompt.workspace_id, v.member.id) for v in views}, min(dates), max(dates)
        )
    views = [
        v
        for v in views
        if not is_away(away.get((v.prompt.workspace_id, v.member.id), []), v.prompt.local_date)
    ]
    semaphore = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(view: PromptView) -> bool:
        workspace_id = view.prompt.workspace_id
        async with semaphore:
            with structlog.contextvars.bound_contextvars(
                team_id=teams.get(workspace_id), standup_id=view.standup.id
            ):
                outcome = await _remind_one(services, clients.get(workspace_id), view, claimed_at)
                if metrics is not None:
                    metrics.reminders.labels(outcome).inc()
                return outcome == "sent"

    return sum(await asyncio.gather(*(one(v) for v in views)))


async def _remind_one(
    services: Services,
    client: AsyncWebClient | None,
    view: PromptView,
    claimed_at: dt.datetime,
) -> str:
    """Send one claimed automatic reminder, or say why not: the outcome for metrics."""
    reason = _why_not(view, claimed_at) or (None if client is not None else "no_token")
    due = prompt_reminder_at(
        view.prompt.sent_at, view.run.close_at, view.standup.reminder_minutes_before
    )
    if reason is None and due is None:
        reason = "off"  # the standup's reminder was turned off after the prompt went out
    if reason is not None:
        log.info("reminder_dropped", prompt_id=view.prompt.id, reason=reason)
        return "dropped"
    assert client is not None and due is not None
    if due > claimed_at:  # the run's close moved later since the prompt was sent
        async with services.db.session() as session:
            await reminder_rows.put_back(
                session,
                view.prompt.workspace_id,
                view.prompt.id,
                claimed_at=claimed_at,
                remind_at=due,
            )
        log.info("reminder_postponed", prompt_id=view.prompt.id)
        return "postponed"
    return await _post(services, client, view, claimed_at=claimed_at)


async def _post(
    services: Services,
    client: AsyncWebClient,
    view: PromptView,
    *,
    claimed_at: dt.datetime | None = None,
    nudged_by: str | None = None,
) -> str:
    """DM one reminder: "sent" or "failed". An automatic one (`claimed_at`) that Slack refused
    for now is given back for a later try; a nudge is not retried."""
    message = reminder_message(
        prompt_id=view.prompt.id,
        standup_name=view.standup.name,
        closes_at=view.run.close_at,
        local_date=view.run.local_date.isoformat(),
        nudged_by=nudged_by,
    )
    try:
        channel = view.prompt.dm_channel_id or await open_dm(client, view.member.slack_user_id)
        await client.chat_postMessage(
            channel=channel, metadata=tag(recovery.REMINDER, view.prompt.id), **message
        )
    except SlackApiError as exc:  # Slack answered: the reminder is certainly not there
        code = error_code(exc)
        retry = claimed_at is not None and code not in PERMANENT_ERRORS
        log.warning("reminder_failed", prompt_id=view.prompt.id, error=code, retry=retry)
        if retry and claimed_at is not None:
            async with services.db.session() as session:
                await reminder_rows.put_back(
                    session,
                    view.prompt.workspace_id,
                    view.prompt.id,
                    claimed_at=claimed_at,
                    remind_at=services.clock() + RETRY_IN,
                )
        return "failed"
    except Exception:  # it may or may not have reached Slack: at most once, so not again
        log.warning("reminder_uncertain", prompt_id=view.prompt.id, exc_info=True)
        return "failed"
    log.info("reminder_sent", prompt_id=view.prompt.id, nudge=nudged_by is not None)
    return "sent"


# --- nudges on demand -----------------------------------------------------------------------------


class _Undo(Exception):
    """Leave a nudge's transaction without its writes, answering `outcome`."""

    def __init__(self, outcome: Nudged | Refusal) -> None:
        super().__init__(outcome)
        self.outcome = outcome


async def nudge(services: Services, caller: Caller, name: str) -> Nudged | Refusal:
    """`/standup remind <name>` (owners and admins): everyone still waited on in the standup's
    open run(s) gets their reminder now. Permission check, the ten-minute limit and the prompts
    it takes in one transaction; the DMs go out after it (`deliver_nudges`). People who turned
    reminders off, or got a reminder in the last ten minutes, are left alone.

    The limit is taken first (compare-and-set on `standup.nudged_at`), so of two nudges at once
    the second waits for the first and is refused; a nudge that finds nobody to nudge undoes it.
    """
    now = services.clock()
    try:
        async with standups.managing(services, caller, name) as (session, standup):
            if isinstance(standup, Refusal):
                return standup
            if not standup.active:
                return Refusal(Why.PAUSED, standup.name)
            workspace_id = caller.workspace_id
            if not await reminder_rows.claim_nudge(
                session, workspace_id, standup.id, now, NUDGE_COOLDOWN
            ):
                last = await reminder_rows.last_nudge(session, workspace_id, standup.id)
                until = (last or now) + NUDGE_COOLDOWN
                return Refusal(Why.NUDGED_RECENTLY, standup.name, until=until)
            everyone = await reminder_rows.waiting(session, workspace_id, standup.id)
            if not everyone and not await reminder_rows.has_open_run(
                session, workspace_id, standup.id
            ):
                raise _Undo(Refusal(Why.NOTHING_OPEN, standup.name))
            recently = now - NUDGE_COOLDOWN
            off = [w for w in everyone if w.reminders_off]
            just = [
                w
                for w in everyone
                if not w.reminders_off and w.reminded_at is not None and w.reminded_at > recently
            ]
            left_alone = {w.prompt_id for w in off + just}
            targets = [w.prompt_id for w in everyone if w.prompt_id not in left_alone]
            if not targets:
                raise _Undo(Nudged(standup.name, 0, len(off), len(just)))
            taken = await reminder_rows.mark_reminded(session, workspace_id, targets, now)
    except _Undo as undo:
        return undo.outcome
    log.info("standup_nudged", standup_id=standup.id, nudged=len(taken))
    return Nudged(standup.name, len(taken), len(off), len(just), tuple(taken), caller.user_id)


async def deliver_nudges(
    services: Services, client: AsyncWebClient, workspace_id: int, nudged: Nudged
) -> int:
    """DM the reminders a nudge took (unless answered or closed meanwhile); returns how many
    reached Slack."""
    if not nudged.prompt_ids:
        return 0
    async with services.db.session() as session:
        views = await prompts.prompt_views_by_id(
            session, [(workspace_id, p) for p in nudged.prompt_ids]
        )
    semaphore = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(view: PromptView) -> bool:
        if view.prompt.state != PromptState.SENT or view.run.state != RunState.OPEN:
            return False
        async with semaphore:
            outcome = await _post(services, client, view, nudged_by=nudged.nudged_by or None)
            return outcome == "sent"

    return sum(await asyncio.gather(*(one(v) for v in views)))


# --- each person's own setting --------------------------------------------------------------------


async def own_reminders(services: Services, caller: Caller, *, off: bool | None) -> OwnReminders:
    """A person's own reminders: shown (`off` None), or turned off or on. Nobody sets anyone
    else's: the person is the caller, never an id from a button."""
    async with services.db.session() as session:
        if off is None:
            return OwnReminders(
                await reminder_rows.reminders_off(session, caller.workspace_id, caller.user_id)
            )
        changed = await reminder_rows.set_reminders_off(
            session, caller.workspace_id, caller.user_id, off
        )
    log.info("own_reminders_set", off=off, changed=changed)
    return OwnReminders(off, changed)
