"""Out-of-office time through the REST API: read, set (replacing what is set from today on) and
clear one person's away periods.

For the integrator: ``bot/attendance.py`` (issue 9, `/standup ooo`) is being built at the same
time. This module is deliberately small so that it can become a thin layer over those use cases
(or be folded into them) when both land: the permission rule is
``permissions.can_manage_away`` and dates are the person's own calendar, as in
``bot.rules.away``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outcomes import FieldErrors, Refusal, refused
from bot.people import Caller
from bot.rules.away import MAX_RANGE_DAYS
from bot.rules.permissions import Actor, can_manage_away
from bot.runtime import Services
from storage import audit, away_periods, members
from storage.models import AwayPeriod, Member

log = structlog.get_logger("asyncstand.attendance_api")


@dataclass(frozen=True)
class AwayPeriodItem:
    period_id: int
    start: dt.date
    end: dt.date
    set_by: str | None


@dataclass(frozen=True)
class AwayTime:
    """A person's away periods that are not over yet; `today` is their own local date."""

    user_id: str
    today: dt.date
    periods: list[AwayPeriodItem]


@dataclass(frozen=True)
class AwayCleared:
    user_id: str
    cleared: int


@dataclass(frozen=True)
class NoSuchPerson:
    """Nobody with that id takes part in anything in this workspace."""

    user_id: str


def _today(member: Member | None, now: dt.datetime) -> dt.date:
    try:
        zone = ZoneInfo(member.tz) if member is not None and member.tz else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


async def _person(
    session: AsyncSession, workspace_id: int, actor: Actor, user_id: str, *, create: bool
) -> Member | NoSuchPerson | Refusal:
    """The person whose away time is asked about, if `actor` may manage it."""
    if user_id == actor.user_id and create:
        return (await members.ensure_members(session, workspace_id, [user_id]))[user_id]
    member = await members.get_member(session, workspace_id, user_id)
    if member is None:
        return NoSuchPerson(user_id)
    owns = user_id != actor.user_id and await away_periods.owns_a_standup_of(
        session, workspace_id, actor.user_id, member.id
    )
    decision = can_manage_away(actor, user_id, owns_their_standup=owns)
    return member if decision else refused(decision)


def _away_time(user_id: str, today: dt.date, rows: list[AwayPeriod]) -> AwayTime:
    items = [AwayPeriodItem(p.id, p.starts_on, p.ends_on, p.set_by) for p in rows]
    return AwayTime(user_id, today, items)


async def away_time(
    services: Services, caller: Caller, user_id: str
) -> AwayTime | NoSuchPerson | Refusal:
    actor = await caller.actor()
    async with services.db.session() as session:
        if user_id == actor.user_id:
            member = await members.get_member(session, caller.workspace_id, user_id)
        else:
            found = await _person(session, caller.workspace_id, actor, user_id, create=False)
            if isinstance(found, NoSuchPerson | Refusal):
                return found
            member = found
        today = _today(member, services.clock())
        rows = (
            await away_periods.current_periods(session, caller.workspace_id, member.id, today)
            if member is not None
            else []
        )
    return _away_time(user_id, today, rows)


def _range_errors(start: dt.date, end: dt.date, today: dt.date) -> dict[str, str]:
    if end < start:
        return {"end": f"The range ends ({end}) before it starts ({start}): put the earlier first."}
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        return {"end": f"That range is {days} days long; the most is {MAX_RANGE_DAYS} (a year)."}
    if end < today:
        return {"end": f"That range is already over (today is {today} for this person)."}
    return {}


async def set_away(
    services: Services, caller: Caller, user_id: str, start: dt.date, end: dt.date
) -> AwayTime | FieldErrors | NoSuchPerson | Refusal:
    """Away from `start` to `end` (both included, the person's own dates): this replaces every
    period not over yet. The scheduler sends no prompt on those days."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        found = await _person(session, caller.workspace_id, actor, user_id, create=True)
        if isinstance(found, NoSuchPerson | Refusal):
            return found
        today = _today(found, now)
        errors = _range_errors(start, end, today)
        if errors:
            return FieldErrors(errors)
        before = await away_periods.current_periods(session, caller.workspace_id, found.id, today)
        await away_periods.clear_periods(session, caller.workspace_id, found.id, today)
        await away_periods.add_period(
            session,
            caller.workspace_id,
            found.id,
            starts_on=start,
            ends_on=end,
            set_by=caller.user_id,
            now=now,
        )
        await audit.record(
            session,
            caller.workspace_id,
            actor=caller.user_id,
            action="ooo",
            before={"user": user_id, "away": [f"{p.starts_on}/{p.ends_on}" for p in before]},
            after={"user": user_id, "away": [f"{start}/{end}"]},
            now=now,
        )
        rows = await away_periods.current_periods(session, caller.workspace_id, found.id, today)
    log.info("away_set", days=(end - start).days + 1)
    return _away_time(user_id, today, rows)


async def clear_away(
    services: Services, caller: Caller, user_id: str
) -> AwayCleared | NoSuchPerson | Refusal:
    """Clear every away period not over yet."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        found = await _person(session, caller.workspace_id, actor, user_id, create=False)
        if isinstance(found, NoSuchPerson):
            return AwayCleared(user_id, 0) if user_id == actor.user_id else found
        if isinstance(found, Refusal):
            return found
        today = _today(found, now)
        before = await away_periods.current_periods(session, caller.workspace_id, found.id, today)
        cleared = await away_periods.clear_periods(session, caller.workspace_id, found.id, today)
        if cleared:
            await audit.record(
                session,
                caller.workspace_id,
                actor=caller.user_id,
                action="ooo",
                before={"user": user_id, "away": [f"{p.starts_on}/{p.ends_on}" for p in before]},
                after={"user": user_id, "away": []},
                now=now,
            )
    return AwayCleared(user_id, cleared)
