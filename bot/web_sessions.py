"""Sign in with Slack (OpenID Connect) and the web sessions it opens.

- ``start_sign_in``: a fresh ``state`` and ``nonce``, kept server-side (the state as a digest)
  for ten minutes, and the Slack authorize URL to send the browser to.
- ``finish_sign_in``: the state is spent (once), the code is exchanged with
  ``openid.connect.token`` and the identity read with ``openid.connect.userInfo`` — both
  through SLACK_API_URL — the id_token's issuer, audience, expiry and nonce are checked, and
  only a member of a workspace that has the app installed gets a session (a new id, always).
- ``viewer_for``: the signed-in person behind a session id, while it is neither idle nor past
  its absolute expiry; ``sign_out``; ``forget_expired`` for the scheduler's housekeeping.

Session ids and states are stored as SHA-256 digests only (bot.rules.websec).
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import people
from bot.people import Caller
from bot.rules.permissions import Actor
from bot.rules.websec import (
    SLACK_TEAM_ID_CLAIM,
    SLACK_USER_ID_CLAIM,
    authorize_url,
    check_id_token,
    id_token_claims,
    new_session_id,
    session_digest,
)
from bot.runtime import Services
from bot.settings import Settings
from bot.slack.gateway import error_code
from bot.workspaces import workspace_for
from storage import members, sessions, workspaces

log = structlog.get_logger("asyncstand.web")

LOGIN_STATE_TTL = dt.timedelta(minutes=10)
# A session's last-seen time is written at most this often (not on every page view).
TOUCH_EVERY = dt.timedelta(minutes=1)
CALLBACK_PATH = "/login/callback"
DEFAULT_RETURN = "/app/"
_ENTERPRISE_ID_CLAIM = "https://slack.com/enterprise_id"
# What Slack answers about a person who is no (longer an active) member.
_NOT_A_MEMBER = frozenset({"account_inactive", "user_disabled", "user_not_found"})
# What a cookie or form can carry as a session id or state: token_urlsafe(32) is 43 characters.
_OPAQUE = re.compile(r"[A-Za-z0-9_-]{20,128}")
# Where a sign-in may send the browser back to: one of our own pages, nothing else.
_RETURN_TO = re.compile(r"/app/[A-Za-z0-9/_\-.]{0,200}(\?[A-Za-z0-9=&_\-.%]{0,200})?")


class SignInProblem(enum.StrEnum):
    """Why a sign-in did not happen; the web surface words each one."""

    NOT_CONFIGURED = "not_configured"  # SLACK_CLIENT_ID / SLACK_CLIENT_SECRET missing
    NO_PUBLIC_URL = "no_public_url"  # PUBLIC_URL missing: no redirect URL to give Slack
    CANCELLED = "cancelled"  # the person said no on Slack's consent screen
    EXPIRED = "expired"  # unknown, used or expired state, or started in another browser
    SLACK_REFUSED = "slack_refused"  # the code exchange or the identity call failed
    BAD_TOKEN = "bad_token"  # the id_token failed its checks
    NOT_INSTALLED = "not_installed"  # that workspace does not have the app
    NOT_A_MEMBER = "not_a_member"  # deactivated, a bot, or not found in the workspace
    UNAVAILABLE = "unavailable"  # Slack could not be reached


@dataclass(frozen=True)
class SignInRefused:
    problem: SignInProblem
    detail: str = ""  # plain text, safe to show (never a code, token or secret)


@dataclass(frozen=True)
class SignInStarted:
    """Send the browser to ``url``; bind ``state`` to that browser (a short-lived cookie)."""

    url: str
    state: str


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # for the cookie only: never stored, never logged
    workspace_id: int
    user_id: str
    return_to: str


@dataclass(frozen=True)
class Viewer:
    """The signed-in person making a request."""

    workspace_id: int
    team_id: str
    workspace_name: str | None
    user_id: str
    user_name: str | None
    tz: str | None  # their Slack time zone, as last cached (pages show times in it)
    session_id: str  # keys the CSRF token; never stored, never logged


# --- pure helpers -------------------------------------------------------------------------------


def sign_in_problem(settings: Settings) -> SignInRefused | None:
    """Whether this deployment can offer Sign in with Slack at all."""
    if not (settings.slack_client_id and settings.slack_client_secret):
        return SignInRefused(SignInProblem.NOT_CONFIGURED)
    if not settings.public_url:
        return SignInRefused(SignInProblem.NO_PUBLIC_URL)
    return None


def redirect_uri(settings: Settings) -> str:
    assert settings.public_url, "PUBLIC_URL is required for sign-in"
    return settings.public_url + CALLBACK_PATH


def safe_return_to(value: str | None) -> str:
    """A page of ours to come back to after signing in (anything else: the standups list), so
    the sign-in can never be used to send someone to another site."""
    if value and _RETURN_TO.fullmatch(value) and "//" not in value and ".." not in value:
        return value
    return DEFAULT_RETURN


def opaque(value: str | None) -> str | None:
    """A session id or state as a browser may send it, or None if it cannot be one."""
    return value if value and _OPAQUE.fullmatch(value) else None


# --- sign in ------------------------------------------------------------------------------------


async def start_sign_in(services: Services, return_to: str | None) -> SignInStarted | SignInRefused:
    """A new sign-in attempt: state and nonce stored (single use, ten minutes)."""
    settings = services.settings
    problem = sign_in_problem(settings)
    if problem is not None:
        return problem
    assert settings.slack_client_id
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with services.db.session() as session:
        await sessions.issue_login_state(
            session,
            session_digest(state),
            nonce=nonce,
            return_to=safe_return_to(return_to),
            now=services.clock(),
            ttl=LOGIN_STATE_TTL,
        )
    url = authorize_url(settings.slack_client_id, redirect_uri(settings), state, nonce)
    return SignInStarted(url, state)


async def finish_sign_in(
    services: Services,
    *,
    code: str | None,
    state: str | None,
    browser_state: str | None,
    error: str | None,
    previous_session_id: str | None,
) -> SignedIn | SignInRefused:
    """Slack sent the browser back: check everything, then open a session (a new id)."""
    settings = services.settings
    problem = sign_in_problem(settings)
    if problem is not None:
        return problem
    assert settings.slack_client_id and settings.slack_client_secret
    state, browser_state = opaque(state), opaque(browser_state)
    if state is None:
        return SignInRefused(SignInProblem.EXPIRED)
    now = services.clock()
    async with services.db.session() as session:
        attempt = await sessions.consume_login_state(session, session_digest(state), now)
    if attempt is None:
        return SignInRefused(SignInProblem.EXPIRED)
    if browser_state is None or not hmac.compare_digest(state, browser_state):
        # The callback did not come back to the browser that started it (login CSRF).
        return SignInRefused(SignInProblem.EXPIRED)
    nonce, return_to = attempt
    if error:
        return SignInRefused(SignInProblem.CANCELLED)
    if not code or len(code) > 512:
        return SignInRefused(SignInProblem.SLACK_REFUSED, "Slack sent no sign-in code.")

    identity = await _identity(services, code, nonce)
    if isinstance(identity, SignInRefused):
        return identity
    team_id, enterprise_id, user_id = identity
    installed = await _installed_workspace(services, team_id, enterprise_id)
    if installed is None:
        log.info("web_sign_in_refused", reason="not_installed", team_id=team_id)
        return SignInRefused(SignInProblem.NOT_INSTALLED)
    workspace_id, client = installed
    profile = await people.fetch_profile(services, client, workspace_id, user_id)
    if profile is None or profile.get("deleted") or profile.get("is_bot"):
        log.info("web_sign_in_refused", reason="not_a_member", team_id=team_id)
        return SignInRefused(SignInProblem.NOT_A_MEMBER)

    session_id = new_session_id()
    now = services.clock()
    async with services.db.session() as session:
        previous = opaque(previous_session_id)
        if previous is not None:  # never keep using an id from before the sign-in
            await sessions.end_session(session, session_digest(previous), now)
        await sessions.create_session(
            session,
            workspace_id,
            id_digest=session_digest(session_id),
            slack_user_id=user_id,
            now=now,
            expires_at=now + dt.timedelta(hours=settings.session_max_hours),
        )
    log.info("web_signed_in", team_id=team_id)
    return SignedIn(session_id, workspace_id, user_id, safe_return_to(return_to))


async def _identity(
    services: Services, code: str, nonce: str
) -> tuple[str, str | None, str] | SignInRefused:
    """(team id, enterprise id, user id) from Slack, for a code from the authorize step."""
    settings = services.settings
    assert settings.slack_client_id and settings.slack_client_secret
    client = services.slack.client(None)
    try:
        exchanged = await client.openid_connect_token(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            code=code,
            redirect_uri=redirect_uri(settings),
        )
        id_token = str(exchanged.get("id_token") or "")
        access_token = str(exchanged.get("access_token") or "")
        why = check_id_token(
            id_token, client_id=settings.slack_client_id, nonce=nonce, now=services.clock()
        )
        if why is not None:
            log.info("web_sign_in_refused", reason="id_token")
            return SignInRefused(SignInProblem.BAD_TOKEN, why)
        claims = id_token_claims(id_token)
        info = await client.openid_connect_userInfo(token=access_token)
    except SlackApiError as exc:
        code = error_code(exc)
        log.info("web_sign_in_refused", reason="slack", error=code)
        if code in _NOT_A_MEMBER:
            return SignInRefused(SignInProblem.NOT_A_MEMBER)
        return SignInRefused(SignInProblem.SLACK_REFUSED, f"Slack said “{code}”.")
    except Exception as exc:  # network: Slack unreachable, a timeout
        log.warning("web_sign_in_unavailable", error_type=type(exc).__name__)
        return SignInRefused(SignInProblem.UNAVAILABLE)
    user_id, team_id = claims.get(SLACK_USER_ID_CLAIM), claims.get(SLACK_TEAM_ID_CLAIM)
    enterprise_id = claims.get(_ENTERPRISE_ID_CLAIM)
    said: dict[str, Any] = dict(info.data) if isinstance(info.data, dict) else {}
    if (
        not isinstance(team_id, str)
        or not team_id
        or said.get(SLACK_USER_ID_CLAIM) != user_id
        or said.get(SLACK_TEAM_ID_CLAIM) != team_id
    ):
        log.info("web_sign_in_refused", reason="identity_mismatch")
        return SignInRefused(
            SignInProblem.BAD_TOKEN, "Slack's answers about who signed in did not agree."
        )
    assert isinstance(user_id, str)  # check_id_token made sure
    return team_id, enterprise_id if isinstance(enterprise_id, str) else None, user_id


async def _installed_workspace(
    services: Services, team_id: str, enterprise_id: str | None
) -> tuple[int, AsyncWebClient] | None:
    """Our workspace row for the team and its bot client, if the app is installed there."""
    settings = services.settings
    if settings.single_workspace:
        client = services.slack.client(settings.slack_bot_token)
        try:
            configured = await client.auth_test()
        except SlackApiError as exc:
            log.warning("auth_test_failed", error=error_code(exc))
            return None
        if team_id not in {configured.get("team_id"), configured.get("enterprise_id")}:
            return None
        workspace_id = await workspace_for(services, team_id, enterprise_id)
        async with services.db.session() as session:
            workspace = await workspaces.workspace_by_id(session, workspace_id)
        return (workspace_id, client) if workspace is not None and workspace.active else None
    async with services.db.session() as session:
        found = await services.slack.find_installation(session, team_id, enterprise_id)
    if found is None:
        return None
    workspace, _, token = found
    if workspace.team_id != team_id:  # an org-wide install serving this team of the org
        workspace_id = await workspace_for(services, team_id, enterprise_id)
        async with services.db.session() as session:
            row = await workspaces.workspace_by_id(session, workspace_id)
        if row is None or not row.active:
            return None
        return workspace_id, services.slack.client(token)
    return workspace.id, services.slack.client(token)


# --- sessions -----------------------------------------------------------------------------------


async def viewer_for(services: Services, session_id: str | None) -> Viewer | None:
    """Who a session cookie belongs to, or None (no such session, signed out, idle too long,
    past its absolute expiry, or its workspace uninstalled). Refreshes its last-seen time."""
    session_id = opaque(session_id)
    if session_id is None:
        return None
    digest = session_digest(session_id)
    now = services.clock()
    idle = dt.timedelta(minutes=services.settings.session_idle_minutes)
    async with services.db.session() as session:
        found = await sessions.live_session(session, digest, now=now, idle=idle)
        if found is None:
            return None
        workspace = await workspaces.workspace_by_id(session, found.workspace_id)
        if workspace is None or not workspace.active:
            return None
        if now - found.last_seen_at >= TOUCH_EVERY:
            await sessions.touch_session(session, found.workspace_id, digest, now)
        member = await members.get_member(session, found.workspace_id, found.slack_user_id)
    return Viewer(
        workspace_id=found.workspace_id,
        team_id=workspace.team_id,
        workspace_name=workspace.name,
        user_id=found.slack_user_id,
        user_name=member.name if member is not None else None,
        tz=member.tz if member is not None else None,
        session_id=session_id,
    )


async def sign_out(services: Services, session_id: str | None) -> bool:
    session_id = opaque(session_id)
    if session_id is None:
        return False
    async with services.db.session() as session:
        return await sessions.end_session(session, session_digest(session_id), services.clock())


async def forget_expired(services: Services, now: dt.datetime | None = None) -> int:
    """Housekeeping: sign-in attempts past their ten minutes, sessions that can't be used."""
    now = now or services.clock()
    idle = dt.timedelta(minutes=services.settings.session_idle_minutes)
    async with services.db.session() as session:
        states = await sessions.forget_expired_login_states(session, now)
        dead = await sessions.forget_dead_sessions(session, now, idle)
    return states + dead


async def workspace_client(services: Services, workspace_id: int) -> AsyncWebClient | None:
    """The workspace's bot client (None when it has no usable token)."""
    async with services.db.session() as session:
        return await services.slack.bot_client(session, workspace_id)


async def caller_for(services: Services, viewer: Viewer) -> Caller:
    """The viewer as the use cases know a caller: their admin flag comes from users.info
    (cached), exactly as for a Slack command."""
    client = await workspace_client(services, viewer.workspace_id)
    if client is not None:
        return people.slack_caller(services, client, viewer.workspace_id, viewer.user_id)
    async with services.db.session() as session:
        member = await members.get_member(session, viewer.workspace_id, viewer.user_id)
    return Caller.known(
        viewer.workspace_id, Actor(viewer.user_id, bool(member and member.is_admin))
    )
