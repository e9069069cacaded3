"""Group commit: many concurrent callers' small writes in one transaction.

Each caller still waits for its own write (so the order "marked, then posted, then recorded"
holds for every prompt), but while one transaction is being written the next callers' items
gather, and they go together in the next one. SQLite has a single writer: a fan-out of 10,000
prompts then costs hundreds of commits instead of tens of thousands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 500  # items per transaction, so one statement's parameters stay bounded


class GroupWriter(Generic[Item, Result]):
    """`write(items)` returns one result per item, in order; it runs in its own transaction.
    A failed write fails every caller of that group (each retries as it would alone)."""

    def __init__(self, write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._write = write
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        group: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._queue:
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
                try:
                    results = await self._write([item for item, _ in group])
                except Exception as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():  # a caller cancelled meanwhile: its write still holds
                        future.set_result(result)
        except asyncio.CancelledError:  # shutting down: nobody waits forever
            for _, future in [*group, *self._queue]:
                future.cancel()
            self._queue = []
            raise
