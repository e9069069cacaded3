"""Logging: JSON lines off a terminal, the workspace bound to each line, and no Slack token ever
written out — whether it arrives as a field, inside a message, in a traceback, or via a stdlib
logger such as slack_sdk's."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from bot.logging import configure_logging, redact_text

BOT = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
USER = "xoxp-1234567890-1111111111-2222222222-0123456789abcdef0123456789abcdef"
REFRESH = "xoxe-1-My0xLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MC1hYmNkZWY"
ROTATED = "xoxe.xoxb-1-MS0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MC1hYmNkZWY"
APP = "xapp-1-A0APP0001-1234567890-abcdef0123456789abcdef0123456789"
ALL_TOKENS = (BOT, USER, REFRESH, ROTATED, APP)


def _secret_part(token: str) -> str:
    """What must never be printed: everything after the type prefix."""
    return token.split("-", 1)[1]


Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """configure_logging writing to a captured stream; everything restored afterwards."""
    root = logging.getLogger()
    saved_level = root.level
    noisy = {
        n: logging.getLogger(n).level
        for n in ("aiohttp.access", "apscheduler", "sqlalchemy.engine", "aiosqlite")
    }
    saved_structlog = structlog.get_config()
    installed: list[logging.Handler] = []

    def _configure(level: str = "INFO", fmt: str = "json") -> io.StringIO:
        stream = io.StringIO()  # not a TTY, like a container's stderr
        monkeypatch.setattr(sys, "stderr", stream)
        configure_logging(level, fmt)
        installed.extend(root.handlers)
        return stream

    try:
        yield _configure
    finally:
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = [h for h in root.handlers if h not in installed]
        root.setLevel(saved_level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)
        structlog.configure(**saved_structlog)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n"), text
    return [json.loads(line) for line in text.splitlines()]


def _assert_no_secret(text: str) -> None:
    for token in ALL_TOKENS:
        assert _secret_part(token) not in text, f"token leaked: {text}"


# --- redact_text ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ALL_TOKENS)
def test_redact_text_masks_every_token_kind(token: str) -> None:
    text = f"calling chat.postMessage with {token} now"
    redacted = redact_text(text)
    _assert_no_secret(redacted)
    assert "[REDACTED]" in redacted
    assert redacted.startswith("calling chat.postMessage with ")
    assert redacted.endswith(" now")


def test_redact_text_keeps_the_token_kind_and_other_text() -> None:
    redacted = redact_text(f"Authorization: Bearer {BOT}; app={APP}")
    assert redacted == "Authorization: Bearer xoxb-[REDACTED]; app=xapp-[REDACTED]"
    plain = "U0ALICE01 answered standup #3 in C0STANDUP1 (xoxb is a prefix, not a token)"
    assert redact_text(plain) == plain


# --- structlog --------------------------------------------------------------------------------


def test_token_field_is_redacted(configure: Configure) -> None:
    stream = configure()
    structlog.get_logger("asyncstand.test").info(
        "installed", token=BOT, bot_token=BOT, team="T0TEAM001"
    )
    [line] = _lines(stream)
    _assert_no_secret(stream.getvalue())
    assert line["event"] == "installed"
    assert line["token"] == "[REDACTED]"
    assert line["bot_token"] == "[REDACTED]"
    assert line["team"] == "T0TEAM001"  # ordinary fields untouched


def test_token_inside_message_and_nested_values_is_redacted(configure: Configure) -> None:
    stream = configure()
    log = structlog.get_logger("asyncstand.test")
    log.warning(f"slack said no to {BOT}")
    log.info("request", params={"headers": {"Authorization": f"Bearer {USER}"}, "ch": "C1"})
    log.info("tokens", seen=[REFRESH, ("x", APP)], detail=f"rotated to {ROTATED}")
    first, second, third = _lines(stream)
    _assert_no_secret(stream.getvalue())
    assert first["event"] == "slack said no to xoxb-[REDACTED]"
    assert first["level"] == "warning"
    assert second["params"] == {"headers": {"Authorization": "[REDACTED]"}, "ch": "C1"}
    assert third["seen"] == ["xoxe-[REDACTED]", ["x", "xapp-[REDACTED]"]]
    assert "[REDACTED]" in third["detail"]


def test_token_inside_other_objects_is_redacted(configure: Configure) -> None:
    """Fields that are not plain strings (an exception, a set) are rendered with repr()."""
    stream = configure()
    log = structlog.get_logger("asyncstand.test")
    log.warning("auth_failed", error=ValueError(f"bad {BOT}"), count=3, ok=True)
    log.warning("seen", ids={USER})
    first, second = _lines(stream)  # two JSON lines, no "--- Logging error ---"
    _assert_no_secret(stream.getvalue())
    assert first["error"] == "ValueError('bad xoxb-[REDACTED]')"
    assert (first["count"], first["ok"]) == (3, True)
    assert second["ids"] == "{'xoxp-[REDACTED]'}"


def test_token_in_exception_traceback_is_redacted(configure: Configure) -> None:
    stream = configure()
    try:
        raise RuntimeError(f"auth failed for {BOT}")
    except RuntimeError:
        structlog.get_logger("asyncstand.test").exception("listener_failed")
    [line] = _lines(stream)
    _assert_no_secret(stream.getvalue())
    assert "RuntimeError: auth failed for xoxb-[REDACTED]" in line["exception"]


def test_stdlib_loggers_are_redacted_too(configure: Configure) -> None:
    stream = configure()
    logging.getLogger("slack_sdk").warning(f"Failed to send a request with xoxb-123-abc to {BOT}")
    logging.getLogger("slack_sdk.web").warning("retrying with token %s (attempt %d)", USER, 2)
    first, second = _lines(stream)
    _assert_no_secret(stream.getvalue())
    assert "xoxb-123-abc" not in stream.getvalue()
    assert first["event"] == ("Failed to send a request with xoxb-[REDACTED] to xoxb-[REDACTED]")
    assert first["logger"] == "slack_sdk" and first["level"] == "warning"
    assert second["event"] == "retrying with token xoxp-[REDACTED] (attempt 2)"


def test_console_format_is_redacted_too(configure: Configure) -> None:
    stream = configure(fmt="console")
    structlog.get_logger("asyncstand.test").info(f"hello {BOT}", token=APP)
    logging.getLogger("slack_sdk").warning("via stdlib %s", USER)
    text = stream.getvalue()
    _assert_no_secret(text)
    assert "hello xoxb-[REDACTED]" in text and "via stdlib xoxp-[REDACTED]" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


# --- JSON lines and context -------------------------------------------------------------------


def test_json_lines_carry_the_bound_team_id(configure: Configure) -> None:
    stream = configure(fmt="auto")  # auto + not a TTY → JSON
    log = structlog.get_logger("asyncstand.app")
    structlog.contextvars.bind_contextvars(team_id="T0TEAM001")
    log.info("prompt_sent", prompt_id=7)
    logging.getLogger("aiohttp.server").error("stdlib line inside a request")
    structlog.contextvars.clear_contextvars()
    log.info("started", role="all")
    first, second, third = _lines(stream)
    assert first["event"] == "prompt_sent" and first["prompt_id"] == 7
    assert first["team_id"] == "T0TEAM001"
    assert first["logger"] == "asyncstand.app" and first["level"] == "info"
    assert first["timestamp"].endswith("Z")  # ISO, UTC
    assert second["team_id"] == "T0TEAM001" and second["logger"] == "aiohttp.server"
    assert "team_id" not in third


def test_level_filters_and_noisy_loggers_are_quiet(configure: Configure) -> None:
    log = structlog.get_logger("asyncstand.test")
    warning_only = configure(level="warning")
    log.info("not shown")
    log.warning("shown")
    assert [line["event"] for line in _lines(warning_only)] == ["shown"]
    debug = configure(level="DEBUG")
    logging.getLogger("sqlalchemy.engine").info("SELECT 1")
    logging.getLogger("apscheduler").info("tick")
    log.debug("debug shown")
    assert [line["event"] for line in _lines(debug)] == ["debug shown"]


def test_debug_keeps_statement_parameters_and_slack_bodies_out(configure: Configure) -> None:
    """At DEBUG the drivers' statement logs stay quiet and slack_sdk's request and response
    lines lose their arguments and bodies (answers, OAuth codes, message texts)."""
    stream = configure(level="DEBUG")
    answer = "my private answer"
    logging.getLogger("aiosqlite").debug("executing %s", f"execute('INSERT …', ('{answer}',))")
    logging.getLogger("sqlalchemy.engine.Engine").info("[generated in 0.1s] ('%s',)", answer)
    web = logging.getLogger("slack_sdk.web.async_base_client")
    web.debug(
        "Sending a request - url: POST http://slack.test/api/oauth.v2.access, params: {}, "
        f"files: {{}}, data: {{'code': '1234.5678.c0de', 'text': '{answer}'}}, json: {{}}, "
        "proxy: {}, headers: {'Authorization': '(redacted)'}"
    )
    web.debug(
        "Received the following response - status: 200, headers: {}, "
        f"body: {{'ok': True, 'message': {{'text': '{answer}'}}}}"
    )
    logging.getLogger("slack_sdk.webhook.async_client").debug(
        "Sending a request - url: https://hooks.slack.com/commands/T1/2/s3cr3t, "
        f"body: {{'text': '{answer}'}}, headers: {{}}"
    )
    web.debug("No response data returned from the following API call: chat.postMessage.")
    text = stream.getvalue()
    for secret in (answer, "c0de", "s3cr3t"):
        assert secret not in text, text
    assert [line["event"] for line in _lines(stream)] == [
        "Sending a request - url: POST http://slack.test/api/oauth.v2.access (arguments withheld)",
        "Received the following response - status: 200 (withheld)",
        "Sending a request - url: a response_url (arguments withheld)",
        "No response data returned from the following API call: chat.postMessage.",
    ]
