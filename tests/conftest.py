"""Shared fixtures: a real database per test (SQLite file, and a fresh Postgres database),
the Slack stand-in, and the app running over real HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
import redis.asyncio as redis
from hypothesis import settings
from sqlalchemy.engine import make_url

from tests.backends import BACKENDS, POSTGRES_URL, REDIS_URL, postgres_admin

# Property tests check what holds, not how fast: on a busy two-core CI machine a single example
# may take longer than Hypothesis's default 200 ms deadline without anything being wrong.
settings.register_profile("asyncstand", deadline=None)
settings.load_profile("asyncstand")


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend: SQLite file, or a new Postgres database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'asyncstand.db'}"
        return
    try:
        admin = await postgres_admin()
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Postgres not reachable at {POSTGRES_URL}: {exc}")
    name = f"asyncstand_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The shared local Redis (tests use keys of their own); fails in CI when it is missing."""
    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    yield REDIS_URL
