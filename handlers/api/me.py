"""/me: who the token acts as."""

from __future__ import annotations

from aiohttp import web

from handlers.api import render
from handlers.api.routing import ApiRoute, add, json_response, principal_of


def register(app: web.Application) -> None:
    add(
        app,
        ApiRoute(
            "GET",
            "/me",
            get_me,
            "getMe",
            "The token's user, workspace and scope",
            "me",
            {200: ("Who this token acts as", "Me")},
        ),
    )


async def get_me(request: web.Request) -> web.Response:
    return json_response(render.me(principal_of(request)))
