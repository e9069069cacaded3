"""Who may do what, over real HTTP: creation limited to admins, owners/co-owners/admins manage a
standup, participants answer only their own prompt; plus the owners' tools themselves — edit
(prefilled modal, changes, re-planning on a schedule change, renames) and pause/resume.

Workspace admins are fake users with is_admin=True (or is_owner=True), as users.info reports.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.rules.questions import texts_of
from storage.models import Answer, Prompt, Run, Standup, StandupOwner, Workspace
from tests.harness import (
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import FakeSlack

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
DANA = "U0DANA001"  # workspace admin, in no standup
ERIN = "U0ERIN001"  # workspace owner (is_owner), in no standup
CHANNEL, OTHER_CHANNEL = "C0STANDUP1", "C0OTHER001"
ZONE = "Europe/Berlin"
QUESTIONS = ["What did you do?", "What's next?", "Blockers?"]
NOT_OWNER = "Only the owners of *Daily* or a workspace admin can do that."
ADMINS_ONLY = "Only workspace admins can create standups here."

_tags = itertools.count(1)


def add_people(slack: FakeSlack) -> None:
    for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
        slack.add_user(user, name, tz=ZONE)
    slack.add_user(DANA, "dana", tz=ZONE, is_admin=True)
    slack.add_user(ERIN, "erin", tz=ZONE, is_owner=True)
    slack.add_channel(CHANNEL, "standup")
    slack.add_channel(OTHER_CHANNEL, "other")


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        add_people(slack)
        app = await start_app(database_url, slack)
        try:
            yield app
        finally:
            await app.stop()


# --- helpers ----------------------------------------------------------------------------------


async def reply(app: RunningApp, user: str, text: str) -> dict[str, Any]:
    """/standup <text>; the ephemeral answer (in the ack or through response_url)."""
    tag = f"cmd-{next(_tags)}"
    status, body = await app.requests.command(user, text, response_url=app.slack.response_url(tag))
    assert status == 200, body
    if body:
        answer: dict[str, Any] = json.loads(body)
    else:
        [call] = await app.slack.wait_for("response_url", predicate=lambda c: c.body["_tag"] == tag)
        answer = call.body
    assert answer.get("response_type", "ephemeral") == "ephemeral", answer
    return answer


async def click(app: RunningApp, user: str, action_id: str, value: str) -> dict[str, Any]:
    """Click a button; the ephemeral answer it got through response_url."""
    tag = f"act-{next(_tags)}"
    status, body = await app.requests.block_action(
        user, action_id, value, response_url=app.slack.response_url(tag)
    )
    assert status == 200, body
    [call] = await app.slack.wait_for("response_url", predicate=lambda c: c.body["_tag"] == tag)
    return call.body


async def open_modal(app: RunningApp, user: str, text: str = "create") -> dict[str, Any]:
    """/standup create (or edit <name>) and the modal it opened."""
    before = len(app.slack.calls_to("views.open"))
    status, body = await app.requests.command(user, text)
    assert status == 200, body
    opened = await app.slack.wait_for("views.open", count=before + 1)
    view: dict[str, Any] = opened[-1].body["view"]
    return view


def form(
    name: str = "Daily",
    participants: list[str] | None = None,
    *,
    channel: str = CHANNEL,
    questions: list[str] | None = None,
    days: list[int] | None = None,
    time: str = "09:30",
    tz_mode: str = "fixed",
    fixed_tz: str | None = ZONE,
) -> dict[str, Any]:
    return create_form_values(
        name=name,
        channel=channel,
        questions=questions or QUESTIONS,
        participants=participants or [ALICE, BOB],
        days=list(range(7)) if days is None else days,
        time=time,
        tz_mode=tz_mode,
        fixed_tz=fixed_tz,
    )


async def submit(app: RunningApp, user: str, view: dict[str, Any], values: Any) -> dict[str, Any]:
    """Submit a modal; the response body ({} when accepted)."""
    status, text = await app.requests.view_submission(user, view, values)
    assert status == 200, text
    return json.loads(text) if text else {}


async def create(app: RunningApp, owner: str = ALICE, **kwargs: Any) -> Standup:
    view = await open_modal(app, owner)
    result = await submit(app, owner, view, form(**kwargs))
    assert "errors" not in result, result
    return await standup_named(app, kwargs.get("name", "Daily"))


async def standup_named(app: RunningApp, name: str) -> Standup:
    async with app.app.services.db.session() as session:
        row = (await session.execute(select(Standup).where(Standup.name == name))).scalar_one()
    return row


async def standup_count(app: RunningApp) -> int:
    async with app.app.services.db.session() as session:
        return len((await session.execute(select(Standup))).scalars().all())


async def owners_of(app: RunningApp, standup_id: int) -> set[str]:
    async with app.app.services.db.session() as session:
        standup = await session.get(Standup, standup_id)
        assert standup is not None
        rows = await session.execute(
            select(StandupOwner.slack_user_id).where(StandupOwner.standup_id == standup_id)
        )
        return {standup.owner_user_id, *(r[0] for r in rows)}


async def prompts_of(app: RunningApp, standup_id: int) -> list[Prompt]:
    async with app.app.services.db.session() as session:
        rows = await session.execute(
            select(Prompt).where(Prompt.standup_id == standup_id).order_by(Prompt.id)
        )
        return list(rows.scalars())


def prompted(slack: FakeSlack) -> list[str]:
    return sorted(
        "U" + c.body["channel"][1:] for c in slack.calls_to("chat.postMessage") if is_prompt(c)
    )


async def until(check: Callable[[], Awaitable[bool]], within: float = 8.0) -> None:
    """Poll a database condition (the scheduler works in the background)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


