"""The HTTP side of the fake: an aiohttp server on 127.0.0.1 (random port) that decodes each
Web API request, checks its token, applies injected faults and latency, dispatches to the
method families, and records every call; plus the helpers tests use to wait on calls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Iterable
from typing import Any, Self

from aiohttp import web

from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, Call, FakeTeam, Fault, err

# Methods Slack answers without a bearer token.
_NO_AUTH_METHODS = frozenset(
    {"api.test", "oauth.access", "oauth.v2.access", "oauth.v2.exchange", "openid.connect.token"}
)
# Methods authenticating the app by client_id/client_secret, possibly as HTTP Basic auth.
_CLIENT_AUTH_METHODS = frozenset({"oauth.v2.access", "openid.connect.token"})
# Fields slack_sdk (and Slack's docs) send as JSON strings inside form bodies.
_JSON_FIELDS = (
    "blocks",
    "view",
    "attachments",
    "metadata",
    "unfurls",
    "user_auth_blocks",
    "files",
)
# The scope each method needs (any one of them), for tokens with ``token_scopes``; from the
# methods' reference pages. Methods whose scope depends on the conversation type
# (conversations.history, .replies, .members, .info, .open) check it themselves.
_METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.scheduleMessage": ("chat:write",),
    "chat.deleteScheduledMessage": ("chat:write",),
    "conversations.join": ("channels:join",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "team.info": ("team:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}


class FakeSlackServer(FakeSlackCore):
    """Serves the registered Web API methods at ``/api/{method}``."""

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        super()._add_routes(router)
        router.add_route("*", "/api/{method}", self._handle_api)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        self._add_routes(app.router)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self,
        method: str,
        error: str | None = None,
        status: int = 429,
        retry_after: float | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` ("*" = any method, "response_url"
        works too) fail: 429 -> HTTP 429 + ``Retry-After`` + ``{"ok":false,"error":"ratelimited"}``;
        5xx -> that status with ``{"ok":false,"error":"fatal_error"}``; 200 -> ``{"ok":false,
        "error":error}``. Repeated calls queue up in order."""
        if error is None:
            error = "ratelimited" if status == 429 else "fatal_error"
        self._faults.setdefault(method, []).append(Fault(error, status, retry_after, times))

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        """Forget recorded calls (state such as messages and users is kept)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
        predicate: Callable[[Call], object] | None = None,
    ) -> list[Call]:
        """Poll until at least ``count`` calls to ``method`` match ``predicate``; returns
        all matching calls. Raises AssertionError listing what was received on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [
                c
                for c in self.calls
                if c.method == method and (predicate is None or bool(predicate(c)))
            ]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected >= {count} matching call(s) to {method} within {timeout}s, "
                    f"got {len(matching)}; received:\n{self.describe_calls()}"
                )
            await asyncio.sleep(0.01)

    async def wait_idle(
        self,
        quiet: float = 0.2,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
    ) -> None:
        """Wait until no new call has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen = len(self.calls)
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if len(self.calls) != seen:
                seen = len(self.calls)
                last_change = time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return
        raise AssertionError(f"calls kept arriving for {timeout}s:\n{self.describe_calls()}")

    def assert_not_called(self, method: str) -> None:
        calls = self.calls_to(method)
        if calls:
            raise AssertionError(f"unexpected call(s) to {method}:\n{self.describe_calls(calls)}")

    def describe_calls(self, calls: Iterable[Call] | None = None) -> str:
        lines = []
        for c in self.calls if calls is None else calls:
            outcome = "ok" if c.ok else f"{c.status} {c.error}"
            body = json.dumps(c.body, default=str)
            if len(body) > 300:
                body = body[:297] + "..."
            lines.append(f"  {c.method} [{outcome}] {body}")
        return "\n".join(lines) or "  (no calls)"

    # ------------------------------------------------------------------ HTTP plumbing
    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
        """Query parameters merged with the form or JSON body; JSON-string fields decoded
        (wherever they came from: slack_sdk sends some methods' arguments in the query)."""
        params: dict[str, Any] = dict(request.query)
        if request.method in ("POST", "PUT") and request.can_read_body:
            ctype = request.content_type
            if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                try:
                    form = await request.post()
                except ValueError:
                    return params, "invalid_form_data"
                for key in form:
                    item = form.getone(key)
                    params[key] = item if isinstance(item, str) else getattr(item, "filename", "")
            else:
                raw = await request.read()
                if raw:
                    if ctype != "application/json":
                        return params, "invalid_post_type"
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        return params, "invalid_json"
                    if not isinstance(data, dict):
                        return params, "json_not_object"
                    params.update(data)
        for key in _JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, None

    @staticmethod
    def _json(status: int, payload: JSON, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(payload),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    async def _delay(self, method: str) -> None:
        delay = self.method_latency.get(method, self.latency)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.time()
        params, parse_error = await self._read_params(request)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        body_token = params.pop("token", None)
        if token is None and isinstance(body_token, str) and body_token:
            token = body_token
        await self._delay(method)

        headers: dict[str, str] = {}
        status = 200
        fault = self._take_fault(method)
        if fault is not None:
            status = fault.status
            payload = err(fault.error)
            if fault.status == 429 and fault.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(fault.retry_after))
        elif parse_error is not None:
            payload = err(parse_error)
        elif method not in self._methods:
            payload = err("unknown_method", req_method=method)
        else:
            auth_error = None if method in _NO_AUTH_METHODS else self._check_token(token)
            if auth_error is not None:
                payload = err(auth_error)
            else:
                req = ApiRequest(method, params, token, self._team_for(token), request.method)
                if method in _CLIENT_AUTH_METHODS:
                    params["_basic_auth"] = request.headers.get("Authorization", "")
                try:
                    payload = self._require_scope(
                        req, *_METHOD_SCOPES.get(method, ())
                    ) or self._methods[method](req)
                finally:
                    params.pop("_basic_auth", None)
                if method == "auth.test" and payload.get("ok"):
                    granted = self.token_scopes.get(token or "")
                    headers["x-oauth-scopes"] = (
                        self.scopes if granted is None else ",".join(sorted(granted))
                    )
        self._record(request, method, params, token, arrived, status, payload)
        return self._json(status, payload, headers)

    def _record(
        self,
        request: web.Request,
        method: str,
        body: dict[str, Any],
        token: str | None,
        arrived: float,
        status: int,
        response: JSON,
    ) -> None:
        """Add a call to ``calls`` (``arrived`` is the time.time() it came in)."""
        self.calls.append(
            Call(
                method=method,
                body=body,
                token=token,
                at=arrived,
                http_method=request.method,
                status=status,
                response=response,
                headers=dict(request.headers),
            )
        )

    def _check_token(self, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token in self.revoked_tokens:
            return self.revoked_tokens[token]
        if token not in self.valid_tokens:
            return "invalid_auth"
        deadline = self.token_expires_at.get(token)
        if deadline is not None and self.clock() >= deadline:
            return "token_expired"
        user = self.users.get(self.user_tokens.get(token, ""))
        if user is not None and user.deleted:
            return "account_inactive"
        return None

    def _team_for(self, token: str | None) -> FakeTeam:
        team_id = self.token_teams.get(token or "", self.team_id)
        return self.teams.get(team_id) or self.teams[self.team_id]
