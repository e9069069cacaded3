"""bot.group_commit: concurrent callers' writes share transactions, each caller gets its own
result, and a failed write fails exactly the callers in its group."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.group_commit import GroupWriter


async def test_concurrent_items_are_written_in_few_groups_each_caller_getting_its_result() -> None:
    groups: list[list[int]] = []

    async def write(items: Sequence[int]) -> list[int]:
        groups.append(list(items))
        await asyncio.sleep(0.01)  # a transaction takes a while: the next items gather
        return [n * n for n in items]

    writer: GroupWriter[int, int] = GroupWriter(write)
    results = await asyncio.gather(*(writer.submit(n) for n in range(100)))
    assert results == [n * n for n in range(100)]
    assert sorted(n for group in groups for n in group) == list(range(100))  # each once
    assert len(groups) <= 2  # the first alone (or with all), then everything gathered meanwhile


async def test_a_failed_write_fails_its_group_and_the_next_group_is_written() -> None:
    calls = 0

    async def write(items: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise RuntimeError("database is locked")
        return [item.upper() for item in items]

    writer: GroupWriter[str, str] = GroupWriter(write)
    first = asyncio.create_task(writer.submit("a"))
    await asyncio.sleep(0)  # "a" is being written alone
    second = asyncio.create_task(writer.submit("b"))
    with pytest.raises(RuntimeError):
        await first
    assert await second == "B"
    assert await writer.submit("c") == "C"  # a new writer task after the queue ran dry
