"""Settings: one class, read from the environment or `.env`, refusing what cannot work."""

from __future__ import annotations

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
    "im:history,channels:history,groups:history"
)

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

    @field_validator(
        "slack_signing_secret",
        "slack_bot_token",
        "slack_client_id",
        "slack_client_secret",
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
    def limits(self) -> Limits:
        """The per-standup limits, as the form validation takes them."""
        return Limits(
            participants=self.max_participants_per_standup,
            questions=self.max_questions_per_standup,
            answer_length=self.max_answer_length,
        )

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
            self.metrics_token,
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
