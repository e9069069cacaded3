"""The audit log: every configuration change leaves a row with who, what, and the values before
and after; `/standup history <name>` shows a standup's recent rows to its owners and admins."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import AuditEntry, Workspace
from tests.harness import SIGNING_SECRET, RunningApp, find_action, start_app
from tests.multi_workspace import install_workspace, multi_workspace_settings
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests, app_uninstalled_event
from tests.test_roles import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    DANA,
    QUESTIONS,
    add_people,
    click,
    create,
    form,
    open_modal,
    reply,
    submit,
)


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        add_people(slack)
        app = await start_app(database_url, slack)
        try:
            yield app
        finally:
            await app.stop()


async def audit_rows(app: RunningApp) -> list[AuditEntry]:
    async with app.app.services.db.session() as session:
        rows = await session.execute(select(AuditEntry).order_by(AuditEntry.id))
        return list(rows.scalars())


async def wait_for_action(app: RunningApp, action: str, within: float = 8.0) -> AuditEntry:
    """The newest row with this action, once it exists (some are written after the ack)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = [r for r in await audit_rows(app) if r.action == action]
        if found:
            return found[-1]
        assert asyncio.get_running_loop().time() < deadline, [
            r.action for r in await audit_rows(app)
        ]
        await asyncio.sleep(0.05)


async def test_every_standup_change_is_audited_with_actor_and_values(env: RunningApp) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    [created] = await audit_rows(app)
    assert (created.action, created.actor_user_id) == ("create", ALICE)
    assert (created.standup_id, created.standup_name) == (standup.id, "Daily")
    assert created.before is None
    assert created.after is not None
    assert created.after["name"] == "Daily" and created.after["questions"] == QUESTIONS
    assert created.after["participants"] == [ALICE, BOB]
    assert created.after["time"] == "09:30" and created.after["active"] is True

    view = await open_modal(app, ALICE, "edit Daily")
    values = form(questions=["Just one?"], participants=[ALICE, CAROL], time="10:15")
    assert await submit(app, ALICE, view, values) == {}
    edit = await wait_for_action(app, "edit")
    assert edit.actor_user_id == ALICE and edit.standup_id == standup.id
    assert edit.before is not None and edit.after is not None
    changed = {
        k for k in set(edit.before) | set(edit.after) if edit.before.get(k) != edit.after.get(k)
    }
    assert changed == {"questions", "participants", "time"}
    assert (edit.before["questions"], edit.after["questions"]) == (QUESTIONS, ["Just one?"])
    assert (edit.before["participants"], edit.after["participants"]) == (
        [ALICE, BOB],
        [ALICE, CAROL],
    )
    assert (edit.before["time"], edit.after["time"]) == ("09:30", "10:15")
    assert edit.before["channel"] == edit.after["channel"] == CHANNEL

    await reply(app, DANA, "pause Daily")  # an admin who is not an owner
    pause = await wait_for_action(app, "pause")
    assert (pause.actor_user_id, pause.before, pause.after) == (
        DANA,
        {"active": True},
        {"active": False},
    )
    await reply(app, ALICE, "resume Daily")
    resume = await wait_for_action(app, "resume")
    assert (resume.actor_user_id, resume.before, resume.after) == (
        ALICE,
        {"active": False},
        {"active": True},
    )

    await reply(app, ALICE, f"owners Daily add <@{BOB}|bob>")
    owners = await wait_for_action(app, "owners")
    assert (owners.actor_user_id, owners.standup_id) == (ALICE, standup.id)
    assert (owners.before, owners.after) == ({"owners": [ALICE]}, {"owners": [ALICE, BOB]})

    await reply(app, DANA, "settings creators admins")
    settings = await wait_for_action(app, "settings")
    assert (settings.actor_user_id, settings.standup_id) == (DANA, None)
    assert (settings.before, settings.after) == (
        {"create_restricted": False},
        {"create_restricted": True},
    )

    confirm = await reply(app, BOB, "delete Daily")  # Bob is a co-owner now
    value = find_action(confirm["blocks"], "standup_delete_confirm")["value"]
    assert (await click(app, BOB, "standup_delete_confirm", value))["text"] == "Deleted *Daily*."
    delete = await wait_for_action(app, "delete")
    assert (delete.actor_user_id, delete.standup_id, delete.standup_name) == (
        BOB,
        standup.id,
        "Daily",
    )
    assert delete.before is not None and delete.before["questions"] == ["Just one?"]
    assert delete.after is None

    rows = await audit_rows(app)
    assert [r.action for r in rows] == [
        "create",
        "edit",
        "pause",
        "resume",
        "owners",
        "settings",
        "delete",
    ]
    # Refused and no-op requests leave no trace.
    await reply(app, CAROL, "settings creators everyone")
    await reply(app, DANA, "settings creators admins")  # already so
    assert len(await audit_rows(app)) == len(rows)


