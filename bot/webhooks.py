"""Outgoing webhooks: a standup's owners point chosen events at a URL; each event is POSTed there
as signed JSON from a durable outbox, retried with back-off for 24 hours.

Use cases (for every surface: the web page, the REST API) take ``(services, caller, ids,
input)`` and return an outcome, a :class:`~bot.outcomes.Refusal` or
:class:`~bot.outcomes.FieldErrors`: :func:`create`, :func:`list_webhooks`, :func:`delete`,
:func:`enable`.

Events enter the outbox in the transaction of the change that causes them: :func:`enqueue`
(and its helpers :func:`answer_saved` and :func:`run_closed`) only add rows to the caller's
session. If that transaction rolls back, no event exists; if it commits, the event is stored and
will be delivered, whatever happens to this process afterwards.

Delivery (:func:`deliver_due`, a scheduler step) claims due rows under a lease, POSTs them, and
records the outcome under the claim (see storage.webhooks). Delivery is at least once: a
receiver that processed a request but whose 2xx answer never reached us (a timeout, a dropped
connection, our process killed between its answer and our commit) gets the same delivery again.
Receivers dedupe on ``X-AsyncStand-Delivery``.

Secrets: shown once at creation, stored Fernet-encrypted (we need the plaintext to sign, so a
hash will not do). Without ENCRYPTION_KEY (possible in single-workspace mode) creating a
webhook is refused with :data:`~bot.rules.permissions.Why.WEBHOOKS_NEED_KEY`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import Metrics
from bot.net import NonPublicAddressError, PublicOnlyResolver, check_public_http_url
from bot.outcomes import FieldErrors, Refusal, refused
from bot.people import Caller
from bot.rules.permissions import Actor, Why, can_manage
from bot.rules.questions import from_json
from bot.rules.signing import (
    WebhookEvent,
    gives_up,
    new_webhook_secret,
    retry_delay,
    should_disable,
    signature_headers,
)
from bot.runtime import Services
from bot.slack.gateway import error_code, send_dm
from bot.views import wording
from storage import audit, prompts, runs, standups
from storage import webhooks as rows
from storage.crypto import SecretBoxError
from storage.models import PromptState, Standup, Webhook, WebhookDelivery
from storage.prompts import PromptView

log = structlog.get_logger("asyncstand.webhooks")

EVENTS: tuple[str, ...] = tuple(e.value for e in WebhookEvent)
MAX_WEBHOOKS_PER_STANDUP = 10
RECENT_DELIVERIES = 20

EVENT_HEADER = "X-AsyncStand-Event"
DELIVERY_HEADER = "X-AsyncStand-Delivery"
USER_AGENT = "AsyncStand-Webhooks/1"
# A receiver has this long to answer; the lease outlasts a whole batch of such requests, so a
# live sender is never overtaken by another replica.
POST_TIMEOUT_SECONDS = 10.0
DELIVERY_LEASE = dt.timedelta(minutes=2)
CLAIM_BATCH = 20  # sent concurrently: one batch takes at most about one timeout
TICK_BUDGET_SECONDS = 5.0  # keep claiming batches within one tick for about this long
KEEP_DELIVERIES = dt.timedelta(days=30)  # finished deliveries shown in the log this long


class WebhookField(enum.StrEnum):
    URL = "url"
    EVENTS = "events"


@dataclass(frozen=True)
class WebhookDraft:
    """What a person asks for: a URL and the events to send there."""

    url: str
    events: Sequence[str]


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery in a webhook's log. `status`: pending (not tried yet), sending (a sender
    holds it), retrying (failed, next try at `next_attempt_at`), delivered, failed (given up)."""

    delivery_id: int
    event_id: str
    event_type: str
    created_at: dt.datetime
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    gave_up_at: dt.datetime | None


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook as its page shows it (never its secret), with its latest deliveries."""

    webhook_id: int
    standup_id: int
    url: str
    events: list[str]
    created_by: str | None
    created_at: dt.datetime
    enabled: bool
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    recent: list[DeliveryInfo]


@dataclass(frozen=True)
class WebhookCreated:
    """The new webhook and its signing secret: shown now, never again."""

    webhook: WebhookInfo
    secret: str = field(repr=False)  # never in a log line by accident


@dataclass(frozen=True)
class WebhookList:
    standup_id: int
    standup_name: str
    webhooks: list[WebhookInfo]


@dataclass(frozen=True)
class WebhookDeleted:
    webhook_id: int
    standup_id: int
    standup_name: str
    url: str


@dataclass(frozen=True)
class WebhookEnabled:
    """A re-enabled webhook; `changed` is False when it was not disabled."""

    webhook: WebhookInfo
    standup_name: str
    changed: bool


# --- use cases --------------------------------------------------------------------------------


async def create(
    services: Services, caller: Caller, standup_id: int | None, draft: WebhookDraft
) -> WebhookCreated | FieldErrors | Refusal:
    """Add a webhook to a standup (its owners and workspace admins). The URL must be http(s)
    and, unless WEBHOOK_ALLOW_PRIVATE, reach only public addresses. Returns the secret once."""
    actor = await caller.actor()
    # Refusals first, before a DNS lookup: check the right now, and again when writing.
    async with services.db.session() as session:
        early = await _managed_standup(session, caller.workspace_id, standup_id, actor)
    if isinstance(early, Refusal):
        return early
    box = services.slack.secret_box
    if box is None:
        return Refusal(Why.WEBHOOKS_NEED_KEY, early.name)
    url = draft.url.strip() if isinstance(draft.url, str) else ""
    errors: dict[str, str] = {}
    problem = await check_public_http_url(
        url, allow_private=services.settings.webhook_allow_private
    )
    if problem is not None:
        errors[WebhookField.URL] = problem
    events, events_problem = _chosen_events(draft.events)
    if events_problem is not None:
        errors[WebhookField.EVENTS] = events_problem
    if errors:
        return FieldErrors(errors)
    secret = new_webhook_secret()
    now = services.clock()
    async with services.db.session() as session:
        # Serialise webhook creation per standup: the count below holds until commit.
        await rows.hold_standup(session, caller.workspace_id, standup_id or 0)
        standup = await _managed_standup(session, caller.workspace_id, standup_id, actor)
        if isinstance(standup, Refusal):
            return standup
        existing = await rows.standup_webhooks(session, caller.workspace_id, standup.id)
        if len(existing) >= MAX_WEBHOOKS_PER_STANDUP:
            return Refusal(Why.WEBHOOK_LIMIT, standup.name, limit=MAX_WEBHOOKS_PER_STANDUP)
        if any(w.url == url for w in existing):
            return FieldErrors(
                {WebhookField.URL: "This standup already has a webhook to that URL."}
            )
        webhook = await rows.create_webhook(
            session,
            caller.workspace_id,
            standup.id,
            url=url,
            secret_encrypted=box.encrypt(secret),
            events=events,
            created_by=caller.user_id,
            now=now,
        )
        await _audit(
            session, standup, caller.user_id, "webhook_create", now, after=_described(webhook)
        )
        info = _info(webhook, [], now)
    log.info("webhook_created", standup_id=standup.id, webhook_id=webhook.id, events=events)
    return WebhookCreated(info, secret)


async def list_webhooks(
    services: Services, caller: Caller, standup_id: int | None, *, recent: int = RECENT_DELIVERIES
) -> WebhookList | Refusal:
    """A standup's webhooks, each with its latest `recent` deliveries (owners and admins)."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        standup = await _managed_standup(session, caller.workspace_id, standup_id, actor)
        if isinstance(standup, Refusal):
            return standup
        infos = []
        for webhook in await rows.standup_webhooks(session, caller.workspace_id, standup.id):
            log_rows = await rows.recent_deliveries(
                session, caller.workspace_id, webhook.id, max(0, recent)
            )
            infos.append(_info(webhook, log_rows, now))
    return WebhookList(standup.id, standup.name, infos)


