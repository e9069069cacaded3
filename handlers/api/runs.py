"""/runs/{run_id}: one run with everyone prompted and every answer."""

from __future__ import annotations

from aiohttp import web

from bot import records
from bot.outcomes import Refusal
from handlers.api import render
from handlers.api.problems import refusal
from handlers.api.routing import ApiRoute, add, json_response, path_id, principal_of, services_of


def register(app: web.Application) -> None:
    add(
        app,
        ApiRoute(
            "GET",
            r"/runs/{run_id:\d+}",
            get_run,
            "getRun",
            "A run with every participant's prompt state and answers",
            "runs",
            {200: ("The run", "RunDetail")},
            description="Readable by whoever may see its standup.",
            extra_errors=(404,),
        ),
    )


async def get_run(request: web.Request) -> web.Response:
    run_id = path_id(request, "run_id", "run")
    outcome = await records.run_detail(services_of(request), principal_of(request).caller(), run_id)
    if isinstance(outcome, Refusal):
        raise refusal(outcome, "run")
    return json_response(render.run_detail(outcome))
