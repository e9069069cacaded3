"""Planning grows with change, not with size: an idle scheduler tick touches no standup whose
next prompt is hours away, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot import planning
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from storage import members, standups, workspaces
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Prompt, Standup

START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
PEOPLE = ("U0ANA0001", "U0BOB0001")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[tuple[Services, Clock]]:
    settings = load_settings(
        slack_signing_secret="s" * 32,
        slack_bot_token="xoxb-never-called",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no Slack call may happen
        database_url=database_url,
        _env_file=None,
    )
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    clock = Clock()
    services = Services(
        settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=clock
    )
    try:
        yield services, clock
    finally:
        await services.slack.close()
        await db.dispose()


async def add_standups(services: Services, team: str, count: int, local_time: str) -> None:
    """`count` daily standups (Berlin time) for two people whose profiles are known."""
    async with services.db.session() as session:
        workspace = await workspaces.ensure_workspace(session, team)
        for user in PEOPLE:
            await members.update_member_profile(
                session,
                workspace.id,
                user,
                name=user,
                tz="Europe/Berlin",
                is_bot=False,
                deleted=False,
                now=START,
            )
        for n in range(count):
            await standups.create_standup(
                session,
                workspace.id,
                participant_ids=list(PEOPLE),
                now=START,
                name=f"Team {n}",
                name_key=name_key(f"Team {n}"),
                channel_id="C0TEAM001",
                channel_private=False,  # known: planning looks nothing up in Slack
                questions=[{"text": "Today?", "type": "text"}],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=local_time,
                tz_mode="participant",
                owner_user_id=PEOPLE[0],
            )


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def idle_hour(services: Services, clock: Clock) -> int:
    """Statements of a tick's planning every five minutes for an hour after START."""
    with counting(services.db) as statements:
        for minutes in range(5, 65, 5):
            clock.now = START + dt.timedelta(minutes=minutes)
            await planning.plan_due(services, clock.now)
    return len(statements)


async def test_idle_ticks_issue_the_same_statements_for_10_and_200_standups(
    services: tuple[Services, Clock],
) -> None:
    services_, clock = services
    # 21:00 in Berlin is 20:00 UTC: twelve hours after START, nothing falls due meanwhile.
    await add_standups(services_, "T0SMALL01", 10, "21:00")
    await planning.plan_due(services_, START)  # the first plan: every standup is visited
    small = await idle_hour(services_, clock)

    clock.now = START
    await add_standups(services_, "T0LARGE01", 190, "21:00")
    await planning.plan_due(services_, START)
    large = await idle_hour(services_, clock)

    assert small == large == 12  # one query per tick, finding nothing to plan
    async with services_.db.session() as session:
        marks = (await session.execute(select(Standup.planned_until).distinct())).scalars().all()
    assert [m.astimezone(dt.UTC) for m in marks if m is not None] == [
        dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    ]


async def test_a_standup_is_planned_again_before_its_next_prompt_and_after_a_change(
    services: tuple[Services, Clock],
) -> None:
    services_, clock = services
    await add_standups(services_, "T0TEAM001", 2, "09:30")  # 08:30 UTC: due in 30 minutes
    await planning.plan_due(services_, START)

    async def prompt_count() -> int:
        async with services_.db.session() as session:
            return int((await session.execute(select(func.count(Prompt.id)))).scalar_one())

    assert await prompt_count() == 0  # beyond the ten-minute horizon
    clock.now = START + dt.timedelta(minutes=24)  # still more than five minutes ahead: idle
    await planning.plan_due(services_, clock.now)
    assert await prompt_count() == 0
    clock.now = START + dt.timedelta(minutes=26)  # within five minutes of the mark: planned
    await planning.plan_due(services_, clock.now)
    assert await prompt_count() == 4  # two standups x two people, due at 08:30
    async with services_.db.session() as session:
        standup = (await session.execute(select(Standup).limit(1))).scalar_one()
        # Tomorrow's 08:30 is the next, but a plan is looked at again within twelve hours;
        # an edit clears the mark (storage.standups.replan).
        assert standup.planned_until is not None
        assert standup.planned_until.astimezone(dt.UTC) == clock.now + planning.PLAN_AT_LEAST_EVERY
        await standups.replan(session, standup.workspace_id, standup.id)
    with counting(services_.db) as statements:
        await planning.plan_due(services_, clock.now)
    assert len(statements) > 1  # that standup was visited again
    assert await prompt_count() == 4  # and nothing was planned twice
