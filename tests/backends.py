"""Where the test databases and Redis live, which backends a run covers
(``ASYNCSTAND_TEST_BACKENDS``), and the helpers tests that need Postgres itself share."""

from __future__ import annotations

import os
import socket

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "ASYNCSTAND_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ASYNCSTAND_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = [
    b.strip() for b in os.environ.get("ASYNCSTAND_TEST_BACKENDS", "sqlite,postgres").split(",")
]

# For tests (or modules, as ``pytestmark``) that need Postgres: run only on that backend.
postgres_only = pytest.mark.parametrize(
    "database_url",
    [
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                "postgres" not in BACKENDS, reason="ASYNCSTAND_TEST_BACKENDS excludes postgres"
            ),
        )
    ],
    indirect=True,
)


async def postgres_admin() -> asyncpg.Connection:
    """A connection to the server's maintenance database (to create, drop or disturb others)."""
    url = make_url(POSTGRES_URL)
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=url.database or "postgres",
        timeout=5,
    )


def free_port() -> int:
    """A local TCP port nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
