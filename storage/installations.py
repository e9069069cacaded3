"""Bot installations: tokens are stored as Fernet ciphertext only; these functions never see
plaintext except where the caller hands in an already-encrypted value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Installation, Workspace


async def active_installation(
    session: AsyncSession, team_key: str, *, org_wide: bool
) -> tuple[Workspace, Installation] | None:
    """The installation stored under a team (or Grid org) id, if that workspace is active and
    still holds a token; with `org_wide`, only an org-wide install counts."""
    workspace = (
        await session.execute(select(Workspace).where(Workspace.team_id == team_key))
    ).scalar_one_or_none()
    if workspace is None or not workspace.active:
        return None
    row = (
        await session.execute(select(Installation).where(Installation.workspace_id == workspace.id))
    ).scalar_one_or_none()
    if row is None or row.bot_token_encrypted is None:
        return None
    if org_wide and not row.is_enterprise_install:
        return None
    return workspace, row


async def lock_for_refresh(session: AsyncSession, installation_id: int) -> Installation | None:
    """The row, locked so only one process spends its refresh token.

    Postgres: a row lock. SQLite has none: a no-op write takes the database write lock before
    reading, so a second process waits here and then sees the refreshed token.
    """
    stmt = select(Installation).where(Installation.id == installation_id)
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(
            update(Installation)
            .where(Installation.id == installation_id)
            .values(updated_at=Installation.updated_at)
        )
    else:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_installation(
    session: AsyncSession, workspace_id: int, values: dict[str, Any], now: dt.datetime
) -> bool:
    """Insert or update the workspace's one installation; True if one existed already."""
    existing = (
        await session.execute(select(Installation).where(Installation.workspace_id == workspace_id))
    ).scalar_one_or_none()
    if existing is None:
        session.add(Installation(workspace_id=workspace_id, installed_at=now, **values))
        return False
    for name, value in values.items():  # a second install (new scopes) updates, never duplicates
        setattr(existing, name, value)
    return True


async def delete_installation(session: AsyncSession, workspace_id: int) -> None:
    await session.execute(delete(Installation).where(Installation.workspace_id == workspace_id))


async def reencrypt_all(session: AsyncSession, rotate: Callable[[str], str]) -> int:
    """Re-encrypt every stored secret with `rotate`; returns how many were rewritten."""
    rows = (await session.execute(select(Installation).with_for_update())).scalars()
    count = 0
    for row in rows:
        if row.bot_token_encrypted:
            row.bot_token_encrypted = rotate(row.bot_token_encrypted)
            count += 1
        if row.bot_refresh_token_encrypted:
            row.bot_refresh_token_encrypted = rotate(row.bot_refresh_token_encrypted)
            count += 1
    return count
