"""What every page under /app/ needs first: its template context, the signed-in caller, the
standup in its URL (seen and managed by the viewer, or a 404/403), and how a refusal reads."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import dashboard, web_sessions
from bot.dashboard import NotFound, StandupRef
from bot.outcomes import Refusal
from bot.people import Caller
from bot.rules.permissions import Why
from bot.views import wording
from bot.web_sessions import Viewer
from handlers.web.auth import csrf_for, message, not_found, parse_id, services_of


def page_context(request: web.Request, viewer: Viewer, **values: Any) -> dict[str, Any]:
    return {"viewer": viewer, "csrf": csrf_for(request, viewer), "nav": "", **values}


async def caller_of(request: web.Request, viewer: Viewer) -> Caller:
    return await web_sessions.caller_for(services_of(request), viewer)


def refusal_page(request: web.Request, viewer: Viewer, refusal: Refusal) -> web.Response:
    if refusal.why in (Why.STANDUP_GONE, Why.NO_SUCH_STANDUP):
        return not_found(request, viewer)
    return message(request, 403, "Not allowed", wording.refusal_plain(refusal), viewer=viewer)


def standup_id_of(request: web.Request) -> int | None:
    return parse_id(request.match_info.get("standup_id", ""))


async def visible_standup(
    request: web.Request, viewer: Viewer
) -> tuple[Caller, StandupRef] | web.Response:
    """The standup in the URL, if the viewer may see it (else a 404 page)."""
    standup_id = standup_id_of(request)
    if standup_id is None:
        return not_found(request, viewer)
    caller = await caller_of(request, viewer)
    ref = await dashboard.visible_standup(services_of(request), caller, standup_id)
    if isinstance(ref, NotFound):
        return not_found(request, viewer)
    return caller, ref


async def managed_standup(
    request: web.Request, viewer: Viewer
) -> tuple[Caller, StandupRef] | web.Response:
    """The standup in the URL, if the viewer may see it (else 404) and manage it (else 403)."""
    found = await visible_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    if not found[1].can_manage:
        return refusal_page(request, viewer, Refusal(Why.NOT_MANAGER, found[1].name))
    return found
