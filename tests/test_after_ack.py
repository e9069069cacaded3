"""The bounded work after an ack: replies queue behind each other, but a modal to open (its
trigger_id expires 3 s after the click) has its own lane and never waits behind them."""

from __future__ import annotations

import asyncio

from slack_bolt.context.async_context import AsyncBoltContext

from handlers.slack.context import AFTER_ACK_CONCURRENCY, AFTER_ACK_KEY, AfterAckSlots, after_ack


async def test_a_modal_is_not_held_behind_a_burst_of_replies() -> None:
    context = AsyncBoltContext()
    context[AFTER_ACK_KEY] = AfterAckSlots()
    release = asyncio.Event()
    started: list[int] = []

    async def reply(n: int) -> None:
        async with after_ack(context):
            started.append(n)
            await release.wait()

    burst = [asyncio.create_task(reply(n)) for n in range(10)]
    await asyncio.sleep(0.01)
    assert started == list(range(AFTER_ACK_CONCURRENCY))  # the rest wait their turn, in order

    async with asyncio.timeout(1):
        async with after_ack(context, opens_modal=True):
            opened = True
    assert opened and len(started) == AFTER_ACK_CONCURRENCY  # the replies are still held

    release.set()
    await asyncio.gather(*burst)
    assert started == list(range(10))
