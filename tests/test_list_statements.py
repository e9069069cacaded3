"""`/standup list` (bot.standups.overview) costs the same statements for 3 standups as for 30,
on both databases: acknowledging a burst of list commands never waits behind queries that grow
with the workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot import standups
from tests.test_usecases import ADMIN, PEER, World, create, world

__all__ = ["world"]  # the fixture, shared with tests.test_usecases


async def list_statements(world: World, user: str, *, admin: bool = False) -> tuple[int, int]:
    """(standups listed, SQL statements issued) for one list by `user`."""
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = world.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        listed = await standups.overview(world.services, world.caller(user, admin=admin))
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(listed), len(statements)


async def test_listing_3_or_30_standups_issues_the_same_statements(world: World) -> None:
    for index in range(3):
        await create(world, name=f"Team {index}")
    small = await list_statements(world, PEER)
    small_admin = await list_statements(world, ADMIN, admin=True)
    for index in range(3, 30):
        await create(world, name=f"Team {index}")
    large = await list_statements(world, PEER)
    large_admin = await list_statements(world, ADMIN, admin=True)
    assert (small[0], large[0]) == (3, 30)
    assert small[1] == large[1]
    assert small_admin[1] == large_admin[1]
    assert large[1] <= 3
