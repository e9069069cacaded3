"""How an API request is served: each route is declared once (method, path, handler and what
the OpenAPI document says about it), and every request to it goes through the same steps —
token (401), rate limit (429), scope (403), body (415, 413, 400), Idempotency-Key on POST (replay,
409, 422) — before its handler parses the rest, calls one use case and renders the outcome.

Resource modules declare their routes with :func:`add` from their ``register(app)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web

from bot import api_tokens, idempotency
from bot.api_tokens import ApiPrincipal, AuthProblem, AuthRefused
from bot.rules import websec
from bot.runtime import Services
from bot.slack.ratelimit import Limit
from handlers.api.problems import ApiProblem

log = structlog.get_logger("asyncstand.api")

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
JSON_TYPES = frozenset({"application/json"})

ApiHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SERVICES = web.AppKey("asyncstand_api_services", Services)
ROUTES = web.AppKey("asyncstand_api_routes", list["ApiRoute"])
_PRINCIPAL = web.RequestKey("asyncstand_api_principal", ApiPrincipal)
_BODY = web.RequestKey("asyncstand_api_body", dict[str, Any])
# Set once a streamed response has sent its headers: a failure after that cannot become a
# problem document, so the connection is dropped instead (the client sees a cut-off body).
STREAMING = web.RequestKey("asyncstand_api_streaming", bool)


@dataclass(frozen=True)
class Param:
    """A query parameter, for the OpenAPI document."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class ApiRoute:
    """One operation. ``path`` is aiohttp's (``{standup_id:\\d+}``); ``body`` and the schemas
    in ``responses`` name components of the OpenAPI document (None: no body)."""

    method: str
    path: str
    handler: ApiHandler
    operation_id: str
    summary: str
    tag: str
    responses: Mapping[int, tuple[str, str | None]]
    description: str = ""
    query: tuple[Param, ...] = ()
    body: str | None = None
    public: bool = False
    paginated: bool = False
    extra_errors: tuple[int, ...] = ()
    path_params: Mapping[str, str] = field(default_factory=dict)
    # Media types of the success body (the schema applies to JSON; others are text).
    media: tuple[str, ...] = ("application/json",)


def add(app: web.Application, route: ApiRoute) -> None:
    """Serve `route` (through the common steps) and list it in the OpenAPI document."""
    app.router.add_route(route.method, route.path, _pipeline(route))
    app[ROUTES].append(route)


# --- what handlers use ----------------------------------------------------------------------


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


def principal_of(request: web.Request) -> ApiPrincipal:
    return request[_PRINCIPAL]


def body_of(request: web.Request) -> dict[str, Any]:
    return request[_BODY]


def path_id(request: web.Request, name: str, what: str) -> int:
    """A numeric id from the path (the route's pattern already allows digits only)."""
    text = request.match_info[name]
    if len(text) > 18:  # past a 64-bit id: nothing has it
        raise ApiProblem(404, f"There is no {what} here (or it is not visible to this token).")
    return int(text)


def query_value(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise ApiProblem(400, f"Give {name} once.", errors={name: "Given more than once."})
    return values[0] if values else None


@dataclass(frozen=True)
class Page:
    after: dict[str, str | int] | None
    limit: int


def page_of(request: web.Request) -> Page:
    """``?cursor=&limit=`` — a cursor from a previous page's ``next_cursor``, 1..100 items."""
    errors: dict[str, str] = {}
    limit = DEFAULT_LIMIT
    raw_limit = query_value(request, "limit")
    if raw_limit is not None:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            errors["limit"] = f"Give a whole number from 1 to {MAX_LIMIT}."
    after = None
    raw_cursor = query_value(request, "cursor")
    if raw_cursor:
        after = websec.decode_cursor(raw_cursor)
        if after is None:
            errors["cursor"] = "Pass next_cursor from a previous page, unchanged."
    if errors:
        raise ApiProblem(400, "The page parameters are not valid.", errors=errors)
    return Page(after, limit)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False),
        content_type="application/json",
        headers=headers,
    )


def no_content() -> web.Response:
    return web.Response(status=204)


# --- the common steps -----------------------------------------------------------------------


def _pipeline(route: ApiRoute) -> ApiHandler:
    async def serve(request: web.Request) -> web.StreamResponse:
        if route.public:
            return await route.handler(request)
        services = services_of(request)
        principal = await _authenticate(services, request)
        await _within_rate(services, principal)
        if not principal.may(request.method):
            raise ApiProblem(
                403,
                "This token is read-only: it may only GET. Create a token with the write "
                "scope to change anything.",
                slug="insufficient-scope",
                headers={
                    "WWW-Authenticate": 'Bearer realm="asyncstand", error="insufficient_scope", '
                    'scope="write"'
                },
            )
        request[_PRINCIPAL] = principal
        raw = await _raw_body(request, wanted=route.body is not None)
        if route.body is not None:
            request[_BODY] = _json_object(raw)
        keys = request.headers.getall("Idempotency-Key", [])
        if request.method == "POST" and keys:
            return await _idempotent(services, principal, request, raw, keys, route.handler)
        return await route.handler(request)

    return serve


async def _authenticate(services: Services, request: web.Request) -> ApiPrincipal:
    headers = request.headers.getall("Authorization", [])
    found = (
        AuthRefused(AuthProblem.MALFORMED)  # two credentials: neither is trusted
        if len(headers) > 1
        else await api_tokens.authenticate(services, headers[0] if headers else None)
    )
    if isinstance(found, AuthRefused):
        challenge = 'Bearer realm="asyncstand"'
        if found.problem != AuthProblem.MISSING:
            challenge += ', error="invalid_token"'
        raise ApiProblem(401, found.detail, headers={"WWW-Authenticate": challenge})
    return found


