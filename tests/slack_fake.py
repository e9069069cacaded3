"""FakeSlack: an aiohttp server standing in for the Slack Web API at the HTTP boundary.

Point the app (``SLACK_API_URL``) or ``slack_sdk``'s ``AsyncWebClient(base_url=...)`` at
``slack.api_url``. Every request is recorded with its decoded body; state (users, channels,
messages, views, OAuth grants) answers the way Slack does: HTTP 200 +
``{"ok": false, "error": ...}`` for API errors, HTTP 429 + ``Retry-After`` when rate
limited (see ``fail_next``).

Response shapes and error codes follow Slack's OpenAPI spec digest
(/work/shared/slack-reference/openapi/selected_methods_digest.json) and Slack's method docs;
Block Kit limits live in ``tests.blockkit_limits``.

Typical use::

    async with FakeSlack() as slack:
        slack.add_user("U0ALICE01", "alice", tz="Europe/Berlin")
        slack.add_channel("C0STANDUP", "standup", bot_is_member=True)
        ...  # drive the app
        [call] = await slack.wait_for("chat.postMessage")
        assert call.body["channel"] == "C0STANDUP"
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hashlib
import itertools
import json
import math
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.blockkit_limits import validate_message_blocks, validate_message_text, validate_view

__all__ = [
    "Call",
    "FakeChannel",
    "FakeSlack",
    "FakeTeam",
    "FakeUser",
    "OAuthGrant",
    "TriggerInfo",
]

JSON = dict[str, Any]

DEFAULT_TOKEN = "xoxb-test-token"
DEFAULT_SCOPES = (
    "app_mentions:read,channels:join,channels:read,chat:write,commands,groups:read,"
    "im:history,im:write,users:read"
)
# Methods Slack answers without a bearer token.
_NO_AUTH_METHODS = frozenset({"api.test", "oauth.access", "oauth.v2.access", "oauth.v2.exchange"})
# Fields slack_sdk (and Slack's docs) send as JSON strings inside form bodies.
_JSON_FIELDS = ("blocks", "view", "attachments", "metadata", "unfurls", "user_auth_blocks")
_VIEW_MAX_BYTES = 250_000
_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "GMT": "Greenwich Mean Time",
    "UTC": "Coordinated Universal Time",
    "BST": "British Summer Time",
    "IST": "India Standard Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
}


@dataclass
class Call:
    """One recorded request. ``body`` is decoded (JSON-string ``blocks``/``view`` -> objects),
    merged with query parameters, without the ``token`` field (see ``token``)."""

    method: str
    body: dict[str, Any]
    token: str | None
    at: float  # time.time() when the request arrived
    http_method: str = "POST"
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        err = self.response.get("error")
        return err if isinstance(err, str) else None


@dataclass
class FakeUser:
    id: str
    name: str
    tz: str = "America/New_York"
    is_bot: bool = False
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    team_id: str = "T0TEAM001"
    real_name: str = ""
    display_name: str = ""
    email: str | None = None
    locale: str = "en-US"
    bot_id: str | None = None


@dataclass
class FakeChannel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other party of an IM
    members: set[str] = field(default_factory=set)
    created: int = 1_700_000_000
    topic: str = ""
    purpose: str = ""


@dataclass
class FakeTeam:
    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None


@dataclass
class TriggerInfo:
    trigger_id: str
    issued_at: float  # time.monotonic(); shift it back to simulate an old trigger
    user_id: str | None = None
    view_id: str | None = None  # the modal the interaction came from (for views.push)
    used: bool = False


@dataclass
class OAuthGrant:
    code: str
    team_id: str
    team_name: str
    bot_token: str
    installer_user_id: str
    bot_user_id: str
    bot_id: str
    scope: str
    app_id: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    user_token: str | None = None
    user_scope: str | None = None
    redirect_uri: str | None = None
    used: bool = False


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: float | None
    remaining: int


@dataclass
class _Req:
    method: str
    params: dict[str, Any]
    token: str | None
    team: FakeTeam
    http_method: str


def _err(error: str, **extra: Any) -> JSON:
    return {"ok": False, "error": error, **extra}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


class FakeSlack:
    """In-process Slack Web API stand-in (aiohttp, 127.0.0.1, random port)."""

    def __init__(
        self,
        *,
        team_id: str = "T0TEAM001",
        team_name: str = "AsyncStand Test",
        team_domain: str = "asyncstand-test",
        bot_user_id: str = "U0BOT0001",
        bot_id: str = "B0BOT0001",
        bot_name: str = "asyncstand",
        app_id: str = "A0APP0001",
        token: str = DEFAULT_TOKEN,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id

        # --- knobs -------------------------------------------------------------------------
        self.valid_tokens: set[str] = {token}
        self.token_teams: dict[str, str] = {}  # token -> team_id (default team when absent)
        self.latency: float = 0.0  # seconds added to every call
        self.method_latency: dict[str, float] = {}  # per-method override of ``latency``
        self.trigger_lifetime: float = 3.0
        self.single_use_triggers: bool = True
        self.client_id: str | None = "1111.2222"  # None: accept any client_id
        self.client_secret: str | None = "fake-client-secret"  # None: accept any secret
        self.scopes: str = DEFAULT_SCOPES
        self.clock: Callable[[], float] = time.time  # wall clock for tz offsets / expiry
        self.response_url_max_uses: int = 5

        # --- state -------------------------------------------------------------------------
        self.calls: list[Call] = []
        self.teams: dict[str, FakeTeam] = {
            team_id: FakeTeam(team_id, team_name, team_domain, bot_user_id, bot_id)
        }
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.triggers: dict[str, TriggerInfo] = {}
        self.views: dict[str, JSON] = {}  # view_id -> current view (as returned by Slack)
        self.view_users: dict[str, str | None] = {}  # view_id -> user it was opened for
        self.home_views: dict[str, JSON] = {}  # user_id -> published Home tab
        self.ephemeral_messages: list[JSON] = []
        self.scheduled_messages: list[JSON] = []
        self.oauth_grants: dict[str, OAuthGrant] = {}
        self.revoked_tokens: dict[str, str] = {}  # token -> error returned
        self.token_expires_at: dict[str, float] = {}  # token -> clock() deadline

        self._messages: dict[str, list[JSON]] = {}
        self._versions: dict[tuple[str, str], list[JSON]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._refresh_tokens: dict[str, tuple[OAuthGrant, bool]] = {}
        self._response_urls: dict[str, tuple[str | None, str | None]] = {}
        self._response_url_uses: dict[str, int] = {}
        self._ts = 1_700_000_000_000_000  # microseconds
        self._ids = itertools.count(1)

        self._runner: web.AppRunner | None = None
        self.port: int = 0

        self.add_user(
            bot_user_id,
            bot_name,
            is_bot=True,
            tz="America/Los_Angeles",
            team_id=team_id,
            bot_id=bot_id,
        )
        self._methods: dict[str, Callable[[_Req], JSON]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "team.info": self._team_info,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.scheduleMessage": self._chat_schedule_message,
            "chat.deleteScheduledMessage": self._chat_delete_scheduled_message,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/response/{tag}", self._handle_response_url)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ setup helpers
    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
        team_id: str | None = None,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str | None = None,
        locale: str = "en-US",
        bot_id: str | None = None,
    ) -> FakeUser:
        """Register (or replace) a user for users.info / conversations.open / DMs."""
        ZoneInfo(tz)  # fail fast on a bad zone name
        user = FakeUser(
            id=user_id,
            name=name,
            tz=tz,
            is_bot=is_bot,
            deleted=deleted,
            is_admin=is_admin,
            is_owner=is_owner,
            team_id=team_id or self.team_id,
            real_name=real_name if real_name is not None else name.replace(".", " ").title(),
            display_name=display_name if display_name is not None else name,
            email=email,
            locale=locale,
            bot_id=bot_id,
        )
        self.users[user_id] = user
        return user

    def update_user(self, user_id: str, **changes: Any) -> FakeUser:
        """Change fields of a registered user (e.g. ``tz=``, ``deleted=True``)."""
        user = self.users[user_id]
        for key, value in changes.items():
            if not hasattr(user, key):
                raise AttributeError(f"FakeUser has no field {key!r}")
            if key == "tz":
                ZoneInfo(value)
            setattr(user, key, value)
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        is_private: bool = False,
        is_archived: bool = False,
        *,
        bot_is_member: bool = False,
        members: Iterable[str] = (),
    ) -> FakeChannel:
        """Register a channel. The bot is NOT a member unless ``bot_is_member`` (public
        channels can be joined via conversations.join; private ones need this flag)."""
        channel = FakeChannel(
            id=channel_id,
            name=name,
            is_private=is_private,
            is_archived=is_archived,
            members=set(members),
        )
        if bot_is_member:
            channel.members.add(self.bot_user_id)
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, [])
        return channel

    def set_bot_member(self, channel_id: str, member: bool = True) -> None:
        """Invite the bot to (or remove it from) a channel."""
        channel = self.channels[channel_id]
        if member:
            channel.members.add(self.bot_user_id)
        else:
            channel.members.discard(self.bot_user_id)

    def add_member(self, channel_id: str, user_id: str) -> None:
        self.channels[channel_id].members.add(user_id)

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        self.channels[channel_id].is_archived = archived

    def add_token(self, token: str, team_id: str | None = None) -> None:
        """Make ``token`` valid (optionally belonging to another registered team)."""
        self.valid_tokens.add(token)
        self.revoked_tokens.pop(token, None)
        if team_id is not None:
            self.token_teams[token] = team_id

    def revoke_token(self, token: str, *, error: str = "invalid_auth") -> None:
        """Later calls with ``token`` fail with ``error`` (Slack also uses token_revoked)."""
        self.valid_tokens.discard(token)
        self.revoked_tokens[token] = error

    def expire_token(self, token: str) -> None:
        """Later calls with ``token`` fail with ``token_expired`` (rotating tokens)."""
        self.token_expires_at[token] = self.clock() - 1

    def add_team(
        self,
        team_id: str,
        name: str,
        *,
        domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> FakeTeam:
        team = FakeTeam(
            id=team_id,
            name=name,
            domain=domain or name.lower().replace(" ", "-"),
            bot_user_id=bot_user_id or self.bot_user_id,
            bot_id=bot_id or self.bot_id,
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name,
        )
        self.teams[team_id] = team
        if team.bot_user_id not in self.users:
            self.add_user(
                team.bot_user_id, self.bot_name, is_bot=True, team_id=team_id, bot_id=team.bot_id
            )
        return team

    def add_oauth_code(
        self,
        code: str,
        team_id: str | None = None,
        team_name: str | None = None,
        bot_token: str | None = None,
        installer_user_id: str = "U0INSTALL1",
        enterprise_id: str | None = None,
        refresh_token: str | None = None,
        expires_in: int | None = None,
        *,
        enterprise_name: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        scope: str | None = None,
        user_token: str | None = None,
        user_scope: str | None = None,
        redirect_uri: str | None = None,
    ) -> OAuthGrant:
        """Register a one-time OAuth ``code`` for oauth.v2.access. The bot token becomes
        valid when the code is exchanged. With ``refresh_token`` (+ ``expires_in``, default
        43200) the install uses token rotation: refresh tokens are single-use."""
        team_id = team_id or self.team_id
        team_name = team_name or (self.team_name if team_id == self.team_id else team_id)
        if refresh_token is not None and expires_in is None:
            expires_in = 43_200
        grant = OAuthGrant(
            code=code,
            team_id=team_id,
            team_name=team_name,
            bot_token=bot_token or f"xoxb-{team_id}-{next(self._ids)}-{secrets.token_hex(8)}",
            installer_user_id=installer_user_id,
            bot_user_id=bot_user_id or self.bot_user_id,
            bot_id=bot_id or self.bot_id,
            scope=scope or self.scopes,
            app_id=self.app_id,
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name
            or (f"Enterprise {enterprise_id}" if enterprise_id else None),
            refresh_token=refresh_token,
            expires_in=expires_in,
            user_token=user_token,
            user_scope=user_scope,
            redirect_uri=redirect_uri,
        )
        self.oauth_grants[code] = grant
        return grant

    def issue_trigger_id(self, user_id: str | None = None, view_id: str | None = None) -> str:
        """A fresh trigger_id valid for ``trigger_lifetime`` seconds (and one use)."""
        n = next(self._ids)
        trigger_id = f"{1000 + n}.{9876543210 + n}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = TriggerInfo(trigger_id, time.monotonic(), user_id, view_id)
        return trigger_id

    def expire_trigger(self, trigger_id: str) -> None:
        self.triggers[trigger_id].issued_at -= self.trigger_lifetime + 1.0

    def response_url(
        self, tag: str, *, channel: str | None = None, message_ts: str | None = None
    ) -> str:
        """URL of a response_url endpoint; POSTs are recorded as method "response_url".
        Bound to ``channel``/``message_ts``, replace_original/delete_original edit that
        stored message and response_type=in_channel posts to ``channel``."""
        self._response_urls[tag] = (channel, message_ts)
        return f"{self.base_url}/response/{tag}"

    # ------------------------------------------------------------------ fault injection
    def fail_next(
        self,
        method: str,
        error: str | None = None,
        status: int = 429,
        retry_after: float | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` ("*" = any method, "response_url"
        works too) fail: 429 -> HTTP 429 + ``Retry-After`` + ``{"ok":false,"error":"ratelimited"}``;
        5xx -> that status with ``{"ok":false,"error":"fatal_error"}``; 200 -> ``{"ok":false,
        "error":error}``. Repeated calls queue up in order."""
        if error is None:
            error = "ratelimited" if status == 429 else "fatal_error"
        self._faults.setdefault(method, []).append(_Fault(error, status, retry_after, times))

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        """Forget recorded calls (state such as messages and users is kept)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
        predicate: Callable[[Call], object] | None = None,
    ) -> list[Call]:
        """Poll until at least ``count`` calls to ``method`` match ``predicate``; returns
        all matching calls. Raises AssertionError listing what was received on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [
                c
                for c in self.calls
                if c.method == method and (predicate is None or bool(predicate(c)))
            ]
            if len(matching) >= count:
                return matching
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected >= {count} matching call(s) to {method} within {timeout}s, "
                    f"got {len(matching)}; received:\n{self.describe_calls()}"
                )
            await asyncio.sleep(0.01)

    async def wait_idle(
        self,
        quiet: float = 0.2,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the harness API
    ) -> None:
        """Wait until no new call has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen = len(self.calls)
        last_change = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if len(self.calls) != seen:
                seen = len(self.calls)
                last_change = time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return
        raise AssertionError(f"calls kept arriving for {timeout}s:\n{self.describe_calls()}")

    def assert_not_called(self, method: str) -> None:
        calls = self.calls_to(method)
        if calls:
            raise AssertionError(f"unexpected call(s) to {method}:\n{self.describe_calls(calls)}")

    def describe_calls(self, calls: Iterable[Call] | None = None) -> str:
        lines = []
        for c in self.calls if calls is None else calls:
            outcome = "ok" if c.ok else f"{c.status} {c.error}"
            body = json.dumps(c.body, default=str)
            if len(body) > 300:
                body = body[:297] + "..."
            lines.append(f"  {c.method} [{outcome}] {body}")
        return "\n".join(lines) or "  (no calls)"

    def messages(self, channel: str) -> list[JSON]:
        """Top-level messages of a channel (like conversations.history, oldest first,
        thread replies excluded unless broadcast). Accepts a user id for the bot's DM."""
        key = self._channel_key(channel)
        return [
            copy.deepcopy(m)
            for m in self._messages.get(key, [])
            if not m.get("_deleted")
            and (m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        ]

    def all_messages(self, channel: str) -> list[JSON]:
        """Every live message of a channel including thread replies, in post order."""
        key = self._channel_key(channel)
        return [copy.deepcopy(m) for m in self._messages.get(key, []) if not m.get("_deleted")]

    def thread_replies(self, channel: str, thread_ts: str) -> list[JSON]:
        """Replies in a thread (parent excluded), oldest first."""
        key = self._channel_key(channel)
        return [
            copy.deepcopy(m)
            for m in self._messages.get(key, [])
            if not m.get("_deleted") and m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    def get_message(self, channel: str, ts: str) -> JSON | None:
        msg = self._find_message(self._channel_key(channel), ts)
        return copy.deepcopy(msg) if msg is not None and not msg.get("_deleted") else None

    def message_versions(self, channel: str, ts: str) -> list[JSON]:
        """Every version of a message (post, then each chat.update), oldest first."""
        return copy.deepcopy(self._versions.get((self._channel_key(channel), ts), []))

    def home_view(self, user_id: str) -> JSON | None:
        view = self.home_views.get(user_id)
        return copy.deepcopy(view) if view is not None else None

    def response_url_posts(self, tag: str | None = None) -> list[Call]:
        return [
            c for c in self.calls_to("response_url") if tag is None or c.body.get("_tag") == tag
        ]

    def post_user_message(
        self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> JSON:
        """Seed a human-authored message into the store (no event is sent)."""
        ch = self._resolve_channel(channel)
        if ch is None:
            raise KeyError(channel)
        msg: JSON = {"type": "message", "user": user_id, "text": text, "ts": self._next_ts()}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        self._store_message(ch.id, msg)
        return copy.deepcopy(msg)

    # ------------------------------------------------------------------ HTTP plumbing
    @staticmethod
    async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        if request.method not in ("POST", "PUT") or not request.can_read_body:
            return params, None
        ctype = request.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                form = await request.post()
            except ValueError:
                return params, "invalid_form_data"
            for key in form:
                item = form.getone(key)
                params[key] = item if isinstance(item, str) else getattr(item, "filename", "")
        else:
            raw = await request.read()
            if not raw:
                return params, None
            if ctype != "application/json":
                return params, "invalid_post_type"
            try:
                data = json.loads(raw)
            except ValueError:
                return params, "invalid_json"
            if not isinstance(data, dict):
                return params, "json_not_object"
            params.update(data)
        for key in _JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, None

    @staticmethod
    def _json(status: int, payload: JSON, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(payload),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    async def _delay(self, method: str) -> None:
        delay = self.method_latency.get(method, self.latency)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.time()
        params, parse_error = await self._read_params(request)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        body_token = params.pop("token", None)
        if token is None and isinstance(body_token, str) and body_token:
            token = body_token
        await self._delay(method)

        headers: dict[str, str] = {}
        status = 200
        fault = self._take_fault(method)
        if fault is not None:
            status = fault.status
            payload = _err(fault.error)
            if fault.status == 429 and fault.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(fault.retry_after))
        elif parse_error is not None:
            payload = _err(parse_error)
        elif method not in self._methods:
            payload = _err("unknown_method", req_method=method)
        else:
            auth_error = None if method in _NO_AUTH_METHODS else self._check_token(token)
            if auth_error is not None:
                payload = _err(auth_error)
            else:
                req = _Req(method, params, token, self._team_for(token), request.method)
                if method == "oauth.v2.access":
                    params["_basic_auth"] = request.headers.get("Authorization", "")
                try:
                    payload = self._methods[method](req)
                finally:
                    params.pop("_basic_auth", None)
                if method == "auth.test" and payload.get("ok"):
                    headers["x-oauth-scopes"] = self.scopes
        self.calls.append(
            Call(
                method=method,
                body=params,
                token=token,
                at=arrived,
                http_method=request.method,
                status=status,
                response=payload,
                headers=dict(request.headers),
            )
        )
        return self._json(status, payload, headers)

    def _check_token(self, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token in self.revoked_tokens:
            return self.revoked_tokens[token]
        if token not in self.valid_tokens:
            return "invalid_auth"
        deadline = self.token_expires_at.get(token)
        if deadline is not None and self.clock() >= deadline:
            return "token_expired"
        return None

    def _team_for(self, token: str | None) -> FakeTeam:
        team_id = self.token_teams.get(token or "", self.team_id)
        return self.teams.get(team_id) or self.teams[self.team_id]

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"]
        arrived = time.time()
        params, parse_error = await self._read_params(request)
        payload_field = params.get("payload")
        if isinstance(payload_field, str):
            try:
                decoded = json.loads(payload_field)
                if isinstance(decoded, dict):
                    params = decoded
            except ValueError:
                parse_error = "invalid_payload"
        await self._delay("response_url")
        body = {**params, "_tag": tag}
        self._response_url_uses[tag] = self._response_url_uses.get(tag, 0) + 1

        status, error, errors = 200, None, []
        fault = self._take_fault("response_url")
        if fault is not None:
            status, error = fault.status, fault.error
        elif self._response_url_uses[tag] > self.response_url_max_uses:
            status, error = 404, "used_url"
        elif parse_error is not None:
            status, error = 400, parse_error
        elif not _truthy(params.get("delete_original")):
            text, blocks = params.get("text"), params.get("blocks")
            if not text and not blocks and not params.get("attachments"):
                status, error = 400, "no_text"
            elif blocks is not None and (errors := validate_message_blocks(blocks)):
                status, error = 400, "invalid_blocks"
            elif validate_message_text(text):
                status, error = 400, "msg_too_long"
        if error is None:
            self._apply_response_url(tag, params)
        response: JSON = {"ok": True} if error is None else _err(error)
        if errors:
            response["errors"] = errors
        self.calls.append(
            Call(
                method="response_url",
                body=body,
                token=None,
                at=arrived,
                http_method=request.method,
                status=status,
                response=response,
                headers=dict(request.headers),
            )
        )
        return web.Response(status=status, text=error or "ok", content_type="text/plain")

    def _apply_response_url(self, tag: str, params: dict[str, Any]) -> None:
        channel_id, message_ts = self._response_urls.get(tag, (None, None))
        if channel_id is None:
            return
        key = self._channel_key(channel_id)
        if message_ts is not None and _truthy(params.get("delete_original")):
            msg = self._find_message(key, message_ts)
            if msg is not None:
                msg["_deleted"] = True
            return
        if message_ts is not None and _truthy(params.get("replace_original")):
            msg = self._find_message(key, message_ts)
            if msg is not None:  # a response_url replacement replaces the whole message
                for field_name in ("blocks", "attachments"):
                    if params.get(field_name) is None:
                        msg.pop(field_name, None)
                self._edit_message(key, msg, params)
            return
        if params.get("response_type") == "in_channel":
            msg = {
                "type": "message",
                "text": params.get("text", ""),
                "ts": self._next_ts(),
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
            }
            if params.get("blocks") is not None:
                msg["blocks"] = params["blocks"]
            if params.get("thread_ts"):
                msg["thread_ts"] = params["thread_ts"]
            self._store_message(key, msg)

    # ------------------------------------------------------------------ internals
    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    @staticmethod
    def _dm_id(user_id: str) -> str:
        return "D" + user_id[1:]

    def user_for_dm(self, dm_id: str) -> FakeUser:
        """The user on the other side of the bot's DM ``dm_id`` (KeyError if none)."""
        user = self._user_for_dm(dm_id)
        if user is None:
            raise KeyError(dm_id)
        return user

    def _user_for_dm(self, dm_id: str) -> FakeUser | None:
        for prefix in ("U", "W"):
            user = self.users.get(prefix + dm_id[1:])
            if user is not None:
                return user
        return None

    def _open_dm(self, user: FakeUser) -> tuple[FakeChannel, bool]:
        dm_id = self._dm_id(user.id)
        existing = self.channels.get(dm_id)
        if existing is not None:
            return existing, True
        channel = FakeChannel(
            id=dm_id,
            name=user.id,
            is_private=True,
            is_im=True,
            user=user.id,
            members={user.id, self.bot_user_id},
        )
        self.channels[dm_id] = channel
        self._messages.setdefault(dm_id, [])
        return channel, False

    def _resolve_channel(self, ref: Any) -> FakeChannel | None:
        if not isinstance(ref, str) or not ref:
            return None
        if ref in self.channels:
            return self.channels[ref]
        name = ref[1:] if ref.startswith("#") else ref
        for channel in self.channels.values():
            if not channel.is_im and channel.name == name:
                return channel
        user = self.users.get(ref)
        if user is None and ref.startswith("D"):
            user = self._user_for_dm(ref)
        if user is not None and not user.is_bot:
            return self._open_dm(user)[0]
        return None

    def _channel_key(self, ref: str) -> str:
        channel = self._resolve_channel(ref)
        return channel.id if channel is not None else ref

    def _find_message(self, channel_id: str, ts: Any) -> JSON | None:
        for msg in self._messages.get(channel_id, []):
            if msg["ts"] == ts:
                return msg
        return None

    @staticmethod
    def _public(msg: JSON) -> JSON:
        return {k: copy.deepcopy(v) for k, v in msg.items() if not k.startswith("_")}

    def _store_message(self, channel_id: str, msg: JSON) -> None:
        self._messages.setdefault(channel_id, []).append(msg)
        self._versions[(channel_id, msg["ts"])] = [self._public(msg)]
        thread_ts = msg.get("thread_ts")
        if thread_ts and thread_ts != msg["ts"]:
            parent = self._find_message(channel_id, thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if msg.get("user") and msg["user"] not in users:
                    users.append(msg["user"])
                parent["latest_reply"] = msg["ts"]

    def _edit_message(self, channel_id: str, msg: JSON, params: dict[str, Any]) -> None:
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params and params[key] is not None:
                msg[key] = params[key]
        msg["edited"] = {"user": self.bot_user_id, "ts": f"{int(self.clock())}.000000"}
        self._versions.setdefault((channel_id, msg["ts"]), []).append(self._public(msg))

    def _bot_user(self, req: _Req) -> str:
        return req.team.bot_user_id

    def _check_message_content(self, p: dict[str, Any], *, require: bool = True) -> JSON | None:
        text, blocks = p.get("text"), p.get("blocks")
        if isinstance(blocks, str):
            return _err("invalid_blocks_format")
        if require and not text and not blocks and not p.get("attachments"):
            return _err("no_text")
        if text is not None and not isinstance(text, str):
            p["text"] = str(text)
        if validate_message_text(p.get("text")):
            return _err("msg_too_long")
        if blocks is not None:
            errors = validate_message_blocks(blocks)
            if errors:
                return _err(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        return None

    def _postable_channel(self, req: _Req, ref: Any) -> FakeChannel | JSON:
        channel = self._resolve_channel(ref)
        if channel is None:
            return _err("channel_not_found")
        if channel.is_archived:
            return _err("is_archived")
        if not channel.is_im and self._bot_user(req) not in channel.members:
            return _err("not_in_channel")
        return channel

    def _channel_obj(self, channel: FakeChannel, req: _Req | None = None) -> JSON:
        bot = req.team.bot_user_id if req is not None else self.bot_user_id
        obj: JSON = {
            "id": channel.id,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_org_shared": False,
            "context_team_id": self.team_id,
        }
        if channel.is_im:
            obj.update(
                {
                    "is_im": True,
                    "user": channel.user,
                    "is_user_deleted": bool(
                        channel.user in self.users and self.users[channel.user].deleted
                    ),
                    "priority": 0,
                }
            )
            return obj
        obj.update(
            {
                "name": channel.name,
                "name_normalized": channel.name,
                "is_channel": not channel.is_private and not channel.is_mpim,
                "is_group": channel.is_private and not channel.is_mpim,
                "is_im": False,
                "is_mpim": channel.is_mpim,
                "is_private": channel.is_private,
                "is_general": channel.name == "general",
                "is_shared": False,
                "is_ext_shared": False,
                "is_member": bot in channel.members,
                "creator": "U0CREATOR",
                "topic": {"value": channel.topic, "creator": "", "last_set": 0},
                "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
                "num_members": len(channel.members),
            }
        )
        return obj

    def _user_obj(self, user: FakeUser, *, include_locale: bool = False) -> JSON:
        now = datetime.fromtimestamp(self.clock(), ZoneInfo(user.tz))
        offset = now.utcoffset()
        abbrev = now.tzname() or ""
        obj: JSON = {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": _TZ_LABELS.get(abbrev, abbrev),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "display_name": user.display_name,
                "display_name_normalized": user.display_name,
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "team": user.team_id,
                "avatar_hash": "g0000000000",
                "image_48": "https://a.slack-edge.com/80588/img/avatars/ava_0000-48.png",
                "image_72": "https://a.slack-edge.com/80588/img/avatars/ava_0000-72.png",
            },
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if user.email is not None:
            obj["profile"]["email"] = user.email
        if user.bot_id is not None:
            obj["profile"]["bot_id"] = user.bot_id
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _view_obj(
        self,
        view: JSON,
        req: _Req,
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JSON:
        vid = view_id or f"V{next(self._ids):08d}"
        obj: JSON = {
            "id": vid,
            "team_id": req.team.id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or vid,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": req.team.id,
            "bot_id": req.team.bot_id,
        }
        if "title" in view:
            obj["title"] = copy.deepcopy(view["title"])
        return obj

    def _check_view_arg(self, view: Any, *, expected_type: str) -> JSON | None:
        if view is None:
            return _err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: view"]},
            )
        if not isinstance(view, dict):
            return _err(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] invalid `view`"]}
            )
        if len(json.dumps(view)) > _VIEW_MAX_BYTES:
            return _err("view_too_large")
        errors = validate_view(view)
        if view.get("type") != expected_type:
            errors.insert(0, f"must be {expected_type} [json-pointer:/view/type]")
        if errors:
            return _err(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return None

    def _take_trigger(self, trigger_id: Any) -> TriggerInfo | JSON:
        if not trigger_id:
            return _err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
            )
        trigger = self.triggers.get(str(trigger_id))
        if trigger is None:
            return _err("invalid_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_lifetime:
            return _err("expired_trigger_id")
        if trigger.used and self.single_use_triggers:
            return _err("exchanged_trigger_id")
        return trigger

    # ------------------------------------------------------------------ API methods
    def _api_test(self, req: _Req) -> JSON:
        args = {k: v for k, v in req.params.items() if not k.startswith("_")}
        if "error" in args:
            return _err(str(args["error"]), args=args)
        return {"ok": True, "args": args}

    def _auth_test(self, req: _Req) -> JSON:
        team = req.team
        result: JSON = {
            "ok": True,
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": self.bot_name,
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "is_enterprise_install": False,
        }
        if team.enterprise_id:
            result["enterprise_id"] = team.enterprise_id
        return result

    def _auth_revoke(self, req: _Req) -> JSON:
        if req.token is not None and not _truthy(req.params.get("test")):
            self.revoke_token(req.token, error="token_revoked")
        return {"ok": True, "revoked": True}

    def _team_info(self, req: _Req) -> JSON:
        team_id = req.params.get("team") or req.team.id
        team = self.teams.get(str(team_id))
        if team is None:
            return _err("team_not_found")
        obj: JSON = {
            "id": team.id,
            "name": team.name,
            "domain": team.domain,
            "email_domain": "",
            "icon": {"image_default": True},
        }
        if team.enterprise_id:
            obj["enterprise_id"] = team.enterprise_id
            obj["enterprise_name"] = team.enterprise_name
        return {"ok": True, "team": obj}

    def _users_info(self, req: _Req) -> JSON:
        user = self.users.get(str(req.params.get("user", "")))
        if user is None:
            return _err("user_not_found")
        return {
            "ok": True,
            "user": self._user_obj(user, include_locale=_truthy(req.params.get("include_locale"))),
        }

    def _users_list(self, req: _Req) -> JSON:
        members = [self._user_obj(u) for u in self.users.values()]
        return {
            "ok": True,
            "members": members,
            "cache_ts": int(self.clock()),
            "response_metadata": {"next_cursor": ""},
        }

    def _users_lookup_by_email(self, req: _Req) -> JSON:
        email = req.params.get("email")
        for user in self.users.values():
            if user.email is not None and user.email == email:
                return {"ok": True, "user": self._user_obj(user)}
        return _err("users_not_found")

    def _conversations_info(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        return {"ok": True, "channel": self._channel_obj(channel, req)}

    def _conversations_join(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        if channel.is_im or channel.is_mpim or channel.is_private:
            return _err("method_not_supported_for_channel_type")
        if channel.is_archived:
            return _err("is_archived")
        bot = self._bot_user(req)
        already = bot in channel.members
        channel.members.add(bot)
        result: JSON = {"ok": True, "channel": self._channel_obj(channel, req)}
        if already:
            result["warning"] = "already_in_channel"
            result["response_metadata"] = {"warnings": ["already_in_channel"]}
        return result

    def _conversations_open(self, req: _Req) -> JSON:
        p = req.params
        return_im = _truthy(p.get("return_im"))
        if p.get("channel") and not p.get("users"):
            channel = self.channels.get(str(p["channel"]))
            if channel is None or not (channel.is_im or channel.is_mpim):
                return _err("channel_not_found")
            body: JSON = {"id": channel.id} if not return_im else self._channel_obj(channel, req)
            return {"ok": True, "no_op": True, "already_open": True, "channel": body}
        user_ids = _as_list(p.get("users"))
        if not user_ids:
            return _err("users_list_not_supplied")
        if len(user_ids) > 8:
            return _err("too_many_users")
        users: list[FakeUser] = []
        for uid in user_ids:
            user = self.users.get(uid)
            if user is None:
                return _err("user_not_found")
            if user.deleted:
                return _err("user_disabled")
            users.append(user)
        if len(users) == 1:
            if users[0].is_bot:
                return _err("cannot_dm_bot")
            channel, existed = self._open_dm(users[0])
        else:
            digest = hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()
            mpim_id = "G" + digest[:9].upper()
            existed = mpim_id in self.channels
            if not existed:
                self.channels[mpim_id] = FakeChannel(
                    id=mpim_id,
                    name="mpdm-" + "--".join(u.name for u in users) + "-1",
                    is_private=True,
                    is_mpim=True,
                    members={*user_ids, self._bot_user(req)},
                )
                self._messages.setdefault(mpim_id, [])
            channel = self.channels[mpim_id]
        result: JSON = {
            "ok": True,
            "channel": {"id": channel.id} if not return_im else self._channel_obj(channel, req),
        }
        if existed:
            result["no_op"] = True
            result["already_open"] = True
        return result

    def _conversations_members(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        return {
            "ok": True,
            "members": sorted(channel.members),
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_list(self, req: _Req) -> JSON:
        types = set(_as_list(req.params.get("types")) or ["public_channel"])
        exclude_archived = _truthy(req.params.get("exclude_archived"))
        out = []
        for channel in self.channels.values():
            kind = (
                "im"
                if channel.is_im
                else "mpim"
                if channel.is_mpim
                else "private_channel"
                if channel.is_private
                else "public_channel"
            )
            if kind in types and not (exclude_archived and channel.is_archived):
                out.append(self._channel_obj(channel, req))
        return {"ok": True, "channels": out, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        msgs = [self._public(m) for m in reversed(self.messages(channel.id))]
        limit = int(req.params.get("limit") or 100)
        return {
            "ok": True,
            "messages": msgs[:limit],
            "has_more": len(msgs) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        ts = req.params.get("ts")
        parent = self._find_message(channel.id, ts)
        if parent is None or parent.get("_deleted"):
            return _err("thread_not_found")
        thread_ts = parent.get("thread_ts") or parent["ts"]
        msgs = [self._public(parent)] + [
            self._public(m) for m in self.thread_replies(channel.id, thread_ts)
        ]
        return {
            "ok": True,
            "messages": msgs,
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _chat_post_message(self, req: _Req) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        msg: JSON = {
            "type": "message",
            "text": p.get("text", ""),
            "ts": self._next_ts(),
            "user": self._bot_user(req),
            "bot_id": req.team.bot_id,
            "app_id": self.app_id,
            "team": req.team.id,
        }
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:
                msg[key] = copy.deepcopy(p[key])
        thread_ts = p.get("thread_ts")
        if thread_ts:
            msg["thread_ts"] = str(thread_ts)
            if _truthy(p.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
        self._store_message(channel.id, msg)
        return {"ok": True, "channel": channel.id, "ts": msg["ts"], "message": self._public(msg)}

    def _chat_update(self, req: _Req) -> JSON:
        p = req.params
        channel = self._resolve_channel(p.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        msg = self._find_message(channel.id, p.get("ts"))
        if msg is None or msg.get("_deleted"):
            return _err("message_not_found")
        if msg.get("bot_id") is None:
            return _err("cant_update_message")
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        self._edit_message(channel.id, msg, p)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": self._public(msg),
        }

    def _chat_delete(self, req: _Req) -> JSON:
        p = req.params
        channel = self._resolve_channel(p.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        msg = self._find_message(channel.id, p.get("ts"))
        if msg is None or msg.get("_deleted"):
            return _err("message_not_found")
        if msg.get("bot_id") is None:
            return _err("cant_delete_message")
        msg["_deleted"] = True
        return {"ok": True, "channel": channel.id, "ts": msg["ts"]}

    def _chat_post_ephemeral(self, req: _Req) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        user = self.users.get(str(p.get("user", "")))
        if user is None or (
            not channel.is_im
            and channel.members - {self._bot_user(req)}
            and user.id not in channel.members
        ):
            return _err("user_not_in_channel")
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        message_ts = self._next_ts()
        entry: JSON = {
            "channel": channel.id,
            "user": user.id,
            "text": p.get("text", ""),
            "message_ts": message_ts,
        }
        for key in ("blocks", "attachments", "thread_ts"):
            if p.get(key) is not None:
                entry[key] = copy.deepcopy(p[key])
        self.ephemeral_messages.append(entry)
        return {"ok": True, "message_ts": message_ts}

    def _chat_get_permalink(self, req: _Req) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return _err("channel_not_found")
        ts = req.params.get("message_ts")
        if self._find_message(channel.id, ts) is None:
            return _err("message_not_found")
        return {
            "ok": True,
            "channel": channel.id,
            "permalink": f"https://{req.team.domain}.slack.com/archives/{channel.id}/p"
            + str(ts).replace(".", ""),
        }

    def _chat_schedule_message(self, req: _Req) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        try:
            post_at = int(float(p.get("post_at", "")))
        except (TypeError, ValueError):
            return _err("invalid_time")
        now = self.clock()
        if post_at <= now:
            return _err("time_in_past")
        if post_at > now + 120 * 86_400:
            return _err("time_too_far")
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        scheduled_id = f"Q{next(self._ids):010d}"
        message: JSON = {
            "type": "delayed_message",
            "text": p.get("text", ""),
            "bot_id": req.team.bot_id,
            "user": self._bot_user(req),
        }
        if p.get("blocks") is not None:
            message["blocks"] = copy.deepcopy(p["blocks"])
        self.scheduled_messages.append(
            {
                "id": scheduled_id,
                "channel": channel.id,
                "post_at": post_at,
                **message,
                **({"thread_ts": p["thread_ts"]} if p.get("thread_ts") else {}),
            }
        )
        return {
            "ok": True,
            "channel": channel.id,
            "scheduled_message_id": scheduled_id,
            "post_at": str(post_at),
            "message": message,
        }

    def _chat_delete_scheduled_message(self, req: _Req) -> JSON:
        sid = req.params.get("scheduled_message_id")
        for i, entry in enumerate(self.scheduled_messages):
            if entry["id"] == sid:
                del self.scheduled_messages[i]
                return {"ok": True}
        return _err("invalid_scheduled_message_id")

    def _views_open(self, req: _Req) -> JSON:
        trigger = self._take_trigger(req.params.get("trigger_id"))
        if isinstance(trigger, dict):
            return trigger
        view = req.params.get("view")
        problem = self._check_view_arg(view, expected_type="modal")
        if problem is not None or not isinstance(view, dict):
            return problem or _err("invalid_arguments")
        trigger.used = True
        obj = self._view_obj(view, req)
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = trigger.user_id
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_push(self, req: _Req) -> JSON:
        trigger = self._take_trigger(req.params.get("trigger_id"))
        if isinstance(trigger, dict):
            return trigger
        view = req.params.get("view")
        problem = self._check_view_arg(view, expected_type="modal")
        if problem is not None or not isinstance(view, dict):
            return problem or _err("invalid_arguments")
        previous = self.views.get(trigger.view_id or "")
        root_id = previous["root_view_id"] if previous is not None else None
        if root_id is not None:
            depth = sum(1 for v in self.views.values() if v.get("root_view_id") == root_id)
            if depth >= 3:
                return _err("push_limit_reached")
        trigger.used = True
        obj = self._view_obj(
            view,
            req,
            root_view_id=root_id,
            previous_view_id=previous["id"] if previous is not None else None,
        )
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = trigger.user_id
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_update(self, req: _Req) -> JSON:
        p = req.params
        view_id, external_id = p.get("view_id"), p.get("external_id")
        if not view_id and not external_id:
            return _err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] either view_id or external_id"]},
            )
        current = None
        if view_id:
            current = self.views.get(str(view_id))
        else:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            return _err("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            return _err("hash_conflict")
        view = p.get("view")
        problem = self._check_view_arg(view, expected_type=str(current.get("type")))
        if problem is not None or not isinstance(view, dict):
            return problem or _err("invalid_arguments")
        obj = self._view_obj(
            view,
            req,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current.get("previous_view_id"),
        )
        self.views[obj["id"]] = obj
        for user_id, home in self.home_views.items():
            if home["id"] == obj["id"]:
                self.home_views[user_id] = obj
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_publish(self, req: _Req) -> JSON:
        p = req.params
        user_id = str(p.get("user_id", ""))
        if user_id not in self.users:
            return _err("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        view = p.get("view")
        problem = self._check_view_arg(view, expected_type="home")
        if problem is not None or not isinstance(view, dict):
            return problem or _err("invalid_arguments")
        current = self.home_views.get(user_id)
        if current is not None and p.get("hash") and p["hash"] != current["hash"]:
            return _err("hash_conflict")
        obj = self._view_obj(view, req, view_id=current["id"] if current is not None else None)
        self.home_views[user_id] = obj
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = user_id
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _client_credentials(self, p: dict[str, Any]) -> tuple[str | None, str | None]:
        auth = str(p.get("_basic_auth", ""))
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None, None
            client_id, _, client_secret = decoded.partition(":")
            return client_id, client_secret
        cid, secret = p.get("client_id"), p.get("client_secret")
        return (str(cid) if cid else None), (str(secret) if secret else None)

    def _issue_bot_token(self, grant: OAuthGrant, token: str) -> None:
        self.add_token(token, grant.team_id)
        if grant.expires_in is not None:
            self.token_expires_at[token] = self.clock() + grant.expires_in

    def _oauth_v2_access(self, req: _Req) -> JSON:
        p = req.params
        client_id, client_secret = self._client_credentials(p)
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            return _err("invalid_client_id")
        if self.client_secret is not None and client_secret != self.client_secret:
            return _err("bad_client_secret")
        if p.get("grant_type") == "refresh_token":
            return self._oauth_refresh(p)
        code = p.get("code")
        grant = self.oauth_grants.get(str(code)) if code else None
        if grant is None or grant.used:
            return _err("invalid_code")
        if grant.redirect_uri is not None and p.get("redirect_uri") != grant.redirect_uri:
            return _err("bad_redirect_uri")
        grant.used = True
        if grant.team_id not in self.teams:
            self.add_team(
                grant.team_id,
                grant.team_name,
                bot_user_id=grant.bot_user_id,
                bot_id=grant.bot_id,
                enterprise_id=grant.enterprise_id,
                enterprise_name=grant.enterprise_name,
            )
        self._issue_bot_token(grant, grant.bot_token)
        result: JSON = {
            "ok": True,
            "access_token": grant.bot_token,
            "token_type": "bot",
            "scope": grant.scope,
            "bot_user_id": grant.bot_user_id,
            "app_id": grant.app_id,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": (
                {"id": grant.enterprise_id, "name": grant.enterprise_name}
                if grant.enterprise_id
                else None
            ),
            "is_enterprise_install": False,
            "authed_user": {"id": grant.installer_user_id},
        }
        if grant.user_token is not None:
            result["authed_user"].update(
                {
                    "access_token": grant.user_token,
                    "scope": grant.user_scope or "",
                    "token_type": "user",
                }
            )
        if grant.refresh_token is not None:
            result["refresh_token"] = grant.refresh_token
            result["expires_in"] = grant.expires_in
            self._refresh_tokens[grant.refresh_token] = (grant, False)
        return result

    def _oauth_refresh(self, p: dict[str, Any]) -> JSON:
        refresh_token = str(p.get("refresh_token") or "")
        entry = self._refresh_tokens.get(refresh_token)
        if entry is None or entry[1]:
            return _err("invalid_refresh_token")
        grant = entry[0]
        self._refresh_tokens[refresh_token] = (grant, True)  # single use
        n = next(self._ids)
        access_token = f"xoxe.xoxb-1-{grant.team_id}-{n}-{secrets.token_hex(8)}"
        new_refresh = f"xoxe-1-{grant.team_id}-{n}-{secrets.token_hex(8)}"
        self._refresh_tokens[new_refresh] = (grant, False)
        self._issue_bot_token(grant, access_token)
        return {
            "ok": True,
            "app_id": grant.app_id,
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": access_token,
            "bot_user_id": grant.bot_user_id,
            "refresh_token": new_refresh,
            "expires_in": grant.expires_in or 43_200,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": (
                {"id": grant.enterprise_id, "name": grant.enterprise_name}
                if grant.enterprise_id
                else None
            ),
            "is_enterprise_install": False,
        }
