"""Personal API tokens: issue one (web tokens page, or `python app.py create-token`), list and
revoke them, and recognise the one a REST API request presents.

A token acts as its user in its workspace, never beyond: the API builds a caller from it whose
admin flag is the user's cached Slack profile (re-read from users.info when older than
``people.ROLE_FRESHNESS``), so a demoted admin loses admin rights and a deactivated user's
tokens stop working within that time. Only the SHA-256 of a token is stored
(``bot.rules.tokens``); the plaintext is returned once, by the call that made it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from bot import people
from bot.outcomes import FieldErrors
from bot.people import Caller
from bot.rules.permissions import Actor
from bot.rules.tokens import TokenScope, allows, digest, generate, parse
from bot.rules.validation import normalise_name
from bot.runtime import Services
from storage import audit, members, tokens, workspaces
from storage.models import ApiToken, Member

log = structlog.get_logger("asyncstand.api_tokens")

MAX_TOKENS_PER_USER = 25
NAME_MAX = 80  # api_token.name's width
DEFAULT_NAME = "API token"
# last_used_at is written at most this often per token (not on every request).
LAST_USED_EVERY = dt.timedelta(minutes=1)


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it (never its secret)."""

    id: int
    user_id: str
    name: str
    prefix: str
    scope: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class TokenCreated:
    """A new token: show `plaintext` to its owner once; it cannot be recovered later."""

    token: TokenInfo
    plaintext: str = field(repr=False)


@dataclass(frozen=True)
class TokenRevoked:
    token: TokenInfo
    changed: bool  # False when it was already revoked


class TokenProblem(StrEnum):
    NO_WORKSPACE = "no_workspace"
    NOT_A_MEMBER = "not_a_member"
    DEACTIVATED = "deactivated"
    NO_SUCH_TOKEN = "no_such_token"
    NOT_YOUR_TOKEN = "not_your_token"
    ADMINS_ONLY = "admins_only"


@dataclass(frozen=True)
class TokenRefused:
    """Nothing was done; `detail` says why in plain English (no markup)."""

    problem: TokenProblem
    detail: str


class AuthProblem(StrEnum):
    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    WORKSPACE_GONE = "workspace_gone"
    DEACTIVATED = "deactivated"


_AUTH_DETAILS = {
    AuthProblem.MISSING: "Send your API token as 'Authorization: Bearer ast_…'.",
    AuthProblem.MALFORMED: (
        "The Authorization header is not 'Bearer <token>' with an AsyncStand token (ast_…)."
    ),
    AuthProblem.UNKNOWN: "This token is not valid. Create a new one on your tokens page.",
    AuthProblem.REVOKED: "This token was revoked. Create a new one on your tokens page.",
    AuthProblem.WORKSPACE_GONE: "AsyncStand is no longer installed in this token's workspace.",
    AuthProblem.DEACTIVATED: "This token's Slack user is deactivated; its tokens no longer work.",
}


@dataclass(frozen=True)
class AuthRefused:
    problem: AuthProblem

    @property
    def detail(self) -> str:
        return _AUTH_DETAILS[self.problem]


@dataclass(frozen=True)
class ApiPrincipal:
    """Who a REST API request acts as: a token's user, in the token's workspace."""

    workspace_id: int
    team_id: str
    user_id: str
    is_admin: bool
    token: TokenInfo
    rate_key: str  # the per-token rate-limit bucket (no secret in it)

    def caller(self) -> Caller:
        return Caller.known(self.workspace_id, Actor(self.user_id, self.is_admin))

    def may(self, method: str) -> bool:
        """Whether the token's scope allows an HTTP method (read: safe methods only)."""
        return allows(self.token.scope, method)


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        user_id=row.slack_user_id,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


# --- issue, list, revoke ----------------------------------------------------------------------


