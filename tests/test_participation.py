"""When a run closes, every participant gets a participation record of how it ended — the
data reports are built on — on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot import runs, standups
from bot.metrics import Metrics
from bot.outcomes import Created, RunStarted
from bot.people import Caller
from bot.rules.permissions import Actor
from bot.rules.validation import StandupDraft
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from storage import members as members_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Outcome, Participation, Prompt, PromptState
from tests.harness import BOT_TOKEN, SIGNING_SECRET
from tests.slack_fake import FakeSlack

PEOPLE = ["U0ANS0001", "U0SKIP001", "U0AWAY001", "U0MISS001", "U0FAIL001"]
CHANNEL = "C0TEAM001"
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@dataclass
class Clock:
    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    services: Services
    clock: Clock
    workspace_id: int


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with FakeSlack(token=BOT_TOKEN) as slack:
        slack.add_channel(CHANNEL, "team", bot_is_member=True)
        for user in PEOPLE:
            slack.add_user(user, user.lower(), tz="UTC")
        settings = load_settings(
            slack_signing_secret=SIGNING_SECRET,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.api_url,
            database_url=database_url,
            _env_file=None,
        )
        db = Database(database_url)
        await upgrade_to_head(db.engine)
        clock = Clock()
        services = Services(settings, db, SlackGateway(settings, None, db), clock=clock)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, slack.team_id)
            for user in PEOPLE:
                await members_db.update_member_profile(
                    session,
                    workspace.id,
                    user,
                    name=user,
                    tz="UTC",
                    is_bot=False,
                    deleted=False,
                    now=NOW,
                )
        try:
            yield World(services, clock, workspace.id)
        finally:
            await services.slack.close()
            await db.dispose()


async def test_closing_a_run_records_each_persons_outcome_once(world: World) -> None:
    caller = Caller.known(world.workspace_id, Actor(PEOPLE[0], is_admin=False))
    draft = StandupDraft(
        name="Daily",
        channel_id=CHANNEL,
        questions=["Yesterday?"],
        participant_ids=PEOPLE,
        weekdays=frozenset(range(7)),
        local_time="23:59",
        tz_mode="fixed",
        fixed_tz="UTC",
    )
    client = world.services.slack.client(BOT_TOKEN)
    created = await standups.create(world.services, client, caller, draft)
    assert isinstance(created, Created)
    assert await standups.run_now(world.services, caller, "Daily") == RunStarted("Daily", 5)
    # How each person's day went (as the scheduler and the buttons would have left it).
    final = [
        PromptState.ANSWERED,
        PromptState.SKIPPED,
        PromptState.AWAY,
        PromptState.SENT,
        PromptState.FAILED,
    ]
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(Prompt, Member.slack_user_id).join(Member, Member.id == Prompt.member_id)
        )
        for prompt, user in rows:
            prompt.state = final[PEOPLE.index(user)]

    world.clock.now = NOW + dt.timedelta(hours=5)  # past the default four-hour window
    assert await runs.close_due(world.services, Metrics()) == 1
    assert await runs.close_due(world.services, Metrics()) == 0  # closed once

    async with world.services.db.session() as session:
        records = await session.execute(
            select(Member.slack_user_id, Participation).join(
                Member, Member.id == Participation.member_id
            )
        )
        outcomes = {user: record.outcome for user, record in records}
    assert outcomes == {
        "U0ANS0001": Outcome.ANSWERED,
        "U0SKIP001": Outcome.SKIPPED,
        "U0AWAY001": Outcome.AWAY,
        "U0MISS001": Outcome.MISSED,
        "U0FAIL001": Outcome.UNDELIVERABLE,
    }
