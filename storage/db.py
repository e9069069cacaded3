"""Engine and the one helper that opens a session per unit of work (request, job, command)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # WAL: readers never block the writer, and a commit is not a full disk sync.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets foreign keys on and a busy timeout. Statement
    parameters (answers, tokens) never appear in SQLAlchemy's errors or logs."""
    kwargs.setdefault("hide_parameters", True)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, **kwargs)


class Database:
    """Owns the engine; `session()` is the only way code gets a session."""

    def __init__(self, database_url: str, **engine_kwargs: Any) -> None:
        self.url = database_url
        self.engine = make_engine(database_url, **engine_kwargs)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on error, always close."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (the one place that knows it is a CursorResult)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def upsert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT support (SQLite and Postgres both have it)."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)
