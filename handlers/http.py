"""The HTTP surface: Slack's requests, the install flow, and health, readiness and metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot.metrics import Metrics
from bot.runtime import Services
from bot.slack.ratelimit import RedisLimiter
from handlers.install import build_oauth_flow
from handlers.slack import SORRY, SlackApps

log = structlog.get_logger("asyncstand.app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NOT_INSTALLABLE = (
    "This AsyncStand runs for one workspace (SLACK_BOT_TOKEN); there is nothing to install. "
    "Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace mode."
)


def build_web(services: Services, slack: SlackApps, metrics: Metrics) -> web.Application:
    """Routes for this process's role: a worker serves only health and metrics."""
    settings = services.settings
    app = web.Application(client_max_size=1024 * 1024, middlewares=[_observe(metrics)])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", _readyz(services))
    app.router.add_get("/metrics", _metrics_route(metrics))
    if settings.role == "worker":
        return app
    app.router.add_post("/slack/events", _slack_events(slack, settings.slack_signing_secret))
    if settings.single_workspace:
        app.router.add_get("/slack/install", install_not_available)
        app.router.add_get("/slack/oauth_redirect", install_not_available)
    else:
        flow = build_oauth_flow(services)

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def oauth_redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        app.router.add_get("/slack/install", install)
        app.router.add_get("/slack/oauth_redirect", oauth_redirect)
    return app


def _slack_events(slack: SlackApps, signing_secret: str) -> Handler:
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.text()
        try:
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string, headers=dict(request.headers)
            )
        except Exception:  # unparseable payload: 401 if unsigned, else 400 — never a 500
            if not verifier.is_valid_request(body, dict(request.headers)):
                return web.json_response({"error": "invalid request signature"}, status=401)
            return web.json_response({"error": "malformed request body"}, status=400)
        bolt = slack.for_content_type(request.content_type)
        bolt_response = await bolt.async_dispatch(bolt_request)
        if bolt_response.status >= 500 and bolt is slack.interactive:
            bolt_response = BoltResponse(
                status=200, body=json.dumps({"response_type": "ephemeral", "text": SORRY})
            )
        return await to_aiohttp_response(bolt_response)

    return slack_events


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _readyz(services: Services) -> Handler:
    async def readyz(_: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            async with services.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable ({type(exc).__name__})"
        limiter = services.slack.limiter
        if isinstance(limiter, RedisLimiter):
            checks["redis"] = "ok" if await limiter.ping() else "unavailable"
        ready = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    return readyz


def _metrics_route(metrics: Metrics) -> Handler:
    async def metrics_route(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    return metrics_route


async def install_not_available(_: web.Request) -> web.Response:
    return web.Response(status=404, text=NOT_INSTALLABLE)


def _observe(metrics: Metrics) -> Middleware:
    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception:
            log.exception("request_failed", route=name)
            return web.json_response({"error": "internal error"}, status=503)
        finally:
            metrics.http_requests.labels(name, str(status)).inc()
            metrics.http_latency.labels(name).observe(time.perf_counter() - started)

    return observe
