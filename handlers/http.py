"""The HTTP surface: Slack's requests, the install flow, the web dashboard (handlers.web), and
health, readiness and metrics."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import text

from bot.metrics import Metrics
from bot.runtime import Services
from bot.settings import Settings
from bot.slack.ratelimit import Limit, RedisLimiter
from bot.views.pages import PAGE_CSP, too_many_requests_page
from handlers import api, slack_request, web_policy
from handlers import web as web_pages
from handlers.install import build_oauth_flow
from handlers.slack import SORRY, SlackApps

log = structlog.get_logger("asyncstand.app")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NOT_INSTALLABLE = (
    "This AsyncStand runs for one workspace (SLACK_BOT_TOKEN); there is nothing to install. "
    "Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace mode."
)


ReadinessCheck = Callable[[], Awaitable[str]]  # "ok", or what is wrong


def build_web(
    services: Services,
    slack: SlackApps,
    metrics: Metrics,
    *,
    readiness: Mapping[str, ReadinessCheck] | None = None,
) -> web.Application:
    """Routes for this process's role: a worker serves only health and metrics; in Socket Mode
    Slack's requests arrive over the socket, so no Slack route is served. `readiness`: more
    checks for /readyz (the Socket Mode connection), by name."""
    settings = services.settings
    middlewares = [security_headers, _observe(metrics)]
    app = web.Application(client_max_size=1024 * 1024, middlewares=middlewares)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", _readyz(services, readiness or {}))
    metrics_route = _metrics_route(metrics, settings.metrics_token)
    if settings.metrics_port is None:
        app.router.add_get("/metrics", metrics_route)
    else:
        _serve_metrics_apart(app, settings, metrics_route, middlewares)
    if settings.role == "worker":
        return app
    api.register(app, services)
    if not settings.socket_mode:  # Socket Mode: Slack's requests arrive over the socket
        app.router.add_post("/slack/events", _slack_events(slack, settings.slack_signing_secret))
    if settings.socket_mode:
        pass  # and nothing is installed from here (see SOCKET_MODE_WITH_OAUTH in bot.settings)
    elif settings.single_workspace:
        app.router.add_get("/slack/install", install_not_available)
        app.router.add_get("/slack/oauth_redirect", install_not_available)
    else:
        flow = build_oauth_flow(services)
        over_limit = _install_rate_limit(services)

        async def install(request: web.Request) -> web.Response:
            refused = await over_limit(request)
            if refused is not None:
                return refused
            bolt_response = await flow.handle_installation(_browser_request(request))
            return _lax_cookies(await to_aiohttp_response(bolt_response))

        async def oauth_redirect(request: web.Request) -> web.Response:
            bolt_response = await flow.handle_callback(_browser_request(request))
            return _lax_cookies(await to_aiohttp_response(bolt_response))

        app.router.add_get("/slack/install", install)
        app.router.add_get("/slack/oauth_redirect", oauth_redirect)
    web_pages.register(app, services)  # Sign in with Slack and the pages under /app/
    return app


# --- Slack's requests -------------------------------------------------------------------------


def _single_header(request: web.Request, name: str) -> str | None:
    """A header sent exactly once (a repeated signature header is as good as none)."""
    values = request.headers.getall(name, [])
    return values[0] if len(values) == 1 else None


def _slack_events(slack: SlackApps, signing_secret: str) -> Handler:
    async def slack_events(request: web.Request) -> web.Response:
        checked = slack_request.read_request(
            signing_secret,
            timestamp=_single_header(request, "X-Slack-Request-Timestamp"),
            signature=_single_header(request, "X-Slack-Signature"),
            content_type=request.headers.get("Content-Type"),
            raw=await request.read(),
            now=time.time(),
        )
        if isinstance(checked, slack_request.Refused):
            log.info("slack_request_refused", status=checked.status, reason=checked.reason)
            return web.json_response({"error": checked.reason}, status=checked.status)
        headers = _headers(request)
        headers["content-type"] = checked.media_type
        # Bolt would read the text again with its own looser parser (a slash command whose
        # text contains "payload" comes out empty): it gets the body exactly as it was checked,
        # parsed once. Bolt takes a parsed body only from Socket Mode; the request is an HTTP
        # one again right after (the mode only decides whether Bolt checks a signature, which
        # it does not do twice here: see handlers.slack._app).
        bolt_request = AsyncBoltRequest(
            body=checked.body, query=request.query_string, headers=headers, mode="socket_mode"
        )
        bolt_request.mode, bolt_request.raw_body = "http", checked.text
        bolt = slack.for_content_type(checked.media_type)
        bolt_response = await bolt.async_dispatch(bolt_request)
        if bolt_response.status >= 500 and bolt is slack.interactive:
            bolt_response = BoltResponse(
                status=200, body=json.dumps({"response_type": "ephemeral", "text": SORRY})
            )
        return await to_aiohttp_response(bolt_response)

    return slack_events


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _readyz(services: Services, more: Mapping[str, ReadinessCheck]) -> Handler:
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
        for name, check in more.items():
            checks[name] = await check()
        ready = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    return readyz


def _metrics_route(metrics: Metrics, token: str | None) -> Handler:
    async def metrics_route(request: web.Request) -> web.Response:
        if token is not None and not web_policy.bearer_matches(
            request.headers.get("Authorization"), token
        ):
            return web.json_response(
                {"error": "send Authorization: Bearer <METRICS_TOKEN>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    return metrics_route


def _serve_metrics_apart(
    app: web.Application, settings: Settings, route: Handler, middlewares: list[Middleware]
) -> None:
    """METRICS_PORT: /metrics on a listener of its own (started and stopped with the app)."""
    metrics_app = web.Application(middlewares=middlewares)
    metrics_app.router.add_get("/metrics", route)
    runner = web.AppRunner(metrics_app, access_log=None)

    async def start(_: web.Application) -> None:
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.metrics_port).start()
        log.info("metrics_listening", port=settings.metrics_port)

    async def stop(_: web.Application) -> None:
        await runner.cleanup()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


# --- install ----------------------------------------------------------------------------------


async def install_not_available(_: web.Request) -> web.Response:
    return web.Response(status=404, text=NOT_INSTALLABLE)


def _browser_request(request: web.Request) -> AsyncBoltRequest:
    """What Bolt's OAuth flow reads from a browser's GET: query and headers, never a body
    (so no body, in whatever bytes or charset, is ever decoded)."""
    return AsyncBoltRequest(body="", query=request.query_string, headers=_headers(request))


def _headers(request: web.Request) -> dict[str, str | Sequence[str]]:
    """The request's headers for Bolt, lower-cased, repeated ones (Cookie) kept whole."""
    return {name.lower(): request.headers.getall(name) for name in set(request.headers.keys())}


