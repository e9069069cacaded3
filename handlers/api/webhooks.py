"""/standups/{id}/webhooks and /webhooks/{id}: a standup's outgoing webhooks, through the same
use cases (and permissions) as the dashboard's webhooks page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import webhooks
from bot.outcomes import FieldErrors, Refusal
from bot.rules.permissions import Why
from bot.webhooks import DeliveryInfo, WebhookDraft, WebhookInfo
from handlers.api.problems import ApiProblem, field_errors, invalid, refusal
from handlers.api.routing import (
    ApiRoute,
    add,
    body_of,
    json_response,
    no_content,
    path_id,
    principal_of,
    services_of,
)

STANDUP_WEBHOOKS = r"/standups/{standup_id:\d+}/webhooks"
WEBHOOK_PATH = r"/webhooks/{webhook_id:\d+}"
WHO = "A standup's owners and workspace admins."


def register(app: web.Application) -> None:
    tag = "webhooks"
    add(
        app,
        ApiRoute(
            "GET",
            STANDUP_WEBHOOKS,
            list_webhooks,
            "listWebhooks",
            "A standup's webhooks, each with its latest deliveries",
            tag,
            {200: ("Its webhooks (never their secrets)", "WebhookList")},
            description=WHO,
            extra_errors=(403, 404),
        ),
    )
    add(
        app,
        ApiRoute(
            "POST",
            STANDUP_WEBHOOKS,
            create_webhook,
            "createWebhook",
            "Add a webhook: signed deliveries of the chosen events to an http(s) URL",
            tag,
            {201: ("The webhook and its signing secret, shown this once", "WebhookCreated")},
            description=WHO
            + " Loopback and private addresses are refused unless the server allows them "
            "(WEBHOOK_ALLOW_PRIVATE).",
            body="WebhookInput",
            extra_errors=(403, 404, 409),
        ),
    )
    add(
        app,
        ApiRoute(
            "DELETE",
            WEBHOOK_PATH,
            delete_webhook,
            "deleteWebhook",
            "Delete a webhook and its delivery log",
            tag,
            {204: ("Deleted", None)},
            description=WHO,
            extra_errors=(403, 404),
        ),
    )
    add(
        app,
        ApiRoute(
            "POST",
            WEBHOOK_PATH + "/enable",
            enable_webhook,
            "enableWebhook",
            "Turn a webhook disabled after repeated failures back on",
            tag,
            {200: ("The webhook", "Webhook")},
            description=WHO,
            extra_errors=(403, 404),
        ),
    )


def _refused(outcome: Refusal) -> ApiProblem:
    what = "webhook" if outcome.why == Why.WEBHOOK_GONE else "standup"
    return refusal(outcome, what)


async def list_webhooks(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    outcome = await webhooks.list_webhooks(
        services_of(request), principal_of(request).caller(), standup_id
    )
    if isinstance(outcome, Refusal):
        raise _refused(outcome)
    return json_response(
        {
            "standup_id": outcome.standup_id,
            "standup_name": outcome.standup_name,
            "items": [_webhook(w) for w in outcome.webhooks],
        }
    )


async def create_webhook(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    body = body_of(request)
    url, events = body.get("url"), body.get("events")
    if not isinstance(url, str) or not isinstance(events, list):
        raise invalid(
            {
                **({} if isinstance(url, str) else {"url": "Give the URL to deliver to."}),
                **({} if isinstance(events, list) else {"events": "Give a list of events."}),
            }
        )
    outcome = await webhooks.create(
        services_of(request),
        principal_of(request).caller(),
        standup_id,
        WebhookDraft(url=url, events=[str(e) for e in events]),
    )
    if isinstance(outcome, FieldErrors):
        raise field_errors(outcome)
    if isinstance(outcome, Refusal):
        raise _refused(outcome)
    return json_response({**_webhook(outcome.webhook), "secret": outcome.secret}, status=201)


async def delete_webhook(request: web.Request) -> web.Response:
    webhook_id = path_id(request, "webhook_id", "webhook")
    outcome = await webhooks.delete(
        services_of(request), principal_of(request).caller(), webhook_id
    )
    if isinstance(outcome, Refusal):
        raise _refused(outcome)
    return no_content()


async def enable_webhook(request: web.Request) -> web.Response:
    webhook_id = path_id(request, "webhook_id", "webhook")
    outcome = await webhooks.enable(
        services_of(request), principal_of(request).caller(), webhook_id
    )
    if isinstance(outcome, Refusal):
        raise _refused(outcome)
    return json_response(_webhook(outcome.webhook))


def _webhook(info: WebhookInfo) -> dict[str, Any]:
    return {
        "id": info.webhook_id,
        "standup_id": info.standup_id,
        "url": info.url,
        "events": info.events,
        "enabled": info.enabled,
        "disabled_at": _when(info.disabled_at),
        "disabled_reason": info.disabled_reason,
        "consecutive_failures": info.consecutive_failures,
        "created_by": info.created_by,
        "created_at": _when(info.created_at),
        "recent_deliveries": [_delivery(d) for d in info.recent],
    }


def _delivery(info: DeliveryInfo) -> dict[str, Any]:
    return {
        "id": info.delivery_id,
        "event_id": info.event_id,
        "event": info.event_type,
        "status": info.status,
        "attempts": info.attempts,
        "last_status": info.last_status,
        "last_error": info.last_error,
        "created_at": _when(info.created_at),
        "next_attempt_at": _when(info.next_attempt_at),
        "delivered_at": _when(info.delivered_at),
        "gave_up_at": _when(info.gave_up_at),
    }


def _when(at: Any) -> str | None:
    return at.isoformat() if at is not None else None
