"""structlog set-up: pretty on a TTY, JSON otherwise, and tokens never written out."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_TOKEN = re.compile(r"xox[abeprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
# A Socket Mode URL (wss://…/link/?ticket=…) lets whoever holds it connect as the app.
_SOCKET_TICKET = re.compile(r"(ticket=)[^&\s'\"]+")
_SECRET_KEYS = ("token", "secret", "password", "encryption_key", "authorization", "signature")


_EXACT_SECRETS: list[str] = []


def redact_text(text: str) -> str:
    """Mask anything shaped like a Slack token, and the configured secrets verbatim."""
    text = _TOKEN.sub(lambda m: m.group(0)[:5] + "[REDACTED]", text)
    text = _SOCKET_TICKET.sub(r"\1[REDACTED]", text)
    for secret in _EXACT_SECRETS:
        if secret in text:
            text = text.replace(secret, "[REDACTED]")
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_pair(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception, a set, a SlackResponse) is rendered with repr(): redact that.
    text = repr(value)
    redacted = redact_text(text)
    return value if redacted == text else redacted


def _redact_pair(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(marker in lowered for marker in _SECRET_KEYS) and isinstance(value, str) and value:
        return "[REDACTED]"
    return _redact(value)


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Backstop: whatever a caller logs, secrets and xox… tokens leave as [REDACTED]."""
    for key in list(event_dict):
        event_dict[key] = _redact_pair(key, event_dict[key])
    return event_dict


class _RedactingFilter(logging.Filter):
    """Same backstop for stdlib loggers (slack_sdk, aiohttp, sqlalchemy)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):  # a structlog event: redact_processor has run on it
            return True
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


# slack_sdk's DEBUG lines carry whole requests and responses: form data (answers, OAuth codes,
# client secrets), JSON bodies and message texts. At DEBUG we keep what was called and how it
# went, and withhold the rest.
_SLACK_REQUEST = re.compile(r"^Sending a request - url: (?P<url>[^,]*),")
_SLACK_RESPONSE = re.compile(r"^Received the following response - status: (?P<status>\d+),")
# slack_sdk's Socket Mode client logs every frame it receives and sends (envelopes carry
# command text, answers in view submissions; acks carry our replies).
_SOCKET_RECEIVED = re.compile(r"^Received message \(type: (?P<type>\w+), data: ")
_SOCKET_SENDING = {
    "Sending a message: ": "Sending a message (withheld)",
    "Failed to send a message (error: ": "Failed to send a message (withheld)",
}


class _SlackBodyFilter(logging.Filter):
    """slack_sdk request and response lines, without their parameters, headers or bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("slack_sdk") or record.levelno > logging.DEBUG:
            return True
        message = record.getMessage()
        if (request := _SLACK_REQUEST.match(message)) is not None:
            url = request["url"] if ".webhook" not in record.name else "a response_url"
            shown = f"Sending a request - url: {url} (arguments withheld)"
        elif (response := _SLACK_RESPONSE.match(message)) is not None:
            shown = f"Received the following response - status: {response['status']} (withheld)"
        elif (received := _SOCKET_RECEIVED.match(message)) is not None:
            shown = f"Received message (type: {received['type']}, data withheld)"
        elif message.startswith(tuple(_SOCKET_SENDING)):
            shown = next(v for k, v in _SOCKET_SENDING.items() if message.startswith(k))
        elif message.startswith(("Sending a request", "Received the following response")):
            shown = message.split(" - ", 1)[0] + " (withheld)"
        else:
            return True
        record.msg, record.args = shown, None
        return True


def configure_logging(
    level: str = "INFO", fmt: str = "auto", secrets: list[str] | None = None
) -> None:
    """Configure structlog and route stdlib logging through the same renderer.

    `secrets` (client secret, signing secret, keys) are masked wherever they appear.
    """
    _EXACT_SECRETS[:] = sorted(set(secrets or []), key=len, reverse=True)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_processor,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_SlackBodyFilter())
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries speak up from WARNING; slack_sdk and alembic also at DEBUG, when asked.
    # The database drivers' statement logs (SQLAlchemy's echo, aiosqlite's "executing …") carry
    # every parameter — answers, tokens — so they stay quiet even at DEBUG.
    for noisy in ("aiohttp.access", "apscheduler", "sqlalchemy.engine", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for chatty in ("alembic", "slack_sdk"):
        logging.getLogger(chatty).setLevel(quiet)
