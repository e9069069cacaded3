"""Workspaces (a Slack team, or a Grid org for org-wide installs): find, switch off, erase."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import Installation, ProcessedEvent, Prompt, PromptState, Workspace


async def ensure_workspace(
    session: AsyncSession,
    team_id: str,
    *,
    enterprise_id: str | None = None,
    name: str | None = None,
) -> Workspace:
    """Get or create the workspace row for a Slack team (race-safe)."""
    stmt = upsert(session, Workspace).values(
        team_id=team_id, enterprise_id=enterprise_id, name=name, active=True
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["team_id"]))
    workspace = (
        await session.execute(select(Workspace).where(Workspace.team_id == team_id))
    ).scalar_one()
    if name and workspace.name != name:
        workspace.name = name
    return workspace


async def get_workspace(session: AsyncSession, team_id: str) -> Workspace | None:
    return (
        await session.execute(select(Workspace).where(Workspace.team_id == team_id))
    ).scalar_one_or_none()


async def workspace_by_id(session: AsyncSession, workspace_id: int) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def team_ids(session: AsyncSession, workspace_ids: set[int]) -> dict[int, str]:
    """Slack team ids of these workspaces, for log context."""
    if not workspace_ids:
        return {}
    rows = await session.execute(
        select(Workspace.id, Workspace.team_id).where(Workspace.id.in_(workspace_ids))
    )
    return {w: t for w, t in rows}


async def deactivate(session: AsyncSession, workspace_id: int) -> bool:
    """Forget the tokens and stop all scheduled work; True if it was active until now.

    `active` is flipped first, conditionally: the row lock (or SQLite's write lock) makes a
    concurrent second uninstall event wait here and then find nothing left to deactivate.
    """
    flipped = await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id, Workspace.active.is_(True))
        .values(active=False)
    )
    await session.execute(
        update(Installation)
        .where(Installation.workspace_id == workspace_id)
        .values(bot_token_encrypted=None, bot_refresh_token_encrypted=None)
    )
    await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.state.in_((PromptState.PENDING, PromptState.SENDING)),
        )
        .values(state=PromptState.MISSED, error="app uninstalled", lease_until=None)
    )
    return affected(flipped) > 0


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
    return affected(result) > 0
