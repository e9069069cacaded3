"""Events are handled at least once and acted on once: an event id is recorded when its
handling starts and marked complete when it ends. Slack retries a delivery it got no 200 for;
the retry is ignored if the event was handled, or is being handled right now, and let through
if its earlier attempt died unfinished."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.runtime import Services
from storage import events
from storage.events import EventStart

# Slack retries for up to about an hour; ids are remembered well beyond that.
EVENT_MEMORY = dt.timedelta(days=2)
# An attempt that has not completed after this is taken to have died (our handlers take a
# second or two; Slack's own retries come after about 1 and 5 minutes).
IN_FLIGHT_FOR = dt.timedelta(seconds=10)
# Slack waits 3 seconds for our answer; a duplicate delivery waits this long for the other
# attempt to finish before asking Slack to try again later.
WAIT_FOR_OTHER_ATTEMPT = dt.timedelta(seconds=2)


class StillInFlight(Exception):
    """Another attempt at this event is running and has not finished yet: answer Slack with
    an error, so it delivers the event again later (by then we know how that attempt ended)."""


async def begin(services: Services, event_id: str, team_id: str | None) -> bool:
    """Whether to handle this delivery of an event (see the module's docstring). A delivery
    that arrives while another attempt runs waits a moment for it to finish; if it does not,
    StillInFlight is raised."""
    deadline = services.clock() + WAIT_FOR_OTHER_ATTEMPT
    while True:
        async with services.db.session() as session:
            start = await events.begin_event(
                session, event_id, team_id, services.clock(), IN_FLIGHT_FOR
            )
        if start in (EventStart.NEW, EventStart.RETAKEN):
            return True
        if start == EventStart.DONE:
            return False
        if services.clock() >= deadline:
            raise StillInFlight(event_id)
        await asyncio.sleep(0.1)


async def complete(services: Services, event_id: str) -> None:
    async with services.db.session() as session:
        await events.complete_event(session, event_id, services.clock())


async def abandon(services: Services, event_id: str) -> None:
    async with services.db.session() as session:
        await events.abandon_event(session, event_id)


async def forget_old(services: Services, now: dt.datetime | None = None) -> int:
    async with services.db.session() as session:
        return await events.forget_events_before(session, (now or services.clock()) - EVENT_MEMORY)