async def delete(
    services: Services, caller: Caller, webhook_id: int | None
) -> WebhookDeleted | Refusal:
    """Delete a webhook and its delivery log (its standup's owners and workspace admins)."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        found = await _managed_webhook(session, caller.workspace_id, webhook_id, actor)
        if isinstance(found, Refusal):
            return found
        webhook, standup = found
        await rows.delete_webhook(session, caller.workspace_id, webhook.id)
        await _audit(
            session, standup, caller.user_id, "webhook_delete", now, before=_described(webhook)
        )
    log.info("webhook_deleted", standup_id=standup.id, webhook_id=webhook.id)
    return WebhookDeleted(webhook.id, standup.id, standup.name, webhook.url)


async def enable(
    services: Services, caller: Caller, webhook_id: int | None
) -> WebhookEnabled | Refusal:
    """Turn a disabled webhook back on, with a clean failure count. Deliveries given up while
    it was failing are not sent again; new events are."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        found = await _managed_webhook(session, caller.workspace_id, webhook_id, actor)
        if isinstance(found, Refusal):
            return found
        webhook, standup = found
        before = {"enabled": False, "disabled_reason": webhook.disabled_reason}
        changed = await rows.enable_webhook(session, caller.workspace_id, webhook.id)
        if changed:
            await _audit(
                session,
                standup,
                caller.user_id,
                "webhook_enable",
                now,
                before=before,
                after={"enabled": True, "url": webhook.url},
            )
            await session.refresh(webhook)
        info = _info(webhook, [], now)
    if changed:
        log.info("webhook_enabled", standup_id=standup.id, webhook_id=webhook.id)
    return WebhookEnabled(info, standup.name, changed)