# --- who may create ---------------------------------------------------------------------------


async def restricted(app: RunningApp) -> bool:
    async with app.app.services.db.session() as session:
        workspace = (await session.execute(select(Workspace))).scalar_one()
        return workspace.create_restricted


async def test_only_a_workspace_admin_may_restrict_creation(env: RunningApp) -> None:
    app = env
    answer = await reply(app, BOB, "settings creators admins")
    assert "Only workspace admins can change" in answer["text"]
    assert not await restricted(app)

    answer = await reply(app, ALICE, "settings")  # anyone may look
    assert "*everyone*" in answer["text"]

    answer = await reply(app, DANA, "settings creators admins")
    assert "workspace admins only" in answer["text"]
    assert await restricted(app)

    # Non-admins can't lift it either; a workspace owner (is_owner) can.
    answer = await reply(app, BOB, "settings creators everyone")
    assert "Only workspace admins can change" in answer["text"]
    assert await restricted(app)
    answer = await reply(app, ERIN, "settings creators everyone")
    assert "*everyone*" in answer["text"]
    assert not await restricted(app)


async def test_restricted_create_command_is_refused_for_non_admins(env: RunningApp) -> None:
    app = env
    await reply(app, DANA, "settings creators admins")
    app.slack.clear()
    answer = await reply(app, BOB, "create")
    assert answer["text"] == ADMINS_ONLY
    await app.slack.wait_idle(quiet=0.3)
    app.slack.assert_not_called("views.open")


async def test_restricted_create_submission_from_non_admin_gets_field_error(
    env: RunningApp,
) -> None:
    app = env
    view = await open_modal(app, BOB)  # opened while anyone could create
    await reply(app, DANA, "settings creators admins")
    result = await submit(app, BOB, view, form(participants=[BOB]))
    assert result == {"response_action": "errors", "errors": {"name": ADMINS_ONLY}}
    assert await standup_count(app) == 0


@pytest.mark.parametrize("admin", [DANA, ERIN])
async def test_admins_can_still_create_when_restricted(env: RunningApp, admin: str) -> None:
    app = env
    await reply(app, DANA, "settings creators admins")
    standup = await create(app, admin, participants=[ALICE, BOB])
    assert standup.owner_user_id == admin
    assert await standup_count(app) == 1


# --- who may manage ---------------------------------------------------------------------------


