"""Settings: one class, read from the environment or `.env`, refusing what cannot work."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.rules.roster import CHANNEL_PARTICIPANTS_CEILING, MAX_CHANNEL_PARTICIPANTS
from bot.rules.validation import (
    MAX_ANSWER_LEN,
    MAX_PARTICIPANTS,
    MAX_QUESTIONS,
    PARTICIPANTS_CEILING,
    QUESTIONS_CEILING,
    Limits,
)

DEFAULT_SCOPES = (
    "commands,chat:write,im:write,users:read,channels:join,channels:read,groups:read,"
    "im:history,channels:history,groups:history,files:write"
)

# App-level tokens look like xapp-1-A0123ABCDEF-1234567890123-0123abcd…: no spaces, nothing odd.
_APP_TOKEN = re.compile(r"xapp-[0-9]+-[A-Za-z0-9-]+")

_PLACEHOLDER = re.compile(
    r"^(<.*>|\.\.\.|…|changeme|change-me|change_me|replace-?me|your[-_ ].*|placeholder|todo|xxx+)$",
    re.IGNORECASE,
)


def _refuse_placeholder(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if _PLACEHOLDER.match(value):
        raise ValueError(f"{name} looks like a placeholder ({value!r}); set the real value")
    return value


SOCKET_MODE_NEEDS_BOT_TOKEN = (
    "SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN as well: install the app to your "
    "workspace (app page → Install App) and set its Bot User OAuth Token (xoxb-…)"
)
SOCKET_MODE_WITH_OAUTH = (
    "SLACK_APP_TOKEN (Socket Mode) serves one workspace, the one of SLACK_BOT_TOKEN, which is "
    "not set. Installing into many workspaces (SLACK_CLIENT_ID/SLACK_CLIENT_SECRET) needs the "
    "OAuth install flow: /slack/install and /slack/oauth_redirect at a public HTTPS address "
    "that Slack redirects people's browsers to. That public address is what Socket Mode does "
    "without, so in Socket Mode AsyncStand serves neither page (and Slack does not list Socket "
    "Mode apps in its Marketplace). Either install the app to your workspace (app page → "
    "Install App) and set SLACK_BOT_TOKEN to its Bot User OAuth Token (xoxb-…), or unset "
    "SLACK_APP_TOKEN to serve Slack over HTTP with the install flow"
)


class Settings(BaseSettings):
    """Everything the app reads from its environment; see README's settings table."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_signing_secret: str = Field(min_length=1)
    slack_bot_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str = DEFAULT_SCOPES
    # Socket Mode: an app-level token (xapp-…, scope connections:write) makes web processes
    # take Slack's requests over an outbound WebSocket instead of POST /slack/events.
    slack_app_token: str | None = None
    socket_mode_ping_seconds: float = Field(default=10.0, ge=0.1, le=60)
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///./asyncstand.db"
    redis_url: str | None = None
    encryption_key: str | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    auto_migrate: bool = True
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    prompt_grace_minutes: int = Field(default=120, ge=1, le=24 * 60)
    run_close_after_minutes: int = Field(default=240, ge=1, le=24 * 60)
    scheduler_tick_seconds: float = Field(default=5.0, gt=0, le=60)
    # How long a claimed prompt is held by a sender that stops extending it (a killed
    # replica): after this another replica looks for it in Slack and sends it if it is not.
    prompt_lease_seconds: float = Field(default=40.0, ge=2, le=600)
    # Fair fan-out: at most this many of one workspace's due prompts per claimed batch, so a
    # big workspace's rate-limited fan-out never holds back small ones (0: strict due order).
    prompt_claim_per_workspace: int = Field(default=50, ge=0, le=10_000)
    tz_refresh_hours: int = Field(default=24, ge=1)
    role: Literal["web", "worker", "all"] = "all"
    trust_proxy_headers: bool = False
    install_rate_per_minute: int = Field(default=20, ge=1, le=10_000)
    metrics_token: str | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Limits: every refusal says the limit and names the setting that changes it.
    max_standups_per_workspace: int = Field(default=200, ge=1)
    max_participants_per_standup: int = Field(
        default=MAX_PARTICIPANTS, ge=1, le=PARTICIPANTS_CEILING
    )
    # Participants of a standup that takes everyone in its channel (no people picker involved).
    max_channel_participants: int = Field(
        default=MAX_CHANNEL_PARTICIPANTS, ge=1, le=CHANNEL_PARTICIPANTS_CEILING
    )
    max_questions_per_standup: int = Field(default=MAX_QUESTIONS, ge=1, le=QUESTIONS_CEILING)
    max_answer_length: int = Field(default=MAX_ANSWER_LEN, ge=1, le=MAX_ANSWER_LEN)
    # The web face: where people reach the app (sign-in redirects, links), sessions, the API.
    public_url: str | None = None
    web_secret: str | None = None
    session_idle_minutes: int = Field(default=8 * 60, ge=5, le=30 * 24 * 60)
    session_max_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    api_rate_per_minute: int = Field(default=120, ge=1, le=100_000)
    webhook_allow_private: bool = False

    @field_validator(
        "slack_signing_secret",
        "slack_bot_token",
        "slack_client_id",
        "slack_client_secret",
        "slack_app_token",
        "encryption_key",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _no_placeholders(cls, value: object, info: object) -> object:
        if isinstance(value, str):
            field = getattr(info, "field_name", "setting") or "setting"
            stripped = _refuse_placeholder(field.upper(), value)
            return stripped or None if field != "slack_signing_secret" else stripped
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: str | None) -> str | None:
        if value is not None and not _APP_TOKEN.fullmatch(value):
            raise ValueError(
                "SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' (Slack app "
                "page → Basic Information → App-Level Tokens, with the connections:write scope)"
            )
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) < 16 or not re.fullmatch(r"[\x21-\x7e]+", value):
            raise ValueError(
                "METRICS_TOKEN must be at least 16 printable ASCII characters without spaces; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", value):
            raise ValueError(
                "PUBLIC_URL must be the http(s) address people reach the app at, "
                "e.g. https://standup.example.com"
            )
        return value

    @field_validator("web_secret")
    @classmethod
    def _web_secret_length(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and len(value.strip()) < 32:
            raise ValueError("WEB_SECRET must be at least 32 characters (it keys CSRF tokens)")
        return value.strip() if value and value.strip() else None

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _metrics_port_blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            # Accept the common form and use the async driver we ship.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                "(e.g. postgresql+asyncpg://user:pass@host/db)"
            )
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_keys(cls, value: str | None) -> str | None:
        if value is None:
            return None
        keys = [k.strip() for k in value.split(",") if k.strip()]
        if not keys:
            return None
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"ENCRYPTION_KEY key #{position} is not a valid Fernet key (32 url-safe "
                    'base64 bytes); generate one with: python -c "from cryptography.fernet '
                    'import Fernet; print(Fernet.generate_key().decode())"'
                ) from exc
        return ",".join(keys)

    @model_validator(mode="after")
    def _one_mode(self) -> Settings:
        oauth = bool(self.slack_client_id or self.slack_client_secret)
        if self.slack_app_token is not None and self.slack_bot_token is None:
            raise ValueError(SOCKET_MODE_WITH_OAUTH if oauth else SOCKET_MODE_NEEDS_BOT_TOKEN)
        if self.slack_bot_token is None and not oauth:
            raise ValueError(
                "set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                "(install into many workspaces)"
            )
        if oauth and not (self.slack_client_id and self.slack_client_secret):
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ValueError(f"multi-workspace mode needs {missing} as well")
        if oauth and self.slack_bot_token is None and self.encryption_key is None:
            raise ValueError(
                "multi-workspace mode stores bot tokens, so ENCRYPTION_KEY is required "
                "(comma-separated Fernet keys; the first one encrypts)"
            )
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError(
                f"METRICS_PORT ({self.metrics_port}) must differ from PORT: it serves /metrics "
                "on a port of its own (leave it unset to serve /metrics on PORT)"
            )
        return self

    @property
    def single_workspace(self) -> bool:
        """One workspace, token from the environment (no OAuth install flow)."""
        return self.slack_bot_token is not None

    @property
    def socket_mode(self) -> bool:
        """This process takes Slack's requests over Socket Mode (SLACK_APP_TOKEN is set and it
        serves Slack at all: a worker has no Slack traffic and ignores the token)."""
        return self.slack_app_token is not None and self.role != "worker"

    @property
    def limits(self) -> Limits:
        """The per-standup limits, as the form validation takes them."""
        return Limits(
            participants=self.max_participants_per_standup,
            questions=self.max_questions_per_standup,
            answer_length=self.max_answer_length,
        )

    @property
    def web_key(self) -> bytes:
        """The key for CSRF tokens: WEB_SECRET, or one derived from the signing secret."""
        if self.web_secret:
            return self.web_secret.encode()
        return hmac.new(
            self.slack_signing_secret.encode(), b"asyncstand-web-v1", hashlib.sha256
        ).digest()

    @property
    def scopes(self) -> list[str]:
        return [s.strip() for s in self.slack_scopes.split(",") if s.strip()]

    @property
    def secret_values(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [
            self.slack_signing_secret,
            self.slack_bot_token,
            self.slack_client_secret,
            self.slack_app_token,
            self.metrics_token,
            self.web_secret,
            *self.fernet_keys,
        ]
        return [v for v in values if v and len(v) >= 6]

    @property
    def fernet_keys(self) -> list[str]:
        return [k for k in (self.encryption_key or "").split(",") if k]


class SettingsError(Exception):
    """Start-up refused: `problems` lists each bad setting and how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's errors into one readable list."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors():
            location = ".".join(str(part).upper() for part in error["loc"]) or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is required but not set"
                if location == "SLACK_SIGNING_SECRET":
                    message += " (Slack app page → Basic Information → Signing Secret)"
            problems.append(f"{location}: {message}" if location != "settings" else message)
        raise SettingsError(problems) from None
