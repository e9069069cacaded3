"""Participants from a channel (pure): who in a channel's member list takes part, how the
participant list changes, and when a channel is too big to follow.

A standup whose participants are "everyone in the channel" takes the channel's members minus
AsyncStand itself, other bots and deactivated accounts — as far as the cached profiles tell.
People whose profile is not known yet are taken too; the planner looks them up before anyone
is prompted (bot.planning.profile_known), and the next sync drops any that turned out to be bots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

__all__ = [
    "CHANNEL_PARTICIPANTS_CEILING",
    "MAX_CHANNEL_PARTICIPANTS",
    "RECONCILE_EVERY",
    "SLACKBOT",
    "RosterChange",
    "change",
    "due_phases",
    "from_channel",
    "moment",
    "period_of",
    "phase_of",
    "read_enough",
]

# The default of MAX_CHANNEL_PARTICIPANTS: a 1,000-person channel works out of the box.
MAX_CHANNEL_PARTICIPANTS = 1000
# How far operators may raise it: every step of a sync stays one SQL statement up to here
# (databases take ~32,000 parameters per statement), and the first users.info look-ups
# (100 a minute) and first DMs (50 conversations.open a minute) of a new channel stay minutes.
CHANNEL_PARTICIPANTS_CEILING = 5000
# Slackbot is in every channel's member list on some workspaces; it is never a participant.
SLACKBOT = "USLACKBOT"


def read_enough(members_read: int, limit: int) -> bool:
    """Whether to stop paging a channel's members: past twice the limit (and past 1,000) the
    channel is over it whatever share of bots it has, and paging a 50,000-person channel to say
    so is waste."""
    return members_read > max(2 * limit, 1000)


def from_channel(
    channel_members: Iterable[str],
    *,
    ourselves: Collection[str],
    bots: Collection[str],
    deactivated: Collection[str],
) -> list[str]:
    """The channel's members who take part, sorted: not us, not Slackbot, not a known bot, not
    a known deactivated account."""
    excluded = {SLACKBOT, *ourselves, *bots, *deactivated}
    return sorted({u for u in channel_members if u and u not in excluded})


@dataclass(frozen=True)
class RosterChange:
    """How a participant list changes: who is added, who is removed, how many the channel
    would make (`wanted`) and whether that was refused for being over the limit."""

    add: frozenset[str]
    remove: frozenset[str]
    wanted: int
    refused: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)


def change(
    current: Collection[str], wanted: Collection[str], limit: int, *, complete: bool = True
) -> RosterChange:
    """From the current participants to the wanted ones. Over the limit nobody is added (the
    standup keeps its participants), but people who left the channel are still removed: they
    are never asked about a channel they are no longer in. An incomplete member list (paging
    stopped, see read_enough) is over the limit and removes nobody."""
    wanted_set, current_set = frozenset(wanted), frozenset(current)
    if not complete:
        return RosterChange(frozenset(), frozenset(), len(wanted_set), refused=True)
    add, remove = wanted_set - current_set, current_set - wanted_set
    if len(wanted_set) > limit and add:
        return RosterChange(frozenset(), remove, len(wanted_set), refused=True)
    return RosterChange(add, remove, len(wanted_set))


# --- when each standup is reconciled ------------------------------------------------------------

# Every channel-synced standup reads its channel again this often, each at its own moment of
# the period: its phase, spread over the period by its id (a multiplier coprime with the
# period's seconds maps consecutive ids far apart, and every phase is taken once per period).
RECONCILE_EVERY = dt.timedelta(hours=6)
RECONCILE_PERIOD_SECONDS = int(RECONCILE_EVERY.total_seconds())
RECONCILE_SPREAD = 7919
# The scheduler asks which standups are due at most this often, and reconciles at most this
# many per tick, for at most this long (the rest wait for the next ticks).
RECONCILE_LOOK_EVERY = dt.timedelta(minutes=1)
RECONCILE_PER_TICK = 5
RECONCILE_BUDGET_SECONDS = 5.0

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _seconds(at: dt.datetime) -> int:
    return (at - _EPOCH) // dt.timedelta(seconds=1)


def phase_of(standup_id: int) -> int:
    """Seconds into each period at which this standup is reconciled (as SQL computes it)."""
    period = RECONCILE_PERIOD_SECONDS
    return ((standup_id % period) * RECONCILE_SPREAD) % period


def due_phases(since: dt.datetime, now: dt.datetime) -> list[tuple[int, int]]:
    """The phases whose moment falls in (since, now], as half-open ranges (low, high]: one
    range, two when the window wraps round the period, everything when it spans a period."""
    period = RECONCILE_PERIOD_SECONDS
    start, end = _seconds(since), _seconds(now)
    if end <= start:
        return []
    if end - start >= period:
        return [(-1, period - 1)]
    low, high = start % period, end % period
    if low < high:
        return [(low, high)]
    return [(low, period - 1), (-1, high)]


def period_of(standup_id: int, now: dt.datetime) -> int:
    """Which period's moment of this standup is the latest at or before `now` (a number that
    names that reconcile, so it is done once)."""
    return (_seconds(now) - phase_of(standup_id)) // RECONCILE_PERIOD_SECONDS


def moment(standup_id: int, period: int) -> dt.datetime:
    """When a standup's reconcile of a given period (see period_of) falls."""
    seconds = period * RECONCILE_PERIOD_SECONDS + phase_of(standup_id)
    return _EPOCH + dt.timedelta(seconds=seconds)