async def _not_owner_refused(app: RunningApp, standup: Standup, action: str) -> None:
    """Bob (a participant, not an owner) tries `action`; refused with a reason, no effect."""
    slack = app.slack
    if action == "resume":
        assert "is paused" in (await reply(app, ALICE, "pause Daily"))["text"]
    slack.clear()
    command = "owners Daily add <@U0BOB0001|bob>" if action == "owners" else f"{action} Daily"
    answer = await reply(app, BOB, command)
    assert answer["text"] == NOT_OWNER, answer
    assert "standup_delete_confirm" not in json.dumps(answer.get("blocks"))
    await slack.wait_idle(quiet=0.6)
    assert prompted(slack) == []
    slack.assert_not_called("views.open")
    after = await standup_named(app, "Daily")
    assert after.active == (action != "resume")
    assert await owners_of(app, standup.id) == {ALICE}
    assert await prompts_of(app, standup.id) == []


@pytest.mark.parametrize("action", ["edit", "pause", "resume", "run", "delete", "owners"])
async def test_participant_who_is_not_an_owner_cannot_manage(env: RunningApp, action: str) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    await _not_owner_refused(app, standup, action)


async def test_non_owner_cannot_use_the_delete_button_or_submit_an_edit(env: RunningApp) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    confirm = await reply(app, ALICE, "delete Daily")
    value = find_action(confirm["blocks"], "standup_delete_confirm")["value"]
    edit_view = await open_modal(app, ALICE, "edit Daily")

    answer = await click(app, BOB, "standup_delete_confirm", value)
    assert answer["text"] == NOT_OWNER
    result = await submit(app, BOB, edit_view, form(name="Bobs now", participants=[BOB]))
    assert result["response_action"] == "errors"
    assert "Only the owners of Daily" in result["errors"]["name"]
    after = await standup_named(app, "Daily")
    assert (
        after.id == standup.id
        and texts_of(after.questions) == QUESTIONS
        and after.local_time == "09:30"
    )


async def test_co_owner_can_manage_until_removed(env: RunningApp) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    assert (await reply(app, BOB, "pause Daily"))["text"] == NOT_OWNER

    answer = await reply(app, ALICE, "owners Daily add <@U0BOB0001|bob>")
    assert answer["text"] == f"Owners of *Daily* are now <@{ALICE}>, <@{BOB}>."
    assert await owners_of(app, standup.id) == {ALICE, BOB}
    assert (await reply(app, BOB, "pause Daily"))["text"] == "*Daily* is paused."
    assert (await reply(app, BOB, "resume Daily"))["text"] == "*Daily* is resumed."
    assert "Started" in (await reply(app, BOB, "run Daily"))["text"]
    await app.slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)

    answer = await reply(app, ALICE, "owners Daily remove <@U0BOB0001|bob>")
    assert answer["text"] == f"Owners of *Daily* are now <@{ALICE}>."
    assert (await reply(app, BOB, "pause Daily"))["text"] == NOT_OWNER
    assert (await standup_named(app, "Daily")).active


async def test_the_last_owner_cannot_be_removed(env: RunningApp) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    answer = await reply(app, ALICE, f"owners Daily remove <@{ALICE}>")
    assert "at least one owner" in answer["text"]
    assert await owners_of(app, standup.id) == {ALICE}

    # With a co-owner the creator may step down; the co-owner takes over.
    await reply(app, ALICE, f"owners Daily add {BOB}")
    answer = await reply(app, ALICE, f"owners Daily remove <@{ALICE}|alice>")
    assert answer["text"] == f"Owners of *Daily* are now <@{BOB}>."
    assert (await standup_named(app, "Daily")).owner_user_id == BOB
    assert (await reply(app, ALICE, "pause Daily"))["text"] == NOT_OWNER
    answer = await reply(app, BOB, f"owners Daily remove <@{BOB}>")
    assert "at least one owner" in answer["text"]
    assert await owners_of(app, standup.id) == {BOB}