def _chosen_events(raw: object) -> tuple[list[str], str | None]:
    """The events asked for, in canonical order, or what is wrong with them."""
    choices = ", ".join(EVENTS)
    items: list[object] = []
    if isinstance(raw, str):
        items = [raw]
    elif isinstance(raw, list | tuple | set | frozenset):
        items = list(raw)
    unknown = [str(e)[:40] for e in items if not isinstance(e, str) or e not in EVENTS]
    if unknown:
        return [], f"Unknown event(s): {', '.join(unknown[:5])}. Choose from {choices}."
    chosen = [e for e in EVENTS if e in items]
    if not chosen:
        return [], f"Choose at least one event: {choices}."
    return chosen, None


async def _managed_standup(
    session: AsyncSession, workspace_id: int, standup_id: int | None, actor: Actor
) -> Standup | Refusal:
    """A standup of this workspace that `actor` may manage (owners, workspace admins)."""
    standup = (
        await standups.get_standup(session, workspace_id, standup_id)
        if isinstance(standup_id, int) and not isinstance(standup_id, bool)
        else None
    )
    if standup is None:
        return Refusal(Why.STANDUP_GONE)
    owners = await standups.owner_ids(session, workspace_id, standup)
    decision = can_manage(actor, owners, standup.name)
    return standup if decision else refused(decision, standup.name)


async def _managed_webhook(
    session: AsyncSession, workspace_id: int, webhook_id: int | None, actor: Actor
) -> tuple[Webhook, Standup] | Refusal:
    """A webhook of this workspace whose standup `actor` may manage. Another workspace's
    webhook id is simply not found."""
    webhook = (
        await rows.get_webhook(session, workspace_id, webhook_id)
        if isinstance(webhook_id, int) and not isinstance(webhook_id, bool)
        else None
    )
    if webhook is None:
        return Refusal(Why.WEBHOOK_GONE)
    standup = await _managed_standup(session, workspace_id, webhook.standup_id, actor)
    return standup if isinstance(standup, Refusal) else (webhook, standup)


def _described(webhook: Webhook) -> dict[str, Any]:
    """The audited view of a webhook (never its secret)."""
    return {"url": webhook.url, "events": list(webhook.events)}


async def _audit(
    session: AsyncSession,
    standup: Standup,
    actor: str | None,
    action: str,
    now: dt.datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        standup.workspace_id,
        actor=actor,
        action=action,
        standup_id=standup.id,
        standup_name=standup.name,
        before=before,
        after=after,
        now=now,
    )


def _delivery_status(row: WebhookDelivery, now: dt.datetime) -> str:
    if row.delivered_at is not None:
        return "delivered"
    if row.gave_up_at is not None:
        return "failed"
    if row.lease_until is not None and row.lease_until > now:
        return "sending"
    return "retrying" if row.attempts else "pending"


def _info(webhook: Webhook, log_rows: Sequence[WebhookDelivery], now: dt.datetime) -> WebhookInfo:
    return WebhookInfo(
        webhook_id=webhook.id,
        standup_id=webhook.standup_id,
        url=webhook.url,
        events=list(webhook.events),
        created_by=webhook.created_by,
        created_at=webhook.created_at,
        enabled=webhook.disabled_at is None,
        disabled_at=webhook.disabled_at,
        disabled_reason=webhook.disabled_reason,
        consecutive_failures=webhook.consecutive_failures,
        recent=[
            DeliveryInfo(
                delivery_id=d.id,
                event_id=d.event_id,
                event_type=d.event_type,
                created_at=d.created_at,
                status=(status := _delivery_status(d, now)),
                attempts=d.attempts,
                last_status=d.last_status,
                last_error=d.last_error,
                next_attempt_at=d.next_attempt_at if status in ("pending", "retrying") else None,
                delivered_at=d.delivered_at,
                gave_up_at=d.gave_up_at,
            )
            for d in log_rows
        ],
    )


