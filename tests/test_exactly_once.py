"""Exactly once, proven: replicas of `python app.py` on Postgres + Redis, all talking to one
Slack stand-in (as real replicas talk to one Slack), killed with SIGKILL mid fan-out.

Each replica has a bot token of its own for the same workspace, so the stand-in's calls say
which replica made them. Prompt DMs carry message metadata naming their prompt; a replica that
takes over a dead one's claims looks for that metadata in the person's DM before sending, so a
DM that reached Slack just before its sender died is recorded, not sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt, PromptState
from tests.app_process import AppProcess, ProcessPool
from tests.backends import free_port, postgres_only
from tests.harness import SIGNING_SECRET, is_delivered_prompt
from tests.slack_fake import Call, FakeSlack
from tests.test_replicas import assert_clean, current_minute, eventually, start_all

pytestmark = postgres_only

CHANNEL = "C0STANDUP1"
PEOPLE = [f"U0Q{n:06d}" for n in range(100)]
OWNER = PEOPLE[0]
# Short leases make a dead replica's claims expire in seconds, not 40: the rounds stay quick.
LEASE_SECONDS = 4


class Replicas:
    """`python app.py` processes of one workspace, each with its own token, one stand-in."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, slack: FakeSlack):
        self.pool = ProcessPool(tmp_path, "exactly-once")
        self.database_url, self.redis_url, self.slack = database_url, redis_url, slack
        self.tokens: dict[str, AppProcess] = {}

    def launch(self, **settings: str) -> AppProcess:
        token = f"xoxb-once-{uuid.uuid4().hex}"
        self.slack.add_token(token, self.slack.team_id)
        env = {
            **self.pool.base_env(),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": token,
            "SLACK_API_URL": self.slack.api_url,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PORT": str(free_port()),
            "SCHEDULER_TICK_SECONDS": "0.5",
            "PROMPT_LEASE_SECONDS": str(LEASE_SECONDS),
            "LOG_FORMAT": "json",
            **settings,
        }
        process = self.pool.new(env, ())
        self.tokens[token] = process
        return process

    def sender_of(self, call: Call) -> AppProcess:
        return self.tokens[call.token or ""]


class SpreadSlack(FakeSlack):
    """chat.postMessage answers after 0.3 s, plus 40 ms for each post of the current fan-out
    before it (at most 3 s more): a 100-person fan-out's DMs land over several seconds, so a
    kill after n of them always finds others in flight, however busy the machine is."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.posts = 0

    async def _delay(self, method: str) -> None:
        if method == "chat.postMessage":
            self.posts += 1
            await asyncio.sleep(0.3 + min(0.04 * (self.posts % len(PEOPLE)), 3.0))
        await super()._delay(method)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = SpreadSlack(token=f"xoxb-seed-{uuid.uuid4().hex}")
    for user in PEOPLE:
        fake.add_user(user, user.lower(), tz="UTC")
    fake.add_channel(CHANNEL, "standup", bot_is_member=True)
    async with fake:
        yield fake


@pytest.fixture
async def replicas(
    tmp_path: Path, database_url: str, redis_url: str, slack: FakeSlack
) -> AsyncIterator[Replicas]:
    group = Replicas(tmp_path, database_url, redis_url, slack)
    try:
        yield group
    finally:
        await group.pool.kill_all()


async def seed_standup(
    database_url: str, team_id: str, name: str, *, due: dt.datetime, dms_known: bool
) -> None:
    """A standup for all PEOPLE due at `due` (UTC). With `dms_known`, their DM channels are
    already cached (as after an earlier run), so no conversations.open is needed."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name=name,
                name_key=name_key(name),
                channel_id=CHANNEL,
                questions=["What did you do?", "Any blockers?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=due.strftime("%H:%M"),
                tz_mode="fixed",
                fixed_tz="UTC",
                owner_user_id=OWNER,
                participant_ids=PEOPLE,
                now=due - dt.timedelta(seconds=1),
            )
            if dms_known:
                for user in PEOPLE:
                    await session.execute(
                        update(Member)
                        .where(Member.workspace_id == workspace.id, Member.slack_user_id == user)
                        .values(dm_channel_id="D" + user[1:])
                    )
    finally:
        await db.dispose()


async def prompt_states(database_url: str, name: str) -> dict[int, PromptState]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            from storage.models import Standup

            rows = await session.execute(
                select(Prompt.id, Prompt.state)
                .join(Standup, Standup.id == Prompt.standup_id)
                .where(Standup.name == name)
            )
            return {pid: state for pid, state in rows}
    finally:
        await db.dispose()


async def wait_all_sent(
    database_url: str,
    name: str,
    timeout: float,  # noqa: ASYNC109 - polling helper
    alive: list[AppProcess],
) -> dict[int, PromptState]:
    """Poll until every prompt of the standup is recorded as sent; return them."""
    states: dict[int, PromptState] = {}

    async def all_sent() -> bool:
        nonlocal states
        states = await prompt_states(database_url, name)
        return len(states) == len(PEOPLE) and set(states.values()) == {PromptState.SENT}

    await eventually(all_sent, f"every prompt of {name} sent", timeout, alive)
    return states


