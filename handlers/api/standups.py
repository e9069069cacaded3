"""/standups: list, create, read, change (PATCH, pause and resume included), delete, run now,
and a standup's runs — through the same use cases as `/standup` in Slack."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot import records, standups, workspaces
from bot.outcomes import Amended, Created, FieldErrors, Refusal
from bot.rules.websec import encode_cursor
from bot.runtime import Services
from handlers.api import bodies, render
from handlers.api.problems import ApiProblem, field_errors, refusal
from handlers.api.routing import (
    PREFIX,
    ApiRoute,
    Page,
    add,
    body_of,
    json_response,
    no_content,
    page_of,
    path_id,
    principal_of,
    services_of,
)

STANDUP_PATH = r"/standups/{standup_id:\d+}"


def register(app: web.Application) -> None:
    tag = "standups"
    add(
        app,
        ApiRoute(
            "GET",
            "/standups",
            list_standups,
            "listStandups",
            "The standups of the token's workspace that its user may see",
            tag,
            {200: ("A page of standups, by id", "StandupPage")},
            description=(
                "A private channel's standup is listed only to its participants, owners and "
                "workspace admins, as `/standup list` does."
            ),
            paginated=True,
        ),
    )
    add(
        app,
        ApiRoute(
            "POST",
            "/standups",
            create_standup,
            "createStandup",
            "Create a standup (the token's user becomes its owner)",
            tag,
            {201: ("The new standup", "Standup")},
            description=(
                "The same fields, defaults and validation as the Slack form; `warnings` says "
                "if AsyncStand could not join the channel."
            ),
            body="StandupInput",
            extra_errors=(403, 409),
        ),
    )
    add(
        app,
        ApiRoute(
            "GET",
            STANDUP_PATH,
            get_standup,
            "getStandup",
            "A standup's settings and state",
            tag,
            {200: ("The standup", "Standup")},
            extra_errors=(404,),
        ),
    )
    add(
        app,
        ApiRoute(
            "PATCH",
            STANDUP_PATH,
            patch_standup,
            "updateStandup",
            "Change some of a standup's settings, or pause and resume it (owners and admins)",
            tag,
            {200: ("The standup as it is now", "Standup")},
            description=(
                "Only the fields given change; a list (questions, participants, days) is "
                "replaced whole. `active: false` pauses, `active: true` resumes."
            ),
            body="StandupPatch",
            extra_errors=(404,),
        ),
    )
    add(
        app,
        ApiRoute(
            "DELETE",
            STANDUP_PATH,
            delete_standup,
            "deleteStandup",
            "Delete a standup (owners and admins)",
            tag,
            {204: ("Deleted", None)},
            extra_errors=(404,),
        ),
    )
    add(
        app,
        ApiRoute(
            "POST",
            STANDUP_PATH + "/run",
            run_standup,
            "runStandup",
            "Start today's run now: every participant is prompted (owners and admins)",
            tag,
            {202: ("Prompts are on their way", "RunStarted")},
            extra_errors=(404, 409),
        ),
    )
    add(
        app,
        ApiRoute(
            "GET",
            STANDUP_PATH + "/runs",
            list_runs,
            "listRuns",
            "A standup's runs, newest first",
            "runs",
            {200: ("A page of runs", "RunPage")},
            paginated=True,
            extra_errors=(404,),
        ),
    )


def _cursor_id(page: Page) -> int | None:
    if page.after is None:
        return None
    value = page.after.get("id")
    if not isinstance(value, int) or len(page.after) != 1:
        raise ApiProblem(
            400, "That cursor is not from this list.", errors={"cursor": "Not from this list."}
        )
    return value


async def list_standups(request: web.Request) -> web.Response:
    page = page_of(request)
    items = await standups.overview(
        services_of(request),
        principal_of(request).caller(),
        after_id=_cursor_id(page),
        limit=page.limit + 1,
    )
    shown = items[: page.limit]
    more = len(items) > page.limit
    return json_response(
        {
            "items": [render.standup_item(i) for i in shown],
            "next_cursor": encode_cursor({"id": shown[-1].standup_id}) if more else None,
        }
    )


async def _client(services: Services, workspace_id: int) -> AsyncWebClient:
    client = await workspaces.bot_client(services, workspace_id)
    if client is None:
        raise ApiProblem(503, "AsyncStand cannot reach Slack for this workspace just now.")
    return client


def _channel_warning(channel_id: str, problem: str | None) -> list[str]:
    if problem is None:
        return []
    if problem == "private":
        return [
            f"Channel {channel_id} is private: invite AsyncStand to it (/invite @AsyncStand) "
            "so that summaries can be posted there."
        ]
    return [
        f"AsyncStand could not join channel {channel_id} ({problem}); summaries cannot be "
        "posted there until it is a member."
    ]


async def _detail(
    request: web.Request, standup_id: int, warnings: list[str] | None = None
) -> dict[str, object]:
    detail = await records.standup_detail(
        services_of(request), principal_of(request).caller(), standup_id
    )
    if isinstance(detail, Refusal):
        raise refusal(detail)
    return render.standup(detail, warnings)


async def create_standup(request: web.Request) -> web.Response:
    draft = bodies.new_standup(body_of(request))
    services, principal = services_of(request), principal_of(request)
    client = await _client(services, principal.workspace_id)
    outcome = await standups.create(services, client, principal.caller(), draft)
    if isinstance(outcome, FieldErrors):
        raise field_errors(outcome)
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    assert isinstance(outcome, Created)
    problem = await standups.join_channel(
        services, client, principal.workspace_id, outcome.channel_id
    )
    data = await _detail(request, outcome.standup_id, _channel_warning(outcome.channel_id, problem))
    return json_response(
        data, status=201, headers={"Location": f"{PREFIX}/standups/{outcome.standup_id}"}
    )


async def get_standup(request: web.Request) -> web.Response:
    return json_response(await _detail(request, path_id(request, "standup_id", "standup")))


async def patch_standup(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    changes = bodies.standup_changes(body_of(request), partial=True)
    services, principal = services_of(request), principal_of(request)
    client = await _client(services, principal.workspace_id)
    outcome = await standups.amend(
        services, client, principal.caller(), standup_id, changes.apply, active=changes.active
    )
    if isinstance(outcome, FieldErrors):
        raise field_errors(outcome)
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    assert isinstance(outcome, Amended)
    warnings: list[str] | None = None
    edited = outcome.edited
    if edited is not None and edited.channel_changed:
        problem = await standups.join_channel(
            services, client, principal.workspace_id, edited.channel_id
        )
        warnings = _channel_warning(edited.channel_id, problem)
    return json_response(await _detail(request, standup_id, warnings))


async def delete_standup(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    outcome = await standups.delete(
        services_of(request), principal_of(request).caller(), standup_id
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    return no_content()


async def run_standup(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    outcome = await standups.run_now(
        services_of(request), principal_of(request).caller(), standup_id
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    return json_response(
        {
            "standup_id": standup_id,
            "name": outcome.name,
            "prompts_created": outcome.prompts_created,
        },
        status=202,
    )


def _runs_cursor(page: Page) -> tuple[dt.date, int] | None:
    if page.after is None:
        return None
    day, run_id = page.after.get("d"), page.after.get("id")
    parsed = bodies.iso_date(day)
    if parsed is None or not isinstance(run_id, int) or len(page.after) != 2:
        raise ApiProblem(
            400, "That cursor is not from this list.", errors={"cursor": "Not from this list."}
        )
    return parsed, run_id


async def list_runs(request: web.Request) -> web.Response:
    standup_id = path_id(request, "standup_id", "standup")
    page = page_of(request)
    outcome = await records.runs_page(
        services_of(request),
        principal_of(request).caller(),
        standup_id,
        before=_runs_cursor(page),
        limit=page.limit,
    )
    if isinstance(outcome, Refusal):
        raise refusal(outcome)
    last = outcome.runs[-1] if outcome.runs else None
    next_cursor = (
        encode_cursor({"d": last.local_date.isoformat(), "id": last.run_id})
        if outcome.more and last is not None
        else None
    )
    return json_response(
        {"items": [render.run(r) for r in outcome.runs], "next_cursor": next_cursor}
    )
