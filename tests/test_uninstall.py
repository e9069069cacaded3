"""Uninstall and token revocation: the workspace's tokens are forgotten, its scheduled work
stops (no Web API call ever carries its token again), other workspaces keep working, and a
reinstall picks up where the team left off."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry, Installation, Prompt, Workspace
from tests.harness import Clock, RunningApp, is_prompt, start_app
from tests.multi_workspace import create_standup, install, requests_for, start_multi
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests, app_uninstalled_event, tokens_revoked_event

TEAM_A, TEAM_B = "T0TEAM001", "T0TEAM002"  # A is the fake's default team
ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL_A, CHANNEL_B = "C0STANDA01", "C0STANDB01"


def jump_to(clock: Clock, instant: dt.datetime) -> None:
    clock.advance(seconds=(instant - clock()).total_seconds())


def next_slot(clock: Clock) -> dt.datetime:
    """A UTC minute comfortably ahead, so nothing is planned for it until the clock jumps."""
    return (clock() + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)


async def prompt_states(database_url: str) -> dict[str, list[str]]:
    """Prompt states by workspace team id."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Workspace.team_id, Prompt.state)
                .join(Prompt, Prompt.workspace_id == Workspace.id)
                .order_by(Prompt.id)
            )
            states: dict[str, list[str]] = {}
            for team_id, state in rows.all():
                states.setdefault(team_id, []).append(state)
            return states
    finally:
        await db.dispose()


async def wait_for_prompts(database_url: str, teams: set[str]) -> None:
    """Until the scheduler has planned a prompt row for each of these workspaces (8 s at most)."""
    deadline = asyncio.get_running_loop().time() + 8.0
    while True:
        states = await prompt_states(database_url)
        if teams <= set(states):
            return
        assert asyncio.get_running_loop().time() < deadline, f"no prompts planned: {states}"
        await asyncio.sleep(0.1)


async def send_uninstall(requests: SlackRequests, order: str, bot_user_id: str) -> None:
    """Both events in the given order, then Slack's retries of each: every one gets 200."""
    events = [
        ("Ev0UNINST1", app_uninstalled_event()),
        ("Ev0REVOKE1", tokens_revoked_event(bot=(bot_user_id,))),
    ]
    if order == "revoked_first":
        events.reverse()
    for event_id, event in events:
        status, text = await requests.event(event, event_id=event_id)
        assert status == 200, text
    for retry_num in (1, 2):
        for event_id, event in events:
            status, text = await requests.event(event, event_id=event_id, retry_num=retry_num)
            assert status == 200, text


@pytest.mark.parametrize("order", ["uninstalled_first", "revoked_first"])
async def test_uninstall_stops_everything_for_that_workspace_only(
    database_url: str, order: str
) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", team_id=TEAM_A)
        slack.add_user(BOB, "bob", team_id=TEAM_B)
        slack.add_channel(CHANNEL_A, "standup-a", bot_is_member=True)
        slack.add_channel(CHANNEL_B, "standup-b", bot_is_member=True)
        app = await start_multi(database_url, slack, clock=clock)
        try:
            await _uninstall_then_reinstall(app, slack, clock, database_url, order)
        finally:
            await app.stop()


async def _uninstall_then_reinstall(
    app: RunningApp, slack: FakeSlack, clock: Clock, database_url: str, order: str
) -> None:
    token_a, token_b = "xoxb-team-a-0001", "xoxb-team-b-0001"
    await install(
        app,
        slack,
        "code-a",
        team_id=TEAM_A,
        team_name="Team A",
        bot_token=token_a,
        installer=ALICE,
    )
    await install(
        app,
        slack,
        "code-b",
        team_id=TEAM_B,
        team_name="Team B",
        bot_token=token_b,
        installer=BOB,
    )
    team_a, team_b = requests_for(app, TEAM_A), requests_for(app, TEAM_B)
    due = next_slot(clock)
    time = due.strftime("%H:%M")
    await create_standup(
        team_a, slack, ALICE, name="Alpha", channel=CHANNEL_A, participants=[ALICE], time=time
    )
    await create_standup(
        team_b, slack, BOB, name="Beta", channel=CHANNEL_B, participants=[BOB], time=time
    )

    # A minute before: both prompts are planned (pending), none sent yet.
    jump_to(clock, due - dt.timedelta(minutes=1))
    await wait_for_prompts(database_url, {TEAM_A, TEAM_B})
    assert await prompt_states(database_url) == {TEAM_A: ["pending"], TEAM_B: ["pending"]}

    await send_uninstall(team_a, order, slack.bot_user_id)

    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = {
                w.team_id: (w, i)
                for w, i in (
                    await session.execute(
                        select(Workspace, Installation).join(
                            Installation, Installation.workspace_id == Workspace.id
                        )
                    )
                ).all()
            }
            uninstalls = (
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "uninstall"))
            ).all()
    finally:
        await db.dispose()
    workspace_a, install_a = rows[TEAM_A]
    assert not workspace_a.active
    assert install_a.bot_token_encrypted is None and install_a.bot_refresh_token_encrypted is None
    workspace_b, install_b = rows[TEAM_B]
    assert workspace_b.active and install_b.bot_token_encrypted
    assert len(uninstalls) == 1  # retries and the second event changed nothing more
    assert await prompt_states(database_url) == {TEAM_A: ["missed"], TEAM_B: ["pending"]}

    # The due minute passes: Team B is prompted, nothing at all goes out with A's token.
    slack.clear()
    jump_to(clock, due + dt.timedelta(seconds=20))
    [prompt_b] = await slack.wait_for("chat.postMessage", predicate=is_prompt)
    assert prompt_b.body["channel"] == "D" + BOB[1:] and prompt_b.token == token_b
    await slack.wait_idle(quiet=1.5)
    assert [c for c in slack.calls if c.token == token_a] == []
    assert not [c for c in slack.calls if c.body.get("channel") == "D" + ALICE[1:]]
    assert await prompt_states(database_url) == {TEAM_A: ["missed"], TEAM_B: ["sent"]}

    # Reinstall: a new token, and the next day's prompt goes out again.
    token_a2 = "xoxb-team-a-0002"
    await install(
        app,
        slack,
        "code-a2",
        team_id=TEAM_A,
        team_name="Team A",
        bot_token=token_a2,
        installer=ALICE,
    )
    jump_to(clock, due + dt.timedelta(days=1, seconds=20))
    prompts = await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: is_prompt(c) and c.body["channel"] == "D" + ALICE[1:],
    )
    assert [c.token for c in prompts] == [token_a2]
    assert [c for c in slack.calls if c.token == token_a] == []


async def test_single_workspace_uninstall_stops_the_scheduler(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_channel(CHANNEL_A, "standup-a", bot_is_member=True)
        app = await start_app(database_url, slack, clock=clock)
        try:
            await slack.wait_for("auth.test")
            due = next_slot(clock)
            await create_standup(
                app.requests,
                slack,
                ALICE,
                name="Solo",
                channel=CHANNEL_A,
                participants=[ALICE],
                time=due.strftime("%H:%M"),
            )
            jump_to(clock, due - dt.timedelta(minutes=1))
            await wait_for_prompts(database_url, {TEAM_A})

            await send_uninstall(app.requests, "uninstalled_first", slack.bot_user_id)
            assert await prompt_states(database_url) == {TEAM_A: ["missed"]}

            slack.clear()
            jump_to(clock, due + dt.timedelta(seconds=20))
            await slack.wait_idle(quiet=1.5)
            assert slack.calls == [], slack.describe_calls()
        finally:
            await app.stop()
