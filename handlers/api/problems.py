"""Errors as RFC 9457 problem details (``application/problem+json``): ``type``, ``title``,
``status``, ``detail``, and for invalid input ``errors`` (a message per field)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web

from bot.outcomes import FieldErrors, Refusal
from bot.rules.permissions import Why
from bot.views import wording

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:asyncstand:problem:"

# What each refusal of a use case is, in HTTP.
_REFUSAL_STATUS = {
    Why.NO_SUCH_STANDUP: 404,
    Why.STANDUP_GONE: 404,
    Why.NOT_YOUR_CHECKIN: 404,
    Why.NOT_YOUR_BLOCKER: 404,
    Why.NOT_MANAGER: 403,
    Why.NOT_HISTORY_READER: 403,
    Why.CREATE_ADMINS_ONLY: 403,
    Why.SETTINGS_ADMINS_ONLY: 403,
    Why.WORKSPACE_HISTORY_ADMINS_ONLY: 403,
    Why.NOT_REPORT_READER: 403,
    Why.WEBHOOK_GONE: 404,
}

# The problem type (a slug of TYPE_PREFIX) for each status we answer with.
SLUGS = {
    400: "invalid-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "idempotency-key-reused",
    429: "rate-limited",
    503: "unavailable",
}


class ApiProblem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or SLUGS.get(status, "error")
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        document: dict[str, object] = {
            "type": TYPE_PREFIX + self.slug,
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            document["errors"] = self.errors
        return document

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body(), ensure_ascii=False),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def invalid(errors: Mapping[str, str], detail: str | None = None) -> ApiProblem:
    """400 with a message per field."""
    fields = ", ".join(sorted(errors))
    return ApiProblem(
        400,
        detail or f"Some fields are not valid ({fields}); see errors for each.",
        errors=errors,
    )


def field_errors(outcome: FieldErrors) -> ApiProblem:
    return invalid(outcome.errors)


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"There is no {what} here (or it is not visible to this token).")


def refusal(outcome: Refusal, what: str = "standup") -> ApiProblem:
    """A use case's refusal: 404 for what does not exist (or may not be seen), 403 for what
    the token's user may not do, 409 for what cannot be done in the current state."""
    status = _REFUSAL_STATUS.get(outcome.why, 409)
    if status == 404:
        return not_found(what)
    slug = "standup-limit" if outcome.why == Why.STANDUP_LIMIT else None
    return ApiProblem(status, wording.refusal_plain(outcome), slug=slug)