async def test_refused_changes_are_not_audited(env: RunningApp) -> None:
    app = env
    await create(app, ALICE, participants=[ALICE, BOB])
    for command in ("pause Daily", f"owners Daily add <@{BOB}>", "settings creators admins"):
        await reply(app, BOB, command)
    await reply(app, ALICE, "resume Daily")  # not paused: nothing changes
    view = await open_modal(app, ALICE, "edit Daily")
    assert (await submit(app, BOB, view, form(questions=["Bob's?"])))["response_action"] == "errors"
    await app.slack.wait_idle(quiet=0.3)
    assert [r.action for r in await audit_rows(app)] == ["create"]


async def test_install_and_uninstall_are_audited(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, **multi_workspace_settings())
        try:
            teams = {"T0ALPHA01": "U0AOWNER1", "T0BRAVO01": "U0BOWNER1"}
            for team_id, installer in teams.items():
                slack.add_user(installer, installer.lower(), team_id=team_id)
                await install_workspace(
                    app,
                    slack,
                    team_id=team_id,
                    team_name=team_id,
                    installer=installer,
                    bot_user_id="U0BOT" + team_id[2:6],
                )
            async with app.app.services.db.session() as session:
                ids = {
                    w.team_id: w.id for w in (await session.execute(select(Workspace))).scalars()
                }
            rows = await audit_rows(app)
            assert [(r.workspace_id, r.action, r.actor_user_id) for r in rows] == [
                (ids[t], "install", installer) for t, installer in teams.items()
            ]
            for row in rows:
                assert row.before is None and row.after is not None
                assert "chat:write" in row.after["scopes"]

            alpha = SlackRequests(app.url, SIGNING_SECRET, team_id="T0ALPHA01", fake=slack)
            status, text = await alpha.event(app_uninstalled_event())
            assert status == 200, text
            uninstall = await wait_for_action(app, "uninstall")
            assert (uninstall.workspace_id, uninstall.actor_user_id) == (ids["T0ALPHA01"], None)
            # A repeated delivery does not log it twice; the other workspace logs nothing.
            status, _ = await alpha.event(app_uninstalled_event())
            assert status == 200
            await slack.wait_idle(quiet=0.5)
            actions = [(r.workspace_id, r.action) for r in await audit_rows(app)]
            assert actions.count((ids["T0ALPHA01"], "uninstall")) == 1
            assert (ids["T0BRAVO01"], "uninstall") not in actions

            # Installing again is recorded as such.
            slack.oauth_grants.pop("code-T0ALPHA01")
            await install_workspace(
                app,
                slack,
                team_id="T0ALPHA01",
                team_name="T0ALPHA01",
                installer="U0AOWNER1",
                bot_user_id="U0BOTALPH",
            )
            again = await wait_for_action(app, "reinstall")
            assert (again.workspace_id, again.actor_user_id) == (ids["T0ALPHA01"], "U0AOWNER1")
        finally:
            await app.stop()


# --- /standup history -------------------------------------------------------------------------

NAME = "R&D <core>"


def _history_text(message: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


async def test_history_shows_recent_changes_newest_first_escaped(env: RunningApp) -> None:
    app = env
    await create(app, ALICE, name=NAME, participants=[ALICE, BOB])
    view = await open_modal(app, ALICE, f"edit {NAME}")
    values = form(name=NAME, questions=["Ship <!channel> & more?"], participants=[ALICE, BOB])
    assert await submit(app, ALICE, view, values) == {}
    await reply(app, ALICE, f"pause {NAME}")
    await reply(app, ALICE, f"resume {NAME}")
    await reply(app, ALICE, f"owners {NAME} add <@{CAROL}|carol>")

    for reader in (ALICE, CAROL, DANA):  # owner, co-owner, workspace admin
        message = await reply(app, reader, f"history {NAME}")
        text = _history_text(message)
        assert "R&amp;D &lt;core&gt;" in text and "<core>" not in text
        assert "&lt;!channel&gt; &amp; more?" in text and "<!channel>" not in text
        order = [text.index(f"*{action}*") for action in ("owners", "resume", "pause", "edit")]
        order.append(text.index("*create*"))
        assert order == sorted(order), text  # newest first
        assert f"<@{ALICE}> *create*" in text and f"<@{ALICE}> *owners*" in text
        assert f"owners: {ALICE} → {ALICE}, {CAROL}" in text
        assert "active: True → False" in text


async def test_history_is_refused_to_others(env: RunningApp) -> None:
    app = env
    await create(app, ALICE, name=NAME, participants=[ALICE, BOB])
    for user in (BOB, CAROL):  # a participant, and someone outside the standup
        message = await reply(app, user, f"history {NAME}")
        assert "can see its history" in message["text"]
        assert "*create*" not in json.dumps(message)
    message = await reply(app, ALICE, "history Nope")
    assert "no standup called" in message["text"]
