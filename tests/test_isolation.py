"""Multi-workspace isolation: two workspaces installed through the OAuth flow, each running the
whole loop (create → run → Answer → submit), and nobody from one can see or change the other.

Every tampering attempt replays ids that belong to workspace A (prompt ids in button values and
private_metadata, standup ids in the delete button and the edit modal) from workspace B, from a
"swapped" payload (B's team id, A's user id), and from a user of A who does not own the prompt.
After each one: A's rows are byte-for-byte the same, no Web API call touched A's channels or
messages, and the requester got a refusal (ephemeral text or a modal field error), never a 500.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import (
    Answer,
    AuditEntry,
    Participant,
    Prompt,
    Run,
    Standup,
    StandupOwner,
    Workspace,
)
from tests.harness import (
    SIGNING_SECRET,
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.multi_workspace import install_workspace, multi_workspace_settings
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests

QUESTIONS = ["What did you do?", "What's next?", "Blockers?"]
NOT_YOURS = "isn't yours"
# Web API methods that change what people see in Slack.
WRITES = ("chat.postMessage", "chat.update", "chat.delete", "views.open", "views.update")


def _dm(user_id: str) -> str:
    return "D" + user_id[1:]


@dataclass
class Team:
    """One installed workspace and what its loop produced."""

    id: str
    name: str
    token: str
    requests: SlackRequests
    owner: str
    member: str
    outsider: str  # in the workspace, not in the standup
    channel: str
    standup_name: str
    standup_id: int = 0
    workspace_id: int = 0
    create_modal: dict[str, Any] = field(default_factory=dict)
    answer_modal: dict[str, Any] = field(default_factory=dict)
    prompt_ids: dict[str, int] = field(default_factory=dict)  # user -> prompt id

    @property
    def channels(self) -> set[str]:
        return {self.channel, _dm(self.owner), _dm(self.member), _dm(self.outsider)}


_tags = itertools.count(1)


def _unique_tag(team: Team) -> str:
    """A response_url tag no other request uses (each SlackRequests numbers its own)."""
    return f"{team.id}-{next(_tags)}"


async def reply_to(team: Team, slack: FakeSlack, user: str, text: str) -> dict[str, Any]:
    """/standup <text> from `user` in `team`; the ephemeral reply's body."""
    tag = _unique_tag(team)
    status, body = await team.requests.command(user, text, response_url=slack.response_url(tag))
    assert status == 200, body
    if body:  # answered in the ack itself
        answer: dict[str, Any] = json.loads(body)
        return answer
    [call] = await slack.wait_for("response_url", predicate=lambda c: c.body["_tag"] == tag)
    return call.body


