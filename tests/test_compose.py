"""docker-compose.yml, read with PyYAML: the services, their health checks, the app's roles and
settings, the named volume. (`docker compose config` validates it in .ci/run where Docker runs.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import app as app_module
from bot.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
# ${NAME}, ${NAME:-default}, ${NAME:?error}: compose's interpolation.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::?[-?](?P<rest>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def interpolate(value: str, env: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: env.get(m["name"], m["rest"] or ""), value)


def test_the_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", "web", "worker"}


def test_postgres_keeps_its_data_in_a_named_volume_and_is_checked(
    compose: dict[str, Any],
) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    [volume] = postgres["volumes"]
    name, target = volume.split(":")
    assert target == "/var/lib/postgresql/data"
    assert name in compose["volumes"]  # named, declared: survives `docker compose down`
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "ports" not in postgres  # only the app reaches it
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_redis_is_checked(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


@pytest.mark.parametrize("role", ["web", "worker"])
def test_one_app_process_per_role(compose: dict[str, Any], role: str) -> None:
    service = compose["services"][role]
    assert service["build"] == "." and service["image"] == "asyncstand:local"
    assert service["command"] == ["python", "app.py", "--role", role]
    # app.py's own parser takes it.
    assert app_module._parser().parse_args(service["command"][2:]).role == role
    assert service["env_file"] == ".env"
    assert service["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("role", ["web", "worker"])
def test_the_app_health_check_asks_readyz_on_its_port(compose: dict[str, Any], role: str) -> None:
    service = compose["services"][role]
    check = service["healthcheck"]
    assert check["test"][:3] == ["CMD", "python", "-c"]
    port = service["environment"]["PORT"]
    assert f"http://127.0.0.1:{port}/readyz" in check["test"][3]
    assert check["start_period"]  # migrations run first


@pytest.mark.parametrize("role", ["web", "worker"])
def test_the_app_uses_the_composed_postgres_and_redis(compose: dict[str, Any], role: str) -> None:
    environment = compose["services"][role]["environment"]
    env = {"POSTGRES_PASSWORD": "pw"}
    settings = load_settings(
        _env_file=None,
        slack_signing_secret="x",
        slack_bot_token="xoxb-1",
        role=role,
        **{name.lower(): interpolate(value, env) for name, value in environment.items()},
    )
    assert settings.database_url == "postgresql+asyncpg://asyncstand:pw@postgres:5432/asyncstand"
    assert settings.redis_url == "redis://redis:6379/0"
    postgres = compose["services"]["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == ("asyncstand", "asyncstand")


def test_only_the_web_process_publishes_a_port(compose: dict[str, Any]) -> None:
    assert compose["services"]["web"]["ports"] == ["${WEB_PORT:-3000}:3000"]
    assert "ports" not in compose["services"]["worker"]  # so `--scale worker=N` works


def test_every_variable_it_reads_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    documented = (ROOT / ".env.example").read_text(encoding="utf-8")
    used = {m["name"] for m in VARIABLE.finditer(COMPOSE.read_text(encoding="utf-8"))}
    assert used == {"POSTGRES_PASSWORD", "WEB_PORT"}
    for name in used:
        assert f"# {name}=" in documented, f"{name} is not in .env.example"
