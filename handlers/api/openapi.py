"""The OpenAPI 3.1 document at /api/v1/openapi.json, generated from the routes as they are
registered (so a route cannot be served undocumented) and the schemas in ``schemas.py``."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from handlers.api.routing import (
    DEFAULT_LIMIT,
    MAX_BODY,
    MAX_LIMIT,
    PREFIX,
    ROUTES,
    ApiRoute,
    add,
    json_response,
)
from handlers.api.schemas import SCHEMAS, ref

_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")

_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Invalid JSON, fields (see `errors`), query or Idempotency-Key"),
    401: ("Unauthorized", "No valid token (`WWW-Authenticate: Bearer`)"),
    403: ("Forbidden", "Outside the token's rights: a read-only token writing, or not allowed"),
    404: ("NotFound", "No such thing here (another workspace's ids are never revealed)"),
    409: ("Conflict", "Not possible now, or the same Idempotency-Key is still in progress"),
    413: ("TooLarge", f"The body is over {MAX_BODY // 1024} KiB"),
    415: ("UnsupportedMediaType", "The body is not `application/json`"),
    422: ("IdempotencyKeyReused", "The Idempotency-Key was used for a different request"),
    429: ("TooManyRequests", "Over the token's rate limit; see `Retry-After`"),
}


def openapi_path(path: str) -> str:
    """aiohttp's ``/standups/{standup_id:\\d+}`` as OpenAPI's ``/standups/{standup_id}``."""
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", path)


def _parameters(route: ApiRoute) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"}
            if name == "user_id"
            else {"type": "integer", "minimum": 1},
            "description": "A Slack user id, or `me`" if name == "user_id" else f"The {name}",
        }
        for name in _PLACEHOLDER.findall(route.path)
    ]
    if route.paginated:
        params += [
            {
                "name": "cursor",
                "in": "query",
                "schema": {"type": "string"},
                "description": "`next_cursor` of the previous page",
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                },
            },
        ]
    for param in route.query:
        params.append(
            {
                "name": param.name,
                "in": "query",
                "required": param.required,
                "schema": param.schema,
                "description": param.description,
            }
        )
    if route.method == "POST" and not route.public:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Same key and request within 24 h: the stored response again "
                "(with `Idempotent-Replayed: true`), and no second effect",
            }
        )
    return params


def _operation(route: ApiRoute) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (description, schema) in sorted(route.responses.items()):
        response: dict[str, Any] = {"description": description}
        if schema is not None:
            response["content"] = {
                media: {"schema": ref(schema) if media.endswith("json") else {"type": "string"}}
                for media in route.media
            }
        if status == 201:
            response["headers"] = {"Location": {"schema": {"type": "string"}}}
        responses[str(status)] = response
    errors = set(route.extra_errors)
    if not route.public:
        errors |= {401, 429}
        if route.method != "GET":
            errors.add(403)
    if route.body is not None:
        errors |= {400, 413, 415}
    if route.paginated or route.query:
        errors.add(400)
    if route.method == "POST" and not route.public:
        errors |= {400, 409, 422}
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if route.description:
        operation["description"] = route.description
    parameters = _parameters(route)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(route.body)}},
        }
    if route.public:
        operation["security"] = []
    elif route.method == "GET":
        operation["description"] = (
            operation.get("description", "") + " Scope: read or write."
        ).strip()
    else:
        operation["description"] = (operation.get("description", "") + " Scope: write.").strip()
    return operation


def document(routes: list[ApiRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AsyncStand API",
            "version": "1.0.0",
            "description": (
                "Asynchronous standups for Slack. Authenticate with a personal token: "
                "`Authorization: Bearer ast_…` (`python app.py create-token`, or your tokens "
                "page). A token acts as its user, in its workspace, with that user's rights; "
                "`read` tokens may only GET. Errors are `application/problem+json`. Lists are "
                "paged with `cursor` and `limit`; POSTs honour `Idempotency-Key` for 24 hours."
            ),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token, ast_<prefix>_<secret>",
                }
            },
            "schemas": SCHEMAS,
            "responses": {
                name: {
                    "description": description,
                    "content": {"application/problem+json": {"schema": ref("Problem")}},
                }
                for name, description in _ERRORS.values()
            },
        },
    }


def register(app: web.Application) -> None:
    async def openapi_json(request: web.Request) -> web.Response:
        return json_response(document(request.app[ROUTES]))

    add(
        app,
        ApiRoute(
            "GET",
            "/openapi.json",
            openapi_json,
            "getOpenApi",
            "This document",
            "meta",
            {200: ("The OpenAPI 3.1 document", None)},
            public=True,
        ),
    )
