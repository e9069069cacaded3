"""Operator tasks behind the command line: re-encrypt secrets, erase a workspace's data."""

from __future__ import annotations

from storage import installations, webhooks, workspaces
from storage.crypto import SecretBox
from storage.db import Database


async def rotate_keys(db: Database, box: SecretBox) -> int:
    """Re-encrypt every stored secret with the first key; returns how many were rewritten."""
    async with db.session() as session:
        count = await installations.reencrypt_all(session, box.rotate)
        return count + await webhooks.reencrypt_secrets(session, box.rotate)


async def delete_workspace(db: Database, team_id: str) -> bool:
    """Erase everything stored for one workspace (or Grid org); False if there was nothing."""
    async with db.session() as session:
        return await workspaces.delete_workspace_data(session, team_id)
