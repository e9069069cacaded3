"""create_app(settings): build the Bolt app, the HTTP routes, the scheduler; start nothing yet."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot.metrics import Metrics
from bot.oauth import build_oauth_flow
from bot.ratelimit import Limiter, LocalLimiter, RedisLimiter
from bot.runtime import SERVICES_KEY, Services, system_clock
from bot.settings import Settings
from bot.slack import SlackGateway, error_code, send_dm
from bot.views import blocks
from handlers import answers, commands, lifecycle, standup_form
from scheduler.worker import Worker
from storage import queries
from storage.crypto import SecretBox
from storage.db import Database
from storage.migrate import upgrade_to_head

log = structlog.get_logger("asyncstand.app")

SORRY = "Something went wrong on our side. Nothing you entered was lost — please try again."


@dataclass
class AsyncStand:
    """Everything one process runs: HTTP app, Bolt app, services and (maybe) the scheduler."""

    settings: Settings
    services: Services
    bolt: AsyncApp
    web: web.Application
    worker: Worker | None
    metrics: Metrics


def _error_response(body: dict[str, Any]) -> BoltResponse:
    """What Slack gets when a listener fails before acknowledging: a message, not a 500."""
    if body.get("type") == "view_submission":
        view_blocks = (body.get("view") or {}).get("blocks") or []
        first_input = next((b for b in view_blocks if b.get("type") == "input"), None)
        if first_input and first_input.get("block_id"):
            payload = {"response_action": "errors", "errors": {first_input["block_id"]: SORRY}}
            return BoltResponse(status=200, body=json.dumps(payload))
        return BoltResponse(status=200, body="")
    return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": SORRY}))


def _drop_token_precedence_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


def build_bolt(services: Services) -> AsyncApp:
    settings = services.settings
    token = settings.slack_bot_token
    bolt_kwargs: dict[str, Any] = {
        "signing_secret": settings.slack_signing_secret,
        "client": services.slack.client(token),
        "raise_error_for_unhandled_request": False,
        "process_before_response": False,
    }
    if not token:  # single-workspace mode: Bolt takes the token from the client
        bolt_kwargs["authorize"] = _make_authorize(services)
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that our client (which
    # carries that same token) takes precedence: true, expected, and not worth a warning.
    bolt_logger = logging.getLogger("asyncstand.bolt")
    bolt_logger.addFilter(_drop_token_precedence_warning)  # idempotent: same function
    bolt_kwargs["logger"] = bolt_logger
    app = AsyncApp(**bolt_kwargs)

    async def inject_services(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        context[SERVICES_KEY] = services
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(team_id=context.team_id or context.enterprise_id)
        await next()

    app.middleware(inject_services)

    async def drop_duplicate_events(
        body: dict[str, Any],
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        """Slack retries events it thinks failed; act on each event id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await queries.claim_event(
            services.db, str(event_id), body.get("team_id"), services.clock()
        ):
            log.info("duplicate_event_ignored", event_id=event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(drop_duplicate_events)

    async def on_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> Any:
        log.error("listener_failed", error_type=type(error).__name__, exc_info=error)
        if response is not None:  # not acknowledged yet: answer Slack with a message
            return _error_response(body)
        return None

    app.error(on_error)
    for feature in (commands, standup_form, answers, lifecycle):
        feature.register(app)
    return app


def _make_authorize(services: Services) -> Callable[..., Awaitable[Any]]:
    """Multi-workspace authorize: the bot token comes from our encrypted installation table."""

    async def authorize(
        enterprise_id: str | None, team_id: str | None, **_kwargs: Any
    ) -> AuthorizeResult | None:
        async with services.db.session() as session:
            found = await services.slack.find_installation(session, team_id, enterprise_id)
        if found is None:
            return None
        install, token = found[1], found[2]
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=token,
            bot_user_id=install.bot_user_id,
            bot_id=install.bot_id,
        )

    return authorize


async def welcome_installer(services: Services, installation: Installation) -> None:
    """After an install: DM the installer how to start, and publish their App Home."""
    if not installation.bot_token or not installation.user_id:
        return
    client = services.slack.client(installation.bot_token)
    message = blocks.welcome_message()
    try:
        await send_dm(client, installation.user_id, message["text"], message["blocks"])
        await client.views_publish(user_id=installation.user_id, view=blocks.home_view())
    except SlackApiError as exc:
        log.warning("welcome_failed", error=error_code(exc))