def _lax_cookies(response: web.Response) -> web.Response:
    """Bolt's state cookie is Secure, HttpOnly, Path=/; it is also SameSite=Lax: sent on the
    top-level redirect back from Slack, never on another site's subrequests or POSTs."""
    for morsel in response.cookies.values():
        morsel["samesite"] = "Lax"
    return response


def _install_rate_limit(
    services: Services,
) -> Callable[[web.Request], Awaitable[web.Response | None]]:
    """GET /slack/install stores an OAuth state: at most INSTALL_RATE_PER_MINUTE per client
    address (per /64 for IPv6), counted in Redis when there is one. None = go ahead."""
    settings = services.settings
    per_minute = settings.install_rate_per_minute
    limit = Limit(rate=per_minute / 60.0, burst=float(per_minute))

    async def over_limit(request: web.Request) -> web.Response | None:
        address = web_policy.client_address(
            request.remote,
            request.headers.getall("X-Forwarded-For", []),
            trust_proxy=settings.trust_proxy_headers,
        )
        wait = await services.slack.limiter.admit(web_policy.install_bucket(address), limit)
        if wait <= 0:
            return None
        retry_after = max(1, math.ceil(wait))
        log.debug("install_rate_limited", retry_after=retry_after)
        return web.Response(
            status=429,
            text=too_many_requests_page(retry_after),
            content_type="text/html",
            headers={"Retry-After": str(retry_after)},
        )

    return over_limit


# --- every response ---------------------------------------------------------------------------


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """CSP, nosniff, no framing, no referrer, no caching: on every response, errors included
    (our HTML pages get their own CSP, which allows exactly their stylesheet)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    _secure(response)
    return response


def _secure(response: web.StreamResponse) -> None:
    for name, value in web_policy.security_headers(response.content_type, PAGE_CSP).items():
        response.headers.setdefault(name, value)


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
