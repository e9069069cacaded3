"""What every Slack listener needs: our services, the requesting workspace and caller, and a
safe reading of ids that arrive in button values and modal metadata."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.people import Caller, slack_caller
from bot.runtime import Services
from bot.workspaces import workspace_for

SERVICES_KEY = "asyncstand_services"
AFTER_ACK_KEY = "asyncstand_after_ack"
# Listeners' work after their ack() (queries, replies, modals) runs at most this many at a time
# (two: one computes while the other waits for the database or Slack); the rest wait their turn
# in arrival order, parked: under a burst the event loop keeps acknowledging new requests instead
# of sharing itself with a hundred follow-ups (bench/ack_latency.py). Work that opens a modal has
# its own lane of the same size: its trigger_id expires 3 s after the click, so it must not wait
# behind a burst of replies that could as well come a few seconds later.
AFTER_ACK_CONCURRENCY = 2

Listener = Callable[[AsyncArgs], Awaitable[None]]


@dataclass(frozen=True)
class AfterAckSlots:
    """The two bounded lanes for work after an ack: replies, and modals to open."""

    replies: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(AFTER_ACK_CONCURRENCY)
    )
    modals: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(AFTER_ACK_CONCURRENCY)
    )


def services_of(context: AsyncBoltContext) -> Services:
    """The Services a middleware put into the listener context."""
    services = context[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def after_ack(context: AsyncBoltContext, *, opens_modal: bool = False) -> asyncio.Semaphore:
    """The slots for a listener's work after its ack: `async with after_ack(context): ...`;
    `opens_modal` for work that opens a modal with the request's trigger_id."""
    slots = context[AFTER_ACK_KEY]
    assert isinstance(slots, AfterAckSlots)
    return slots.modals if opens_modal else slots.replies


def acked(listener: Listener, *, opens_modal: bool = False) -> Listener:
    """A button listener that acknowledges at once and does its work in the after-ack slots
    (for listeners with nothing to say in the ack itself)."""

    @functools.wraps(listener)
    async def run(args: AsyncArgs) -> None:
        await args.ack()
        async with after_ack(args.context, opens_modal=opens_modal):
            await listener(args)

    return run


class PooledRespond(AsyncRespond):
    """respond() through the app's pooled HTTP session (Bolt's own opens a new session, and a
    new connection, for every reply to a response_url)."""

    def __init__(
        self, response_url: str, session_provider: Callable[[], aiohttp.ClientSession]
    ) -> None:
        super().__init__(response_url=response_url)
        self._session_provider = session_provider

    async def __call__(  # type: ignore[override]
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[Any] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        **more: Any,
    ) -> WebhookResponse:
        assert self.response_url is not None
        message = (
            _build_message(**text)
            if isinstance(text, dict)
            else _build_message(
                text=text,
                blocks=blocks,
                response_type=response_type,
                replace_original=replace_original,
                delete_original=delete_original,
                **more,
            )
        )
        client = AsyncWebhookClient(url=self.response_url, session=self._session_provider())
        return await client.send_dict(message)


async def workspace_id_of(context: AsyncBoltContext) -> int:
    """Our workspace row for the request's team (created on first contact)."""
    team_id = context.team_id or context.enterprise_id
    if not team_id:
        raise LookupError("request carries no team id")
    return await workspace_for(services_of(context), team_id, context.enterprise_id)


async def caller_of(context: AsyncBoltContext, client: AsyncWebClient, user_id: str) -> Caller:
    services = services_of(context)
    return slack_caller(services, client, await workspace_id_of(context), user_id)


def parse_id(value: Any) -> int | None:
    """A database id from a button value or private_metadata; None unless a plausible one."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None  # beyond BIGINT the query itself would fail
