"""FakeSlackCore: the state every method family shares (workspace, users, channels, tokens,
the message store) and the setup and inspection helpers tests call directly.

Method families (``chat.py``, ``conversations.py``, ...) subclass it and add their Web API
methods through ``_api_methods``; ``server.py`` serves them over HTTP."""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fake_slack.state import (
    DEFAULT_SCOPES,
    DEFAULT_TOKEN,
    JSON,
    ApiRequest,
    Call,
    FakeChannel,
    FakeFile,
    FakeTeam,
    FakeUser,
    Fault,
    Handler,
    OAuthGrant,
    OpenIDGrant,
    TriggerInfo,
    err,
)


class FakeSlackCore:
    """Shared state and helpers of the Slack stand-in (see ``tests.fake_slack.FakeSlack``)."""

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
        self.openid_code_lifetime: float = 600.0  # Sign in with Slack codes, seconds of clock()

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
        self.openid_grants: dict[str, OpenIDGrant] = {}
        self.revoked_tokens: dict[str, str] = {}  # token -> error returned
        self.token_expires_at: dict[str, float] = {}  # token -> clock() deadline
        # token -> its scopes; a token listed here fails calls needing another scope with
        # missing_scope (tokens not listed are not scope-checked)
        self.token_scopes: dict[str, frozenset[str]] = {}
        self.user_tokens: dict[str, str] = {}  # user token (xoxp-) -> user_id
        self.files: dict[str, FakeFile] = {}  # file_id -> file (files.getUploadURLExternal)

        self._messages: dict[str, list[JSON]] = {}
        self._versions: dict[tuple[str, str], list[JSON]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._refresh_tokens: dict[str, tuple[OAuthGrant, bool]] = {}
        self._response_urls: dict[str, tuple[str | None, str | None]] = {}
        self._response_url_uses: dict[str, int] = {}
        self._uploads: dict[str, str] = {}  # upload ticket -> file_id
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
        self._methods: dict[str, Handler] = self._api_methods()

    # ------------------------------------------------------------------ extension hooks
    def _api_methods(self) -> dict[str, Handler]:
        """Web API method name -> handler. Each method family adds its own (cooperatively,
        through ``super()``); subclasses may override a handler by its attribute name."""
        return {}

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        """HTTP routes besides ``/api/{method}`` (response_urls, upload URLs, ...)."""

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

    def remove_member(self, channel_id: str, user_id: str) -> None:
        self.channels[channel_id].members.discard(user_id)

    def deactivate_user(self, user_id: str, *, leave_channels: bool = False) -> FakeUser:
        """Deactivate a user as a workspace admin would: users.info says ``deleted: true``,
        conversations.open with them fails with ``user_disabled`` and their user tokens
        with ``account_inactive``. They stay in channel member lists (Slack's docs do not
        say they leave) unless ``leave_channels``."""
        user = self.users[user_id]
        user.deleted = True
        if leave_channels:
            for channel in self.channels.values():
                if not channel.is_im:
                    channel.members.discard(user_id)
        return user

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        self.channels[channel_id].is_archived = archived

    def add_token(
        self,
        token: str,
        team_id: str | None = None,
        *,
        scopes: Iterable[str] | str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Make ``token`` valid (optionally belonging to another registered team). With
        ``scopes`` the token is scope-checked (see ``set_token_scopes``); with ``user_id`` it
        is that user's token (auth.test answers as the user; deactivating the user makes it
        fail with ``account_inactive``)."""
        self.valid_tokens.add(token)
        self.revoked_tokens.pop(token, None)
        if team_id is not None:
            self.token_teams[token] = team_id
        if scopes is not None:
            self.set_token_scopes(token, scopes)
        if user_id is not None:
            self.user_tokens[token] = user_id

    def set_token_scopes(self, token: str, scopes: Iterable[str] | str | None) -> None:
        """Give ``token`` exactly these scopes (comma-separated string or iterable): calls
        needing a scope it lacks then fail like Slack's, ``{"ok": false, "error":
        "missing_scope", "needed": ..., "provided": ...}``. ``None`` turns checking off."""
        if scopes is None:
            self.token_scopes.pop(token, None)
            return
        items = scopes.split(",") if isinstance(scopes, str) else scopes
        self.token_scopes[token] = frozenset(s.strip() for s in items if s.strip())

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

    # ------------------------------------------------------------------ inspection
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

    # ------------------------------------------------------------------ internals
    def _next_ts(self) -> str:
        # Like Slack's: the wall clock in microseconds, strictly increasing.
        self._ts = max(self._ts + 100, time.time_ns() // 1000)
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
        if msg.get("metadata") == {}:  # chat.update's way of removing metadata
            del msg["metadata"]
        msg["edited"] = {"user": self.bot_user_id, "ts": f"{int(self.clock())}.000000"}
        self._versions.setdefault((channel_id, msg["ts"]), []).append(self._public(msg))

    def _bot_user(self, req: ApiRequest) -> str:
        return req.team.bot_user_id

    def _require_scope(self, req: ApiRequest, *accepted: str) -> JSON | None:
        """``missing_scope`` unless the token is unchecked or has one of ``accepted``."""
        granted = self.token_scopes.get(req.token or "")
        if granted is None or not accepted or granted.intersection(accepted):
            return None
        return err("missing_scope", needed=accepted[0], provided=",".join(sorted(granted)))

    @staticmethod
    def _conversation_scope(channel: FakeChannel, action: str) -> str:
        """The scope reading (``action`` "history" or "read") this kind of conversation
        needs: channels:, groups:, im: or mpim:."""
        if channel.is_im:
            return f"im:{action}"
        if channel.is_mpim:
            return f"mpim:{action}"
        return f"groups:{action}" if channel.is_private else f"channels:{action}"

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

    def _check_client(self, p: dict[str, Any]) -> JSON | None:
        """Slack's answer to wrong app credentials (form fields or HTTP Basic auth)."""
        client_id, client_secret = self._client_credentials(p)
        if not client_id or (self.client_id is not None and client_id != self.client_id):
            return err("invalid_client_id")
        if self.client_secret is not None and client_secret != self.client_secret:
            return err("bad_client_secret")
        return None