async def run_loop(app: RunningApp, slack: FakeSlack, team: Team) -> None:
    """create → run → owner answers (the member's prompt stays unanswered)."""
    req = team.requests
    opened = len(slack.calls_to("views.open"))
    status, _ = await req.command(team.owner, "create")
    assert status == 200
    team.create_modal = (await slack.wait_for("views.open", count=opened + 1))[-1].body["view"]
    status, text = await req.view_submission(
        team.owner,
        team.create_modal,
        create_form_values(
            name=team.standup_name,
            channel=team.channel,
            questions=QUESTIONS,
            participants=[team.owner, team.member],
            days=list(range(7)),
            time=far_local_time(),
        ),
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for(
        "conversations.join", predicate=lambda c: c.body["channel"] == team.channel
    )
    async with app.app.services.db.session() as session:
        workspace = (
            await session.execute(select(Workspace).where(Workspace.team_id == team.id))
        ).scalar_one()
        standup = (
            await session.execute(select(Standup).where(Standup.workspace_id == workspace.id))
        ).scalar_one()
    team.workspace_id, team.standup_id = workspace.id, standup.id

    reply = await reply_to(team, slack, team.owner, f"run {team.standup_name}")
    assert "Started" in reply["text"], reply
    dms = await slack.wait_for(
        "chat.postMessage",
        count=2,
        predicate=lambda c: is_prompt(c) and c.body["channel"] in team.channels,
    )
    for call in dms:
        user = "U" + call.body["channel"][1:]
        team.prompt_ids[user] = int(find_action(call.body["blocks"], "prompt_answer")["value"])
    assert set(team.prompt_ids) == {team.owner, team.member}

    opened = len(slack.calls_to("views.open"))
    status, _ = await req.block_action(
        team.owner, "prompt_answer", str(team.prompt_ids[team.owner])
    )
    assert status == 200
    team.answer_modal = (await slack.wait_for("views.open", count=opened + 1))[-1].body["view"]
    assert team.answer_modal["private_metadata"] == str(team.prompt_ids[team.owner])
    status, text = await req.view_submission(
        team.owner, team.answer_modal, answer_values([f"{team.name} work", "more", "none"])
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.body["channel"] == team.channel and bool(c.body.get("thread_ts")),
    )
    await slack.wait_idle(quiet=0.3)


def far_local_time(zone: str = "America/New_York", hours: float = 6) -> str:
    """A local time hours away, so the scheduler never fires by itself during a test."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return later.astimezone(ZoneInfo(zone)).strftime("%H:%M")


SNAPSHOT_MODELS = (Standup, Participant, StandupOwner, Run, Prompt, Answer, AuditEntry)


async def snapshot(app: RunningApp, slack: FakeSlack, team: Team) -> dict[str, Any]:
    """Every row of the workspace's data, and every version of every message in its channels."""
    rows: dict[str, Any] = {}
    async with app.app.services.db.session() as session:
        for model in SNAPSHOT_MODELS:
            found = await session.execute(
                select(model).where(model.workspace_id == team.workspace_id)
            )
            columns = [c.key for c in model.__table__.columns]
            rows[model.__tablename__] = sorted(
                (tuple(repr(getattr(obj, c)) for c in columns) for obj in found.scalars()),
            )
    assert rows["standup"] and rows["prompt"] and rows["answer"]  # there is something to protect
    messages = {
        ch: [slack.message_versions(ch, m["ts"]) for m in slack.all_messages(ch)]
        for ch in sorted(team.channels)
    }
    return {"rows": rows, "messages": messages}


def assert_untouched(slack: FakeSlack, team: Team) -> None:
    """Since the last clear(): no write landed in the team's channels."""
    touching = [
        c
        for c in slack.calls
        if c.method in WRITES and (c.body.get("channel") in team.channels or c.token == team.token)
    ]
    assert not touching, slack.describe_calls(touching)


@pytest.fixture
async def teams(database_url: str) -> AsyncIterator[tuple[RunningApp, FakeSlack, Team, Team]]:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, **multi_workspace_settings())
        try:
            a = Team(
                id="T0ALPHA01",
                name="Alpha",
                token="",
                requests=SlackRequests(app.url, SIGNING_SECRET, team_id="T0ALPHA01", fake=slack),
                owner="U0AOWNER1",
                member="U0AMEMBR1",
                outsider="U0AOTHER1",
                channel="C0ALPHA001",
                standup_name="Alpha daily",
            )
            b = Team(
                id="T0BRAVO01",
                name="Bravo",
                token="",
                requests=SlackRequests(app.url, SIGNING_SECRET, team_id="T0BRAVO01", fake=slack),
                owner="U0BOWNER1",
                member="U0BMEMBR1",
                outsider="U0BOTHER1",
                channel="C0BRAVO001",
                standup_name="Bravo sync",
            )
            for team in (a, b):
                for user in (team.owner, team.member, team.outsider):
                    slack.add_user(user, user.lower(), tz="America/New_York", team_id=team.id)
                slack.add_channel(team.channel, team.name.lower())
                team.token = await install_workspace(
                    app,
                    slack,
                    team_id=team.id,
                    team_name=team.name,
                    installer=team.owner,
                    bot_user_id=f"U0BOT{team.name.upper()[:4]}",
                )
            for team in (a, b):
                await run_loop(app, slack, team)
            yield app, slack, a, b
        finally:
            await app.stop()


async def _refused_action(
    slack: FakeSlack, team: Team, user: str, action_id: str, value: str
) -> str:
    """Click a button as `user` of `team`; the ephemeral text it got back."""
    tag = _unique_tag(team)
    status, body = await team.requests.block_action(
        user, action_id, value, response_url=slack.response_url(tag)
    )
    assert status == 200, body
    [call] = await slack.wait_for("response_url", predicate=lambda c: c.body["_tag"] == tag)
    return str(call.body.get("text"))


async def _field_errors(team: Team, user: str, view: dict[str, Any], values: Any) -> dict[str, str]:
    status, text = await team.requests.view_submission(user, view, values)
    assert status == 200, text
    body = json.loads(text) if text else {}
    assert body.get("response_action") == "errors", text
    errors: dict[str, str] = body["errors"]
    return errors


def _edit_view(team: Team, standup_id: int) -> dict[str, Any]:
    view = copy.deepcopy(team.create_modal)
    view["callback_id"] = "standup_edit"
    view["private_metadata"] = str(standup_id)
    return view


def _pwned_form(team: Team) -> dict[str, Any]:
    return create_form_values(
        name="pwned",
        channel=team.channel,
        questions=["leak?"],
        participants=[team.owner],
        days=[0],
        time="03:00",
    )


