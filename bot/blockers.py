"""Blockers, followed up until resolved.

- Opened from a check-in's answer to the blocker question (:func:`answers_saved`, in the
  transaction that saves the answers): one per person, standup and text; an edit changes the
  blocker raised in that check-in, and an edit to "none" resolves it.
- Asked about before the person's next prompt (:func:`ask_still_blocked`): "Still blocked on
  …?" with Resolved / Still blocked buttons, at most once a day per blocker.
- Resolved or confirmed by that person only (:func:`answer_follow_up`): the button's blocker id
  is a hint, honoured only for a blocker of the requesting workspace that is the clicker's own.
- Escalated once to the standup's owners when open longer than the standup's
  ``blocker_escalation_days`` working days (:func:`escalate_due`, a scheduler step): claimed in
  one UPDATE so replicas never send twice, DMed after the commit.
- Listed for whoever may see the standup (:func:`standup_blockers`): ``/standup blockers``, the
  API and the web page.

``blocker.opened`` and ``blocker.resolved`` webhook events enter the outbox in the transaction
of the change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import webhooks
from bot.outcomes import Refusal
from bot.people import Caller
from bot.reports import standup_named_or_by_id, unseen, working_weekdays
from bot.rules.attendance import person_date
from bot.rules.blockers import age_text, is_overdue, working_days_between
from bot.rules.permissions import Why, can_see
from bot.rules.questions import Question, blocker_text
from bot.rules.signing import WebhookEvent
from bot.runtime import Services
from bot.slack.gateway import PERMANENT_ERRORS, error_code, open_dm, send_dm
from bot.views.blockers import (
    AskedBlocker,
    BlockerLine,
    escalation_message,
    follow_up_message,
)
from storage import audit, members, standups
from storage import blockers as rows
from storage import home as home_rows
from storage import reports as reports_db
from storage.models import Blocker, Standup
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.blockers")

ESCALATION_BATCH = 500  # candidates looked at per step, oldest first


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _event_data(blocker: Blocker, user_id: str) -> dict[str, Any]:
    """``data`` of ``blocker.opened`` and ``blocker.resolved``."""
    return {
        "blocker": {
            "id": blocker.id,
            "user": user_id,
            "text": blocker.text,
            "opened_on": blocker.opened_on.isoformat(),
            "resolved_at": _timestamp(blocker.resolved_at) if blocker.resolved_at else None,
        }
    }


# --- opening, from the answers ----------------------------------------------------------------


async def answers_saved(
    session: AsyncSession,
    view: PromptView,
    questions: Sequence[Question],
    answers: Sequence[str | None],
    now: dt.datetime,
) -> None:
    """Open, change or resolve the blocker of this check-in to match its blocker answer, in the
    transaction that saves the answers."""
    workspace_id = view.prompt.workspace_id
    text = blocker_text(questions, answers)
    text = text.strip() if text else None
    raised = await rows.raised_in(session, workspace_id, view.prompt.id)
    user_id = view.member.slack_user_id
    if raised is not None:
        if text is None:  # edited to "none": it is over
            if await rows.resolve(session, workspace_id, raised.id, now):
                raised.resolved_at = now
                await _resolved(session, view.standup, raised, user_id, user_id, now)
        elif raised.text != text:
            raised.text = text
        return
    if text is None:
        return
    if await rows.open_with_text(session, workspace_id, view.standup.id, view.member.id, text):
        return  # the same blocker, said again: it is still the one being followed up
    blocker = await rows.add(
        session,
        workspace_id,
        standup_id=view.standup.id,
        member_id=view.member.id,
        prompt_id=view.prompt.id,
        text=text,
        opened_on=person_date(view.prompt.due_at, view.member.tz, view.prompt.local_date),
        now=now,
    )
    await webhooks.enqueue(
        session,
        workspace_id,
        view.standup.id,
        WebhookEvent.BLOCKER_OPENED,
        _event_data(blocker, user_id),
        now=now,
    )


async def _resolved(
    session: AsyncSession,
    standup: Standup,
    blocker: Blocker,
    user_id: str,
    actor: str,
    now: dt.datetime,
) -> None:
    await audit.record(
        session,
        standup.workspace_id,
        actor=actor,
        action="blocker.resolved",
        now=now,
        standup_id=standup.id,
        standup_name=standup.name,
        before={"blocker_id": blocker.id, "user": user_id, "text": blocker.text},
    )
    await webhooks.enqueue(
        session,
        standup.workspace_id,
        standup.id,
        WebhookEvent.BLOCKER_RESOLVED,
        _event_data(blocker, user_id),
        now=now,
    )


# --- the follow-up before the next prompt -------------------------------------------------------

FollowUps = dict[tuple[int, int, int], list[Blocker]]


async def open_in_batch(session: AsyncSession, views: Sequence[PromptView]) -> FollowUps:
    """The open blockers of everyone in a batch of prompts, by (workspace, standup, member):
    one query per batch."""
    return await rows.open_for_pairs(
        session, {(v.prompt.workspace_id, v.standup.id, v.member.id) for v in views}
    )


async def ask_still_blocked(
    services: Services, client: AsyncWebClient, view: PromptView, follow_ups: FollowUps
) -> int:
    """Before a prompt goes out: ask about the person's open blockers on this standup (raised
    in an earlier check-in, not asked about yet today). Returns how many were asked. Never
    raises: whatever goes wrong here must not keep the prompt itself from being sent."""
    try:
        return await _ask_still_blocked(services, client, view, follow_ups)
    except Exception:
        log.exception("blocker_follow_up_crashed", prompt_id=view.prompt.id)
        return 0


async def _ask_still_blocked(
    services: Services, client: AsyncWebClient, view: PromptView, follow_ups: FollowUps
) -> int:
    key = (view.prompt.workspace_id, view.standup.id, view.member.id)
    day = person_date(view.prompt.due_at, view.member.tz, view.prompt.local_date)
    candidates = [
        b
        for b in follow_ups.get(key, [])
        if b.prompt_id != view.prompt.id and (b.last_asked_on is None or b.last_asked_on < day)
    ]
    if not candidates:
        return 0
    async with services.db.session() as session:
        claimed = set(
            await rows.claim_asked(
                session, view.prompt.workspace_id, [b.id for b in candidates], day
            )
        )
    asked = [AskedBlocker(b.id, b.text) for b in candidates if b.id in claimed]
    if not asked:
        return 0
    message = follow_up_message(view.standup.name, asked)
    try:
        channel = view.member.dm_channel_id or await open_dm(client, view.member.slack_user_id)
        await client.chat_postMessage(channel=channel, **message)
    except SlackApiError as exc:
        log.warning("blocker_follow_up_failed", prompt_id=view.prompt.id, error=error_code(exc))
        return 0
    log.info("blockers_asked", prompt_id=view.prompt.id, count=len(asked))
    return len(asked)


@dataclass(frozen=True)
class BlockerRef:
    """Someone clicking a blocker's button: a hint (an id from a button value), not a right."""

    workspace_id: int
    user_id: str
    blocker_id: int | None