# --- events into the outbox (inside the caller's transaction) -----------------------------------


def _timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _subscribed(
    session: AsyncSession, workspace_id: int, standup_id: int, event: WebhookEvent | str
) -> list[int]:
    hooks = await rows.enabled_webhooks(session, workspace_id, standup_id)
    return [h.id for h in hooks if str(event) in h.events]


async def _add(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    event: str,
    data: dict[str, Any],
    webhook_ids: Collection[int],
    now: dt.datetime,
) -> int:
    envelope = await rows.standup_envelope(session, workspace_id, standup_id)
    if envelope is None:
        return 0
    team_id, standup_name = envelope
    event_id = "evt_" + secrets.token_hex(16)
    payload = {
        "id": event_id,
        "type": event,
        "created_at": _timestamp(now),
        "workspace": {"team_id": team_id},
        "standup": {"id": standup_id, "name": standup_name},
        "data": data,
    }
    return await rows.add_deliveries(
        session,
        workspace_id,
        webhook_ids,
        event_id=event_id,
        event_type=event,
        payload=payload,
        now=now,
    )


async def enqueue(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    event: WebhookEvent | str,
    payload: dict[str, Any],
    *,
    now: dt.datetime,
) -> int:
    """Put an event into the outbox of every enabled webhook of the standup subscribed to it,
    in the caller's transaction (call it in the transaction that makes the change). `payload`
    is the event's ``data`` object (JSON-serialisable); the envelope (event id, type, time,
    workspace, standup) is added here. Returns how many deliveries were queued; with no
    subscribed webhook that costs one query."""
    name = WebhookEvent(event).value
    webhook_ids = await _subscribed(session, workspace_id, standup_id, name)
    if not webhook_ids:
        return 0
    return await _add(session, workspace_id, standup_id, name, payload, webhook_ids, now)


async def answer_saved(
    session: AsyncSession,
    view: PromptView,
    answers: Sequence[str],
    *,
    edited: bool,
    now: dt.datetime,
) -> int:
    """``answer.submitted`` (or ``answer.updated`` for an edit) for a prompt's answers, in the
    transaction that saves them."""
    data = {
        "run": {"id": view.run.id, "date": view.run.local_date.isoformat()},
        "user": view.member.slack_user_id,
        "answers": [
            {"question": question.text, "type": question.type.value, "answer": answer}
            for question, answer in zip(from_json(view.run.questions), answers, strict=False)
        ],
    }
    event = WebhookEvent.ANSWER_UPDATED if edited else WebhookEvent.ANSWER_SUBMITTED
    return await enqueue(session, view.prompt.workspace_id, view.standup.id, event, data, now=now)


# How each person's part in a closed run is named in ``run.closed`` (as in participation
# records): a DM sent but never answered is "missed".
_RUN_STATUS = {
    PromptState.ANSWERED: "answered",
    PromptState.SKIPPED: "skipped",
    PromptState.AWAY: "away",
    PromptState.HOLIDAY: "holiday",
    PromptState.FAILED: "undeliverable",
}


async def run_closed(
    session: AsyncSession, workspace_id: int, run_id: int, now: dt.datetime
) -> int:
    """``run.closed`` with the run's roll call, in the transaction that closes the run."""
    run = await runs.get_run(session, workspace_id, run_id)
    if run is None:
        return 0
    webhook_ids = await _subscribed(session, workspace_id, run.standup_id, WebhookEvent.RUN_CLOSED)
    if not webhook_ids:
        return 0
    views = await prompts.run_prompt_views(session, workspace_id, run_id)
    data = {
        "run": {
            "id": run.id,
            "date": run.local_date.isoformat(),
            "closed_at": _timestamp(run.closed_at or now),
        },
        "participants": [
            {
                "user": v.member.slack_user_id,
                "status": _RUN_STATUS.get(v.prompt.state, "missed"),
                "answered_at": _timestamp(v.prompt.answered_at) if v.prompt.answered_at else None,
            }
            for v in views
        ],
    }
    return await _add(
        session,
        workspace_id,
        run.standup_id,
        WebhookEvent.RUN_CLOSED.value,
        data,
        webhook_ids,
        now,
    )


