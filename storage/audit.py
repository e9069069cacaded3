"""The audit log: every configuration change, with who, when, and the values before and after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def record(
    session: AsyncSession,
    workspace_id: int,
    *,
    actor: str | None,
    action: str,
    now: dt.datetime,
    standup_id: int | None = None,
    standup_name: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            workspace_id=workspace_id,
            standup_id=standup_id,
            standup_name=standup_name,
            actor_user_id=actor,
            action=action,
            before=before,
            after=after,
            at=now,
        )
    )


async def standup_history(
    session: AsyncSession, workspace_id: int, standup_id: int, limit: int = 20
) -> list[AuditEntry]:
    rows = await session.execute(
        select(AuditEntry)
        .where(AuditEntry.workspace_id == workspace_id, AuditEntry.standup_id == standup_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def workspace_history(
    session: AsyncSession, workspace_id: int, limit: int = 20
) -> list[AuditEntry]:
    rows = await session.execute(
        select(AuditEntry)
        .where(AuditEntry.workspace_id == workspace_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def latest_action(
    session: AsyncSession, workspace_id: int, standup_id: int, actions: Sequence[str]
) -> str | None:
    """The most recent of these actions on a standup, if any (one indexed query)."""
    row = await session.execute(
        select(AuditEntry.action)
        .where(
            AuditEntry.workspace_id == workspace_id,
            AuditEntry.standup_id == standup_id,
            AuditEntry.action.in_(list(actions)),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(1)
    )
    return row.scalar_one_or_none()
