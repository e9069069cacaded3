"""Bring the schema to the newest Alembic revision; safe when several replicas start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant: every replica takes the same Postgres advisory lock while migrating.
_MIGRATION_LOCK_ID = 0x5A5D_0001


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Run pending migrations in one transaction (Postgres: under an advisory lock)."""
    await migrate(engine, "head")


async def migrate(engine: AsyncEngine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) to `revision` in one transaction (Postgres: under an advisory
    lock, so replicas starting together take turns).

    SQLite changes some tables by copying them (Alembic's batch mode): with foreign keys on,
    dropping the old copy would cascade-delete every row that references it. So they are off
    while migrating (a PRAGMA only works outside a transaction), checked, and on again.
    """

    def step(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(step)
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.commit()  # SQLite itself began no transaction for a PRAGMA
        try:
            async with connection.begin():
                await connection.run_sync(step)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