@pytest.mark.parametrize("admin", [DANA, ERIN])
async def test_workspace_admin_who_is_not_an_owner_can_manage(env: RunningApp, admin: str) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    assert (await reply(app, admin, "pause Daily"))["text"] == "*Daily* is paused."
    assert (await reply(app, admin, "resume Daily"))["text"] == "*Daily* is resumed."
    assert "Started" in (await reply(app, admin, "run Daily"))["text"]
    answer = await reply(app, admin, "owners Daily add <@U0CAROL01|carol>")
    assert answer["text"] == f"Owners of *Daily* are now <@{ALICE}>, <@{CAROL}>."
    edit_view = await open_modal(app, admin, "edit Daily")
    assert edit_view["callback_id"] == "standup_edit"
    result = await submit(app, admin, edit_view, form(questions=["Only one?"]))
    assert result == {}
    assert texts_of((await standup_named(app, "Daily")).questions) == ["Only one?"]
    confirm = await reply(app, admin, "delete Daily")
    value = find_action(confirm["blocks"], "standup_delete_confirm")["value"]
    assert value == str(standup.id)
    assert (await click(app, admin, "standup_delete_confirm", value))["text"] == "Deleted *Daily*."
    assert await standup_count(app) == 0


# --- who may answer ---------------------------------------------------------------------------


async def test_only_a_participant_answers_and_only_their_own_prompt(env: RunningApp) -> None:
    app = env
    slack = app.slack
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    await reply(app, ALICE, "run Daily")
    calls = await slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    ids = {
        "U" + c.body["channel"][1:]: find_action(c.body["blocks"], "prompt_answer")["value"]
        for c in calls
    }
    slack.clear()
    # The owner, a workspace admin and a non-participant: none of them may answer Bob's.
    for user in (ALICE, DANA, CAROL):
        answer = await click(app, user, "prompt_answer", ids[BOB])
        assert "isn't yours" in answer["text"]
    await slack.wait_idle(quiet=0.3)
    slack.assert_not_called("views.open")

    # Bob answers his own; then nobody else can overwrite it through the modal.
    before = len(slack.calls_to("views.open"))
    await app.requests.block_action(BOB, "prompt_answer", ids[BOB])
    modal = (await slack.wait_for("views.open", count=before + 1))[-1].body["view"]
    assert await submit(app, BOB, modal, answer_values(["a", "b", "c"])) == {}
    for user in (ALICE, DANA, CAROL):
        result = await submit(app, user, modal, answer_values(["x", "y", "z"]))
        assert "isn't yours" in result["errors"]["q0"]
    states = {p.id: p.state for p in await prompts_of(app, standup.id)}
    assert states[int(ids[BOB])] == "answered" and states[int(ids[ALICE])] == "sent"
    async with app.app.services.db.session() as session:
        bodies = [a.body for a in (await session.execute(select(Answer))).scalars()]
    assert sorted(bodies) == ["a", "b", "c"]


# --- edit -------------------------------------------------------------------------------------


def initial_of(view: dict[str, Any]) -> dict[str, Any]:
    """block_id -> the element's initial value, as the modal shows it."""
    found: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        for key in (
            "initial_value",
            "initial_conversation",
            "initial_users",
            "initial_options",
            "initial_time",
            "initial_option",
        ):
            if key in element:
                value = element[key]
                if key == "initial_options":
                    value = [int(o["value"]) for o in value]
                elif key == "initial_option":
                    value = value["value"]
                found[block["block_id"]] = value
    return found


async def test_edit_modal_opens_prefilled(env: RunningApp) -> None:
    app = env
    standup = await create(
        app,
        ALICE,
        name="Daily",
        participants=[ALICE, CAROL],
        questions=["One?", "Two & <three>?"],
        days=[0, 2, 4],
        time="07:15",
    )
    view = await open_modal(app, ALICE, "edit daily")
    assert view["callback_id"] == "standup_edit"
    assert view["private_metadata"] == str(standup.id)
    assert initial_of(view) == {
        "name": "Daily",
        "channel": CHANNEL,
        "questions": "One?\nTwo & <three>?",
        "participants": [ALICE, CAROL],
        "days": [0, 2, 4],
        "time": "07:15",
        "tz_mode": "fixed",
        "tz": ZONE,
        "participant_source": "people",
        "repeat": "weekly",
        "blocker_escalation_days": "2",  # what is stored (the default)
    }


