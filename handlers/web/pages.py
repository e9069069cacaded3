"""The pages under /app/: parse the request → call one use case → render its outcome.

Ids in URLs are hints, like button values in Slack: each use case looks them up inside the
viewer's workspace and under their permissions, and anything they may not see is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from aiohttp import web

from bot import blockers, dashboard, standups, web_sessions, workspaces
from bot.dashboard import BadCursor, NotFound, StandupRef
from bot.outcomes import Created, Edited, FieldErrors, Refusal
from bot.rules.validation import FormField
from bot.views import wording
from bot.views.modals import REPEAT_CHOICES, WEEK_OF_MONTH_CHOICES
from bot.web_sessions import Viewer
from handlers.web import charts
from handlers.web.auth import (
    FORM,
    message,
    not_found,
    page,
    redirect,
    services_of,
)
from handlers.web.guards import (
    caller_of,
    managed_standup,
    page_context,
    refusal_page,
    standup_id_of,
    visible_standup,
)
from handlers.web.render import render
from handlers.web.standup_form import edit_values, new_values, read_form

log = structlog.get_logger("asyncstand.web")

NOTICES = {
    "created": "Created. Its first run follows the schedule below.",
    "saved": "Saved. Schedule changes apply from now on.",
}


# --- the list ------------------------------------------------------------------------------------


@page
async def standup_list(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    services = services_of(request)
    caller = await caller_of(request, viewer)
    listed = await dashboard.standup_list(services, caller)
    cannot_create = await standups.may_create(services, caller)
    return render(
        "standups.html",
        page_context(
            request,
            viewer,
            nav="standups",
            listed=listed,
            cannot_create=wording.refusal_plain(cannot_create) if cannot_create else None,
        ),
    )


# --- one standup ---------------------------------------------------------------------------------


@page
async def standup_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    standup_id = standup_id_of(request)
    if standup_id is None:
        return not_found(request, viewer)
    services = services_of(request)
    caller = await caller_of(request, viewer)
    shown = await dashboard.standup_page(services, caller, standup_id, request.query.get("after"))
    if isinstance(shown, NotFound):
        return not_found(request, viewer)
    if isinstance(shown, BadCursor):
        return message(
            request,
            400,
            "Page not found",
            "That page of past runs doesn't exist. Start from the standup's first page.",
            viewer=viewer,
        )
    open_blockers = await blockers.standup_blockers(services, caller, standup_id)
    today = services.clock().astimezone(dt.UTC).date()
    span = dashboard.PARTICIPATION_DAYS
    return render(
        "standup.html",
        page_context(
            request,
            viewer,
            page=shown,
            notice=NOTICES.get(request.query.get("done", "")),
            participation=charts.participation_chart(shown.participation, today, span),
            mood=charts.mood_chart(shown.mood, today, span),
            span=span,
            first_page=not request.query.get("after"),
            blockers=[] if isinstance(open_blockers, Refusal) else open_blockers.blockers,
        ),
    )


# --- create and edit -----------------------------------------------------------------------------


def _form_page(
    request: web.Request,
    viewer: Viewer,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    ref: StandupRef | None,
    status: int = 200,
) -> web.Response:
    return render(
        "standup_form.html",
        page_context(
            request,
            viewer,
            nav="standups",
            values=values,
            errors=errors,
            ref=ref,
            fields=FormField,
            repeat_choices=REPEAT_CHOICES,
            week_choices=WEEK_OF_MONTH_CHOICES,
            limits=services_of(request).settings.limits,
        ),
        status=status,
    )


@page
async def new_standup(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    services = services_of(request)
    caller = await caller_of(request, viewer)
    refused = await standups.may_create(services, caller)
    if refused is not None:
        return refusal_page(request, viewer, refused)
    return _form_page(request, viewer, values=new_values(viewer.user_id), errors={}, ref=None)


@page
async def create_standup(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    services = services_of(request)
    caller = await caller_of(request, viewer)
    submitted = read_form(request[FORM])
    if submitted.errors:  # don't create what could not even be read
        return _form_page(
            request, viewer, values=submitted.values, errors=submitted.errors, ref=None, status=400
        )
    client = await web_sessions.workspace_client(services, viewer.workspace_id)
    if client is None:
        return _unreachable(request, viewer)
    outcome = await standups.create(services, client, caller, submitted.draft)
    if isinstance(outcome, Refusal):
        return refusal_page(request, viewer, outcome)
    if isinstance(outcome, FieldErrors):
        return _form_page(
            request, viewer, values=submitted.values, errors=outcome.errors, ref=None, status=400
        )
    assert isinstance(outcome, Created)
    try:
        await standups.announce_created(services, client, caller, outcome)
    except Exception:  # the standup is saved; the DM is a courtesy
        log.warning("announce_created_failed", exc_info=True)
    return redirect(f"/app/standups/{outcome.standup_id}?done=created")


@page
async def edit_standup(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    found = await managed_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    caller, ref = found
    form = await standups.edit_form(services_of(request), caller, ref.name)
    if isinstance(form, Refusal):
        return refusal_page(request, viewer, form)
    return _form_page(request, viewer, values=edit_values(form), errors={}, ref=ref)


@page
async def save_standup(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    found = await managed_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    caller, ref = found
    services = services_of(request)
    submitted = read_form(request[FORM])
    if submitted.errors:  # don't half-save what could not even be read
        return _form_page(
            request, viewer, values=submitted.values, errors=submitted.errors, ref=ref, status=400
        )
    client = await web_sessions.workspace_client(services, viewer.workspace_id)
    if client is None:
        return _unreachable(request, viewer)
    outcome = await standups.edit(services, client, caller, ref.standup_id, submitted.draft)
    if isinstance(outcome, Refusal):
        return refusal_page(request, viewer, outcome)
    if isinstance(outcome, FieldErrors):
        return _form_page(
            request, viewer, values=submitted.values, errors=outcome.errors, ref=ref, status=400
        )
    assert isinstance(outcome, Edited)
    try:
        await standups.announce_edited(services, client, caller, outcome)
    except Exception:
        log.warning("announce_edited_failed", exc_info=True)
    return redirect(f"/app/standups/{outcome.standup_id}?done=saved")


def _unreachable(request: web.Request, viewer: Viewer) -> web.Response:
    return message(
        request,
        503,
        "Slack unavailable",
        "AsyncStand has no working connection to this Slack workspace right now, so nothing was "
        "saved. Please try again later.",
        viewer=viewer,
    )


# --- history -------------------------------------------------------------------------------------


@page
async def standup_history(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    found = await visible_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    caller, ref = found
    services = services_of(request)
    history = await standups.history(services, caller, ref.name)
    if isinstance(history, Refusal):
        return refusal_page(request, viewer, history)
    return render(
        "audit.html",
        page_context(request, viewer, nav="audit", ref=ref, changes=history.changes, refused=None),
    )


@page
async def audit_log(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    services = services_of(request)
    caller = await caller_of(request, viewer)
    entries = await workspaces.workspace_history(services, caller)
    if isinstance(entries, Refusal):
        mine = await dashboard.managed_standups(services, caller)
        return render(
            "audit.html",
            page_context(
                request,
                viewer,
                nav="audit",
                ref=None,
                changes=[],
                refused=wording.refusal_plain(entries),
                mine=mine,
            ),
        )
    return render(
        "audit.html",
        page_context(
            request,
            viewer,
            nav="audit",
            ref=None,
            changes=standups.changes(entries),
            refused=None,
        ),
    )


# --- anything else under /app/ -------------------------------------------------------------------


@page
async def nothing_here(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return not_found(request, viewer)
