"""Idempotency-Key for REST API POSTs: the same key and the same request get the same stored
response for 24 hours, and the request's effect happens once.

Keys are scoped per token. The first request with a key records it as "in progress" (its own
committed transaction, so a concurrent duplicate sees it and is told 409), runs, and stores its
response; later ones replay that response. The same key with a different request (method, path,
body: ``bot.rules.websec.request_fingerprint``) is refused (422). A request that failed without
an answer releases its key so that a retry can run. One whose process died mid-way leaves the
key "in progress"; after ``IN_PROGRESS_LEASE`` a retry of the same request takes it over — if the
first had already committed its effect, that retry repeats it: the one case not covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.runtime import Services
from storage import tokens

KEY_TTL = dt.timedelta(hours=24)
IN_PROGRESS_LEASE = dt.timedelta(minutes=2)
MAX_KEY_LENGTH = 255  # the column's width


@dataclass(frozen=True)
class KeyRef:
    """One key of one token."""

    workspace_id: int
    token_id: int
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Proceed:
    """First time for this key: run the request, then `finish` (or `release`)."""


@dataclass(frozen=True)
class Replay:
    """Seen before with this same request: answer with what was answered then."""

    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class InProgress:
    """The first request with this key has not finished yet."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for a different request."""


Begun = Proceed | Replay | InProgress | Mismatch


def key_ok(key: str) -> bool:
    """A usable key: 1 to 255 visible ASCII characters (what a header can carry unchanged)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all("\x21" <= c <= "\x7e" for c in key)


async def begin(services: Services, ref: KeyRef) -> Begun:
    now = services.clock()
    expires_at = now + KEY_TTL
    for _ in range(3):  # a key released or expired between our statements: look again
        async with services.db.session() as session:
            if await tokens.claim_key(
                session,
                ref.workspace_id,
                ref.token_id,
                ref.key,
                fingerprint=ref.fingerprint,
                now=now,
                expires_at=expires_at,
            ):
                return Proceed()
        async with services.db.session() as session:
            if await tokens.take_over_key(
                session,
                ref.workspace_id,
                ref.token_id,
                ref.key,
                fingerprint=ref.fingerprint,
                now=now,
                expires_at=expires_at,
                abandoned_before=now - IN_PROGRESS_LEASE,
            ):
                return Proceed()
            row = await tokens.get_key(session, ref.workspace_id, ref.token_id, ref.key)
        if row is None:
            continue
        if row.fingerprint != ref.fingerprint:
            return Mismatch()
        if row.status is None or row.response is None:
            return InProgress()
        return Replay(row.status, row.response)
    return InProgress()


async def finish(services: Services, ref: KeyRef, status: int, response: dict[str, Any]) -> None:
    async with services.db.session() as session:
        await tokens.store_response(
            session,
            ref.workspace_id,
            ref.token_id,
            ref.key,
            fingerprint=ref.fingerprint,
            status=status,
            response=response,
        )


async def release(services: Services, ref: KeyRef) -> None:
    async with services.db.session() as session:
        await tokens.release_key(
            session, ref.workspace_id, ref.token_id, ref.key, fingerprint=ref.fingerprint
        )


async def forget_expired(services: Services, now: dt.datetime | None = None) -> int:
    """Housekeeping: drop keys past their 24 hours (the scheduler calls this once a minute)."""
    async with services.db.session() as session:
        return await tokens.forget_expired_keys(session, now or services.clock())
