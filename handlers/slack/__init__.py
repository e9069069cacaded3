"""The Slack surface: a Bolt app whose listeners, one module per feature, parse a payload,
call one use case and render its outcome."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot import events, workspaces
from bot.runtime import Services
from handlers.slack import (
    blockers,
    checkins,
    commands,
    forms,
    home,
    lifecycle,
    membership,
    reminders,
    reports,
)
from handlers.slack.context import (
    AFTER_ACK_KEY,
    SERVICES_KEY,
    AfterAckSlots,
    PooledRespond,
)

log = structlog.get_logger("asyncstand.app")

SORRY = "Something went wrong on our side. Nothing you entered was lost — please try again."
INTERACTIVE = (commands, forms, checkins, reminders, reports, home, blockers)


def sorry_response(body: dict[str, Any]) -> BoltResponse:
    """What Slack gets when a listener fails before acknowledging: a message, not a 500."""
    if body.get("type") == "view_submission":
        view = body.get("view")
        view_blocks = (view.get("blocks") if isinstance(view, dict) else None) or []
        first_input = next(
            (b for b in view_blocks if isinstance(b, dict) and b.get("type") == "input"), None
        )
        if first_input and first_input.get("block_id"):
            payload = {"response_action": "errors", "errors": {first_input["block_id"]: SORRY}}
            return BoltResponse(status=200, body=json.dumps(payload))
        return BoltResponse(status=200, body="")
    return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": SORRY}))


def _drop_token_precedence_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


@dataclass(frozen=True)
class SlackApps:
    """Two Bolt apps on one signing secret. Interactive requests (commands, buttons, forms)
    are acknowledged first and handled after. Events are handled before the 200 goes back, so
    a delivery whose handler died gets no 200 and Slack retries it (see bot.events)."""

    interactive: AsyncApp
    events: AsyncApp

    def for_content_type(self, content_type: str) -> AsyncApp:
        """Slack posts events as JSON and everything else as a form."""
        return self.events if content_type == "application/json" else self.interactive


def build_bolt(services: Services) -> SlackApps:
    """The Bolt apps with our middleware and every feature's listeners."""
    after_ack = AfterAckSlots()  # shared by both apps
    interactive = _app(services, after_ack, process_before_response=False)
    events_app = _app(services, after_ack, process_before_response=True)

    async def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        log.error("listener_failed", error_type=type(error).__name__, exc_info=error)
        if response is not None:  # not acknowledged yet: answer Slack with a message
            return sorry_response(body)
        return None

    async def on_event_error(error: Exception) -> None:
        # No response of ours: the status stays 500, so Slack delivers the event again.
        if isinstance(error, events.StillInFlight):
            log.info("event_still_in_flight", event_id=str(error))
            return
        log.error("event_listener_failed", error_type=type(error).__name__, exc_info=error)

    interactive.error(on_error)
    events_app.error(on_event_error)
    for feature in INTERACTIVE:
        feature.register(interactive)
    lifecycle.register(events_app)
    membership.register(events_app)
    return SlackApps(interactive, events_app)


def _app(
    services: Services, after_ack: AfterAckSlots, *, process_before_response: bool
) -> AsyncApp:
    settings = services.settings
    token = settings.slack_bot_token
    bolt_kwargs: dict[str, Any] = {
        "signing_secret": settings.slack_signing_secret,
        "client": services.slack.client(token),
        "raise_error_for_unhandled_request": False,
        "process_before_response": process_before_response,
        # handlers.slack_request checked the signature over the raw bytes before Bolt sees a
        # request (POST /slack/events is the only way in over HTTP; Socket Mode has none):
        # a second HMAC per request would only cost the acknowledgement time.
        "request_verification_enabled": False,
    }
    if not token:  # multi-workspace: the bot token comes from our encrypted installations
        bolt_kwargs["authorize"] = _authorize(services)
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that our client (which
    # carries that same token) takes precedence: true, expected, and not worth a warning.
    bolt_logger = logging.getLogger("asyncstand.bolt")
    bolt_logger.addFilter(_drop_token_precedence_warning)  # idempotent: same function
    bolt_kwargs["logger"] = bolt_logger
    app = AsyncApp(**bolt_kwargs)

    async def with_services(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context[SERVICES_KEY] = services
        context[AFTER_ACK_KEY] = after_ack
        if context.response_url:
            context["respond"] = PooledRespond(context.response_url, services.slack.http_session)
        with structlog.contextvars.bound_contextvars(
            team_id=context.team_id or context.enterprise_id
        ):
            await next()

    app.middleware(with_services)
    return app


def _authorize(services: Services) -> Callable[..., Awaitable[AuthorizeResult | None]]:
    async def authorize(
        enterprise_id: str | None, team_id: str | None, **_kwargs: Any
    ) -> AuthorizeResult | None:
        found = await workspaces.find_installation(services, team_id, enterprise_id)
        if found is None:
            return None
        _, install, token = found
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id=install.bot_user_id,
            bot_id=install.bot_id,
        )

    return authorize
