"""Sign in with Slack over HTTP, the session cookie, and the guard every page goes through.

Cookies: the session id and the sign-in state are opaque random values, ``HttpOnly``,
``SameSite=Lax`` and ``Secure`` with the ``__Host-`` prefix (so no subdomain can set or scope
them). Only when PUBLIC_URL is ``http://localhost…`` — development on one's own machine, where
there is no TLS — are they sent without ``Secure`` (and so without the prefix).

The guard (:func:`page`): no session, an ended, idle or expired one → the sign-in page (401);
a POST without this session's CSRF token → 403; anything that goes wrong inside a page → a
friendly error page, never a stack trace or a bare 500.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

import structlog
from aiohttp import web
from multidict import MultiDictProxy

from bot import web_sessions
from bot.rules.websec import csrf_ok, csrf_token
from bot.runtime import Services
from bot.settings import Settings
from bot.slack.ratelimit import Limit
from bot.web_sessions import SignedIn, SignInProblem, SignInRefused, SignInStarted, Viewer
from handlers import web_policy
from handlers.web.render import render

log = structlog.get_logger("asyncstand.web")

SERVICES: web.AppKey[Services] = web.AppKey("asyncstand_web_services", Services)
VIEWER: web.RequestKey[Viewer] = web.RequestKey("asyncstand_viewer", Viewer)
FORM: web.RequestKey[MultiDictProxy[str]] = web.RequestKey("asyncstand_form", MultiDictProxy)

PageHandler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]

SIGN_IN_PROBLEMS: dict[SignInProblem, tuple[int, str]] = {
    SignInProblem.NOT_CONFIGURED: (
        503,
        "Sign in with Slack isn't set up on this AsyncStand. The operator needs to set "
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (the Slack app's Basic Information page) — "
        "they are used for signing in even with a single workspace's bot token.",
    ),
    SignInProblem.NO_PUBLIC_URL: (
        503,
        "Sign in with Slack needs to know this AsyncStand's address. The operator needs to set "
        "PUBLIC_URL (e.g. https://standup.example.com) and add <PUBLIC_URL>/login/callback to "
        "the Slack app's redirect URLs.",
    ),
    SignInProblem.CANCELLED: (400, "Signing in was cancelled in Slack."),
    SignInProblem.EXPIRED: (
        400,
        "This sign-in link has expired, was already used, or was started in another browser. "
        "Please sign in again.",
    ),
    SignInProblem.SLACK_REFUSED: (400, "Slack did not confirm who you are."),
    SignInProblem.BAD_TOKEN: (
        400,
        "Slack's answer could not be trusted, so you are not signed in.",
    ),
    SignInProblem.NOT_INSTALLED: (
        403,
        "AsyncStand isn't installed in the Slack workspace you signed in to. Ask a workspace "
        "admin to install it, or sign in to the workspace that has it.",
    ),
    SignInProblem.NOT_A_MEMBER: (
        403,
        "We couldn't confirm you are an active member of that Slack workspace, so you are not "
        "signed in.",
    ),
    SignInProblem.UNAVAILABLE: (502, "Slack could not be reached. Please try again in a minute."),
}


# --- cookies ------------------------------------------------------------------------------------


def insecure_dev(settings: Settings) -> bool:
    """PUBLIC_URL is http://localhost[:port]: development without TLS, cookies not Secure."""
    url = urlsplit(settings.public_url or "")
    return url.scheme == "http" and url.hostname == "localhost"


def session_cookie(settings: Settings) -> str:
    return "asyncstand_session" if insecure_dev(settings) else "__Host-asyncstand_session"


def login_cookie(settings: Settings) -> str:
    return "asyncstand_login" if insecure_dev(settings) else "__Host-asyncstand_login"


def _set_cookie(
    response: web.StreamResponse, settings: Settings, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        max_age=max_age,
        secure=not insecure_dev(settings),
        httponly=True,
        samesite="Lax",
    )


def _clear_cookie(response: web.StreamResponse, settings: Settings, name: str) -> None:
    _set_cookie(response, settings, name, "", 0)


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


