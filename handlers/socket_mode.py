"""Socket Mode (SLACK_APP_TOKEN): Slack's requests over one outbound WebSocket, no public URL.

slack_sdk's aiohttp ``SocketModeClient`` keeps the connection: it asks for a URL with
``apps.connections.open`` (on SLACK_API_URL, like every Web API call, with the app-level token
as the bearer), connects to the URL it gets as given, answers pings, and connects anew when the
connection drops, goes stale, or Slack sends ``disconnect`` (``refresh_requested``,
``warning``…). Bolt's own Socket Mode adapter dispatches to one app; ours are two (see
``handlers.slack.SlackApps``), so the envelopes are dispatched here, with the same rules as
POST /slack/events:

- ``slash_commands`` and ``interactive`` go to the interactive app, which acknowledges first and
  works after; the ack carries the listener's answer (``response_action`` errors, an ephemeral
  text) when the envelope ``accepts_response_payload``. A listener that fails before its ack
  answers with the same apology as over HTTP.
- ``events_api`` goes to the events app, which handles the event *before* answering: the ack
  is sent only after the handler finished. A handler that failed (or a redelivery while another
  attempt still runs) gets no ack, which over Socket Mode means what a 500 means over HTTP:
  Slack delivers the event again (``retry_attempt``), and ``bot.events`` acts on it once.
- Whatever cannot be served (a shape our listeners can't read, an unknown envelope type, no
  listener) is acknowledged empty: a redelivery would not change it.

No signature is checked (Socket Mode has none: the connection itself is authenticated by the
app-level token), but the payload's shape is, exactly as over HTTP (``slack_request.check_shape``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.metrics import Metrics
from bot.runtime import Services
from bot.slack.gateway import error_code
from handlers import slack_request
from handlers.slack import SlackApps, sorry_response

log = structlog.get_logger("asyncstand.socket_mode")

# slack_sdk's own lines (quiet unless LOG_LEVEL=DEBUG; bot.logging withholds frame contents).
SDK_LOGGER = logging.getLogger("slack_sdk.socket_mode")

EVENTS, COMMANDS, INTERACTIVE = "events_api", "slash_commands", "interactive"
ENVELOPE_TYPES = (EVENTS, COMMANDS, INTERACTIVE)
# apps.connections.open answers no retry will fix: said once, clearly, then retried slowly.
OPEN_HINTS = {
    "invalid_auth": "SLACK_APP_TOKEN is not valid (revoked or mistyped): create an app-level "
    "token with connections:write (Basic Information → App-Level Tokens)",
    "not_authed": "SLACK_APP_TOKEN was not sent",
    "missing_scope": "the app-level token lacks connections:write",
    "not_allowed_token_type": "SLACK_APP_TOKEN must be an app-level token (xapp-…)",
    "forbidden_team": "this workspace does not allow the app to connect",
}
MAX_OPEN_BACKOFF = 60.0
# On stop: how long envelopes being handled may take to finish and be acknowledged.
STOP_GRACE_SECONDS = 5.0


class _Client(SocketModeClient):
    """slack_sdk's aiohttp client; asking for a URL retries with back-off and says why it
    failed in one log line, instead of a traceback every ping interval."""

    async def issue_new_wss_url(self) -> str:
        failures = 0
        while True:
            try:
                response = await self.web_client.apps_connections_open(app_token=self.app_token)
                return str(response["url"])
            except SlackApiError as exc:
                code = error_code(exc)
                if code == "ratelimited":
                    delay = float(exc.response.headers.get("Retry-After", "30"))
                else:
                    delay = min(MAX_OPEN_BACKOFF, self.ping_interval * 2 ** min(failures, 8))
                log.error(
                    "socket_mode_open_failed", error=code, hint=OPEN_HINTS.get(code), retry_in=delay
                )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                delay = min(MAX_OPEN_BACKOFF, self.ping_interval * 2 ** min(failures, 8))
                log.warning("socket_mode_open_failed", error=type(exc).__name__, retry_in=delay)
            if self.closed:
                raise ConnectionAbortedError("the Socket Mode client is closed")
            failures += 1
            await asyncio.sleep(delay)


class SocketModeLink:
    """The Socket Mode connection of one web process, for both Bolt apps. Built with the app;
    ``start()`` (in the running loop) connects in the background, ``stop()`` lets envelopes
    being handled finish and closes."""

    def __init__(self, services: Services, slack: SlackApps, metrics: Metrics) -> None:
        token = services.settings.slack_app_token
        if token is None:
            raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
        self._app_token = token
        self._services = services
        self._slack = slack
        self._metrics = metrics
        self._client: _Client | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._hello_session: object = None
        self._connections = 0  # hellos so far
        self._stopping = False
        self._in_flight: set[asyncio.Task[Any]] = set()
        metrics.socket_connected.set_function(lambda: 1.0 if self.connected else 0.0)

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self._services.settings
        client = _Client(
            app_token=self._app_token,
            logger=SDK_LOGGER,
            # SLACK_API_URL, retries and metrics, like every Web API call.
            web_client=self._services.slack.client(None),
            ping_interval=settings.socket_mode_ping_seconds,
            on_message_listeners=[self._on_frame],
        )
        client.socket_mode_request_listeners.append(self._on_envelope)
        self._client = client
        # In the background: /healthz and /readyz answer while Slack is out of reach.
        connecting = client.connect()  # type: ignore[no-untyped-call]
        self._connecting = asyncio.create_task(connecting, name="socket-mode-connect")
        log.info("socket_mode_starting")

    async def stop(self) -> None:
        self._stopping = True  # from now on nothing is acked: Slack delivers it elsewhere
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=STOP_GRACE_SECONDS)
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]
        self._hello_session = None

    # --- state ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Open, not stale, and Slack said hello on this very connection."""
        client = self._client
        if client is None or client.closed or client.stale:
            return False
        session = client.current_session
        return session is not None and not session.closed and session is self._hello_session

    async def readiness(self) -> str:
        """For /readyz: "ok", or what the connection is doing instead."""
        if self.connected:
            return "ok"
        if self._client is None or self._stopping:
            return "not connected"
        return "connecting"

    # --- frames and envelopes --------------------------------------------------------------------

    async def _on_frame(self, message: aiohttp.WSMessage) -> None:
        """Every text frame as it arrives: note hello and disconnect (slack_sdk reacts to
        disconnect itself, by connecting to a new URL)."""
        try:
            frame = json.loads(message.data)
        except (TypeError, ValueError):
            return
        if not isinstance(frame, dict):
            return
        kind = frame.get("type")
        if kind == "hello":
            client = self._client
            self._hello_session = client.current_session if client is not None else None
            self._metrics.socket_connections.inc()
            debug_info = frame.get("debug_info")
            debug_info = debug_info if isinstance(debug_info, dict) else {}
            log.info(
                "socket_mode_connected",
                reconnect=self._connections > 0,
                num_connections=frame.get("num_connections"),
                approximate_connection_time=debug_info.get("approximate_connection_time"),
            )
            self._connections += 1
        elif kind == "disconnect":
            reason = frame.get("reason")
            if reason == "link_disabled":
                log.error(
                    "socket_mode_disabled",
                    hint="Socket Mode was switched off in the app's settings (Settings → Socket "
                    "Mode): switch it on again, or unset SLACK_APP_TOKEN and give Slack a "
                    "request URL",
                )
            else:
                log.info("socket_mode_reconnecting", reason=reason)

    async def _on_envelope(
        self, client: AsyncBaseSocketModeClient, request: SocketModeRequest
    ) -> None:
        if self._stopping:
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        started = time.perf_counter()
        kind = request.type if request.type in ENVELOPE_TYPES else "other"
        try:
            answer = await self._dispatch(request)
        except Exception:
            log.exception("socket_envelope_failed", type=kind, envelope_id=request.envelope_id)
            answer = _NO_ACK if kind == EVENTS else _Ack(None)
        finally:
            if task is not None:
                self._in_flight.discard(task)
        if answer is _NO_ACK:
            self._metrics.socket_envelopes.labels(kind, "not_acked").inc()
            log.info("socket_envelope_not_acked", type=kind, envelope_id=request.envelope_id)
            return
        payload = answer.payload if request.accepts_response_payload else None
        try:
            await client.send_socket_mode_response(
                SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
            )
        except Exception as exc:  # the connection went away: Slack delivers it again
            self._metrics.socket_envelopes.labels(kind, "ack_failed").inc()
            log.warning(
                "socket_ack_failed",
                type=kind,
                envelope_id=request.envelope_id,
                error=type(exc).__name__,
            )
            return
        self._metrics.socket_envelopes.labels(kind, answer.outcome).inc()
        self._metrics.socket_ack_latency.labels(kind).observe(time.perf_counter() - started)

    async def _dispatch(self, request: SocketModeRequest) -> _Ack:
        kind, body = request.type, request.payload
        if kind not in ENVELOPE_TYPES:
            log.info("socket_envelope_unknown", type=str(kind)[:40])
            return _Ack(None, "refused")
        media_type = slack_request.JSON if kind == EVENTS else slack_request.FORM
        problem = slack_request.check_shape(body, media_type)
        if problem is not None:
            log.info("socket_envelope_refused", type=kind, reason=problem)
            return _Ack(None, "refused")
        bolt = self._slack.events if kind == EVENTS else self._slack.interactive
        bolt_request = AsyncBoltRequest(
            body=body, headers=_retry_headers(request), mode="socket_mode"
        )
        response = await bolt.async_dispatch(bolt_request)
        if kind == EVENTS:
            # Handled before this answer: a failure leaves the event to Slack's redelivery.
            return _NO_ACK if response.status >= 500 else _Ack(None)
        if response.status >= 500:  # failed before its ack: the same apology as over HTTP
            return _Ack(_payload_of(sorry_response(body)))
        return _Ack(_payload_of(response) if response.status == 200 else None)


class _Ack:
    """What to acknowledge an envelope with (a payload, or none)."""

    def __init__(self, payload: dict[str, Any] | None, outcome: str = "acked") -> None:
        self.payload = payload
        self.outcome = outcome


_NO_ACK = _Ack(None, "not_acked")


def _payload_of(response: BoltResponse) -> dict[str, Any] | None:
    """A Bolt response body as an ack payload: JSON objects as they are, text as {"text"}."""
    if not response.body:
        return None
    try:
        value = json.loads(response.body)
    except ValueError:
        return {"text": response.body}
    return value if isinstance(value, dict) else {"text": response.body}


def _retry_headers(request: SocketModeRequest) -> dict[str, str | Sequence[str]] | None:
    """A redelivered event's attempt and reason, as the headers Slack sends over HTTP (a first
    delivery carries retry_attempt 0 over the socket, and no header over HTTP)."""
    if not request.retry_attempt:
        return None
    return {
        "x-slack-retry-num": str(request.retry_attempt),
        "x-slack-retry-reason": str(request.retry_reason or ""),
    }