def _field_errors(name: str, scope: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the token a name, e.g. the tool that will use it."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keep the name to {NAME_MAX} characters (it has {len(name)})."
    if scope not in set(TokenScope):
        errors["scope"] = "Choose 'read' (look only) or 'write' (also create and change)."
    return errors


async def create_token(
    services: Services, caller: Caller, name: str, scope: str
) -> TokenCreated | FieldErrors:
    """A new personal token for the caller, in the caller's workspace, audited."""
    name = normalise_name(name)
    errors = _field_errors(name, scope)
    if errors:
        return FieldErrors(errors)
    issued = generate()
    now = services.clock()
    async with services.db.session() as session:
        live = await tokens.count_live_tokens(session, caller.workspace_id, caller.user_id)
        if live >= MAX_TOKENS_PER_USER:
            return FieldErrors(
                {
                    "name": f"You already have {live} tokens, the most one person may have; "
                    "revoke one you no longer use first."
                }
            )
        await members.ensure_members(session, caller.workspace_id, [caller.user_id])
        row = await tokens.insert_token(
            session,
            caller.workspace_id,
            slack_user_id=caller.user_id,
            name=name,
            prefix=issued.prefix,
            digest=issued.digest,
            scope=scope,
            now=now,
        )
        await audit.record(
            session,
            caller.workspace_id,
            actor=caller.user_id,
            action="api_token_create",
            after={"token": issued.prefix, "name": name, "scope": scope},
            now=now,
        )
        info = _info(row)
    log.info("api_token_created", token_id=info.id, scope=scope)
    return TokenCreated(info, issued.plaintext)


async def issue_for_member(
    services: Services, team_id: str, user_id: str, name: str, scope: str
) -> TokenCreated | TokenRefused | FieldErrors:
    """`python app.py create-token`: a token for a Slack user of an installed workspace, once
    Slack (users.info) confirms they are an active, human member of it."""
    async with services.db.session() as session:
        workspace = await workspaces.get_workspace(session, team_id)
        client = (
            await services.slack.bot_client(session, workspace.id)
            if workspace is not None and workspace.active
            else None
        )
    if workspace is None or client is None:
        return TokenRefused(
            TokenProblem.NO_WORKSPACE,
            f"AsyncStand is not installed in {team_id} (or has not started there yet): "
            "install it, or start the app once in single-workspace mode, then try again.",
        )
    user = await people.fetch_profile(services, client, workspace.id, user_id)
    if user is None:
        return TokenRefused(
            TokenProblem.NOT_A_MEMBER,
            f"Slack did not confirm that {user_id} is a member of {team_id}: check both ids.",
        )
    if user.get("deleted"):
        return TokenRefused(TokenProblem.DEACTIVATED, f"{user_id} is deactivated in Slack.")
    if user.get("is_bot") or user_id == people.SLACKBOT:
        return TokenRefused(TokenProblem.NOT_A_MEMBER, f"{user_id} is a bot; tokens are personal.")
    # Creating a token needs no role; the token's rights are looked up on each use.
    caller = Caller.known(workspace.id, Actor(user_id, is_admin=False))
    return await create_token(services, caller, name, scope)


async def list_tokens(
    services: Services, caller: Caller, *, everyone: bool = False
) -> list[TokenInfo] | TokenRefused:
    """The caller's live tokens, newest first; with `everyone`, the whole workspace's (admins)."""
    if everyone and not (await caller.actor()).is_admin:
        return TokenRefused(
            TokenProblem.ADMINS_ONLY, "Only workspace admins can see everyone's tokens."
        )
    async with services.db.session() as session:
        rows = await tokens.list_tokens(
            session, caller.workspace_id, None if everyone else caller.user_id
        )
    return [_info(r) for r in rows]


async def revoke_token(
    services: Services, caller: Caller, token_id: int
) -> TokenRevoked | TokenRefused:
    """Revoke one of your own tokens; workspace admins may revoke anyone's in their workspace."""
    actor = await caller.actor()
    now = services.clock()
    async with services.db.session() as session:
        row = await tokens.get_token(session, caller.workspace_id, token_id)
        if row is None:
            return TokenRefused(TokenProblem.NO_SUCH_TOKEN, "There is no such token.")
        if row.slack_user_id != caller.user_id and not actor.is_admin:
            return TokenRefused(
                TokenProblem.NOT_YOUR_TOKEN,
                "That token is someone else's; only they or a workspace admin can revoke it.",
            )
        changed = await tokens.revoke(session, caller.workspace_id, row.id, now)
        if changed:
            row.revoked_at = now
            await audit.record(
                session,
                caller.workspace_id,
                actor=caller.user_id,
                action="api_token_revoke",
                before={"token": row.prefix, "name": row.name, "owner": row.slack_user_id},
                now=now,
            )
        info = _info(row)
    if changed:
        log.info("api_token_revoked", token_id=info.id)
    return TokenRevoked(info, changed)


# --- authentication ---------------------------------------------------------------------------


async def authenticate(services: Services, authorization: str | None) -> ApiPrincipal | AuthRefused:
    """Who an `Authorization: Bearer …` header speaks for, or why nobody."""
    plaintext = parse(authorization)
    if plaintext is None:
        missing = authorization is None or not authorization.strip()
        return AuthRefused(AuthProblem.MISSING if missing else AuthProblem.MALFORMED)
    token_digest = digest(plaintext)
    async with services.db.session() as session:
        holder = await tokens.find_by_digest(session, token_digest)
    if holder is None:
        return AuthRefused(AuthProblem.UNKNOWN)
    token, workspace = holder.token, holder.workspace
    if token.revoked_at is not None:
        return AuthRefused(AuthProblem.REVOKED)
    if not workspace.active:
        return AuthRefused(AuthProblem.WORKSPACE_GONE)
    member = await _fresh_member(services, token, holder.member)
    if member is not None and (member.deleted or member.is_bot):
        return AuthRefused(AuthProblem.DEACTIVATED)
    now = services.clock()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_EVERY:
        async with services.db.session() as session:
            if await tokens.touch(session, workspace.id, token.id, now, LAST_USED_EVERY):
                token.last_used_at = now
    return ApiPrincipal(
        workspace_id=workspace.id,
        team_id=workspace.team_id,
        user_id=token.slack_user_id,
        is_admin=bool(member and member.is_admin),
        token=_info(token),
        rate_key=f"rl:api:{token_digest[:24]}",
    )


async def _fresh_member(
    services: Services, token: ApiToken, cached: Member | None
) -> Member | None:
    """The token user's profile, re-read from Slack (briefly) when the cache is stale."""
    fresh_after = services.clock() - people.ROLE_FRESHNESS
    refreshed = cached.profile_refreshed_at if cached is not None else None
    if refreshed is not None and refreshed >= fresh_after:
        return cached
    try:
        async with services.db.session() as session:
            client = await services.slack.bot_client(session, token.workspace_id)
        if client is not None:
            await asyncio.wait_for(
                people.fetch_profile(services, client, token.workspace_id, token.slack_user_id),
                timeout=people.PROFILE_LOOKUP_BUDGET,
            )
    except Exception as exc:  # Slack slow or unreachable: the cached profile stands
        log.warning("api_profile_refresh_failed", error_type=type(exc).__name__)
        return cached
    async with services.db.session() as session:
        return await members.get_member(session, token.workspace_id, token.slack_user_id)
