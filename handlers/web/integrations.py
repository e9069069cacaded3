"""My API tokens (/app/tokens) and a standup's webhooks (/app/standups/{id}/webhooks).

Both go through the use cases the REST API and ``python app.py create-token`` use
(bot.api_tokens, bot.webhooks): the same validation, permissions and audit. A new token or
webhook secret is shown once, on the page answering the POST (pages are never cached), and
never again; everything else answers with Post/Redirect/Get.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import api_tokens, webhooks
from bot.api_tokens import TokenProblem, TokenRefused
from bot.dashboard import StandupRef
from bot.outcomes import FieldErrors, Refusal
from bot.rules.permissions import Why
from bot.rules.tokens import TokenScope
from bot.views import wording
from bot.web_sessions import Viewer
from handlers.web.auth import FORM, message, not_found, page, parse_id, redirect, services_of
from handlers.web.guards import caller_of, managed_standup, page_context, refusal_page
from handlers.web.render import render

TOKEN_DONE = {"revoked": "Revoked: that token no longer works."}
WEBHOOK_DONE = {
    "deleted": "Deleted: that webhook and its delivery log are gone.",
    "enabled": "Turned back on: new events are delivered again.",
}


# --- my API tokens --------------------------------------------------------------------------------


async def _tokens_page(
    request: web.Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: api_tokens.TokenCreated | None = None,
    status: int = 200,
) -> web.Response:
    caller = await caller_of(request, viewer)
    listed = await api_tokens.list_tokens(services_of(request), caller)
    assert not isinstance(listed, TokenRefused)  # one's own tokens are always one's to see
    return render(
        "tokens.html",
        page_context(
            request,
            viewer,
            nav="tokens",
            tokens=listed,
            scopes=list(TokenScope),
            values=values or {"scope": TokenScope.READ.value},
            errors=errors or {},
            created=created,
            notice=TOKEN_DONE.get(request.query.get("done", "")) if status == 200 else None,
        ),
        status=status,
    )


@page
async def my_tokens(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return await _tokens_page(request, viewer)


@page
async def create_token(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    form = request[FORM]
    values = {"name": form.get("name", ""), "scope": form.get("scope", "")}
    caller = await caller_of(request, viewer)
    outcome = await api_tokens.create_token(
        services_of(request), caller, values["name"], values["scope"]
    )
    if isinstance(outcome, FieldErrors):
        return await _tokens_page(
            request, viewer, values=values, errors=dict(outcome.errors), status=400
        )
    return await _tokens_page(request, viewer, created=outcome)


@page
async def revoke_token(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    token_id = parse_id(request.match_info.get("token_id", ""))
    if token_id is None:
        return not_found(request, viewer)
    caller = await caller_of(request, viewer)
    outcome = await api_tokens.revoke_token(services_of(request), caller, token_id)
    if isinstance(outcome, TokenRefused):
        if outcome.problem == TokenProblem.NO_SUCH_TOKEN:
            return not_found(request, viewer)
        return message(request, 403, "Not allowed", outcome.detail, viewer=viewer)
    return redirect("/app/tokens?done=revoked")


# --- a standup's webhooks -------------------------------------------------------------------------


async def _webhooks_page(
    request: web.Request,
    viewer: Viewer,
    ref: StandupRef,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    created: webhooks.WebhookCreated | None = None,
    status: int = 200,
) -> web.Response:
    caller = await caller_of(request, viewer)
    listed = await webhooks.list_webhooks(services_of(request), caller, ref.standup_id)
    if isinstance(listed, Refusal):
        return refusal_page(request, viewer, listed)
    return render(
        "webhooks.html",
        page_context(
            request,
            viewer,
            nav="standups",
            ref=ref,
            listed=listed,
            events=webhooks.EVENTS,
            values=values or {"url": "", "events": list(webhooks.EVENTS)},
            errors=errors or {},
            created=created,
            notice=WEBHOOK_DONE.get(request.query.get("done", "")) if status == 200 else None,
        ),
        status=status,
    )


@page
async def standup_webhooks(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    found = await managed_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    return await _webhooks_page(request, viewer, found[1])


@page
async def create_webhook(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    found = await managed_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    caller, ref = found
    form = request[FORM]
    values: dict[str, Any] = {"url": form.get("url", ""), "events": form.getall("events", [])}
    draft = webhooks.WebhookDraft(url=values["url"], events=values["events"])
    outcome = await webhooks.create(services_of(request), caller, ref.standup_id, draft)
    if isinstance(outcome, FieldErrors):
        errors = {str(k): v for k, v in outcome.errors.items()}
        return await _webhooks_page(request, viewer, ref, values=values, errors=errors, status=400)
    if isinstance(outcome, Refusal):
        if outcome.why in (Why.WEBHOOK_LIMIT, Why.WEBHOOKS_NEED_KEY):
            return await _webhooks_page(
                request,
                viewer,
                ref,
                values=values,
                errors={"form": wording.refusal_plain(outcome)},
                status=409,
            )
        return refusal_page(request, viewer, outcome)
    return await _webhooks_page(request, viewer, ref, created=outcome)


async def _webhook_action(request: web.Request, viewer: Viewer, action: str) -> web.StreamResponse:
    found = await managed_standup(request, viewer)
    if isinstance(found, web.Response):
        return found
    caller, ref = found
    webhook_id = parse_id(request.match_info.get("webhook_id", ""))
    if webhook_id is None:
        return not_found(request, viewer)
    services = services_of(request)
    listed = await webhooks.list_webhooks(services, caller, ref.standup_id, recent=0)
    if isinstance(listed, Refusal):
        return refusal_page(request, viewer, listed)
    if webhook_id not in {w.webhook_id for w in listed.webhooks}:
        return not_found(request, viewer)  # not this standup's
    use_case = webhooks.delete if action == "deleted" else webhooks.enable
    outcome = await use_case(services, caller, webhook_id)
    if isinstance(outcome, Refusal):
        return refusal_page(request, viewer, outcome)
    return redirect(f"/app/standups/{ref.standup_id}/webhooks?done={action}")


@page
async def delete_webhook(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return await _webhook_action(request, viewer, "deleted")


@page
async def enable_webhook(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return await _webhook_action(request, viewer, "enabled")