async def _tamper_everything(
    app: RunningApp, slack: FakeSlack, victim: Team, attacker: Team, user: str
) -> None:
    """From `attacker`'s workspace as `user`, try every id of `victim`; all must be refused."""
    owner_prompt = str(victim.prompt_ids[victim.owner])  # answered: Edit button
    member_prompt = str(victim.prompt_ids[victim.member])  # sent: Answer / Skip
    before = await snapshot(app, slack, victim)
    slack.clear()

    for action_id, value in (
        ("prompt_answer", owner_prompt),
        ("prompt_edit", owner_prompt),
        ("prompt_answer", member_prompt),
        ("prompt_skip", member_prompt),
        ("prompt_skip", owner_prompt),
    ):
        text = await _refused_action(slack, attacker, user, action_id, value)
        assert NOT_YOURS in text, (action_id, text)

    answer_view = copy.deepcopy(attacker.answer_modal)
    for prompt_id in (owner_prompt, member_prompt):
        answer_view["private_metadata"] = prompt_id
        errors = await _field_errors(attacker, user, answer_view, answer_values(["x", "y", "z"]))
        assert NOT_YOURS in errors.get("q0", ""), errors

    text = await _refused_action(
        slack, attacker, user, "standup_delete_confirm", str(victim.standup_id)
    )
    assert "no longer exists" in text and "Deleted" not in text, text

    errors = await _field_errors(
        attacker, user, _edit_view(attacker, victim.standup_id), _pwned_form(attacker)
    )
    assert "no longer exists" in errors.get("name", ""), errors

    await slack.wait_idle(quiet=0.4)
    slack.assert_not_called("views.open")  # no modal, so nothing of A's was shown
    assert_untouched(slack, victim)
    assert await snapshot(app, slack, victim) == before


async def test_workspace_b_cannot_touch_workspace_a(
    teams: tuple[RunningApp, FakeSlack, Team, Team],
) -> None:
    app, slack, a, b = teams
    # B's own data is intact and separate.
    assert a.workspace_id != b.workspace_id and a.standup_id != b.standup_id
    await _tamper_everything(app, slack, victim=a, attacker=b, user=b.owner)
    await _tamper_everything(app, slack, victim=a, attacker=b, user=b.member)
    # And the other way round.
    await _tamper_everything(app, slack, victim=b, attacker=a, user=a.owner)


async def test_swapped_user_from_another_team_is_refused(
    teams: tuple[RunningApp, FakeSlack, Team, Team],
) -> None:
    """B's team id but A's own user ids in the payload: still only B's data is in reach."""
    app, slack, a, b = teams
    await _tamper_everything(app, slack, victim=a, attacker=b, user=a.owner)
    await _tamper_everything(app, slack, victim=a, attacker=b, user=a.member)


async def test_same_workspace_user_cannot_use_someone_elses_prompt(
    teams: tuple[RunningApp, FakeSlack, Team, Team],
) -> None:
    app, slack, a, _ = teams
    owner_prompt = str(a.prompt_ids[a.owner])
    member_prompt = str(a.prompt_ids[a.member])
    for user, targets in (
        (a.outsider, (owner_prompt, member_prompt)),  # not in the standup at all
        (a.member, (owner_prompt,)),  # a participant, but not their prompt
        (a.owner, (member_prompt,)),  # the standup's owner, still not their prompt
    ):
        before = await snapshot(app, slack, a)
        slack.clear()
        for prompt_id in targets:
            for action_id in ("prompt_answer", "prompt_edit", "prompt_skip"):
                text = await _refused_action(slack, a, user, action_id, prompt_id)
                assert NOT_YOURS in text, (user, action_id, text)
            view = copy.deepcopy(a.answer_modal)
            view["private_metadata"] = prompt_id
            errors = await _field_errors(a, user, view, answer_values(["x", "y", "z"]))
            assert NOT_YOURS in errors.get("q0", ""), errors
        await slack.wait_idle(quiet=0.4)
        slack.assert_not_called("views.open")
        for method in ("chat.postMessage", "chat.update"):
            slack.assert_not_called(method)
        assert await snapshot(app, slack, a) == before

    # The member's own prompt still works for the member: the refusals were about ownership.
    status, _ = await a.requests.block_action(a.member, "prompt_answer", member_prompt)
    assert status == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.body["view"]["private_metadata"] == member_prompt


