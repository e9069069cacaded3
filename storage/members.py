"""People we have dealt with in a workspace, with their cached Slack profile and DM channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import upsert
from storage.models import Member, Participant, Standup


async def ensure_members(
    session: AsyncSession, workspace_id: int, slack_user_ids: Iterable[str]
) -> dict[str, Member]:
    """Get or create member rows for these users; returns them by Slack user id."""
    wanted = sorted(set(slack_user_ids))
    if not wanted:
        return {}
    stmt = upsert(session, Member).values(
        [
            {"workspace_id": workspace_id, "slack_user_id": u, "is_bot": False, "deleted": False}
            for u in wanted
        ]
    )
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
    )
    rows = await session.execute(
        select(Member).where(Member.workspace_id == workspace_id, Member.slack_user_id.in_(wanted))
    )
    return {m.slack_user_id: m for m in rows.scalars()}


async def get_member(session: AsyncSession, workspace_id: int, slack_user_id: str) -> Member | None:
    return (
        await session.execute(
            select(Member).where(
                Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
            )
        )
    ).scalar_one_or_none()


async def members_needing_profile(
    session: AsyncSession, workspace_id: int, stale_before: dt.datetime, limit: int = 50
) -> list[Member]:
    """Participants whose cached profile (time zone) is missing or stale: never looked up
    first, then the stalest."""
    rows = await session.execute(
        select(Member)
        .join(Participant, Participant.member_id == Member.id)
        .join(Standup, Standup.id == Participant.standup_id)
        .where(
            Member.workspace_id == workspace_id,
            Standup.workspace_id == workspace_id,
            Standup.active.is_(True),
            or_(Member.profile_refreshed_at.is_(None), Member.profile_refreshed_at < stale_before),
        )
        .distinct()
        .order_by(Member.profile_refreshed_at.nulls_first(), Member.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def update_member_profile(
    session: AsyncSession,
    workspace_id: int,
    slack_user_id: str,
    *,
    name: str | None,
    tz: str | None,
    is_bot: bool,
    deleted: bool,
    now: dt.datetime,
    is_admin: bool = False,
) -> None:
    """Cache what users.info said; a new time zone makes their standups plan again."""
    await ensure_members(session, workspace_id, [slack_user_id])
    previous = (
        await session.execute(
            select(Member.id, Member.tz).where(
                Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
            )
        )
    ).one()
    if previous.tz != tz:  # their prompts now fall at another instant: plan again
        await session.execute(
            update(Standup)
            .where(
                Standup.workspace_id == workspace_id,
                Standup.id.in_(
                    select(Participant.standup_id).where(
                        Participant.workspace_id == workspace_id,
                        Participant.member_id == previous.id,
                    )
                ),
            )
            .values(planned_until=None)
        )
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .values(
            name=name,
            tz=tz,
            is_bot=is_bot,
            deleted=deleted,
            is_admin=is_admin,
            profile_refreshed_at=now,
        )
    )


async def mark_profile_checked(
    session: AsyncSession, workspace_id: int, slack_user_id: str, now: dt.datetime
) -> None:
    await session.execute(
        update(Member)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .values(profile_refreshed_at=now)
    )


async def remember_dm_channels(
    session: AsyncSession, channels: Sequence[tuple[int, int, str | None]]
) -> None:
    """Cache (workspace_id, member_id, DM channel) for many people at once, in one statement
    (None forgets a stale channel)."""
    if not channels:
        return
    table = cast(Table, Member.__table__)  # Core: one executemany, per-row values
    await session.execute(
        update(table)
        .where(table.c.workspace_id == bindparam("w"), table.c.id == bindparam("m"))
        .values(dm_channel_id=bindparam("channel")),
        [{"w": w, "m": m, "channel": c} for w, m, c in channels],
    )


async def mark_bots(
    session: AsyncSession, workspace_id: int, slack_user_ids: Iterable[str], now: dt.datetime
) -> None:
    """Remember these users (those we have a row for) as bots: AsyncStand's own bot user, which
    Slack names to us, need not wait for a users.info look-up to be left out."""
    wanted = sorted(set(slack_user_ids))
    if not wanted:
        return
    await session.execute(
        update(Member)
        .where(
            Member.workspace_id == workspace_id,
            Member.slack_user_id.in_(wanted),
            Member.is_bot.is_(False),
        )
        .values(is_bot=True, profile_refreshed_at=func.coalesce(Member.profile_refreshed_at, now))
    )
