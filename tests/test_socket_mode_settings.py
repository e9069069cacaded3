"""Socket Mode settings: SLACK_APP_TOKEN's shape, the combinations refused (and why, in the
message), what a worker does with it, and that the token is a secret never logged."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog
from cryptography.fernet import Fernet

from bot import logging as bot_logging
from bot.logging import configure_logging
from bot.settings import Settings, SettingsError, load_settings

BOT_TOKEN = "xoxb-111-222-abcdef"
APP_TOKEN = "xapp-1-A0APP0001-1000000000001-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting leaks in from the machine running the tests."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def _one_problem(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(SettingsError) as info:
        _load(monkeypatch, **env)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_an_app_token_with_a_bot_token_is_socket_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN
    )
    assert settings.slack_app_token == APP_TOKEN
    assert settings.socket_mode and settings.single_workspace
    assert settings.socket_mode_ping_seconds == 10.0
    assert APP_TOKEN in settings.secret_values


def test_without_an_app_token_it_is_http(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN)
    assert settings.slack_app_token is None and not settings.socket_mode
    blank = _load(monkeypatch, SLACK_APP_TOKEN="")
    assert blank.slack_app_token is None and not blank.socket_mode


@pytest.mark.parametrize("role", ["web", "all"])
def test_web_processes_connect(monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    settings = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        ROLE=role,
    )
    assert settings.socket_mode


def test_a_worker_ignores_the_app_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # One .env for web and worker processes (docker-compose.yml): accepted, and unused.
    settings = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        ROLE="worker",
    )
    assert settings.slack_app_token == APP_TOKEN and not settings.socket_mode


@pytest.mark.parametrize(
    "token", [BOT_TOKEN, "xoxp-111-222-abc", "xapp-", "xapp-1-A0 1-x", "app-1-A0-1-x", "abc"]
)
def test_the_app_token_must_be_an_app_level_token(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    problem = _one_problem(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=token
    )
    assert problem.startswith("SLACK_APP_TOKEN")
    assert "xapp-" in problem and "connections:write" in problem
    assert token not in problem.replace("'xapp-'", ""), "the refused token must not be echoed"


def test_a_placeholder_app_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="<app-level-token>",
    )
    assert problem.startswith("SLACK_APP_TOKEN") and "placeholder" in problem


def test_socket_mode_with_only_oauth_is_refused_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = _one_problem(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
        ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SLACK_APP_TOKEN=APP_TOKEN,
    )
    # What is wrong, why it can't work, and both ways out.
    assert problem.startswith("SLACK_APP_TOKEN (Socket Mode) serves one workspace")
    assert "/slack/install" in problem and "public HTTPS address" in problem
    assert "set SLACK_BOT_TOKEN" in problem and "unset SLACK_APP_TOKEN" in problem


def test_socket_mode_alone_asks_for_the_bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_APP_TOKEN=APP_TOKEN)
    assert problem.startswith("SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN")


def test_a_bot_token_next_to_oauth_credentials_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    # As over HTTP: with a bot token the app serves that one workspace; the client id and
    # secret are not used.
    settings = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
        SLACK_APP_TOKEN=APP_TOKEN,
    )
    assert settings.socket_mode and settings.single_workspace


@pytest.mark.parametrize("value", ["0", "0.05", "61", "soon"])
def test_the_ping_interval_is_bounded(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    problem = _one_problem(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SOCKET_MODE_PING_SECONDS=value,
    )
    assert problem.startswith("SOCKET_MODE_PING_SECONDS")


def test_the_app_token_and_socket_urls_are_never_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN
    )
    root, sdk = logging.getLogger(), logging.getLogger("slack_sdk.socket_mode")
    saved = (root.handlers[:], root.level, logging.getLogger("slack_sdk").level)
    saved_structlog = structlog.get_config()
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        configure_logging("DEBUG", "json", secrets=settings.secret_values)
        sdk.error("Failed to retrieve WSS URL: token %s", APP_TOKEN)
        sdk.error(
            "Failed to connect (error: 401, url='wss://x.slack.com/link/?ticket=abc123&app_id=A1')"
        )
        frame = '{"payload": {"text": "my answer"}}'
        sdk.debug(f"Received message (type: TEXT, data: {frame!r}, extra: None, session: s_1)")
        sdk.debug(
            'Sending a message: {"envelope_id": "1", "payload": {"text": "hi"}} from session: s_1'
        )
    finally:
        root.handlers[:], level, sdk_level = saved
        root.setLevel(level)
        logging.getLogger("slack_sdk").setLevel(sdk_level)
        structlog.configure(**saved_structlog)
        bot_logging._EXACT_SECRETS.clear()  # configure_logging keeps the secrets it was given
    logged = stream.getvalue()
    assert APP_TOKEN.split("-", 1)[1] not in logged
    assert "abc123" not in logged and "ticket=[REDACTED]" in logged
    assert "my answer" not in logged and "Received message (type: TEXT, data withheld)" in logged
    assert '"hi"' not in logged and "Sending a message (withheld)" in logged
