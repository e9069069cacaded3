"""/users/{user_id}/ooo: someone's out-of-office time (`me` for the token's own user), through
the same use cases as ``/standup ooo`` and the web settings page (``bot.attendance``)."""

from __future__ import annotations

from aiohttp import web

from bot import attendance
from bot.attendance import AwayTime, NoSuchPerson
from bot.outcomes import FieldErrors, Refusal
from handlers.api import render
from handlers.api.bodies import iso_date
from handlers.api.problems import ApiProblem, field_errors, invalid, not_found
from handlers.api.routing import (
    ApiRoute,
    add,
    body_of,
    json_response,
    no_content,
    principal_of,
    services_of,
)

OOO_PATH = "/users/{user_id:(?:me|[UW][A-Z0-9]{2,31})}/ooo"
WHO = (
    "Their own, for anyone; a participant's, for an owner of one of their standups; anyone's, "
    "for workspace admins."
)


def register(app: web.Application) -> None:
    tag = "out of office"
    add(
        app,
        ApiRoute(
            "GET",
            OOO_PATH,
            get_ooo,
            "getOutOfOffice",
            "Someone's away periods that are not over yet",
            tag,
            {200: ("Their away periods", "OutOfOffice")},
            description=WHO,
            extra_errors=(403, 404),
        ),
    )
    add(
        app,
        ApiRoute(
            "PUT",
            OOO_PATH,
            put_ooo,
            "setOutOfOffice",
            "Set someone away from one date to another (both included)",
            tag,
            {200: ("Their away periods now", "OutOfOffice")},
            description=(
                "Replaces every period not over yet. Dates are the person's own calendar; no "
                "prompt is sent to them on those days. " + WHO
            ),
            body="OutOfOfficeInput",
            extra_errors=(404,),
        ),
    )
    add(
        app,
        ApiRoute(
            "DELETE",
            OOO_PATH,
            delete_ooo,
            "clearOutOfOffice",
            "Clear someone's away periods that are not over yet",
            tag,
            {204: ("Cleared", None)},
            description=WHO,
            extra_errors=(404,),
        ),
    )


def _user(request: web.Request) -> str:
    user_id = request.match_info["user_id"]
    return principal_of(request).user_id if user_id == "me" else user_id


def _not_allowed() -> ApiProblem:
    return ApiProblem(
        403,
        "Only they, an owner of one of their standups or a workspace admin can see or change "
        "someone's out-of-office time.",
    )


def _answer(outcome: object) -> web.Response:
    if isinstance(outcome, NoSuchPerson):
        raise not_found("person with that id")
    if isinstance(outcome, Refusal):
        raise _not_allowed()
    if isinstance(outcome, FieldErrors):
        raise field_errors(outcome)
    assert isinstance(outcome, AwayTime)
    return json_response(render.away(outcome))


async def get_ooo(request: web.Request) -> web.Response:
    caller = principal_of(request).caller()
    return _answer(await attendance.away_time(services_of(request), caller, _user(request)))


async def put_ooo(request: web.Request) -> web.Response:
    body = body_of(request)
    errors = {
        k[:64]: "Not a field here; give start and end." for k in body if k not in ("start", "end")
    }
    start, end = iso_date(body.get("start")), iso_date(body.get("end"))
    for name, value in (("start", start), ("end", end)):
        if value is None:
            errors[name] = "Give a date as YYYY-MM-DD."
    if errors or start is None or end is None:
        raise invalid(errors)
    caller = principal_of(request).caller()
    outcome = await attendance.set_away(services_of(request), caller, _user(request), start, end)
    return _answer(outcome)


async def delete_ooo(request: web.Request) -> web.Response:
    caller = principal_of(request).caller()
    outcome = await attendance.clear_away(services_of(request), caller, _user(request))
    if isinstance(outcome, NoSuchPerson):
        raise not_found("person with that id")
    if isinstance(outcome, Refusal):
        raise _not_allowed()
    return no_content()