async def test_edit_changes_questions_participants_and_time(env: RunningApp) -> None:
    app = env
    standup = await create(app, ALICE, participants=[ALICE, BOB])
    view = await open_modal(app, ALICE, "edit Daily")
    values = form(
        name="Daily sync",
        participants=[ALICE, CAROL],
        channel=OTHER_CHANNEL,
        questions=["New question?"],
        days=[1, 3],
        time="08:45",
        tz_mode="participant",
        fixed_tz=None,
    )
    assert await submit(app, ALICE, view, values) == {}
    after = await standup_named(app, "Daily sync")
    assert after.id == standup.id
    assert (texts_of(after.questions), after.local_time, after.weekday_mask) == (
        ["New question?"],
        "08:45",
        0b1010,
    )
    assert (after.channel_id, after.tz_mode, after.fixed_tz) == (OTHER_CHANNEL, "participant", None)
    await app.slack.wait_for(
        "conversations.join", predicate=lambda c: c.body["channel"] == OTHER_CHANNEL
    )

    # The next run asks the new people the new question, in the new channel.
    app.slack.clear()
    assert "Started" in (await reply(app, ALICE, "run Daily sync"))["text"]
    calls = await app.slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    assert prompted(app.slack) == [ALICE, CAROL]
    assert all("New question?" in json.dumps(c.body["blocks"]) for c in calls)
    await app.slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == OTHER_CHANNEL
    )


async def test_renaming_to_an_existing_name_is_a_field_error(env: RunningApp) -> None:
    app = env
    await create(app, ALICE, name="Daily", participants=[ALICE])
    await create(app, ALICE, name="Weekly", participants=[ALICE])
    view = await open_modal(app, ALICE, "edit Weekly")
    result = await submit(app, ALICE, view, form(name="  DAILY ", participants=[ALICE]))
    assert result["response_action"] == "errors" and "name" in result["errors"]
    assert "already" in result["errors"]["name"]
    await standup_named(app, "Weekly")  # unchanged
    # Keeping its own name (in another case) is fine.
    assert await submit(app, ALICE, view, form(name="WEEKLY", participants=[ALICE])) == {}
    await standup_named(app, "WEEKLY")


# --- schedule changes, pause and resume, on a moved clock -------------------------------------


