"""Participants from a channel: a standup that takes "everyone in the channel" follows its
channel's members (bot.rules.roster says who counts).

The participant list is synced
- right after the standup form is saved (`sync_standup`, once the modal is acknowledged),
- on `member_joined_channel` / `member_left_channel` events (`member_changed`: the one person
  is added or removed; when AsyncStand itself is invited, the channel is read whole),
- and by a periodic reconcile through conversations.members (`Reconciler`), which fixes any
  drift — a missed event, events out of order — every RECONCILE_EVERY per standup.

A sync is a fixed number of statements whatever the channel's size. A channel with more
people than MAX_CHANNEL_PARTICIPANTS is refused: nobody is added, the owners are told once
(until the standup is edited or the channel is back within the limit; both are in the
standup's history), and people who leave are still removed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.rules import roster as rules
from bot.runtime import Services
from bot.slack.gateway import error_code, send_dm
from bot.views import wording
from storage import audit, home, members, standups, workspaces
from storage import events as claims
from storage.events import EventStart
from storage.models import ParticipantSource

log = structlog.get_logger("asyncstand.roster")

# Members per conversations.members page (Slack recommends no more than 200).
MEMBERS_PAGE = 200
# The history entries that say whether a standup's owners were told it is over the limit.
REFUSED = "channel_over_limit"
RESUMED = "channel_within_limit"
_TOLD_STATES = ("create", "edit", REFUSED, RESUMED)
# A reconcile claim not completed after this is taken to have died with its replica.
CLAIM_STALE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Synced:
    """A standup's participants after a sync; `refused` when the channel is over the limit."""

    standup_id: int
    participants: int
    added: int
    removed: int
    refused: bool = False


@dataclass(frozen=True)
class _Listing:
    """What we know of a channel's members: all of them (`complete` unless paging stopped
    early), or one person who joined or left (an event)."""

    members: frozenset[str]
    complete: bool = True
    joined: bool | None = None  # None: the whole list; True/False: an event about `members`


class _ReadWhole:
    """An event can't be applied on its own: the standup is over the limit, so its
    participants are not the channel's members. The channel is read instead."""


READ_WHOLE = _ReadWhole()


# --- reading Slack ------------------------------------------------------------------------------


