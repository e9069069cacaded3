"""Outgoing webhooks and their delivery outbox. Every function takes the workspace it serves,
except the scheduler's two queries at the end (:func:`claim_due`, :func:`forget_delivered`):
they look across workspaces to find due work and hand back (workspace_id, id) pairs, like
storage.jobs.

A delivery is claimed by incrementing its ``attempts``: that number is the claim token. An
outcome is recorded only ``WHERE attempts = <the number we claimed>``, so a sender whose lease
ran out (and whose delivery another replica claimed again) can no longer write over the newer
claim's outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected
from storage.models import Standup, Webhook, WebhookDelivery, Workspace

# --- webhooks --------------------------------------------------------------------------------


async def standup_webhooks(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> list[Webhook]:
    """A standup's webhooks, oldest first."""
    rows = await session.execute(
        select(Webhook)
        .where(Webhook.workspace_id == workspace_id, Webhook.standup_id == standup_id)
        .order_by(Webhook.id)
    )
    return list(rows.scalars())


async def enabled_webhooks(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> list[Webhook]:
    """A standup's enabled webhooks, for fanning an event out. On Postgres the rows are held
    (FOR KEY SHARE) until the transaction ends, so a webhook deleted meanwhile cannot make the
    outbox insert (and with it the change that caused the event) fail on its foreign key."""
    stmt = (
        select(Webhook)
        .where(
            Webhook.workspace_id == workspace_id,
            Webhook.standup_id == standup_id,
            Webhook.disabled_at.is_(None),
        )
        .order_by(Webhook.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True, key_share=True)
    return list((await session.execute(stmt)).scalars())


async def hold_standup(session: AsyncSession, workspace_id: int, standup_id: int) -> None:
    """Serialise webhook creation on a standup until this transaction ends (a no-op UPDATE:
    the row lock on Postgres, the write lock on SQLite), so a count checked in it still holds
    at commit."""
    await session.execute(
        update(Standup)
        .where(Standup.workspace_id == workspace_id, Standup.id == standup_id)
        .values(updated_at=Standup.updated_at)
    )


async def lock_webhook(session: AsyncSession, workspace_id: int, webhook_id: int) -> None:
    """Hold a webhook's row (FOR NO KEY UPDATE on Postgres) before touching its deliveries:
    every transaction that changes both takes the webhook first, so none deadlock. It does not
    wait for transactions that only enqueue events (they hold FOR KEY SHARE)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time, and no row locks to order
    await session.execute(
        select(Webhook.id)
        .where(Webhook.workspace_id == workspace_id, Webhook.id == webhook_id)
        .with_for_update(key_share=True)
    )


async def get_webhook(session: AsyncSession, workspace_id: int, webhook_id: int) -> Webhook | None:
    """A webhook only if it belongs to this workspace."""
    return (
        await session.execute(
            select(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.id == webhook_id)
        )
    ).scalar_one_or_none()


async def create_webhook(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    *,
    url: str,
    secret_encrypted: str,
    events: Sequence[str],
    created_by: str,
    now: dt.datetime,
) -> Webhook:
    webhook = Webhook(
        workspace_id=workspace_id,
        standup_id=standup_id,
        url=url,
        secret_encrypted=secret_encrypted,
        events=list(events),
        created_by=created_by,
        created_at=now,
        consecutive_failures=0,
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, workspace_id: int, webhook_id: int) -> bool:
    """Delete a webhook; its deliveries go with it (ON DELETE CASCADE)."""
    result = await session.execute(
        delete(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.id == webhook_id)
    )
    return affected(result) > 0


async def enable_webhook(session: AsyncSession, workspace_id: int, webhook_id: int) -> bool:
    """Turn a disabled webhook back on with a clean failure count; True if it was disabled."""
    result = await session.execute(
        update(Webhook)
        .where(
            Webhook.workspace_id == workspace_id,
            Webhook.id == webhook_id,
            Webhook.disabled_at.is_not(None),
        )
        .values(disabled_at=None, disabled_reason=None, consecutive_failures=0)
    )
    return affected(result) > 0


async def reset_failures(session: AsyncSession, workspace_id: int, webhook_id: int) -> None:
    """A delivery succeeded: the run of failed deliveries is over."""
    await session.execute(
        update(Webhook)
        .where(
            Webhook.workspace_id == workspace_id,
            Webhook.id == webhook_id,
            Webhook.consecutive_failures != 0,
        )
        .values(consecutive_failures=0)
    )


async def add_failure(session: AsyncSession, workspace_id: int, webhook_id: int) -> int:
    """Count one more failed delivery in a row; returns the new count (0 if the webhook is
    gone)."""
    result = await session.execute(
        update(Webhook)
        .where(Webhook.workspace_id == workspace_id, Webhook.id == webhook_id)
        .values(consecutive_failures=Webhook.consecutive_failures + 1)
        .returning(Webhook.consecutive_failures)
    )
    count = result.scalar_one_or_none()
    return int(count or 0)


async def disable_webhook(
    session: AsyncSession, workspace_id: int, webhook_id: int, *, reason: str, now: dt.datetime
) -> bool:
    """Disable a webhook and give up its outstanding deliveries. True only for the one
    transaction that actually disabled it (so its owner is told once)."""
    flipped = await session.execute(
        update(Webhook)
        .where(
            Webhook.workspace_id == workspace_id,
            Webhook.id == webhook_id,
            Webhook.disabled_at.is_(None),
        )
        .values(disabled_at=now, disabled_reason=reason[:255])
    )
    if affected(flipped) == 0:
        return False
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.webhook_id == webhook_id,
            _outstanding(),
        )
        .values(gave_up_at=now, lease_until=None, last_error="the webhook was disabled")
    )
    return True


async def reencrypt_secrets(session: AsyncSession, rotate: Callable[[str], str]) -> int:
    """Re-encrypt every webhook secret with `rotate` (key rotation); returns how many."""
    rows = (await session.execute(select(Webhook).with_for_update())).scalars()
    count = 0
    for row in rows:
        row.secret_encrypted = rotate(row.secret_encrypted)
        count += 1
    return count


async def standup_envelope(
    session: AsyncSession, workspace_id: int, standup_id: int
) -> tuple[str, str] | None:
    """(team id, standup name) for an event's envelope."""
    row = (
        await session.execute(
            select(Workspace.team_id, Standup.name)
            .join(Standup, Standup.workspace_id == Workspace.id)
            .where(Workspace.id == workspace_id, Standup.id == standup_id)
        )
    ).first()
    return (str(row[0]), str(row[1])) if row else None


# --- the outbox ------------------------------------------------------------------------------


def _outstanding() -> ColumnElement[bool]:
    return and_(WebhookDelivery.delivered_at.is_(None), WebhookDelivery.gave_up_at.is_(None))


async def add_deliveries(
    session: AsyncSession,
    workspace_id: int,
    webhook_ids: Collection[int],
    *,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> int:
    """One outbox row per webhook, due now; part of the caller's transaction."""
    for webhook_id in webhook_ids:
        session.add(
            WebhookDelivery(
                workspace_id=workspace_id,
                webhook_id=webhook_id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )
    await session.flush()
    return len(webhook_ids)


async def recent_deliveries(
    session: AsyncSession, workspace_id: int, webhook_id: int, limit: int
) -> list[WebhookDelivery]:
    """A webhook's latest deliveries, newest first."""
    rows = await session.execute(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.webhook_id == webhook_id,
        )
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class ClaimedDelivery:
    """A claimed delivery with what is needed to send it (all from the same workspace)."""

    delivery: WebhookDelivery
    webhook: Webhook
    team_id: str
    workspace_active: bool
    standup_name: str
    standup_owner: str


async def claimed_deliveries(
    session: AsyncSession, pairs: Sequence[tuple[int, int]]
) -> list[ClaimedDelivery]:
    """Load claimed deliveries of many workspaces at once; each row is joined within its own
    workspace."""
    if not pairs:
        return []
    rows = await session.execute(
        select(WebhookDelivery, Webhook, Workspace, Standup)
        .join(
            Webhook,
            and_(
                Webhook.id == WebhookDelivery.webhook_id,
                Webhook.workspace_id == WebhookDelivery.workspace_id,
            ),
        )
        .join(Workspace, Workspace.id == WebhookDelivery.workspace_id)
        .join(
            Standup,
            and_(Standup.id == Webhook.standup_id, Standup.workspace_id == Webhook.workspace_id),
        )
        .where(WebhookDelivery.id.in_([d for _, d in pairs]))
        .order_by(WebhookDelivery.id)
    )
    wanted = set(pairs)
    return [
        ClaimedDelivery(
            row[0], row[1], row[2].team_id, row[2].active, row[3].name, row[3].owner_user_id
        )
        for row in rows
        if (row[0].workspace_id, row[0].id) in wanted
    ]


def _held_by(workspace_id: int, delivery_id: int, attempt: int) -> ColumnElement[bool]:
    """Our claim still holds: nobody claimed the delivery again, and it has no outcome yet."""
    return and_(
        WebhookDelivery.workspace_id == workspace_id,
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.attempts == attempt,
        _outstanding(),
    )


async def record_delivered(
    session: AsyncSession,
    workspace_id: int,
    delivery_id: int,
    attempt: int,
    *,
    status: int,
    now: dt.datetime,
) -> bool:
    """The receiver took it (2xx). False if our claim no longer holds."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(_held_by(workspace_id, delivery_id, attempt))
        .values(delivered_at=now, last_status=status, last_error=None, lease_until=None)
    )
    return affected(result) > 0


async def record_failure(
    session: AsyncSession,
    workspace_id: int,
    delivery_id: int,
    attempt: int,
    *,
    status: int | None,
    error: str,
    retry_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """A failed attempt: retried at `retry_at`, or given up when that is None. False if our
    claim no longer holds."""
    values: dict[str, Any] = {"last_status": status, "last_error": error[:255], "lease_until": None}
    if retry_at is None:
        values["gave_up_at"] = now
    else:
        values["next_attempt_at"] = retry_at
    result = await session.execute(
        update(WebhookDelivery).where(_held_by(workspace_id, delivery_id, attempt)).values(values)
    )
    return affected(result) > 0


# --- the scheduler's queries (across workspaces) -------------------------------------------------


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Outstanding and due. A claim moves `next_attempt_at` to the end of its lease, so a
    delivery whose sender died becomes due again by itself: one range on one index."""
    return and_(_outstanding(), WebhookDelivery.next_attempt_at <= now)


async def claim_due(
    session: AsyncSession, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[tuple[int, int, int]]:
    """Claim up to `limit` due deliveries in one statement (Postgres: FOR UPDATE SKIP LOCKED;
    SQLite has a single writer): (workspace_id, id, attempt) for each, where `attempt` is the
    claim token to record the outcome with. Idle, this is one indexed range scan."""
    candidates = (
        select(WebhookDelivery.id)
        .where(_due(now))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(candidates.scalar_subquery()), _due(now))
        .values(
            attempts=WebhookDelivery.attempts + 1,
            lease_until=now + lease,
            next_attempt_at=now + lease,
        )
        .returning(WebhookDelivery.workspace_id, WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    )
    return [(int(w), int(d), int(a)) for w, d, a in result]


async def forget_delivered(session: AsyncSession, before: dt.datetime) -> int:
    """Drop finished deliveries (delivered or given up) created before `before`."""
    result = await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.created_at < before,
            or_(WebhookDelivery.delivered_at.is_not(None), WebhookDelivery.gave_up_at.is_not(None)),
        )
    )
    return affected(result)


async def count_outstanding(session: AsyncSession, workspace_id: int, webhook_id: int) -> int:
    """Deliveries of a webhook still to be made (for tests and the page's summary)."""
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.workspace_id == workspace_id,
            WebhookDelivery.webhook_id == webhook_id,
            _outstanding(),
        )
    )
    return int(count or 0)
