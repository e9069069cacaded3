"""Sign in with Slack attempts (login_state) and signed-in browsers (web_session).

Only digests of the cookie values are stored: a leaked table (or backup) hands out no live
session and no usable sign-in attempt. A session is looked up by its digest (that is how a
request finds its workspace); everything that acts on a workspace's sessions takes it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import LoginState, WebSession, Workspace

# --- sign-in attempts ---------------------------------------------------------------------------


async def issue_login_state(
    session: AsyncSession,
    state_digest: str,
    *,
    nonce: str,
    return_to: str | None,
    now: dt.datetime,
    ttl: dt.timedelta,
) -> None:
    session.add(
        LoginState(
            state_digest=state_digest,
            nonce=nonce,
            return_to=return_to,
            expires_at=now + ttl,
            created_at=now,
        )
    )


async def consume_login_state(
    session: AsyncSession, state_digest: str, now: dt.datetime
) -> tuple[str, str | None] | None:
    """Single use: (nonce, return_to) once for a live attempt, then never again. Two
    concurrent callbacks with one state: only the one whose DELETE removed the row wins."""
    row = (
        await session.execute(
            select(LoginState.nonce, LoginState.return_to).where(
                LoginState.state_digest == state_digest, LoginState.expires_at > now
            )
        )
    ).first()
    if row is None:
        return None
    result = await session.execute(
        delete(LoginState).where(
            LoginState.state_digest == state_digest, LoginState.expires_at > now
        )
    )
    return (row.nonce, row.return_to) if affected(result) else None


async def forget_expired_login_states(session: AsyncSession, now: dt.datetime) -> int:
    result = await session.execute(delete(LoginState).where(LoginState.expires_at <= now))
    return affected(result)


# --- sessions -----------------------------------------------------------------------------------


async def create_session(
    session: AsyncSession,
    workspace_id: int,
    *,
    id_digest: str,
    slack_user_id: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    session.add(
        WebSession(
            id_digest=id_digest,
            workspace_id=workspace_id,
            slack_user_id=slack_user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


async def live_session(
    session: AsyncSession, id_digest: str, *, now: dt.datetime, idle: dt.timedelta
) -> WebSession | None:
    """The session with this digest if it has not ended, expired or been idle too long."""
    return (
        await session.execute(
            select(WebSession).where(
                WebSession.id_digest == id_digest,
                WebSession.ended_at.is_(None),
                WebSession.expires_at > now,
                WebSession.last_seen_at > now - idle,
            )
        )
    ).scalar_one_or_none()


async def touch_session(
    session: AsyncSession, workspace_id: int, id_digest: str, now: dt.datetime
) -> None:
    await session.execute(
        update(WebSession)
        .where(
            WebSession.workspace_id == workspace_id,
            WebSession.id_digest == id_digest,
            WebSession.ended_at.is_(None),
        )
        .values(last_seen_at=now)
    )


async def end_session(session: AsyncSession, id_digest: str, now: dt.datetime) -> bool:
    """Sign out one browser (whatever workspace it belongs to: the digest is the key)."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.id_digest == id_digest, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return affected(result) > 0


async def end_workspace_sessions(session: AsyncSession, workspace_id: int, now: dt.datetime) -> int:
    """Uninstall: every browser signed in to this workspace is signed out."""
    result = await session.execute(
        update(WebSession)
        .where(WebSession.workspace_id == workspace_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return affected(result)


async def end_org_sessions(session: AsyncSession, enterprise_id: str, now: dt.datetime) -> int:
    """An org-wide uninstall: the browsers signed in to any team of that Grid org."""
    result = await session.execute(
        update(WebSession)
        .where(
            WebSession.workspace_id.in_(
                select(Workspace.id).where(Workspace.enterprise_id == enterprise_id)
            ),
            WebSession.ended_at.is_(None),
        )
        .values(ended_at=now)
    )
    return affected(result)


async def forget_dead_sessions(session: AsyncSession, now: dt.datetime, idle: dt.timedelta) -> int:
    """Drop sessions that can never be used again: ended, past their absolute expiry, or idle
    longer than allowed."""
    result = await session.execute(
        delete(WebSession).where(
            or_(
                WebSession.ended_at.is_not(None),
                WebSession.expires_at <= now,
                WebSession.last_seen_at <= now - idle,
            )
        )
    )
    return affected(result)
