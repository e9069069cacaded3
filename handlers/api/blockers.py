"""/standups/{id}/blockers: a standup's open blockers, for whoever may see the standup (the same
use case as `/standup blockers`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import blockers
from bot.blockers import StandupBlockers
from bot.outcomes import Refusal
from handlers.api.problems import refusal
from handlers.api.render import day
from handlers.api.routing import (
    ApiRoute,
    add,
    json_response,
    path_id,
    principal_of,
    services_of,
)


def register(app: web.Application) -> None:
    add(
        app,
        ApiRoute(
            "GET",
            r"/standups/{standup_id:\d+}/blockers",
            list_blockers,
            "listBlockers",
            "A standup's open blockers, oldest first",
            "blockers",
            {200: ("The open blockers", "BlockerList")},
            description=(
                "Visible to whoever may see the standup (as `GET /standups/{id}`); another "
                "workspace's standup, or a private channel's one the token's user may not see, "
                "is 404."
            ),
            extra_errors=(404,),
        ),
    )


def rendered(outcome: StandupBlockers) -> dict[str, Any]:
    return {
        "standup_id": outcome.standup_id,
        "blockers": [
            {
                "id": b.blocker_id,
                "user_id": b.user_id,
                "text": b.text,
                "opened_on": day(b.opened_on),
                "age": b.age_text,
                "still_blocked_on": day(b.still_blocked_on),
            }
            for b in outcome.blockers
        ],
    }


async def list_blockers(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    outcome = await blockers.standup_blockers(
        services_of(request), principal_of(request).caller(), standup_id
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    return json_response(rendered(outcome))
