"""The fake's data: recorded calls, users, channels, teams, triggers, OAuth grants, and the
small helpers every method family shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

DEFAULT_TOKEN = "xoxb-test-token"
DEFAULT_SCOPES = (
    "app_mentions:read,channels:join,channels:read,chat:write,commands,groups:read,"
    "im:history,im:write,users:read"
)


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
class OpenIDGrant:
    """A Sign in with Slack authorization code (see ``add_openid_code``)."""

    code: str
    user_id: str
    team_id: str
    scopes: frozenset[str]
    issued_at: float  # clock() when the user approved
    nonce: str | None = None
    redirect_uri: str | None = None
    access_token: str | None = None
    used: bool = False


@dataclass
class FakeFile:
    """A file announced with files.getUploadURLExternal. ``content`` is None until its bytes
    reach the upload URL; ``shares`` maps channel_id -> ts of the messages sharing it."""

    id: str
    name: str
    length: int
    team_id: str
    user: str
    ticket: str
    created: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    title: str | None = None
    content: bytes | None = None
    completed: bool = False
    shares: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Fault:
    error: str
    status: int
    retry_after: float | None
    remaining: int


@dataclass
class ApiRequest:
    method: str
    params: dict[str, Any]
    token: str | None
    team: FakeTeam
    http_method: str


def err(error: str, **extra: Any) -> JSON:
    return {"ok": False, "error": error, **extra}


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


Handler = Callable[[ApiRequest], JSON]
