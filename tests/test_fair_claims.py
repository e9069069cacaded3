"""Fair fan-out at the storage level, on both databases: one big workspace's due prompts never
hold back small workspaces' prompts due in the same minute."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import func, update

from bot.delivery import Delivery
from bot.metrics import Metrics
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from storage import jobs, prompts, standups, workspaces
from storage import runs as run_rows
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member
from tests.slack_fake import DEFAULT_TOKEN, FakeSlack

DUE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=40)
BIG, SMALL, SMALL_SIZE = 200, 10, 5


@dataclass
class Seeded:
    db: Database
    big: int
    small: list[int]


def users_of(team: str, people: int) -> list[str]:
    return [f"U{team[-5:]}{n:05d}" for n in range(people)]


def channel_of(team: str) -> str:
    return f"C{team[-6:]}"


async def _seed_workspace(db: Database, team: str, people: int, offset: int) -> int:
    """A workspace with one standup of `people`, each with a prompt due at DUE (plus
    `offset` µs: the big workspace's prompts come first in global due order)."""
    async with db.session() as session:
        workspace = await workspaces.ensure_workspace(session, team)
        users = users_of(team, people)
        standup = await standups.create_standup(
            session,
            workspace.id,
            participant_ids=users,
            now=DUE - dt.timedelta(days=1),
            name="Daily",
            name_key=name_key("Daily"),
            channel_id=channel_of(team),
            questions=["Yesterday?"],
            weekday_mask=weekdays_to_mask(range(7)),
            local_time="09:00",
            tz_mode="fixed",
            fixed_tz="UTC",
            owner_user_id=users[0],
        )
        run = await run_rows.get_or_create_run(
            session, workspace.id, standup, DUE.date(), DUE + dt.timedelta(hours=4)
        )
        members = await standups.participants_by_user(session, workspace.id, standup.id)
        for member_id in sorted(members.values()):
            await prompts.insert_prompt(
                session,
                workspace.id,
                run=run,
                member_id=member_id,
                due_at=DUE + dt.timedelta(microseconds=offset),
            )
        return workspace.id


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[Seeded]:
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    try:
        big = await _seed_workspace(db, "T0BIG0000", BIG, 0)
        small = [await _seed_workspace(db, f"T0SMALL{n:03d}", SMALL_SIZE, 1) for n in range(SMALL)]
        yield Seeded(db, big, small)
    finally:
        await db.dispose()


TEAMS = ["T0BIG0000", *(f"T0SMALL{n:03d}" for n in range(SMALL))]


async def claim(
    db: Database, token: str, *, per_workspace: int | None = None, busy: Sequence[int] = ()
) -> Counter[int]:
    async with db.session() as session:
        claimed = await jobs.claim_due_batch(
            session,
            DUE + dt.timedelta(seconds=1),
            LEASE,
            token,
            200,
            per_workspace=per_workspace,
            busy=busy,
        )
    return Counter(w for w, _ in claimed)


async def test_strict_due_order_gives_the_first_batch_to_the_big_workspace(seeded: Seeded) -> None:
    """The baseline the fairness is measured against: 200 of the big one, none of the rest."""
    first = await claim(seeded.db, "a" * 32)
    assert first == Counter({seeded.big: 200})


async def test_a_per_workspace_cap_claims_every_small_workspace_in_the_first_batch(
    seeded: Seeded,
) -> None:
    first = await claim(seeded.db, "a" * 32, per_workspace=50)
    assert first[seeded.big] == 50
    assert {w: first[w] for w in seeded.small} == dict.fromkeys(seeded.small, SMALL_SIZE)
    # The rest of the big workspace follows, at most the cap per batch; nothing twice.
    second = await claim(seeded.db, "b" * 32, per_workspace=50)
    assert second == Counter({seeded.big: 50})


async def test_a_busy_workspace_is_left_out_of_the_claim_and_stays_pending(seeded: Seeded) -> None:
    """A workspace still being sent (or waiting out a rate limit) does not take a batch's room:
    its prompts stay claimable for a later round."""
    first = await claim(seeded.db, "a" * 32, per_workspace=50, busy=[seeded.big])
    assert seeded.big not in first
    assert sum(first.values()) == SMALL * SMALL_SIZE
    later = await claim(seeded.db, "b" * 32, per_workspace=50)
    assert later == Counter({seeded.big: 50})


# --- at the HTTP boundary: the DMs as Slack receives them ---------------------------------------


@pytest.mark.parametrize("cap", [50, 0])
async def test_small_workspaces_dms_reach_slack_first_however_big_the_other_fan_out(
    seeded: Seeded, database_url: str, cap: int
) -> None:
    """One tick's delivery against the Slack stand-in: with claims capped per workspace every
    small workspace's DM is among the first hundred to reach Slack; in strict due order (cap
    0, the baseline) the big workspace's 200 all come first."""
    async with seeded.db.session() as session:  # known DM channels: no conversations.open
        await session.execute(
            update(Member).values(dm_channel_id=func.replace(Member.slack_user_id, "U", "D"))
        )
    async with FakeSlack() as slack:
        for team, people in zip(TEAMS, [BIG] + [SMALL_SIZE] * SMALL, strict=True):
            for user in users_of(team, people):
                slack.add_user(user, user.lower(), tz="UTC")
            slack.add_channel(channel_of(team), team.lower(), bot_is_member=True)
        settings = load_settings(
            slack_signing_secret="s" * 32,
            slack_bot_token=DEFAULT_TOKEN,
            slack_api_url=slack.api_url,
            database_url=database_url,
            prompt_claim_per_workspace=cap,
            _env_file=None,
        )
        services = Services(
            settings=settings,
            db=seeded.db,
            slack=SlackGateway(settings, None, seeded.db),
            clock=lambda: DUE + dt.timedelta(seconds=1),
        )
        try:
            sent = await Delivery(services, Metrics()).send_due()
        finally:
            await services.slack.close()
        dms = [
            str(c.body["channel"])
            for c in slack.calls_to("chat.postMessage")
            if c.ok and str(c.body["channel"]).startswith("D")
        ]
    assert sent == len(dms) == BIG + SMALL * SMALL_SIZE
    big_dm = "D" + users_of(TEAMS[0], 1)[0][1:-5]  # the big workspace's DM channels' prefix
    small_at = [n for n, channel in enumerate(dms) if not channel.startswith(big_dm)]
    if cap:
        assert max(small_at) < 100, small_at
    else:
        assert min(small_at) >= BIG, small_at
