"""A local webhook receiver for tests: an aiohttp server on a free port that records every
request, checks its signature twice (with ``bot.rules.signing.verify``, and independently with
``hmac`` from the spec text), and answers with the statuses a test scripts."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.rules.signing import verify


def spec_signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The spec, verbatim and without our code: HMAC-SHA256 keyed with the secret over
    ``v1:<timestamp>:<body>``, sent as ``X-AsyncStand-Signature: v1=<hex>``."""
    timestamp = headers.get("X-AsyncStand-Timestamp", "")
    signature = headers.get("X-AsyncStand-Signature", "")
    if not timestamp.isdigit() or not signature.startswith("v1="):
        return False
    expected = hmac.new(
        secret.encode(), b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature[3:])


@dataclass
class Received:
    """One request the receiver got, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: dt.datetime  # the app's clock when it arrived
    verified: bool  # bot.rules.signing.verify said yes
    spec_verified: bool  # the independent hmac check said yes
    status: int

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-AsyncStand-Delivery", "")


@dataclass
class Receiver:
    """Answers the statuses in ``script`` (per path, in order), then ``default``."""

    clock: Callable[[], dt.datetime]
    secrets: dict[str, str] = field(default_factory=dict)  # path -> secret
    script: dict[str, list[int]] = field(default_factory=dict)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        secret = self.secrets.get(request.path)
        now = self.clock()
        script = self.script.get(request.path) or []
        status = script.pop(0) if script else self.default
        self.received.append(
            Received(
                path=request.path,
                headers=headers,
                body=body,
                at=now,
                verified=secret is not None and verify(secret, headers, body, now=now),
                spec_verified=secret is not None and spec_signature_ok(secret, headers, body),
                status=status,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": "/elsewhere"})
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(
        self,
        count: int,
        path: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - polling helper
    ) -> list[Received]:
        """Poll until at least ``count`` requests (to ``path``) arrived; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received if path is None else self.to(path)
            if len(got) >= count:
                return list(got)
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhook request(s), got {len(got)}")
            await asyncio.sleep(0.02)


@dataclass
class FrozenClock:
    """An app clock that moves only when the test moves it, so back-off waits are exact."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> dt.datetime:
        self.now += dt.timedelta(**kwargs)
        return self.now

    def set(self, instant: dt.datetime) -> None:
        self.now = instant
