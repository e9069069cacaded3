"""The create-standup modal over real HTTP: field errors with the right block ids, nothing stored
on error, and what a valid create does (stored, channel joined or an /invite hint)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.rules.blockers import DEFAULT_ESCALATION_DAYS
from storage.models import AuditEntry, Standup
from tests.harness import RunningApp, create_form_values, start_app
from tests.slack_fake import Call, FakeSlack

ALICE, BOB = "U0ALICE01", "U0BOB0001"
ROBOT = "U0ROBOT01"
PUBLIC, PRIVATE = "C0STANDUP1", "G0SECRET01"
ZONE = "America/New_York"


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, FakeSlack]]:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz=ZONE)
        slack.add_user(BOB, "bob", tz="Europe/Berlin")
        slack.add_user(ROBOT, "robot", is_bot=True)
        slack.add_channel(PUBLIC, "standup")
        slack.add_channel(PRIVATE, "secret", is_private=True)
        app = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            yield app, slack
        finally:
            await app.stop()


def _form(**changes: Any) -> dict[str, Any]:
    """A valid form (prompt time far from now), with some fields changed."""
    time = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).astimezone(ZoneInfo(ZONE))
    fields: dict[str, Any] = {
        "name": "Daily sync",
        "channel": PUBLIC,
        "questions": ["What did you do?", "What's next?", "Any blockers?"],
        "participants": [ALICE, BOB],
        "days": [0, 1, 2, 3, 4],
        "time": time.strftime("%H:%M"),
    }
    fields.update(changes)
    return create_form_values(**fields)


async def _open_modal(app: RunningApp, user: str = ALICE) -> dict[str, Any]:
    before = len(app.slack.calls_to("views.open"))
    status, _ = await app.requests.command(user, "create")
    assert status == 200
    opened = await app.slack.wait_for("views.open", count=before + 1)
    assert opened[-1].ok, app.slack.describe_calls(opened[-1:])
    view: dict[str, Any] = opened[-1].body["view"]
    return view


async def _submit(app: RunningApp, values: dict[str, Any], user: str = ALICE) -> dict[str, Any]:
    """Submit the create modal; returns the decoded ack body ({} when accepted)."""
    modal = await _open_modal(app, user)
    status, text = await app.requests.view_submission(user, modal, values)
    assert status == 200, text
    return json.loads(text) if text.strip() else {}


async def _listing(app: RunningApp) -> str:
    before = len(app.slack.calls_to("response_url"))
    await app.requests.command(ALICE, "list")
    calls = await app.slack.wait_for("response_url", count=before + 1)
    return json.dumps(calls[before].body)


def _dms_to(slack: FakeSlack, user: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == "D" + user[1:]]


async def test_create_command_opens_the_form(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    view = await _open_modal(app)
    assert view["callback_id"] == "standup_create"
    block_ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    for block_id in ("name", "channel", "questions", "participants", "days", "time", "tz_mode"):
        assert block_id in block_ids
    [participants] = [b for b in view["blocks"] if b.get("block_id") == "participants"]
    assert participants["element"]["initial_users"] == [ALICE]


INVALID_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("empty name", {"name": ""}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("no questions", {"questions": []}, "questions"),
    ("only blank question lines", {"questions": ["", "   "]}, "questions"),
    ("11 questions", {"questions": [f"Question {i}?" for i in range(11)]}, "questions"),
    ("question over 300 chars", {"questions": ["Short?", "x" * 301]}, "questions"),
    ("no participants", {"participants": []}, "participants"),
    ("a bot participant", {"participants": [ALICE, ROBOT]}, "participants"),
    ("the app's own bot user", {"participants": ["U0BOT0001"]}, "participants"),
    ("no days", {"days": []}, "days"),
    ("fixed tz, invalid zone", {"tz_mode": "fixed", "fixed_tz": "Mars/Olympus"}, "tz"),
    ("fixed tz, no zone", {"tz_mode": "fixed", "fixed_tz": None}, "tz"),
    ("escalate after 31 days", {"blocker_escalation_days": "31"}, "blocker_escalation_days"),
    ("escalate after -1 days", {"blocker_escalation_days": "-1"}, "blocker_escalation_days"),
    ("escalate after 1.5 days", {"blocker_escalation_days": "1.5"}, "blocker_escalation_days"),
    ("escalate after x days", {"blocker_escalation_days": "x"}, "blocker_escalation_days"),
]


async def test_invalid_forms_get_field_errors_and_store_nothing(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    for label, changes, block_id in INVALID_FORMS:
        ack = await _submit(app, _form(**{"name": f"Case {label}", **changes}))
        assert ack.get("response_action") == "errors", (label, ack)
        assert set(ack["errors"]) == {block_id}, (label, ack)
        message = ack["errors"][block_id]
        assert isinstance(message, str) and message.strip(), (label, ack)
    # The messages say what to fix.
    ack = await _submit(app, _form(questions=[f"Q{i}?" for i in range(11)]))
    assert "10" in ack["errors"]["questions"]
    ack = await _submit(app, _form(tz_mode="fixed", fixed_tz="Mars/Olympus"))
    assert "Mars/Olympus" in ack["errors"]["tz"]
    ack = await _submit(app, _form(blocker_escalation_days="31"))
    assert "from 0 to 30" in ack["errors"]["blocker_escalation_days"]

    # Several problems at once are all reported, each under its own input.
    ack = await _submit(app, _form(name="", questions=[], participants=[], days=[]))
    assert set(ack["errors"]) == {"name", "questions", "participants", "days"}

    await slack.wait_idle(quiet=0.3)
    listing = await _listing(app)
    assert "No standups yet" in listing
    slack.assert_not_called("conversations.join")
    assert _dms_to(slack, ALICE) == []  # no "Created …" confirmation either


async def test_duplicate_name_is_refused_case_insensitively(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    assert await _submit(app, _form(name="Daily Sync")) == {}
    for duplicate in ("daily sync", "DAILY  SYNC", "  Daily Sync "):
        ack = await _submit(app, _form(name=duplicate, participants=[BOB]), user=BOB)
        assert ack.get("response_action") == "errors", (duplicate, ack)
        assert set(ack["errors"]) == {"name"}, ack
        assert "already exists" in ack["errors"]["name"]
    listing = await _listing(app)
    assert listing.count("Daily Sync") == 1
    assert "1 participant" not in listing  # the stored one is the first (two participants)
    assert "2 participants" in listing


async def test_valid_create_is_stored_and_joins_the_public_channel(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    ack = await _submit(app, _form(name="Team <A> & B", days=[0, 2, 4], time="08:45"))
    assert ack == {}
    [join] = await slack.wait_for("conversations.join")
    assert join.body["channel"] == PUBLIC and join.ok
    assert slack.bot_user_id in slack.channels[PUBLIC].members

    confirmation = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == "D" + ALICE[1:]
    )
    text = json.dumps(confirmation[0].body)
    assert "Team &lt;A&gt; &amp; B" in text and "/invite" not in text

    listing = await _listing(app)
    assert "Team &lt;A&gt; &amp; B" in listing
    assert "Mon, Wed, Fri at 08:45" in listing and "2 participants" in listing


async def test_private_channel_without_the_bot_asks_the_creator_to_invite_it(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    ack = await _submit(app, _form(name="Secret standup", channel=PRIVATE))
    assert ack == {}
    dms = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == "D" + ALICE[1:]
    )
    text = json.dumps(dms[0].body)
    assert "/invite" in text and f"<#{PRIVATE}>" in text
    await slack.wait_idle(quiet=0.3)
    slack.assert_not_called("conversations.join")
    assert slack.bot_user_id not in slack.channels[PRIVATE].members
    assert "Secret standup" in await _listing(app)  # stored all the same


async def test_private_channel_the_bot_is_in_needs_no_invite(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz=ZONE)
        slack.add_user(BOB, "bob", tz=ZONE)
        slack.add_channel(PRIVATE, "secret", is_private=True, bot_is_member=True)
        app = await start_app(database_url, slack)
        try:
            assert await _submit(app, _form(channel=PRIVATE)) == {}
            dms = await slack.wait_for(
                "chat.postMessage", predicate=lambda c: c.body["channel"] == "D" + ALICE[1:]
            )
            assert "Created" in json.dumps(dms[0].body)
            assert "/invite" not in json.dumps(dms[0].body)
            slack.assert_not_called("conversations.join")
        finally:
            await app.stop()


async def test_nul_and_invisible_characters_neither_fail_the_form_nor_make_a_twin(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    questions = ["What did you do?\x00", "\x00", "What's next?"]
    assert await _submit(app, _form(name="Da\u200bily\x00 sync", questions=questions)) == {}
    for twin in ("Daily sync", "DAILY\u2060 SYNC", "Ｄａｉｌｙ sync"):
        ack = await _submit(app, _form(name=twin, participants=[BOB]), user=BOB)
        assert ack.get("response_action") == "errors", (twin, ack)
        assert "already exists" in ack["errors"]["name"], ack
    listing = await _listing(app)
    assert listing.count("Daily sync") == 1
    assert "\\u200b" not in listing and "\\u0000" not in listing


async def _escalation_days(app: RunningApp, name: str) -> int:
    async with app.app.services.db.session() as session:
        standup = (await session.execute(select(Standup).where(Standup.name == name))).scalar_one()
        return standup.blocker_escalation_days


async def _audited(app: RunningApp, action: str) -> AuditEntry:
    async with app.app.services.db.session() as session:
        rows = await session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows.scalars())[-1]


async def _edit(app: RunningApp, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open the edit form of "Daily sync" and submit `values`: the form and the ack body."""
    before = len(app.slack.calls_to("views.open"))
    status, _ = await app.requests.command(ALICE, "edit Daily sync")
    assert status == 200
    opened = await app.slack.wait_for("views.open", count=before + 1)
    view: dict[str, Any] = opened[-1].body["view"]
    status, text = await app.requests.view_submission(ALICE, view, values)
    assert status == 200, text
    return view, json.loads(text) if text.strip() else {}


