"""Operator tasks: re-encrypt secrets with the newest key, erase a workspace's data."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import SecretBox
from storage.models import Installation, ProcessedEvent, Workspace


async def rotate_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Re-encrypt every stored secret with the first key; returns how many were rewritten."""
    rows = (await session.execute(select(Installation).with_for_update())).scalars()
    count = 0
    for row in rows:
        if row.bot_token_encrypted:
            row.bot_token_encrypted = box.rotate(row.bot_token_encrypted)
            count += 1
        if row.bot_refresh_token_encrypted:
            row.bot_refresh_token_encrypted = box.rotate(row.bot_refresh_token_encrypted)
            count += 1
    return count


async def delete_workspace_data(session: AsyncSession, team_id: str) -> bool:
    """Erase everything stored for one workspace (cascades to every table that references it).

    For a Grid org id (E…), the org's teams that were served by its org-wide install go too.
    """
    teams = [team_id]
    if team_id.startswith("E"):
        rows = await session.execute(
            select(Workspace.team_id).where(Workspace.enterprise_id == team_id)
        )
        teams += [r[0] for r in rows]
    await session.execute(delete(ProcessedEvent).where(ProcessedEvent.team_id.in_(teams)))
    result = await session.execute(delete(Workspace).where(Workspace.team_id.in_(teams)))
    return bool(result.rowcount)  # type: ignore[attr-defined]
