"""Socket Mode: ``apps.connections.open`` and the WebSocket it hands out, speaking Slack's
envelope protocol (/work/shared/slack-reference/platform_notes.md section 5, from
docs.slack.dev/apis/events-api/using-socket-mode and slack_sdk's client).

- ``apps.connections.open`` (POST only, else ``insecure_request``) takes the app-level token as
  ``Authorization: Bearer xapp-…`` and nowhere else (none there: ``missing_args``; an unknown
  one: ``invalid_auth``; a bot or user token: ``not_allowed_token_type``, Slack's error for a
  token of the wrong kind — not stated for this method, an assumption). It answers
  ``{"ok": true, "url": "ws://127.0.0.1:<port>/link/?ticket=…&app_id=…"}`` (Slack's is wss://).
- A ticket opens one connection (an assumption, kept strict so the app is shown to ask for a
  new URL for every connection, as slack_sdk does). On connecting, the server sends ``hello``
  (``num_connections``, ``debug_info``, ``connection_info.app_id``).
- ``send_envelope`` sends ``{"envelope_id", "type", "payload", "accepts_response_payload"}``
  (events also carry ``retry_attempt``/``retry_reason``) on one open connection (Slack sends
  each payload to any one of an app's connections). An acknowledgement is
  ``{"envelope_id": …}`` plus an optional ``"payload"`` object, allowed only when the envelope
  accepts one; anything else is recorded in ``socket_protocol_errors``.
- ``socket_disconnect`` sends ``{"type": "disconnect", "reason": …, "debug_info": {"host"}}``
  (``refresh_requested``, ``warning``, ``link_disabled``); ``drop_socket`` cuts a connection
  without a close frame (or with one, ``clean=True``).
- With ``socket_redeliver_after`` set, an ``events_api`` envelope not acknowledged in time is
  delivered again (a new envelope id, ``retry_attempt`` + 1, ``retry_reason: "timeout"``), up
  to three times, as Slack retries events.

``SocketRequests`` sends the same payloads ``tests.slack_signing.SlackRequests`` posts over
HTTP as envelopes instead, and returns ``(200, ack payload as JSON or "")`` once acknowledged,
``(0, "")`` when no acknowledgement came in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fake_slack.server import FakeSlackServer
from tests.fake_slack.state import JSON, err
from tests.slack_signing import SlackRequests

if TYPE_CHECKING:
    from tests.fake_slack.fake import FakeSlack

DEFAULT_APP_TOKEN = "xapp-1-A0APP0001-1000000000001-0123456789abcdef0123456789abcdef"
ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")
# Interactions whose acknowledgement may carry a response (a view_submission's
# response_action, a block_suggestion's options); a click's may not.
_INTERACTIONS_WITH_RESPONSE = frozenset({"view_submission", "block_suggestion"})
MAX_EVENT_RETRIES = 3


@dataclass
class SocketAck:
    """An acknowledgement as received."""

    envelope_id: str
    payload: JSON | None
    connection: int  # FakeSocket.number it arrived on
    at: float  # time.time()


@dataclass
class Envelope:
    """One envelope sent to the app (``ack`` resolves when it is acknowledged)."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    connection: int
    sent_at: float
    ack: asyncio.Future[SocketAck] = field(repr=False)
    retry_attempt: int = 0

    @property
    def acked(self) -> bool:
        return self.ack.done()


@dataclass
class FakeSocket:
    """One Socket Mode connection, seen from Slack's side."""

    number: int
    ticket: str
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    opened_at: float
    closed_at: float | None = None
    frames: list[JSON] = field(default_factory=list)  # everything the app sent on it

    @property
    def open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