@dataclass(frozen=True)
class FollowUpAnswered:
    blocker_id: int
    resolved: bool
    changed: bool  # False: it was already resolved (a second click)


async def answer_follow_up(
    services: Services, ref: BlockerRef, *, resolved: bool
) -> FollowUpAnswered | Refusal:
    """The person says their blocker is resolved, or that they are still blocked. Only their own
    blocker of this workspace; one transaction with the audit entry and the webhook event."""
    now = services.clock()
    async with services.db.session() as session:
        found = (
            await rows.get(session, ref.workspace_id, ref.blocker_id)
            if ref.blocker_id is not None
            else None
        )
        if found is None or found.user_id != ref.user_id:
            return Refusal(Why.NOT_YOUR_BLOCKER)
        blocker = found.blocker
        if resolved:
            changed = await rows.resolve(session, ref.workspace_id, blocker.id, now)
            if changed:
                blocker.resolved_at = now
                await _resolved(session, found.standup, blocker, ref.user_id, ref.user_id, now)
                # Their App Home lists open blockers: redraw it without this one.
                await home_rows.mark_members_stale(
                    session, ref.workspace_id, [blocker.member_id], now
                )
        else:
            member = await members.get_member(session, ref.workspace_id, ref.user_id)
            day = person_date(now, member.tz if member else None, now.date())
            changed = await rows.mark_still_blocked(session, ref.workspace_id, blocker.id, day)
            # "Still blocked" on one resolved already (another message, a second click): it
            # stays resolved, and the message says so.
            resolved = blocker.resolved_at is not None
    log.info("blocker_follow_up", blocker_id=blocker.id, resolved=resolved, changed=changed)
    return FollowUpAnswered(blocker.id, resolved, changed)


# --- escalation (a scheduler step) --------------------------------------------------------------


@dataclass(frozen=True)
class _Escalation:
    workspace_id: int
    blocker_id: int
    user_id: str
    standup: Standup
    text: str
    age: str
    working_days: int