async def test_commands_in_b_never_reveal_or_reach_a(
    teams: tuple[RunningApp, FakeSlack, Team, Team],
) -> None:
    app, slack, a, b = teams
    before = await snapshot(app, slack, a)
    slack.clear()
    listing = json.dumps(await reply_to(b, slack, b.owner, "list"))
    assert b.standup_name in listing
    assert a.standup_name not in listing and "Alpha" not in listing

    for sub in ("run", "pause", "resume", "edit", "delete", "history", "owners"):
        for user in (b.owner, a.owner):  # B's owner, and A's owner id sent from team B
            reply = await reply_to(b, slack, user, f"{sub} {a.standup_name}")
            assert f"no standup called *{a.standup_name}*" in reply["text"], (sub, reply)
    text = (await reply_to(b, slack, b.owner, f"owners {a.standup_name} add <@{b.owner}|x>"))[
        "text"
    ]
    assert "no standup called" in text
    # A's name is free in B: B may create its own standup with it.
    await slack.wait_idle(quiet=0.4)
    slack.assert_not_called("views.open")
    assert_untouched(slack, a)
    assert await snapshot(app, slack, a) == before

    # In A, the same command finds A's standup (the refusal above was about the workspace).
    listing = json.dumps(await reply_to(a, slack, a.outsider, "list"))
    assert a.standup_name in listing and b.standup_name not in listing


async def test_each_workspace_is_served_with_its_own_token(
    teams: tuple[RunningApp, FakeSlack, Team, Team],
) -> None:
    """The loops in the fixture: every call about A's channels carried A's token, B's B's."""
    _, slack, a, b = teams
    assert a.token != b.token
    seen = {a.id: 0, b.id: 0}
    for call in slack.calls:
        channel = call.body.get("channel")
        users = str(call.body.get("users", ""))
        for team, other in ((a, b), (b, a)):
            if channel in team.channels or users in {team.owner, team.member}:
                assert call.token == team.token, slack.describe_calls([call])
                assert call.token != other.token
                seen[team.id] += 1
    # prompts (2), summary post + update, thread reply, prompt update, modal-less DMs ...
    for team in (a, b):
        prompts = [
            c for c in slack.calls_to("chat.postMessage") if is_prompt(c) and c.token == team.token
        ]
        assert {c.body["channel"] for c in prompts} == {_dm(team.owner), _dm(team.member)}
        assert seen[team.id] >= 6, seen


async def test_scheduled_prompts_use_each_workspaces_token(database_url: str) -> None:
    """Prompts the scheduler sends at the due minute go out with their own workspace's token."""
    zone = "Europe/Berlin"
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    # Set up five minutes before the due minute (app's clock), then jump to just before it.
    clock = Clock(offset=due - dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, clock=clock, **multi_workspace_settings())
        try:
            tokens: dict[str, str] = {}
            users = {
                "T0ALPHA01": ("U0AOWNER1", "U0AMEMBR1"),
                "T0BRAVO01": ("U0BOWNER1", "U0BMEMBR1"),
            }
            channels = {"T0ALPHA01": "C0ALPHA001", "T0BRAVO01": "C0BRAVO001"}
            for team_id, (owner, member) in users.items():
                for user in (owner, member):
                    slack.add_user(user, user.lower(), tz=zone, team_id=team_id)
                slack.add_channel(channels[team_id], team_id.lower())
                tokens[team_id] = await install_workspace(
                    app,
                    slack,
                    team_id=team_id,
                    team_name=team_id,
                    installer=owner,
                    bot_user_id="U0BOT" + team_id[2:6],
                )
                req = SlackRequests(app.url, SIGNING_SECRET, team_id=team_id, fake=slack)
                opened = len(slack.calls_to("views.open"))
                await req.command(owner, "create")
                modal = (await slack.wait_for("views.open", count=opened + 1))[-1].body["view"]
                status, text = await req.view_submission(
                    owner,
                    modal,
                    create_form_values(
                        name=f"Daily {team_id}",
                        channel=channels[team_id],
                        questions=QUESTIONS,
                        participants=[owner, member],
                        days=list(range(7)),
                        time=due.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
                        tz_mode="fixed",
                        fixed_tz=zone,
                    ),
                )
                assert status == 200 and "errors" not in text, text
            await slack.wait_idle(quiet=0.6)
            assert not [c for c in slack.calls_to("chat.postMessage") if is_prompt(c)]
            clock.offset = due - dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            prompts = await slack.wait_for("chat.postMessage", count=4, predicate=is_prompt)
            for team_id, (owner, member) in users.items():
                mine = [c for c in prompts if c.body["channel"] in {_dm(owner), _dm(member)}]
                assert len(mine) == 2
                assert {c.token for c in mine} == {tokens[team_id]}
                # The summary is posted before the first prompt goes out.
                posts = slack.calls_to("chat.postMessage")
                [summary] = [c for c in posts if c.body["channel"] == channels[team_id]]
                assert summary.token == tokens[team_id]
        finally:
            await app.stop()
