"""/reports: participation per person, from the participation records of closed runs."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot import records
from bot.outcomes import Refusal
from handlers.api import render
from handlers.api.bodies import iso_date
from handlers.api.problems import invalid, refusal
from handlers.api.routing import (
    ApiRoute,
    Param,
    add,
    json_response,
    principal_of,
    query_value,
    services_of,
)

DEFAULT_DAYS = 30
MAX_DAYS = 366


def register(app: web.Application) -> None:
    add(
        app,
        ApiRoute(
            "GET",
            "/reports",
            get_report,
            "getReport",
            "Participation per person over a period",
            "reports",
            {200: ("Counts of each outcome per person, and overall", "Report")},
            description=(
                "Answered and late count for someone; skipped and missed against; away, "
                "holiday and undeliverable days are neutral. Without `standup_id`, every "
                "standup the token's user may see."
            ),
            query=(
                Param(
                    "standup_id",
                    {"type": "integer", "minimum": 1},
                    "One standup (its current participants are all listed)",
                ),
                Param(
                    "from",
                    {"type": "string", "format": "date"},
                    f"First local date (default: {DEFAULT_DAYS - 1} days before `to`)",
                ),
                Param(
                    "to",
                    {"type": "string", "format": "date"},
                    "Last local date, included (default: today, UTC)",
                ),
            ),
            extra_errors=(400, 404),
        ),
    )


async def get_report(request: web.Request) -> web.Response:
    errors: dict[str, str] = {}
    standup_id: int | None = None
    raw_id = query_value(request, "standup_id")
    if raw_id is not None:
        if raw_id.isascii() and raw_id.isdigit() and 0 < len(raw_id) <= 18:
            standup_id = int(raw_id)
        else:
            errors["standup_id"] = "Give a standup id (a whole number)."
    services = services_of(request)
    end = start = None
    raw_to, raw_from = query_value(request, "to"), query_value(request, "from")
    end = iso_date(raw_to) if raw_to is not None else services.clock().date()
    if end is None:
        errors["to"] = "Give a date as YYYY-MM-DD."
    if raw_from is not None:
        start = iso_date(raw_from)
        if start is None:
            errors["from"] = "Give a date as YYYY-MM-DD."
    elif end is not None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start is not None and end is not None:
        if start > end:
            errors["from"] = "The period starts after it ends."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["from"] = f"A report covers at most {MAX_DAYS} days."
    if errors or start is None or end is None:
        raise invalid(errors, "The report parameters are not valid; see errors.")
    outcome = await records.participation_report(
        services, principal_of(request).caller(), standup_id, start, end
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    return json_response(render.report(outcome))