# --- the guard ----------------------------------------------------------------------------------


def message(
    request: web.Request,
    status: int,
    title: str,
    text: str,
    *,
    viewer: Viewer | None = None,
    sign_in: bool = False,
) -> web.Response:
    """A page that only says something: errors, refusals, the sign-in prompt."""
    return render(
        "message.html",
        {
            "title": title,
            "text": text,
            "viewer": viewer,
            "csrf": csrf_for(request, viewer),
            "sign_in_url": _sign_in_url(request) if sign_in else None,
        },
        status=status,
    )


def not_found(request: web.Request, viewer: Viewer | None) -> web.Response:
    return message(
        request,
        404,
        "Not found",
        "There is nothing here — or nothing you can see. Check the link, or go back to your "
        "standups.",
        viewer=viewer,
    )


def _sign_in_url(request: web.Request) -> str:
    """Sign in, then come back here (a GET page; after a refused POST, the standups list)."""
    path = request.path_qs if request.method == "GET" else "/app/"
    return "/login?" + urlencode({"next": path})


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect as a response (303: after a POST, the browser GETs the new page)."""
    return web.Response(status=status, headers={"Location": location})


def csrf_for(request: web.Request, viewer: Viewer | None) -> str:
    if viewer is None:
        return ""
    return csrf_token(services_of(request).settings.web_key, viewer.session_id)


async def current_viewer(request: web.Request) -> Viewer | None:
    services = services_of(request)
    return await web_sessions.viewer_for(
        services, request.cookies.get(session_cookie(services.settings))
    )


async def read_form(request: web.Request) -> MultiDictProxy[str] | None:
    """The posted form, or None if it cannot be read (bad encoding, a file upload…)."""
    try:
        form = await request.post()
    except (ValueError, web.HTTPException):  # UnicodeDecodeError is a ValueError
        return None
    if any(not isinstance(v, str) for v in form.values()):
        return None
    return MultiDictProxy(form)  # type: ignore[arg-type]


def page(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Sign-in required; POSTs must carry this session's CSRF token; no error escapes."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        viewer: Viewer | None = None
        try:
            viewer = await current_viewer(request)
            if viewer is None:
                return message(
                    request,
                    401,
                    "Sign in",
                    "Sign in with your Slack account to see your standups.",
                    sign_in=True,
                )
            if request.method == "POST":
                form = await read_form(request)
                if form is None:
                    return message(
                        request, 400, "Bad request", "That form could not be read.", viewer=viewer
                    )
                if not csrf_ok(
                    services_of(request).settings.web_key, viewer.session_id, form.get("csrf")
                ):
                    return message(
                        request,
                        403,
                        "Form expired",
                        "This form has expired or did not come from AsyncStand. Go back, reload "
                        "the page and try again.",
                        viewer=viewer,
                    )
                request[FORM] = form
            request[VIEWER] = viewer
            return await handler(request, viewer)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web_page_failed", path=request.path)
            return message(
                request,
                503,
                "Something went wrong",
                "Something went wrong on our side. Nothing you entered was saved twice — please "
                "try again in a moment.",
                viewer=viewer,
            )

    return guarded


# --- sign in and out ----------------------------------------------------------------------------


def _refused(request: web.Request, refusal: SignInRefused) -> web.Response:
    status, text = SIGN_IN_PROBLEMS[refusal.problem]
    if refusal.detail:
        text = f"{text} ({refusal.detail})"
    can_retry = refusal.problem not in (SignInProblem.NOT_CONFIGURED, SignInProblem.NO_PUBLIC_URL)
    return render(
        "message.html",
        {
            "title": "Not signed in",
            "text": text,
            "viewer": None,
            "csrf": "",
            "sign_in_url": "/login" if can_retry else None,
        },
        status=status,
    )


async def _over_sign_in_limit(request: web.Request) -> web.Response | None:
    """Each GET /login stores a sign-in attempt: at most INSTALL_RATE_PER_MINUTE of them per
    client address (per /64 for IPv6), like the install page, shared through Redis when there
    is one. None = go ahead."""
    services = services_of(request)
    settings = services.settings
    per_minute = settings.install_rate_per_minute
    address = web_policy.client_address(
        request.remote,
        request.headers.getall("X-Forwarded-For", []),
        trust_proxy=settings.trust_proxy_headers,
    )
    bucket = "rl:login:" + web_policy.install_bucket(address).removeprefix("rl:install:")
    limit = Limit(rate=per_minute / 60.0, burst=float(per_minute))
    wait = await services.slack.limiter.admit(bucket, limit)
    if wait <= 0:
        return None
    retry_after = max(1, math.ceil(wait))
    response = message(
        request,
        429,
        "Too many sign-ins",
        f"This address started signing in too often. Please try again in {retry_after} "
        f"second{'s' if retry_after != 1 else ''}.",
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """GET /login: off to Slack's authorize page, the state bound to this browser."""
    services = services_of(request)
    refused = await _over_sign_in_limit(request)
    if refused is not None:
        return refused
    try:
        started = await web_sessions.start_sign_in(services, request.query.get("next"))
    except Exception:
        log.exception("web_sign_in_failed")
        return _refused(request, SignInRefused(SignInProblem.UNAVAILABLE))
    if isinstance(started, SignInRefused):
        return _refused(request, started)
    assert isinstance(started, SignInStarted)
    response = redirect(started.url, 302)
    settings = services.settings
    max_age = int(web_sessions.LOGIN_STATE_TTL.total_seconds())
    _set_cookie(response, settings, login_cookie(settings), started.state, max_age)
    return response