async def bootstrap_single_workspace(services: Services) -> None:
    """Single-workspace mode: learn which workspace the token belongs to (retrying quietly)."""
    client = services.slack.client(services.settings.slack_bot_token)
    delay = 2.0
    while True:
        try:
            response = await client.auth_test()
            break
        except SlackApiError as exc:
            log.warning("auth_test_failed", error=error_code(exc))
        except Exception as exc:  # network down at start-up: keep serving, try again later
            log.warning("auth_test_unreachable", error_type=type(exc).__name__)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 300)
    async with services.db.session() as session:
        workspace = await queries.ensure_workspace(
            session,
            str(response["team_id"]),
            enterprise_id=response.get("enterprise_id"),
            name=response.get("team"),
        )
        workspace.active = True
    log.info("single_workspace_ready", team_id=response["team_id"])


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], Any] = system_clock,
) -> AsyncStand:
    """Build every part of the app. Nothing connects until the aiohttp app starts."""
    secret_box = SecretBox(settings.fernet_keys) if settings.fernet_keys else None
    db = Database(settings.database_url)
    metrics = Metrics()
    limiter: Limiter = RedisLimiter(settings.redis_url) if settings.redis_url else LocalLimiter()
    services = Services(
        settings=settings,
        db=db,
        slack=SlackGateway(settings, secret_box, db, metrics=metrics, limiter=limiter, clock=clock),
        clock=clock,
    )
    bolt = build_bolt(services)
    worker = Worker(services, metrics) if settings.role in ("worker", "all") else None
    web_app = web.Application(client_max_size=1024 * 1024)
    background: list[asyncio.Task[None]] = []

    verifier = SignatureVerifier(settings.slack_signing_secret)

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
        bolt_response = await bolt.async_dispatch(bolt_request)
        if bolt_response.status >= 500:
            bolt_response = BoltResponse(
                status=200, body=json.dumps({"response_type": "ephemeral", "text": SORRY})
            )
        return await to_aiohttp_response(bolt_response)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable ({type(exc).__name__})"
        if isinstance(limiter, RedisLimiter):
            checks["redis"] = "ok" if await limiter.ping() else "unavailable"
        ready = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=200 if ready else 503,
        )

    async def metrics_route(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    oauth_flow = (
        None
        if settings.single_workspace
        else build_oauth_flow(services, lambda inst: welcome_installer(services, inst))
    )

    async def install(request: web.Request) -> web.Response:
        assert oauth_flow is not None
        return await to_aiohttp_response(
            await oauth_flow.handle_installation(await to_bolt_request(request))
        )

    async def oauth_redirect(request: web.Request) -> web.Response:
        assert oauth_flow is not None
        return await to_aiohttp_response(
            await oauth_flow.handle_callback(await to_bolt_request(request))
        )

    async def install_not_available(_: web.Request) -> web.Response:
        return web.Response(
            status=404,
            text="This AsyncStand runs for one workspace (SLACK_BOT_TOKEN); there is nothing "
            "to install. Set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace mode.",
        )

    @web.middleware
    async def observe(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
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

    web_app.middlewares.append(observe)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_route)
    # A worker serves only health and metrics; Slack's traffic goes to web replicas.
    if settings.role != "worker":
        web_app.router.add_post("/slack/events", slack_events)
        if oauth_flow is None:
            web_app.router.add_get("/slack/install", install_not_available)
            web_app.router.add_get("/slack/oauth_redirect", install_not_available)
        else:
            web_app.router.add_get("/slack/install", install)
            web_app.router.add_get("/slack/oauth_redirect", oauth_redirect)

    async def on_startup(_: web.Application) -> None:
        if settings.auto_migrate:
            await upgrade_to_head(services.db.engine)
        if settings.single_workspace:
            background.append(asyncio.create_task(bootstrap_single_workspace(services)))
        if worker is not None:
            worker.start()
        log.info("started", role=settings.role, single_workspace=settings.single_workspace)

    async def on_cleanup(_: web.Application) -> None:
        if worker is not None:
            await worker.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if isinstance(limiter, RedisLimiter):
            await limiter.close()
        await services.slack.close()
        await services.db.dispose()

    web_app.on_startup.append(on_startup)
    web_app.on_cleanup.append(on_cleanup)
    return AsyncStand(settings, services, bolt, web_app, worker, metrics)
