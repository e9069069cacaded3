"""/reports: participation per person, from the participation records of closed runs; and
/standups/{id}/export: a standup's answers as a CSV or JSON file, streamed."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from bot import exports, reports
from bot.outcomes import ExportEmpty, Refusal
from bot.rules.export import EXPORT_FORMATS
from handlers.api import render
from handlers.api.bodies import iso_date
from handlers.api.problems import ApiProblem, invalid, refusal
from handlers.api.routing import (
    STREAMING,
    ApiRoute,
    Param,
    add,
    json_response,
    path_id,
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
                "holiday and undeliverable days are neutral. Streaks run over the period; mood "
                "comes from the standup's mood question. A standup's owners and workspace "
                "admins get every person's line and open blocker; a participant gets their own "
                "line and blockers and the overall figures (`scope`: `own`); anyone else a "
                "403 (404 for a private channel's standup they are not in). Without "
                "`standup_id`, every standup the token's user may read a report of."
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
    add(
        app,
        ApiRoute(
            "GET",
            r"/standups/{standup_id:\d+}/export",
            export_answers,
            "exportAnswers",
            "A standup's answers as a CSV or JSON file",
            "reports",
            {200: ("One row per answer, streamed", "ExportRows")},
            description=(
                "One row per answer: the standup, the run's date (UTC, and in the person's own "
                "calendar), the person (Slack id and name), the question, the answer, when it "
                "was answered (UTC) and whether it was late. Streamed, so any size works. CSV "
                "cells that a spreadsheet could run as a formula (starting with `=`, `+`, `-`, "
                "`@`…) get a leading `'`; JSON values are exact. Owners and workspace admins "
                "get every answer, a participant their own; anyone else a 403 (404 for a "
                "private channel's standup they are not in). A range without answers is a 404 "
                "(`nothing-to-export`)."
            ),
            query=(
                Param(
                    "format",
                    {"type": "string", "enum": list(EXPORT_FORMATS), "default": "csv"},
                    "csv (default) or json",
                ),
                Param(
                    "from",
                    {"type": "string", "format": "date"},
                    "First local date, included (default: the first answer)",
                ),
                Param(
                    "to",
                    {"type": "string", "format": "date"},
                    "Last local date, included (default: the last answer)",
                ),
            ),
            extra_errors=(400, 404),
            media=("text/csv", "application/json"),
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
    outcome = await reports.report(
        services, principal_of(request).caller(), standup_id, reports.Between(start, end)
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    return json_response(render.report(outcome))


_MEDIA = {"csv": "text/csv", "json": "application/json"}


async def export_answers(request: web.Request) -> web.StreamResponse:
    standup_id = path_id(request, "standup_id", "standup")
    errors: dict[str, str] = {}
    fmt = (query_value(request, "format") or "csv").casefold()
    if fmt not in EXPORT_FORMATS:
        errors["format"] = "Give csv or json."
    dates: dict[str, dt.date | None] = {}
    for name in ("from", "to"):
        raw = query_value(request, name)
        dates[name] = iso_date(raw) if raw is not None else None
        if raw is not None and dates[name] is None:
            errors[name] = "Give a date as YYYY-MM-DD."
    start, end = dates["from"], dates["to"]
    if start is not None and end is not None and start > end:
        errors["from"] = "The period starts after it ends."
    if errors:
        raise invalid(errors, "The export parameters are not valid; see errors.")
    services = services_of(request)
    ready = await exports.prepare(
        services, principal_of(request).caller(), standup_id, fmt, start, end
    )
    if isinstance(ready, Refusal):
        raise refusal(ready)
    if isinstance(ready, ExportEmpty):
        raise ApiProblem(
            404,
            f"No answers to export in {ready.standup_name} for that range"
            f"{' (of your own)' if ready.own_only else ''}.",
            slug="nothing-to-export",
        )
    name = exports.filename(ready, services.clock().date())
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{_MEDIA[fmt]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    request[STREAMING] = True
    async for chunk in exports.text_chunks(services, ready):
        if chunk:
            await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response