class Schedule:
    """A standup due at `due` (fixed zone), with the app clock parked 10 minutes before."""

    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.due = (now + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
        self.clock = Clock(offset=self.due - now - dt.timedelta(minutes=10))

    def local(self, instant: dt.datetime) -> str:
        return instant.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")

    def move_to(self, instant: dt.datetime) -> None:
        """Put the app clock at `instant` (it keeps running from there)."""
        self.clock.offset = instant - dt.datetime.now(dt.UTC)


@pytest.fixture
async def timed(database_url: str) -> AsyncIterator[tuple[RunningApp, Schedule]]:
    schedule = Schedule()
    async with FakeSlack() as slack:
        add_people(slack)
        app = await start_app(database_url, slack, clock=schedule.clock)
        try:
            yield app, schedule
        finally:
            await app.stop()


async def planned(app: RunningApp, standup: Standup, count: int) -> list[Prompt]:
    """Wait until the scheduler has planned `count` pending prompts."""

    async def ready() -> bool:
        pending = [p for p in await prompts_of(app, standup.id) if p.state == "pending"]
        return len(pending) >= count

    await until(ready)
    return await prompts_of(app, standup.id)


async def all_sent(app: RunningApp, standup: Standup) -> list[Prompt]:
    """The standup's prompts once none is still being sent (the DM goes out first)."""

    async def settled() -> bool:
        return all(p.state not in ("pending", "sending") for p in await prompts_of(app, standup.id))

    await until(settled)
    await app.slack.wait_idle(quiet=0.6)
    return await prompts_of(app, standup.id)


async def test_schedule_change_drops_pending_prompts_and_replans(
    timed: tuple[RunningApp, Schedule],
) -> None:
    app, schedule = timed
    due = schedule.due
    standup = await create(app, ALICE, participants=[ALICE, BOB], time=schedule.local(due))
    schedule.move_to(due - dt.timedelta(seconds=60))
    assert {p.due_at for p in await planned(app, standup, 2)} == {due}

    later = due + dt.timedelta(hours=3)
    view = await open_modal(app, ALICE, "edit Daily")
    assert await submit(app, ALICE, view, form(time=schedule.local(later))) == {}
    assert [p for p in await prompts_of(app, standup.id) if p.due_at == due] == []

    schedule.move_to(due + dt.timedelta(seconds=5))  # the old minute passes: nothing
    await app.slack.wait_idle(quiet=1.2)
    assert prompted(app.slack) == []
    assert await prompts_of(app, standup.id) == []

    schedule.move_to(later - dt.timedelta(seconds=1))  # the new minute: both prompted
    await app.slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    assert prompted(app.slack) == [ALICE, BOB]
    assert {(p.due_at, p.state) for p in await all_sent(app, standup)} == {(later, "sent")}


async def test_removed_participant_is_not_prompted_any_more(
    timed: tuple[RunningApp, Schedule],
) -> None:
    app, schedule = timed
    due = schedule.due
    standup = await create(app, ALICE, participants=[ALICE, BOB], time=schedule.local(due))
    schedule.move_to(due - dt.timedelta(seconds=60))
    await planned(app, standup, 2)

    view = await open_modal(app, ALICE, "edit Daily")
    assert (
        await submit(app, ALICE, view, form(participants=[ALICE], time=schedule.local(due))) == {}
    )
    schedule.move_to(due - dt.timedelta(seconds=1))
    await app.slack.wait_for("chat.postMessage", predicate=is_prompt)
    await app.slack.wait_idle(quiet=1.2)
    assert prompted(app.slack) == [ALICE]
    # A day later as well.
    schedule.move_to(due + dt.timedelta(days=1, seconds=-1))
    await app.slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    await app.slack.wait_idle(quiet=1.2)
    assert prompted(app.slack) == [ALICE, ALICE]


async def test_paused_standup_sends_nothing_at_its_due_minute(
    timed: tuple[RunningApp, Schedule],
) -> None:
    app, schedule = timed
    due = schedule.due
    standup = await create(app, ALICE, participants=[ALICE, BOB], time=schedule.local(due))
    schedule.move_to(due - dt.timedelta(seconds=60))
    await planned(app, standup, 2)  # already planned when it is paused

    assert (await reply(app, ALICE, "pause Daily"))["text"] == "*Daily* is paused."
    schedule.move_to(due + dt.timedelta(seconds=1))
    await app.slack.wait_idle(quiet=1.5)
    assert prompted(app.slack) == []
    assert await prompts_of(app, standup.id) == []
    listing = json.dumps(await reply(app, ALICE, "list"))
    assert "not scheduled" in listing


async def test_resume_sends_at_the_next_due_minute_without_backfilling(
    timed: tuple[RunningApp, Schedule],
) -> None:
    app, schedule = timed
    due = schedule.due
    standup = await create(app, ALICE, participants=[ALICE, BOB], time=schedule.local(due))
    await reply(app, ALICE, "pause Daily")
    # `/standup run` while paused must not leave prompts behind for the resume to send.
    answer = await reply(app, ALICE, "run Daily")
    assert "paused" in answer["text"]

    # Two days pass while paused; resume a minute before the third day's occurrence.
    next_due = due + dt.timedelta(days=2)
    schedule.move_to(next_due - dt.timedelta(seconds=60))
    assert (await reply(app, ALICE, "resume Daily"))["text"] == "*Daily* is resumed."
    await app.slack.wait_idle(quiet=1.2)
    assert prompted(app.slack) == []  # nothing sent at resume time

    schedule.move_to(next_due - dt.timedelta(seconds=1))
    await app.slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    prompts = await all_sent(app, standup)
    assert prompted(app.slack) == [ALICE, BOB]
    assert {(p.due_at, p.state) for p in prompts} == {(next_due, "sent")}, prompts
    async with app.app.services.db.session() as session:
        runs = (await session.execute(select(Run).where(Run.standup_id == standup.id))).scalars()
        dates = {r.local_date for r in runs}
    assert dates == {next_due.astimezone(ZoneInfo(ZONE)).date()}