# --- delivery (a scheduler step) ------------------------------------------------------------------


def _http_client(allow_private: bool) -> aiohttp.ClientSession:
    """The client for user-supplied URLs: public addresses only (checked on the addresses we
    actually connect to, so DNS rebinding can't reach inside), no proxy or netrc from the
    environment, no cookies kept between receivers."""
    connector = aiohttp.TCPConnector(
        resolver=None if allow_private else PublicOnlyResolver(),
        limit=CLAIM_BATCH,
        limit_per_host=CLAIM_BATCH,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS),
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def deliver_due(services: Services, metrics: Metrics | None = None) -> int:
    """Claim due deliveries in batches, POST each, record the outcome; returns how many were
    claimed. Idle, it costs one indexed statement. Safe in any number of replicas."""
    started = time.monotonic()
    claimed_total = 0
    http: aiohttp.ClientSession | None = None
    try:
        while True:
            now = services.clock()
            async with services.db.session() as session:
                claimed = await rows.claim_due(session, now, DELIVERY_LEASE, CLAIM_BATCH)
                loaded = await rows.claimed_deliveries(session, [(w, d) for w, d, _ in claimed])
            if not claimed:
                break
            claimed_total += len(claimed)
            attempt_of = {(w, d): a for w, d, a in claimed}
            if http is None:
                http = _http_client(services.settings.webhook_allow_private)
            client = http
            outcomes = await asyncio.gather(
                *(
                    _deliver(
                        services,
                        client,
                        item,
                        attempt_of[item.delivery.workspace_id, item.delivery.id],
                        metrics,
                    )
                    for item in loaded
                ),
                return_exceptions=True,
            )
            for item, outcome in zip(loaded, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    # Its claim stays until the lease ends; then it is tried again.
                    log.error(
                        "webhook_delivery_crashed",
                        delivery_id=item.delivery.id,
                        exc_info=outcome,
                    )
            if len(claimed) < CLAIM_BATCH or time.monotonic() - started > TICK_BUDGET_SECONDS:
                break
    finally:
        if http is not None:
            await http.close()
    return claimed_total


async def forget_old(services: Services, now: dt.datetime | None = None) -> int:
    """Drop finished deliveries older than :data:`KEEP_DELIVERIES` (the log keeps the rest)."""
    async with services.db.session() as session:
        return await rows.forget_delivered(session, (now or services.clock()) - KEEP_DELIVERIES)


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
) -> tuple[int | None, str | None]:
    """(HTTP status, None) for a 2xx answer, else (status or None, what went wrong)."""
    if not allow_private:
        # The resolver guards host names; this also refuses literal private addresses, which
        # aiohttp connects to without asking any resolver.
        problem = await check_public_http_url(url, allow_private=False)
        if problem is not None:
            return None, problem
    try:
        async with http.post(url, data=body, headers=headers, allow_redirects=False) as response:
            status = response.status
    except TimeoutError:
        return None, f"no answer within {POST_TIMEOUT_SECONDS:g} seconds"
    except aiohttp.ClientConnectorDNSError as exc:
        if isinstance(exc.os_error, NonPublicAddressError):
            return None, str(exc.os_error)
        return None, "the host name could not be resolved"
    except aiohttp.ClientConnectorError as exc:
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return None, f"could not connect: {reason}"
    except aiohttp.ClientError as exc:
        return None, f"the request failed: {type(exc).__name__}"
    if 200 <= status < 300:
        return status, None
    if 300 <= status < 400:
        return status, f"HTTP {status} (redirects are not followed)"
    return status, f"HTTP {status}"