async def login_callback(request: web.Request) -> web.StreamResponse:
    """GET /login/callback: Slack sends the browser back with a code (or an error)."""
    services = services_of(request)
    settings = services.settings
    query = request.query
    try:
        outcome = await web_sessions.finish_sign_in(
            services,
            code=_single(query.getall("code", [])),
            state=_single(query.getall("state", [])),
            browser_state=request.cookies.get(login_cookie(settings)),
            error=_single(query.getall("error", [])),
            previous_session_id=request.cookies.get(session_cookie(settings)),
        )
    except Exception:
        log.exception("web_sign_in_failed")
        outcome = SignInRefused(SignInProblem.UNAVAILABLE)
    if isinstance(outcome, SignInRefused):
        response = _refused(request, outcome)
        _clear_cookie(response, settings, login_cookie(settings))
        return response
    assert isinstance(outcome, SignedIn)
    found = redirect(outcome.return_to)
    _clear_cookie(found, settings, login_cookie(settings))
    _set_cookie(
        found,
        settings,
        session_cookie(settings),
        outcome.session_id,
        settings.session_max_hours * 3600,
    )
    return found


def _single(values: list[str]) -> str | None:
    """A query parameter sent exactly once (a repeated one is as good as none)."""
    return values[0] if len(values) == 1 else None


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout (with the session's CSRF token): the session ends here and now."""
    services = services_of(request)
    settings = services.settings
    viewer = await current_viewer(request)
    if viewer is not None:
        form = await read_form(request)
        if form is None or not csrf_ok(settings.web_key, viewer.session_id, form.get("csrf")):
            return message(
                request,
                403,
                "Form expired",
                "Signing out needs the button on an AsyncStand page. Reload the page and try "
                "again.",
                viewer=viewer,
            )
        await web_sessions.sign_out(services, viewer.session_id)
    response = render(
        "message.html",
        {
            "title": "Signed out",
            "text": "You are signed out of AsyncStand.",
            "viewer": None,
            "csrf": "",
            "sign_in_url": "/login",
        },
    )
    _clear_cookie(response, settings, session_cookie(settings))
    return response


_ID = re.compile(r"\d{1,18}")


def parse_id(value: str) -> int | None:
    """An id from a URL (the route only matches digits; BIGINT holds 18 of them)."""
    return int(value) if _ID.fullmatch(value) else None
