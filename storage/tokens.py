"""Personal API tokens and the Idempotency-Key records of their POSTs.

Every function takes the workspace it serves, except :func:`find_by_digest`: looking a presented
token up is how a request learns its workspace in the first place (like an installation by team
id), and it returns the workspace with the token.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import ApiToken, IdempotencyKey, Member, Workspace


@dataclass(frozen=True)
class TokenHolder:
    """A presented token with its workspace and (if we know them) its user's cached profile."""

    token: ApiToken
    workspace: Workspace
    member: Member | None


async def insert_token(
    session: AsyncSession,
    workspace_id: int,
    *,
    slack_user_id: str,
    name: str,
    prefix: str,
    digest: str,
    scope: str,
    now: dt.datetime,
) -> ApiToken:
    token = ApiToken(
        workspace_id=workspace_id,
        slack_user_id=slack_user_id,
        name=name,
        prefix=prefix,
        digest=digest,
        scope=scope,
        created_at=now,
    )
    session.add(token)
    await session.flush()
    return token


async def find_by_digest(session: AsyncSession, digest: str) -> TokenHolder | None:
    """The token with this digest, revoked or not, with its workspace and user."""
    row = (
        await session.execute(
            select(ApiToken, Workspace, Member)
            .join(Workspace, Workspace.id == ApiToken.workspace_id)
            .outerjoin(
                Member,
                and_(
                    Member.workspace_id == ApiToken.workspace_id,
                    Member.slack_user_id == ApiToken.slack_user_id,
                ),
            )
            .where(ApiToken.digest == digest)
        )
    ).one_or_none()
    return None if row is None else TokenHolder(row[0], row[1], row[2])


async def count_live_tokens(session: AsyncSession, workspace_id: int, slack_user_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.workspace_id == workspace_id,
            ApiToken.slack_user_id == slack_user_id,
            ApiToken.revoked_at.is_(None),
        )
    )
    return int(count or 0)


async def list_tokens(
    session: AsyncSession, workspace_id: int, slack_user_id: str | None
) -> list[ApiToken]:
    """Tokens not revoked, newest first: one person's, or (None) everyone's in the workspace."""
    stmt = select(ApiToken).where(
        ApiToken.workspace_id == workspace_id, ApiToken.revoked_at.is_(None)
    )
    if slack_user_id is not None:
        stmt = stmt.where(ApiToken.slack_user_id == slack_user_id)
    rows = await session.execute(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return list(rows.scalars())


async def get_token(session: AsyncSession, workspace_id: int, token_id: int) -> ApiToken | None:
    return (
        await session.execute(
            select(ApiToken).where(ApiToken.workspace_id == workspace_id, ApiToken.id == token_id)
        )
    ).scalar_one_or_none()


async def revoke(session: AsyncSession, workspace_id: int, token_id: int, now: dt.datetime) -> bool:
    """Revoke a live token; False if it was already revoked (or is not in this workspace)."""
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.workspace_id == workspace_id,
            ApiToken.id == token_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return affected(result) > 0


async def touch(
    session: AsyncSession,
    workspace_id: int,
    token_id: int,
    now: dt.datetime,
    every: dt.timedelta,
) -> bool:
    """Record a use, unless one was recorded less than `every` ago (one write per token per
    interval, whatever the request rate and the number of replicas)."""
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.workspace_id == workspace_id,
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - every),
        )
        .values(last_used_at=now)
    )
    return affected(result) > 0


# --- Idempotency-Key records ------------------------------------------------------------------


async def claim_key(
    session: AsyncSession,
    workspace_id: int,
    token_id: int,
    key: str,
    *,
    fingerprint: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> bool:
    """Record that a request with this key is in progress; False if the key is already known."""
    stmt = (
        upsert(session, IdempotencyKey)
        .values(
            token_id=token_id,
            key=key,
            workspace_id=workspace_id,
            fingerprint=fingerprint,
            status=None,
            response=None,
            created_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["token_id", "key"])
        .returning(IdempotencyKey.key)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def get_key(
    session: AsyncSession, workspace_id: int, token_id: int, key: str
) -> IdempotencyKey | None:
    return (
        await session.execute(
            select(IdempotencyKey)
            .where(
                IdempotencyKey.workspace_id == workspace_id,
                IdempotencyKey.token_id == token_id,
                IdempotencyKey.key == key,
            )
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def take_over_key(
    session: AsyncSession,
    workspace_id: int,
    token_id: int,
    key: str,
    *,
    fingerprint: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    abandoned_before: dt.datetime,
) -> bool:
    """Start afresh on a key that expired, or whose first request (with this same fingerprint)
    was abandoned in progress before `abandoned_before`. Atomic: one taker wins."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.token_id == token_id,
            IdempotencyKey.key == key,
            or_(
                IdempotencyKey.expires_at <= now,
                and_(
                    IdempotencyKey.status.is_(None),
                    IdempotencyKey.fingerprint == fingerprint,
                    IdempotencyKey.created_at < abandoned_before,
                ),
            ),
        )
        .values(
            fingerprint=fingerprint,
            status=None,
            response=None,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return affected(result) > 0


async def store_response(
    session: AsyncSession,
    workspace_id: int,
    token_id: int,
    key: str,
    *,
    fingerprint: str,
    status: int,
    response: dict[str, Any],
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.token_id == token_id,
            IdempotencyKey.key == key,
            IdempotencyKey.fingerprint == fingerprint,
            IdempotencyKey.status.is_(None),
        )
        .values(status=status, response=response)
    )


async def release_key(
    session: AsyncSession, workspace_id: int, token_id: int, key: str, *, fingerprint: str
) -> None:
    """Forget an unfinished key (its request failed before answering), so a retry may run."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id,
            IdempotencyKey.token_id == token_id,
            IdempotencyKey.key == key,
            IdempotencyKey.fingerprint == fingerprint,
            IdempotencyKey.status.is_(None),
        )
    )


async def forget_expired_keys(session: AsyncSession, now: dt.datetime) -> int:
    """Housekeeping across workspaces: drop keys past their 24 hours."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return affected(result)