class SocketModeMethods(FakeSlackServer):
    """``apps.connections.open`` and ``/link/`` (the WebSocket)."""

    def __init__(self, *, app_token: str = DEFAULT_APP_TOKEN, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_tokens: set[str] = {app_token}
        self.socket_single_use_tickets = True
        self.socket_redeliver_after: float | None = None
        self.socket_connections: list[FakeSocket] = []
        self.socket_acks: list[SocketAck] = []
        self.socket_protocol_errors: list[str] = []
        self.envelopes: dict[str, Envelope] = {}
        self._tickets: dict[str, bool] = {}  # ticket -> used
        self._envelope_seq = itertools.count(1)
        self._redeliveries: set[asyncio.Task[None]] = set()

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        super()._add_routes(router)
        router.add_get("/link/", self._handle_socket)

    async def stop(self) -> None:
        for task in self._redeliveries:
            task.cancel()
        for connection in self.socket_connections:
            if connection.open:
                await connection.ws.close()
        await super().stop()

    # ------------------------------------------------------------------ apps.connections.open
    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "apps.connections.open":
            return await super()._handle_api(request)
        arrived = time.time()
        params, _ = await self._read_params(request)
        params.pop("token", None)  # only the Authorization header counts
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        await self._delay("apps.connections.open")
        status, headers = 200, {}
        fault = self._take_fault("apps.connections.open")
        if fault is not None:
            status, payload = fault.status, err(fault.error)
            if fault.status == 429 and fault.retry_after is not None:
                headers["Retry-After"] = str(int(fault.retry_after))
        elif request.method != "POST":
            payload = err("insecure_request")
        elif not token:
            payload = err("missing_args")
        elif token in self.app_tokens:
            ticket = secrets.token_hex(16)
            self._tickets[ticket] = False
            url = f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"
            payload = {"ok": True, "url": url}
        elif token.startswith("xapp-"):
            payload = err("invalid_auth")
        else:
            payload = err("not_allowed_token_type")
        self._record(request, "apps.connections.open", params, token, arrived, status, payload)
        return self._json(status, payload, headers)

    # ------------------------------------------------------------------ the WebSocket
    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        used = self._tickets.get(ticket)
        if used is None or (used and self.socket_single_use_tickets):
            return web.Response(status=401, text="invalid or used ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._tickets[ticket] = True
        connection = FakeSocket(
            number=len(self.socket_connections) + 1,
            ticket=ticket,
            ws=ws,
            request=request,
            opened_at=time.time(),
        )
        self.socket_connections.append(connection)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.open_sockets),
                "debug_info": {
                    "host": f"applink-fake-{connection.number}",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_frame(connection, message.data)
                elif message.type == WSMsgType.BINARY:
                    self._protocol_error(connection, "sent a binary frame")
        finally:
            connection.closed_at = time.time()
        return ws

    def _protocol_error(self, connection: FakeSocket, problem: str) -> None:
        self.socket_protocol_errors.append(f"connection {connection.number}: {problem}")

    def _on_frame(self, connection: FakeSocket, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            self._protocol_error(connection, f"not JSON: {data[:80]!r}")
            return
        if not isinstance(frame, dict):
            self._protocol_error(connection, f"not a JSON object: {data[:80]!r}")
            return
        connection.frames.append(frame)
        envelope_id = frame.get("envelope_id")
        if not isinstance(envelope_id, str):
            self._protocol_error(connection, f"a frame without an envelope_id: {data[:80]!r}")
            return
        unknown_keys = set(frame) - {"envelope_id", "payload"}
        if unknown_keys:
            self._protocol_error(connection, f"ack with unknown keys {sorted(unknown_keys)}")
        envelope = self.envelopes.get(envelope_id)
        if envelope is None:
            self._protocol_error(connection, f"ack for unknown envelope {envelope_id}")
            return
        if envelope.acked:
            self._protocol_error(connection, f"second ack for {envelope_id}")
            return
        payload = frame.get("payload")
        if payload is not None and not isinstance(payload, dict):
            self._protocol_error(connection, f"ack payload for {envelope_id} is not an object")
            payload = None
        if payload is not None and not envelope.accepts_response_payload:
            self._protocol_error(
                connection, f"ack payload for {envelope_id}, which accepts no response payload"
            )
        ack = SocketAck(envelope_id, payload, connection.number, time.time())
        self.socket_acks.append(ack)
        envelope.ack.set_result(ack)

    # ------------------------------------------------------------------ driving the app
    @property
    def open_sockets(self) -> list[FakeSocket]:
        return [c for c in self.socket_connections if c.open]

    async def wait_for_socket(
        self,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
    ) -> FakeSocket:
        """Wait until at least ``count`` connections were opened and one is open; the newest
        open one."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.socket_connections) >= count and self.open_sockets:
                return self.open_sockets[-1]
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} Socket Mode connection(s) within {timeout}s, got "
                    f"{len(self.socket_connections)} ({len(self.open_sockets)} open); calls:\n"
                    f"{self.describe_calls(self.calls_to('apps.connections.open'))}"
                )
            await asyncio.sleep(0.01)

    async def send_envelope(
        self,
        kind: str,
        payload: JSON,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: FakeSocket | None = None,
    ) -> Envelope:
        """Send one envelope on ``connection`` (default: the newest open one)."""
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {kind!r}")
        target = connection or (self.open_sockets[-1] if self.open_sockets else None)
        if target is None or not target.open:
            raise AssertionError("no open Socket Mode connection to send on")
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _INTERACTIONS_WITH_RESPONSE
            )
        envelope_id = f"{next(self._envelope_seq):04d}-{secrets.token_hex(12)}"
        frame: JSON = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            frame["retry_attempt"] = retry_attempt
            frame["retry_reason"] = retry_reason
        envelope = Envelope(
            envelope_id,
            kind,
            payload,
            accepts_response_payload,
            target.number,
            time.time(),
            asyncio.get_running_loop().create_future(),
            retry_attempt,
        )
        self.envelopes[envelope_id] = envelope
        await target.ws.send_json(frame)
        if kind == "events_api" and self.socket_redeliver_after is not None:
            task = asyncio.create_task(self._redeliver(envelope, self.socket_redeliver_after))
            self._redeliveries.add(task)
            task.add_done_callback(self._redeliveries.discard)
        return envelope

    async def _redeliver(self, envelope: Envelope, after: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(envelope.ack), after)
            return
        if envelope.retry_attempt >= MAX_EVENT_RETRIES or not self.open_sockets:
            return
        await self.send_envelope(
            "events_api",
            envelope.payload,
            retry_attempt=envelope.retry_attempt + 1,
            retry_reason="timeout",
        )

    async def socket_request(
        self,
        kind: str,
        payload: JSON,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
        **options: Any,
    ) -> tuple[Envelope, SocketAck | None]:
        """Send an envelope and wait for its acknowledgement (None if none came in time)."""
        envelope = await self.send_envelope(kind, payload, **options)
        try:
            ack = await asyncio.wait_for(asyncio.shield(envelope.ack), timeout)
        except TimeoutError:
            return envelope, None
        return envelope, ack

    async def socket_disconnect(
        self, reason: str = "refresh_requested", connection: FakeSocket | None = None
    ) -> FakeSocket:
        """Tell the app (on ``connection``, default the newest open one) to reconnect."""
        target = connection or self.open_sockets[-1]
        await target.ws.send_json(
            {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": f"applink-fake-{target.number}"},
            }
        )
        return target

    async def drop_socket(
        self, connection: FakeSocket | None = None, *, clean: bool = False
    ) -> FakeSocket:
        """Cut a connection: the TCP connection just goes away (or, ``clean``, a close frame)."""
        target = connection or self.open_sockets[-1]
        if clean:
            await target.ws.close(code=1001, message=b"going away")
        else:
            transport = target.request.transport
            if transport is not None:
                transport.abort()
        target.closed_at = target.closed_at or time.time()
        return target


class SocketRequests(SlackRequests):
    """``SlackRequests``' payloads, sent as Socket Mode envelopes instead of signed POSTs:
    slash commands as ``slash_commands``, interactions as ``interactive``, Events API bodies as
    ``events_api`` (``X-Slack-Retry-Num`` becomes ``retry_attempt``). Each send waits for the
    acknowledgement: ``(200, json of its payload or "")``, or ``(0, "")`` without one."""

    def __init__(self, fake: FakeSlack, *, ack_timeout: float = 5.0, **kw: Any) -> None:
        super().__init__("ws://socket-mode", "", team_id=fake.team_id, fake=fake, **kw)
        self.socket: SocketModeMethods = fake
        self.ack_timeout = ack_timeout
        self.last_envelope: Envelope | None = None

    async def post(self, body: bytes | str, content_type: str, **kw: Any) -> tuple[int, str]:
        raise AssertionError("Socket Mode: nothing is posted to the app over HTTP")

    async def _send(self, kind: str, payload: JSON, **options: Any) -> tuple[int, str]:
        self.last_payload = payload
        envelope, ack = await self.socket.socket_request(
            kind, payload, timeout=self.ack_timeout, **options
        )
        self.last_envelope = envelope
        if ack is None:
            return 0, ""
        return 200, json.dumps(ack.payload) if ack.payload is not None else ""

    async def _post_form(self, fields: Mapping[str, Any], **kw: Any) -> tuple[int, str]:
        payload = {k: "" if v is None else str(v) for k, v in fields.items()}
        return await self._send("slash_commands", payload)

    async def _post_payload(self, payload: JSON, **kw: Any) -> tuple[int, str]:
        return await self._send("interactive", payload)

    async def _post_json(self, payload: JSON, **kw: Any) -> tuple[int, str]:
        headers: Mapping[str, str | None] = kw.get("headers") or {}
        retry = {k.lower(): v for k, v in headers.items() if v is not None}
        options: dict[str, Any] = {}
        if "x-slack-retry-num" in retry:
            options["retry_attempt"] = int(retry["x-slack-retry-num"])
            options["retry_reason"] = retry.get("x-slack-retry-reason", "")
        return await self._send("events_api", payload, **options)