async def _deliver(
    services: Services,
    http: aiohttp.ClientSession,
    item: rows.ClaimedDelivery,
    attempt: int,
    metrics: Metrics | None,
) -> None:
    """Send one claimed delivery and record what happened."""
    delivery, webhook = item.delivery, item.webhook
    with structlog.contextvars.bound_contextvars(
        team_id=item.team_id, standup_id=webhook.standup_id
    ):
        log_ = log.bind(webhook_id=webhook.id, delivery_id=delivery.id, attempt=attempt)
        status: int | None = None
        counts = True  # whether a final failure counts against the webhook
        if not item.workspace_active:
            error: str | None = "the app was uninstalled from the workspace"
            final, counts = True, False
        elif webhook.disabled_at is not None:
            error, final, counts = "the webhook is disabled", True, False
        else:
            status, error = await _send(services, http, item)
            final = error is not None and gives_up(delivery.created_at, services.clock())
        now = services.clock()
        disabled: tuple[int, str] | None = None
        async with services.db.session() as session:
            if error is None or (final and counts):
                # The webhook's row first, then the delivery's: see rows.lock_webhook.
                await rows.lock_webhook(session, delivery.workspace_id, webhook.id)
            if error is None:
                assert status is not None
                recorded = await rows.record_delivered(
                    session, delivery.workspace_id, delivery.id, attempt, status=status, now=now
                )
                if recorded:
                    await rows.reset_failures(session, delivery.workspace_id, webhook.id)
            else:
                retry_at = None if final else now + retry_delay(attempt)
                recorded = await rows.record_failure(
                    session,
                    delivery.workspace_id,
                    delivery.id,
                    attempt,
                    status=status,
                    error=error,
                    retry_at=retry_at,
                    now=now,
                )
                if recorded and final and counts:
                    disabled = await _count_failure(session, item, error, now)
        if not recorded:
            # Our lease ran out and another sender claimed it again, or the webhook was
            # disabled (or deleted) meanwhile: the newer state stands.
            log_.warning("webhook_outcome_not_recorded")
            return
        outcome = "delivered" if error is None else "gave_up" if final else "retried"
        if metrics is not None:
            metrics.webhook_deliveries.labels(outcome).inc()
        log_.info("webhook_" + outcome, status=status, error=error)
        if disabled is not None:
            await _tell_owner(services, item, *disabled)


async def _send(
    services: Services, http: aiohttp.ClientSession, item: rows.ClaimedDelivery
) -> tuple[int | None, str | None]:
    delivery, webhook = item.delivery, item.webhook
    box = services.slack.secret_box
    try:
        if box is None:
            raise SecretBoxError("ENCRYPTION_KEY is not set")
        secret = box.decrypt(webhook.secret_encrypted)
    except SecretBoxError:
        # Retried: the operator may put the right key back.
        return None, "the signing secret can't be decrypted (check ENCRYPTION_KEY)"
    body = _body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.id),
        **signature_headers(secret, body, services.clock()),
    }
    return await _post(
        http, webhook.url, body, headers, allow_private=services.settings.webhook_allow_private
    )


async def _count_failure(
    session: AsyncSession, item: rows.ClaimedDelivery, error: str, now: dt.datetime
) -> tuple[int, str] | None:
    """One more delivery failed for good; disable the webhook if that makes too many in a row.
    Returns (failures, last error) when this transaction disabled it (its owner is then told)."""
    webhook = item.webhook
    failures = await rows.add_failure(session, webhook.workspace_id, webhook.id)
    if not should_disable(failures):
        return None
    reason = (
        f"{failures} deliveries in a row failed, each retried for 24 hours; last error: {error}"
    )
    if not await rows.disable_webhook(
        session, webhook.workspace_id, webhook.id, reason=reason, now=now
    ):
        return None
    standup = await standups.get_standup(session, webhook.workspace_id, webhook.standup_id)
    if standup is not None:
        await _audit(
            session,
            standup,
            None,
            "webhook_disable",
            now,
            before={"enabled": True, "url": webhook.url},
            after={"enabled": False, "reason": reason},
        )
    return failures, error


async def _tell_owner(
    services: Services, item: rows.ClaimedDelivery, failures: int, last_error: str
) -> None:
    """The one DM about a disabled webhook, to whoever created it (else the standup's owner).
    The disabling transaction is the claim: at most one process gets here per disabling."""
    owner = item.webhook.created_by or item.standup_owner
    async with services.db.session() as session:
        client = await services.slack.bot_client(session, item.webhook.workspace_id)
    if client is None:
        return
    message = wording.webhook_disabled(
        standup_name=item.standup_name,
        url=item.webhook.url,
        failures=failures,
        last_error=last_error,
        timeout_seconds=POST_TIMEOUT_SECONDS,
        web_url=services.settings.public_url,
    )
    try:
        await send_dm(client, owner, message["text"], message["blocks"])
    except SlackApiError as exc:
        log.warning("webhook_disabled_notice_failed", error=error_code(exc))
    except Exception:  # Slack unreachable: the webhook stays disabled, the notice is lost
        log.warning("webhook_disabled_notice_failed", exc_info=True)