def prompt_posts(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls if is_delivered_prompt(c)]


def prompt_id_of(call: Call) -> int:
    metadata: dict[str, Any] = call.body.get("metadata") or {}
    if isinstance(metadata, str):
        import json

        metadata = json.loads(metadata)
    return int(metadata["event_payload"]["id"])


def dms_in_slack(slack: FakeSlack, prompt_ids: set[int]) -> Counter[int]:
    """How many prompt DMs Slack holds per prompt — whoever posted them, whatever they heard."""
    counts: Counter[int] = Counter()
    for user in PEOPLE:
        for message in slack.all_messages("D" + user[1:]):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == "asyncstand_prompt"
                and payload.get("id") in prompt_ids
            ):
                counts[payload["id"]] += 1
    return counts


async def test_a_rate_limited_fan_out_on_two_replicas_sends_each_prompt_once(
    replicas: Replicas, slack: FakeSlack, database_url: str
) -> None:
    """100 people never DMed before, due in one minute: conversations.open is paced at about
    50 a minute (shared through Redis), so the fan-out outlasts the claims' lease many times
    over. The sender keeps extending its leases, so the other replica never takes over.

    Each replica here has a token (so rate-limit buckets) of its own: with claims capped at
    50 per workspace the second replica would send the second half from its own burst, so
    the cap is lifted above the fan-out's size (one claim takes all 100)."""
    whole = {"PROMPT_CLAIM_PER_WORKSPACE": str(len(PEOPLE))}
    first, second = replicas.launch(**whole), replicas.launch(**whole)
    await start_all(first, second)
    await slack.wait_for("auth.test", count=2)
    due = current_minute()
    await seed_standup(database_url, slack.team_id, "Daily", due=due, dms_known=False)
    states = await wait_all_sent(database_url, "Daily", 150, [first, second])
    await slack.wait_idle(quiet=1.5)
    counts = dms_in_slack(slack, set(states))
    assert set(counts) == set(states)
    assert max(counts.values()) == 1, {k: v for k, v in counts.items() if v > 1}
    opens = [c for c in slack.calls_to("conversations.open") if c.ok]
    assert len(opens) >= len(PEOPLE)  # the fan-out really waited for rate-limit slots
    assert max(c.at for c in opens) - min(c.at for c in opens) > 3 * LEASE_SECONDS
    assert await first.stop() == 0 and await second.stop() == 0
    assert_clean(first)
    assert_clean(second)


@pytest.mark.parametrize("rounds", [[1, 35, 80]])
async def test_replicas_killed_mid_fan_out_send_each_prompt_exactly_once(
    replicas: Replicas, slack: FakeSlack, database_url: str, rounds: list[int]
) -> None:
    """Several rounds: a 100-person fan-out starts, the replica sending it is SIGKILLed after
    it posted n DMs (with posts in flight: the stand-in spreads them over seconds), and a fresh
    replica joins. Every round ends with every prompt in Slack exactly once and recorded."""
    alive = [replicas.launch(), replicas.launch()]
    await start_all(*alive)
    await slack.wait_for("auth.test", count=2)
    killed: list[AppProcess] = []
    for number, kill_after in enumerate(rounds):
        name = f"Round {number}"
        slack.clear()
        due = current_minute()
        await seed_standup(database_url, slack.team_id, name, due=due, dms_known=True)

        await eventually(
            lambda n=kill_after: len(prompt_posts(slack)) >= n,  # type: ignore[misc]
            f"{kill_after} DMs of {name}",
            60,
            alive,
        )
        victim = replicas.sender_of(prompt_posts(slack)[-1])
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        assert await victim.wait_exit(10) == -signal.SIGKILL
        alive.remove(victim)
        killed.append(victim)
        posted_when_killed = len(prompt_posts(slack))
        assert posted_when_killed < len(PEOPLE), "the kill should land mid fan-out"
        newcomer = replicas.launch()
        await start_all(newcomer)
        alive.append(newcomer)

        states = await wait_all_sent(database_url, name, 60 + LEASE_SECONDS, alive)
        await slack.wait_idle(quiet=1.5)
        counts = dms_in_slack(slack, set(states))
        lost = set(states) - set(counts)
        duplicated = {pid: n for pid, n in counts.items() if n > 1}
        assert (lost, duplicated) == (set(), {}), f"{name}: lost {lost}, twice {duplicated}"
        summaries = [
            m
            for m in slack.all_messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_type") == "asyncstand_summary"
        ]
        assert len(summaries) == number + 1, f"{name}: one summary per run"
    for process in alive:
        assert await process.stop() == 0
        assert_clean(process)