async def _within_rate(services: Services, principal: ApiPrincipal) -> None:
    per_minute = services.settings.api_rate_per_minute
    limit = Limit(rate=per_minute / 60.0, burst=float(per_minute))
    wait = await services.slack.limiter.admit(principal.rate_key, limit)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise ApiProblem(
            429,
            f"This token may make {per_minute} requests a minute (API_RATE_PER_MINUTE); "
            f"try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


async def _raw_body(request: web.Request, *, wanted: bool) -> bytes:
    if not wanted and not request.body_exists:
        return b""
    if wanted:
        media = request.content_type.lower()
        charset = (request.charset or "utf-8").lower()
        if media not in JSON_TYPES or charset not in ("utf-8", "utf8"):
            raise ApiProblem(
                415,
                "Send the body as JSON, with 'Content-Type: application/json' (UTF-8).",
                headers={"Accept": "application/json"},
            )
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiProblem(413, f"The body may be at most {MAX_BODY // 1024} KiB.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiProblem(413, f"The body may be at most {MAX_BODY // 1024} KiB.")
    return b"".join(chunks)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = "the body is empty" if not raw.strip() else str(exc)[:200]
        raise ApiProblem(400, f"The body is not valid JSON: {reason}.") from None
    if not isinstance(value, dict):
        raise ApiProblem(400, "The body must be a JSON object.")
    return value


# --- Idempotency-Key ------------------------------------------------------------------------


async def _idempotent(
    services: Services,
    principal: ApiPrincipal,
    request: web.Request,
    raw: bytes,
    keys: list[str],
    handler: ApiHandler,
) -> web.StreamResponse:
    if len(keys) > 1 or not idempotency.key_ok(keys[0]):
        raise ApiProblem(
            400,
            "Give one Idempotency-Key of 1 to 255 visible ASCII characters, e.g. a UUID.",
            errors={"Idempotency-Key": "Not a usable key."},
        )
    ref = idempotency.KeyRef(
        workspace_id=principal.workspace_id,
        token_id=principal.token.id,
        key=keys[0],
        fingerprint=websec.request_fingerprint(request.method, request.path_qs, raw),
    )
    begun = await idempotency.begin(services, ref)
    if isinstance(begun, idempotency.Replay):
        return _replayed(begun)
    if isinstance(begun, idempotency.Mismatch):
        raise ApiProblem(
            422,
            "This Idempotency-Key was already used for a different request (method, path or "
            "body); use a new key for a new request.",
        )
    if isinstance(begun, idempotency.InProgress):
        raise ApiProblem(
            409,
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            slug="idempotency-key-in-progress",
            headers={"Retry-After": "1"},
        )
    try:
        try:
            response = await handler(request)
            assert isinstance(response, web.Response), "a POST answers with a whole body"
        except ApiProblem as problem:
            response = problem.response()
    except BaseException:
        await idempotency.release(services, ref)
        raise
    if response.status >= 500:
        await idempotency.release(services, ref)
    else:
        await idempotency.finish(services, ref, response.status, _stored(response))
    return response


_KEPT_HEADERS = ("Location", "WWW-Authenticate", "Retry-After")


def _stored(response: web.Response) -> dict[str, Any]:
    body = response.body
    text = body.decode("utf-8") if isinstance(body, bytes) else ""
    return {
        "text": text,
        "content_type": response.content_type if text else None,
        "headers": {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers},
    }


def _replayed(replay: idempotency.Replay) -> web.Response:
    stored = replay.response
    headers = {str(k): str(v) for k, v in (stored.get("headers") or {}).items()}
    headers["Idempotent-Replayed"] = "true"
    text = stored.get("text") or ""
    if not text:
        return web.Response(status=replay.status, headers=headers)
    return web.Response(
        status=replay.status,
        text=str(text),
        content_type=str(stored.get("content_type") or "application/json"),
        headers=headers,
    )


# --- errors outside any route ---------------------------------------------------------------


@web.middleware
async def problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every answer under /api/v1 that is not a success is a problem document — unknown paths
    (404), wrong methods (405) and unexpected failures (503, never a 500) included."""
    try:
        return await handler(request)
    except ApiProblem as problem:
        return problem.response()
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        return ApiProblem(
            405, f"{request.method} is not allowed here; use {allowed}.", headers={"Allow": allowed}
        ).response()
    except web.HTTPNotFound:
        return ApiProblem(
            404, f"There is no API endpoint at {request.path}; see {PREFIX}/openapi.json."
        ).response()
    except web.HTTPRequestEntityTooLarge:
        return ApiProblem(413, f"The body may be at most {MAX_BODY // 1024} KiB.").response()
    except web.HTTPException as exc:
        status = exc.status if exc.status >= 400 else 400
        return ApiProblem(status, exc.reason or HTTPStatus(status).phrase).response()
    except Exception:
        if request.get(STREAMING):
            log.exception("api_stream_failed", path=request.path)
            raise  # headers are sent: aiohttp drops the connection
        log.exception("api_request_failed", path=request.path, method=request.method)
        return ApiProblem(
            503,
            "The request could not be completed just now; nothing may have changed. "
            "Try again shortly.",
            headers={"Retry-After": "5"},
        ).response()