async def channel_members(client: AsyncWebClient, channel_id: str, limit: int) -> _Listing:
    """Every member of a channel, page by page; paging stops past twice the limit (the
    channel is over it then, whatever its share of bots). Raises SlackApiError."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        response = await client.conversations_members(
            channel=channel_id, limit=MEMBERS_PAGE, cursor=cursor
        )
        found.extend(str(u) for u in response.get("members") or [])
        if rules.read_enough(len(found), limit):
            return _Listing(frozenset(found), complete=False)
        metadata: dict[str, Any] = response.get("response_metadata") or {}
        cursor = metadata.get("next_cursor") or None
        if cursor is None:
            return _Listing(frozenset(found))


# --- the use cases ------------------------------------------------------------------------------


async def sync_standup(
    services: Services,
    client: AsyncWebClient,
    workspace_id: int,
    standup_id: int,
    *,
    bot_user_id: str | None = None,
) -> Synced | None:
    """Make a standup's channel members its participants. None if it takes chosen people (or
    is gone), or if Slack would not list the channel's members (the previous participants stay;
    the reconcile tries again)."""
    async with services.db.session() as session:
        standup = await standups.get_standup(session, workspace_id, standup_id)
        if standup is None or standup.participant_source != ParticipantSource.CHANNEL:
            return None
        channel_id = standup.channel_id
    listing = await _read(services, client, channel_id)
    if listing is None:
        return None
    done = await _apply(
        services, client, workspace_id, standup_id, channel_id, listing, bot_user_id
    )
    return done if isinstance(done, Synced) else None


async def sync_channel(
    services: Services,
    client: AsyncWebClient,
    workspace_id: int,
    channel_id: str,
    *,
    bot_user_id: str | None = None,
) -> list[Synced]:
    """Every standup that takes everyone in this channel, the member list read once."""
    async with services.db.session() as session:
        ids = [s.id for s in await standups.channel_standups(session, workspace_id, channel_id)]
    if not ids:
        return []
    listing = await _read(services, client, channel_id)
    if listing is None:
        return []
    results = []
    for standup_id in ids:
        done = await _apply(
            services, client, workspace_id, standup_id, channel_id, listing, bot_user_id
        )
        if isinstance(done, Synced):
            results.append(done)
    return results


async def member_changed(
    services: Services,
    client: AsyncWebClient,
    workspace_id: int,
    channel_id: str,
    user_id: str,
    *,
    joined: bool,
    bot_user_id: str | None = None,
) -> list[Synced]:
    """Someone joined or left a channel: every standup that takes everyone in it follows.
    AsyncStand itself joining (invited into a private channel) reads the whole channel."""
    if user_id == bot_user_id:
        if not joined:  # we can't read the channel any more: its people stay as they are
            return []
        return await sync_channel(
            services, client, workspace_id, channel_id, bot_user_id=bot_user_id
        )
    async with services.db.session() as session:
        ids = [s.id for s in await standups.channel_standups(session, workspace_id, channel_id)]
    event = _Listing(frozenset({user_id}), joined=joined)
    results = []
    for standup_id in ids:
        done = await _apply(
            services, client, workspace_id, standup_id, channel_id, event, bot_user_id
        )
        if done is READ_WHOLE:
            done = await sync_standup(
                services, client, workspace_id, standup_id, bot_user_id=bot_user_id
            )
        if isinstance(done, Synced):
            results.append(done)
    return results


# --- shared steps -------------------------------------------------------------------------------


async def _read(services: Services, client: AsyncWebClient, channel_id: str) -> _Listing | None:
    try:
        return await channel_members(client, channel_id, services.settings.max_channel_participants)
    except SlackApiError as exc:
        log.warning("channel_members_unreadable", channel=channel_id, error=error_code(exc))
        return None


async def _apply(
    services: Services,
    client: AsyncWebClient,
    workspace_id: int,
    standup_id: int,
    channel_id: str,
    listing: _Listing,
    bot_user_id: str | None,
) -> Synced | _ReadWhole | None:
    """Apply what we know of the channel to one standup's participants, in one transaction of
    a fixed number of statements; then, if it is newly over the limit, tell its owners."""
    limit = services.settings.max_channel_participants
    ourselves = {bot_user_id} if bot_user_id else set()
    now = services.clock()
    owners: set[str] = set()
    async with services.db.session() as session:
        standup = await standups.hold_standup(session, workspace_id, standup_id)
        if (
            standup is None
            or standup.participant_source != ParticipantSource.CHANNEL
            or standup.channel_id != channel_id  # moved meanwhile: the next sync follows
        ):
            return None
        told = await audit.latest_action(session, workspace_id, standup_id, _TOLD_STATES)
        if listing.joined is not None and told == REFUSED:
            return READ_WHOLE
        current = await standups.participants_by_user(session, workspace_id, standup_id)
        candidates = listing.members if listing.joined is not False else frozenset()
        people = await members.ensure_members(session, workspace_id, candidates)
        await members.mark_bots(session, workspace_id, ourselves & people.keys(), now)
        eligible = rules.from_channel(
            people,
            ourselves=ourselves,
            bots={u for u, m in people.items() if m.is_bot},
            deactivated={u for u, m in people.items() if m.deleted},
        )
        wanted: Collection[str]
        if listing.joined is None:
            wanted = eligible
        elif listing.joined:
            wanted = current.keys() | set(eligible)
        else:
            wanted = current.keys() - listing.members
        delta = rules.change(current, wanted, limit, complete=listing.complete)
        await standups.change_participants(
            session,
            workspace_id,
            standup,
            add=[people[u].id for u in delta.add],
            remove=[current[u] for u in delta.remove],
            now=now,
        )
        if delta.changed:  # the App Homes of who joined or left, and of the owners
            moved = [people[u].id for u in delta.add] + [current[u] for u in delta.remove]
            await home.mark_members_and_owners_stale(session, workspace_id, standup.id, moved, now)
        if delta.refused and told != REFUSED:
            size = {"people": delta.wanted if listing.complete else len(listing.members)}
            await _audit(session, workspace_id, standup.id, standup.name, REFUSED, now, size, limit)
            owners = await standups.owner_ids(session, workspace_id, standup)
        elif not delta.refused and told == REFUSED and delta.wanted <= limit:
            size = {"people": delta.wanted}
            await _audit(session, workspace_id, standup.id, standup.name, RESUMED, now, size, limit)
        name = standup.name
    participants = len(current) + len(delta.add) - len(delta.remove)
    if delta.changed:
        services.wake_scheduler()
    log.info(
        "channel_synced",
        standup_id=standup_id,
        participants=participants,
        added=len(delta.add),
        removed=len(delta.remove),
        refused=delta.refused,
    )
    if owners:
        message = wording.channel_over_limit(
            name,
            channel_id,
            people=delta.wanted if listing.complete else len(listing.members),
            complete=listing.complete,
            limit=limit,
            kept=participants,
        )
        for owner in sorted(owners):
            try:
                await send_dm(client, owner, message["text"], message["blocks"])
            except SlackApiError as exc:
                log.warning("dm_failed", error=error_code(exc))
    return Synced(standup_id, participants, len(delta.add), len(delta.remove), delta.refused)


async def _audit(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    name: str,
    action: str,
    now: dt.datetime,
    size: dict[str, int],
    limit: int,
) -> None:
    await audit.record(
        session,
        workspace_id,
        actor=None,
        action=action,
        standup_id=standup_id,
        standup_name=name,
        after={"channel": size["people"], "limit": limit},
        now=now,
    )


# --- the periodic reconcile ---------------------------------------------------------------------


class Reconciler:
    """Reads each channel-synced standup's channel again every RECONCILE_EVERY, each at its own
    moment of the period (spread by its id), a few per scheduler tick.

    Which standups are due is asked of the database at most once a minute, for the moments
    passed since the last time — one query, empty when nothing is due. Each standup's moment is
    claimed once across replicas (a "reconcile:<standup>:<period>" record among the handled
    event ids), so replicas don't repeat one another's work. A process starting looks back one
    whole period: a reconcile missed while nothing ran is done then.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        self._checked: dt.datetime | None = None
        self._due: deque[tuple[int, int, int]] = deque()  # (workspace, standup, period index)

    async def step(self, now: dt.datetime) -> int:
        """Look for due standups (at most once a minute), then reconcile a few; returns how
        many were reconciled."""
        await self._look(now)
        done = 0
        started = time.monotonic()
        while self._due and done < rules.RECONCILE_PER_TICK:
            if time.monotonic() - started > rules.RECONCILE_BUDGET_SECONDS:
                break
            workspace_id, standup_id, period = self._due.popleft()
            try:
                if await self._reconcile(workspace_id, standup_id, period, now):
                    done += 1
            except Exception:  # one standup's failure must not stop the others
                log.exception("channel_reconcile_failed", standup_id=standup_id)
        return done

    async def _look(self, now: dt.datetime) -> None:
        last = self._checked
        if last is not None and abs(now - last) < rules.RECONCILE_LOOK_EVERY:
            return
        since = last if last is not None and last < now else now - rules.RECONCILE_EVERY
        self._checked = now
        async with self.services.db.session() as session:
            due = await standups.channel_standups_in_phase(
                session,
                rules.due_phases(since, now),
                rules.RECONCILE_PERIOD_SECONDS,
                rules.RECONCILE_SPREAD,
            )
        queued = {(w, s) for w, s, _ in self._due}
        for workspace_id, standup_id, created_at in due:
            period = rules.period_of(standup_id, now)
            if created_at >= rules.moment(standup_id, period):
                continue  # made after its moment, and synced then: next period
            if (workspace_id, standup_id) not in queued:
                self._due.append((workspace_id, standup_id, period))

    async def _reconcile(
        self, workspace_id: int, standup_id: int, period: int, now: dt.datetime
    ) -> bool:
        services = self.services
        key = f"reconcile:{standup_id}:{period}"
        async with services.db.session() as session:
            workspace = await workspaces.workspace_by_id(session, workspace_id)
            client = await services.slack.bot_client(session, workspace_id)
        if workspace is None or client is None:  # uninstalled meanwhile
            return False
        async with services.db.session() as session:
            start = await claims.begin_event(session, key, workspace.team_id, now, CLAIM_STALE)
        if start not in (EventStart.NEW, EventStart.RETAKEN):
            return False  # another replica did it, or is doing it
        try:
            with structlog.contextvars.bound_contextvars(
                team_id=workspace.team_id, standup_id=standup_id
            ):
                await sync_standup(services, client, workspace_id, standup_id)
        except Exception:
            async with services.db.session() as session:
                await claims.abandon_event(session, key)
            raise
        async with services.db.session() as session:
            await claims.complete_event(session, key, services.clock())
        return True
