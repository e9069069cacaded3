"""The REST API under /api/v1/: personal tokens, JSON, problem details, cursor pages,
Idempotency-Key, a per-token rate limit, and an OpenAPI document generated from the routes.

Each resource module has ``register(app)`` declaring its routes (``routing.add``), listed in
``RESOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.runtime import Services
from handlers.api import blockers, me, ooo, openapi, reports, runs, standups, webhooks
from handlers.api.routing import PREFIX, ROUTES, SERVICES, problems

RESOURCES: tuple[Callable[[web.Application], None], ...] = (
    me.register,
    standups.register,
    runs.register,
    reports.register,
    blockers.register,
    ooo.register,
    webhooks.register,
    openapi.register,
)


def build_api(services: Services) -> web.Application:
    """The API as an aiohttp application of its own (mounted at /api/v1)."""
    api = web.Application(middlewares=[problems])
    api[SERVICES] = services
    api[ROUTES] = []
    for register_resource in RESOURCES:
        register_resource(api)
    return api


def register(app: web.Application, services: Services) -> None:
    """Serve the API under /api/v1 of `app`."""
    app.add_subapp(PREFIX, build_api(services))