async def escalate_due(services: Services) -> int:
    """DM the owners of each standup about blockers open longer than its escalation threshold,
    once each: a fixed number of statements (find, claim, owners), the DMs after the commit.
    Returns how many blockers were escalated."""
    now = services.clock()
    async with services.db.session() as session:
        candidates = await rows.escalation_candidates(session, now.date(), ESCALATION_BATCH)
        due: list[_Escalation] = []
        for c in candidates:
            today = person_date(now, c.user_tz, now.date())
            weekdays = working_weekdays(c.standup)
            threshold = max(0, c.standup.blocker_escalation_days)
            if is_overdue(c.opened_on, today, threshold, weekdays):
                due.append(
                    _Escalation(
                        c.workspace_id,
                        c.blocker_id,
                        c.user_id,
                        c.standup,
                        c.text,
                        age_text(c.opened_on, today),
                        working_days_between(c.opened_on, today, weekdays),
                    )
                )
        claimed = await rows.claim_escalated(
            session, {(e.workspace_id, e.blocker_id) for e in due}, now
        )
        mine = [e for e in due if (e.workspace_id, e.blocker_id) in claimed]
        co_owners = await rows.co_owners(session, {(e.workspace_id, e.standup.id) for e in mine})
        by_workspace: dict[int, list[_Escalation]] = defaultdict(list)
        for e in mine:
            by_workspace[e.workspace_id].append(e)
        clients = {w: await services.slack.bot_client(session, w) for w in by_workspace}
    retry: set[tuple[int, int]] = set()
    for workspace_id, escalations in by_workspace.items():
        client = clients[workspace_id]
        if client is None:
            log.warning("blocker_escalation_no_token", count=len(escalations))
            continue
        for e in escalations:
            owners = {e.standup.owner_user_id} | co_owners.get((workspace_id, e.standup.id), set())
            if not await _tell_owners(client, e, sorted(owners - {e.user_id})):
                retry.add((workspace_id, e.blocker_id))
    if retry:  # nobody heard of it for a reason that may pass: the next round tries again
        async with services.db.session() as session:
            await rows.release_escalated(session, retry, now)
    return len(mine) - len(retry)


async def _tell_owners(client: AsyncWebClient, e: _Escalation, owners: Sequence[str]) -> bool:
    """DM each owner; False when none was told and a later try might reach one (a network
    error, Slack failing) — not when every failure is for good (an owner's account is gone)."""
    message = escalation_message(e.user_id, e.standup.name, e.text, e.age, e.working_days)
    told, passing = 0, 0
    for owner in owners:
        try:
            await send_dm(client, owner, message["text"], message["blocks"])
            told += 1
        except Exception as exc:  # claimed already: one owner's failure must not stop the others
            code = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("blocker_escalation_failed", blocker_id=e.blocker_id, error=code)
            passing += code not in PERMANENT_ERRORS
    log.info("blocker_escalated", blocker_id=e.blocker_id, owners=len(owners), told=told)
    return told > 0 or passing == 0


# --- listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandupBlockers:
    standup_id: int
    standup_name: str
    blockers: list[BlockerLine]


async def standup_blockers(
    services: Services, caller: Caller, which: str | int
) -> StandupBlockers | Refusal:
    """A standup's open blockers, oldest first, for anyone who may see the standup (by name from
    a command, by id from the API or the web page). Another workspace's id, or a private
    channel's standup they may not see, is answered as if it did not exist."""
    actor = await caller.actor()
    now = services.clock()
    workspace_id = caller.workspace_id
    async with services.db.session() as session:
        standup = await standup_named_or_by_id(session, workspace_id, which)
        if isinstance(standup, Refusal):
            return standup
        people = await standups.standup_participants(session, workspace_id, standup.id)
        involved = await standups.owner_ids(session, workspace_id, standup)
        if not can_see(
            actor, involved | {m.slack_user_id for m in people}, standup.channel_private
        ):
            return unseen(which)
        found = await reports_db.open_blockers(session, workspace_id, [standup.id])
    tz_of = {m.slack_user_id: m.tz for m in people}
    lines = []
    for row in found:
        today = person_date(now, tz_of.get(row.user_id), now.date())
        lines.append(
            BlockerLine(
                blocker_id=row.blocker_id,
                user_id=row.user_id,
                text=row.text,
                opened_on=row.opened_on,
                age_text=age_text(row.opened_on, today),
                still_blocked_on=row.still_blocked_on,
            )
        )
    return StandupBlockers(standup.id, standup.name, lines)
