"""Settings: what start-up accepts, what it refuses, and that each refusal says how to fix it.

Every test reads the real environment (monkeypatched) with `.env` disabled, the way app.py does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings, SettingsError, load_settings

BOT_TOKEN = "xoxb-111-222-abcdef"


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


def _problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    with pytest.raises(SettingsError) as info:
        _load(monkeypatch, **env)
    problems = info.value.problems
    assert problems, "a refusal must say what is wrong"
    assert str(info.value) == "\n".join(problems)
    return problems


def _one_problem(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    problems = _problems(monkeypatch, **env)
    assert len(problems) == 1, problems
    return problems[0]


# --- accepted ---------------------------------------------------------------------------------


def test_readme_quick_start_values_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    # README quick start: SLACK_SIGNING_SECRET=x SLACK_BOT_TOKEN=xoxb-dev python app.py
    settings = _load(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN="xoxb-dev")
    assert settings.slack_signing_secret == "x"
    assert settings.slack_bot_token == "xoxb-dev"
    assert settings.single_workspace
    # The defaults README documents.
    assert settings.database_url == "sqlite+aiosqlite:///./asyncstand.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.auto_migrate is True
    assert settings.role == "all"
    assert settings.prompt_grace_minutes == 120
    assert settings.run_close_after_minutes == 240
    assert "commands" in settings.scopes and "chat:write" in settings.scopes


def test_multi_workspace_mode_with_encryption_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="s3cret",
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
        ENCRYPTION_KEY=f" {new} , {old} ",
    )
    assert not settings.single_workspace
    assert settings.fernet_keys == [new, old]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/standups", "postgresql+asyncpg://u:p@db:5432/standups"),
        ("postgresql://u@db/standups", "postgresql+asyncpg://u@db/standups"),
        ("postgresql+asyncpg://u@db/standups", "postgresql+asyncpg://u@db/standups"),
        ("sqlite+aiosqlite:////data/asyncstand.db", "sqlite+aiosqlite:////data/asyncstand.db"),
    ],
)
def test_database_url_is_normalised_to_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    settings = _load(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, DATABASE_URL=given
    )
    assert settings.database_url == expected


def test_slack_api_url_gets_a_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL="http://127.0.0.1:9999/api",
    )
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    settings = _load(monkeypatch, SLACK_API_URL="http://127.0.0.1:9999/api/")
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"SLACK_SIGNING_SECRET=from-dotenv\nSLACK_BOT_TOKEN={BOT_TOKEN}\nPORT=8080\n"
    )
    settings = load_settings(_env_file=env_file)
    assert settings.slack_signing_secret == "from-dotenv"
    assert settings.port == 8080


# --- refused, with a message that says how to fix it ------------------------------------------


def test_missing_signing_secret_names_it_and_where_to_find_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = _one_problem(monkeypatch, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert problem.startswith("SLACK_SIGNING_SECRET")
    assert "required" in problem
    assert "Basic Information" in problem and "Signing Secret" in problem


def test_empty_signing_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="", SLACK_BOT_TOKEN=BOT_TOKEN)
    assert "SLACK_SIGNING_SECRET" in problem


def test_neither_bot_token_nor_oauth_explains_both_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="x")
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        assert name in problem
    assert "one workspace" in problem and "many workspaces" in problem


def test_only_client_id_names_the_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_CLIENT_ID="1111.2222")
    assert "SLACK_CLIENT_SECRET" in problem
    assert "SLACK_CLIENT_ID" not in problem


def test_only_client_secret_names_the_missing_id(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_CLIENT_SECRET="abc123")
    assert "SLACK_CLIENT_ID" in problem
    assert "SLACK_CLIENT_SECRET" not in problem


def test_multi_workspace_without_encryption_key_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
    )
    assert "ENCRYPTION_KEY" in problem
    assert "multi-workspace" in problem and "Fernet" in problem


@pytest.mark.parametrize(
    ("keys", "position"),
    [("not-a-key", 1), ("{good},too-short", 2), ("{good},{good},!!!", 3)],
)
def test_bad_fernet_key_says_which_and_how_to_generate(
    monkeypatch: pytest.MonkeyPatch, keys: str, position: int
) -> None:
    good = Fernet.generate_key().decode()
    problem = _one_problem(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="client-secret",
        ENCRYPTION_KEY=keys.format(good=good),
    )
    assert problem.startswith("ENCRYPTION_KEY")
    assert f"key #{position} " in problem
    assert "Fernet.generate_key()" in problem
    assert good not in problem, "a valid key must not be echoed into the error"


@pytest.mark.parametrize(
    "url", ["mysql://u:p@db/asyncstand", "sqlite:///./asyncstand.db", "asyncstand.db"]
)
def test_bad_database_url_scheme_explains(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    problem = _one_problem(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, DATABASE_URL=url
    )
    assert problem.startswith("DATABASE_URL")
    assert "sqlite+aiosqlite://" in problem and "postgresql+asyncpg://" in problem


def test_slack_api_url_must_be_http(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = _one_problem(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL="slack.com"
    )
    assert problem.startswith("SLACK_API_URL")


@pytest.mark.parametrize("placeholder", ["changeme", "<your-secret>", "your-token", "CHANGEME"])
def test_placeholder_signing_secret_refused(
    monkeypatch: pytest.MonkeyPatch, placeholder: str
) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET=placeholder, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert problem.startswith("SLACK_SIGNING_SECRET")
    assert "placeholder" in problem


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("SLACK_BOT_TOKEN", "your-token"),
        ("SLACK_BOT_TOKEN", "<xoxb-your-token>"),
        ("SLACK_CLIENT_SECRET", "changeme"),
        ("SLACK_CLIENT_ID", "<your-client-id>"),
    ],
)
def test_placeholder_slack_credentials_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, placeholder: str
) -> None:
    env = {
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "client-secret",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        name: placeholder,
    }
    problems = _problems(monkeypatch, **env)
    assert any(p.startswith(name) and "placeholder" in p for p in problems), problems


def test_every_bad_field_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = _problems(
        monkeypatch,
        SLACK_SIGNING_SECRET="changeme",
        SLACK_BOT_TOKEN="your-token",
        DATABASE_URL="mysql://db/x",
    )
    named = {p.split(":", 1)[0] for p in problems}
    assert named == {"SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DATABASE_URL"}


@pytest.mark.parametrize("token", ["xoxp-111-222-abc", "xapp-1-A1-abc", "abc"])
def test_bot_token_must_be_a_bot_token(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    problem = _one_problem(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=token)
    assert problem.startswith("SLACK_BOT_TOKEN")
    assert "xoxb-" in problem
    assert token not in problem, "the refused token must not be echoed"


# --- limits -----------------------------------------------------------------------------------


def test_limits_have_defaults_and_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN)
    assert settings.max_standups_per_workspace == 200
    assert settings.max_participants_per_standup == 100
    assert settings.max_questions_per_standup == 10
    assert settings.max_answer_length == 3000
    assert settings.max_channel_participants == 1000  # a 1,000-person channel works
    lowered = _load(
        monkeypatch,
        SLACK_SIGNING_SECRET="x",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        MAX_STANDUPS_PER_WORKSPACE="5",
        MAX_PARTICIPANTS_PER_STANDUP="20",
        MAX_QUESTIONS_PER_STANDUP="20",
        MAX_ANSWER_LENGTH="500",
        MAX_CHANNEL_PARTICIPANTS="2500",
    )
    assert (lowered.limits.participants, lowered.limits.questions) == (20, 20)
    assert lowered.max_channel_participants == 2500
    assert (lowered.max_standups_per_workspace, lowered.limits.answer_length) == (5, 500)


@pytest.mark.parametrize(
    ("name", "value", "bound"),
    [
        ("MAX_PARTICIPANTS_PER_STANDUP", "101", "100"),  # Slack's people picker takes 100
        ("MAX_QUESTIONS_PER_STANDUP", "21", "20"),
        ("MAX_ANSWER_LENGTH", "3001", "3000"),  # Slack's input maximum
        ("MAX_STANDUPS_PER_WORKSPACE", "0", "1"),
        # Every step of a channel sync stays one SQL statement up to here.
        ("MAX_CHANNEL_PARTICIPANTS", "5001", "5000"),
        ("MAX_CHANNEL_PARTICIPANTS", "0", "1"),
    ],
)
def test_limits_beyond_what_slack_takes_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, bound: str
) -> None:
    problem = _one_problem(
        monkeypatch, SLACK_SIGNING_SECRET="x", SLACK_BOT_TOKEN=BOT_TOKEN, **{name: value}
    )
    assert problem.startswith(f"{name}: ") and bound in problem