def _escalation_input(view: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "blocker_escalation_days"]
    element: dict[str, Any] = block["element"]
    return element


async def test_escalate_blockers_after_is_stored_shown_in_the_edit_form_and_kept_on_errors(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    assert await _submit(app, _form(blocker_escalation_days="5")) == {}
    assert await _escalation_days(app, "Daily sync") == 5
    created = (await _audited(app, "create")).after
    assert created is not None and created["blocker_escalation_days"] == 5

    # A value out of range is refused under its input; the stored one stays.
    view, ack = await _edit(app, _form(blocker_escalation_days="31"))
    assert _escalation_input(view)["initial_value"] == "5"
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"blocker_escalation_days"}
    assert await _escalation_days(app, "Daily sync") == 5

    # 0 is allowed (the working day after it opens); the edit is audited before → after.
    view, ack = await _edit(app, _form(blocker_escalation_days="0"))
    assert ack == {}
    assert await _escalation_days(app, "Daily sync") == 0
    edit = await _audited(app, "edit")
    assert edit.before is not None and edit.after is not None
    assert (edit.before["blocker_escalation_days"], edit.after["blocker_escalation_days"]) == (5, 0)

    # Left empty, a new standup takes the default.
    assert await _submit(app, _form(name="Weekly")) == {}
    assert await _escalation_days(app, "Weekly") == DEFAULT_ESCALATION_DAYS == 2
