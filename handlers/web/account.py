"""My settings under /app/settings: out of office, reminders and my holiday calendar.

Each form posts (with the session's CSRF token, checked by the page guard) to one use case —
the same ones ``/standup ooo``, ``/standup reminders``, ``/standup holidays`` and the REST API
call — and answers with Post/Redirect/Get: a redirect to the settings page, which says what
changed. Input that can't be used is shown next to its field (400), with what was typed kept.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import attendance, dashboard, reminders
from bot.attendance import NoSuchPerson
from bot.outcomes import FieldErrors, Invalid, Refusal
from bot.web_sessions import Viewer
from handlers.web.auth import FORM, page, redirect, services_of
from handlers.web.guards import caller_of, page_context, refusal_page
from handlers.web.render import render
from handlers.web.standup_form import form_date

DONE = {
    "away": "Saved: you are marked away for those dates.",
    "back": "Cleared: you are no longer marked away from today on.",
    "reminders-on": "Reminders are on.",
    "reminders-off": "Reminders are off: you get no automatic reminders.",
    "holidays": "Saved: your holiday calendar is updated.",
}
BAD_DATE = "Give a date as YYYY-MM-DD."


async def _settings_page(
    request: web.Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    caller = await caller_of(request, viewer)
    mine = await dashboard.my_settings(services_of(request), caller)
    return render(
        "settings.html",
        page_context(
            request,
            viewer,
            nav="settings",
            mine=mine,
            values=values or {},
            errors=errors or {},
            notice=DONE.get(request.query.get("done", "")) if status == 200 else None,
        ),
        status=status,
    )


@page
async def my_settings(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return await _settings_page(request, viewer)


@page
async def set_away(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    form = request[FORM]
    values = {"start": form.get("start", "").strip(), "end": form.get("end", "").strip()}
    start, end = form_date(values["start"]), form_date(values["end"])
    errors = {name: BAD_DATE for name, value in (("start", start), ("end", end)) if value is None}
    if errors or start is None or end is None:
        return await _settings_page(request, viewer, values=values, errors=errors, status=400)
    caller = await caller_of(request, viewer)
    outcome = await attendance.set_away(services_of(request), caller, viewer.user_id, start, end)
    if isinstance(outcome, FieldErrors):
        return await _settings_page(
            request, viewer, values=values, errors=dict(outcome.errors), status=400
        )
    if isinstance(outcome, Refusal):
        return refusal_page(request, viewer, outcome)
    assert not isinstance(outcome, NoSuchPerson)  # one's own is always there
    return redirect("/app/settings?done=away#out-of-office")


@page
async def clear_away(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    caller = await caller_of(request, viewer)
    outcome = await attendance.clear_away(services_of(request), caller, viewer.user_id)
    if isinstance(outcome, Refusal):
        return refusal_page(request, viewer, outcome)
    return redirect("/app/settings?done=back#out-of-office")


@page
async def set_reminders(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    wanted = request[FORM].get("reminders")
    if wanted not in ("on", "off"):
        errors = {"reminders": "Choose on or off."}
        return await _settings_page(request, viewer, errors=errors, status=400)
    caller = await caller_of(request, viewer)
    await reminders.own_reminders(services_of(request), caller, off=wanted == "off")
    return redirect(f"/app/settings?done=reminders-{wanted}#reminders")


@page
async def set_holidays(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    code = " ".join(request[FORM].get("holidays", "").split())
    caller = await caller_of(request, viewer)
    outcome = await attendance.holiday_calendar(services_of(request), caller, code or "off")
    if isinstance(outcome, Invalid):
        values: dict[str, Any] = {"holidays": code}
        errors = {"holidays": outcome.message.split(" Usage:")[0]}
        return await _settings_page(request, viewer, values=values, errors=errors, status=400)
    return redirect("/app/settings?done=holidays#holidays")
