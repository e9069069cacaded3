"""The domain's use cases called directly — no HTTP, no Slack stand-in — on both databases.

Each surface (Slack today, web and API next) calls these same functions, so their permission
checks, refusals, audit entries and transaction boundaries are tested here once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event, select

from bot import channels, checkins, standups, workspaces
from bot.outcomes import (
    Created,
    Deleted,
    DeleteRequest,
    Edited,
    EditForm,
    FieldErrors,
    History,
    Owners,
    Refusal,
    RunStarted,
    Toggled,
)
from bot.people import Caller
from bot.rules.permissions import Actor, Why
from bot.rules.questions import texts_of
from bot.rules.validation import FormField, StandupDraft
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views import wording
from storage import members as members_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Answer, AuditEntry, Prompt, PromptState, Run, RunState, Standup

OWNER, PEER, ADMIN, STRANGER = "U0OWNER01", "U0PEER001", "U0ADMIN01", "U0STRANGE"
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@dataclass
class World:
    services: Services
    workspace_id: int
    other_workspace_id: int

    def caller(self, user_id: str, *, admin: bool = False, other: bool = False) -> Caller:
        workspace = self.other_workspace_id if other else self.workspace_id
        return Caller.known(workspace, Actor(user_id, admin))


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    settings = load_settings(
        slack_signing_secret="s" * 32,
        slack_bot_token="xoxb-never-called",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no Slack call may happen
        database_url=database_url,
        _env_file=None,
    )
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    services = Services(
        settings=settings,
        db=db,
        slack=SlackGateway(settings, None, db),
        clock=lambda: NOW,
    )
    async with db.session() as session:
        ids = []
        for team in ("T0HOME001", "T0OTHER01"):
            ids.append((await workspaces_db.ensure_workspace(session, team)).id)
        for workspace_id in ids:
            # Known profiles (time zone, not a bot): creating a standup needs no users.info.
            for user in (OWNER, PEER, ADMIN, STRANGER):
                await members_db.update_member_profile(
                    session,
                    workspace_id,
                    user,
                    name=user,
                    tz="Europe/Berlin",
                    is_bot=False,
                    deleted=False,
                    now=NOW,
                )
    try:
        yield World(services, ids[0], ids[1])
    finally:
        await services.slack.close()
        await db.dispose()


def draft(name: str = "Daily", participants: tuple[str, ...] = (OWNER, PEER)) -> StandupDraft:
    return StandupDraft(
        name=name,
        channel_id="C0TEAM001",
        questions=["Yesterday?", "Today?", "Blockers?"],
        participant_ids=list(participants),
        weekdays=frozenset(range(5)),
        local_time="09:30",
        tz_mode="participant",
        fixed_tz=None,
    )


async def create(world: World, name: str = "Daily", **kwargs: Any) -> Created:
    client = world.services.slack.client("xoxb-never-called")
    outcome = await standups.create(
        world.services, client, world.caller(OWNER, **kwargs), draft(name)
    )
    assert isinstance(outcome, Created), outcome
    return outcome


async def audit_actions(world: World) -> list[str]:
    async with world.services.db.session() as session:
        rows = await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))
        return [r[0] for r in rows]


@contextmanager
def transactions(world: World) -> Iterator[list[object]]:
    """Count the transactions opened on the database while the block runs."""
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    engine = world.services.db.engine.sync_engine
    event.listen(engine, "begin", on_begin)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", on_begin)


# --- create and edit --------------------------------------------------------------------------


async def test_create_stores_the_standup_audits_it_and_makes_the_creator_owner(
    world: World,
) -> None:
    created = await create(world)
    assert (created.name, created.participant_count) == ("Daily", 2)
    assert await audit_actions(world) == ["create"]
    owners = await standups.owners(world.services, world.caller(OWNER), "daily", None)
    assert owners == Owners("Daily", [OWNER])


async def test_create_refuses_bad_input_with_field_errors_and_stores_nothing(world: World) -> None:
    client = world.services.slack.client("xoxb-never-called")
    bad = StandupDraft(
        name="",
        channel_id=None,
        questions=[],
        participant_ids=[],
        weekdays=frozenset(),
        local_time="25:00",
        tz_mode="fixed",
        fixed_tz="Mars/Olympus",
    )
    outcome = await standups.create(world.services, client, world.caller(OWNER), bad)
    assert isinstance(outcome, FieldErrors)
    assert set(outcome.errors) == {
        FormField.NAME,
        FormField.CHANNEL,
        FormField.QUESTIONS,
        FormField.PARTICIPANTS,
        FormField.DAYS,
        FormField.TIME,
        FormField.TZ,
    }
    assert await audit_actions(world) == []


async def test_a_second_standup_with_the_same_name_is_refused(world: World) -> None:
    await create(world)
    client = world.services.slack.client("xoxb-never-called")
    outcome = await standups.create(world.services, client, world.caller(PEER), draft(" DAILY "))
    assert isinstance(outcome, FieldErrors) and FormField.NAME in outcome.errors


async def test_admins_only_creation_is_enforced_by_the_use_case(world: World) -> None:
    changed = await workspaces.creators_setting(
        world.services, world.caller(ADMIN, admin=True), True
    )
    assert changed == workspaces.CreatorsSetting(True, changed=True)
    client = world.services.slack.client("xoxb-never-called")
    refused = await standups.create(world.services, client, world.caller(PEER), draft())
    assert refused == Refusal(Why.CREATE_ADMINS_ONLY)
    assert await standups.may_create(world.services, world.caller(PEER)) == refused
    assert await standups.may_create(world.services, world.caller(ADMIN, admin=True)) is None
    await create(world, admin=True)


async def test_only_admins_change_the_creators_setting(world: World) -> None:
    outcome = await workspaces.creators_setting(world.services, world.caller(PEER), True)
    assert outcome == Refusal(Why.SETTINGS_ADMINS_ONLY)
    shown = await workspaces.creators_setting(world.services, world.caller(PEER), None)
    assert shown == workspaces.CreatorsSetting(False)
    assert await audit_actions(world) == []


async def test_edit_by_an_owner_replans_and_is_audited(world: World) -> None:
    created = await create(world)
    client = world.services.slack.client("xoxb-never-called")
    new = StandupDraft(**{**draft().__dict__, "local_time": "10:00", "participant_ids": [OWNER]})
    outcome = await standups.edit(
        world.services, client, world.caller(OWNER), created.standup_id, new
    )
    assert isinstance(outcome, Edited)
    form = await standups.edit_form(world.services, world.caller(OWNER), "Daily")
    assert isinstance(form, EditForm)
    assert (form.local_time, form.participant_ids) == ("10:00", [OWNER])
    assert await audit_actions(world) == ["create", "edit"]


async def test_edit_refuses_a_non_owner_and_an_id_from_another_workspace(world: World) -> None:
    created = await create(world)
    client = world.services.slack.client("xoxb-never-called")
    outcome = await standups.edit(
        world.services, client, world.caller(PEER), created.standup_id, draft()
    )
    assert outcome == Refusal(Why.NOT_MANAGER, "Daily")
    # The same id sent from another workspace (a tampered private_metadata) finds nothing.
    elsewhere = await standups.edit(
        world.services, client, world.caller(OWNER, other=True), created.standup_id, draft()
    )
    assert elsewhere == Refusal(Why.STANDUP_GONE)


# --- pause, resume, run -----------------------------------------------------------------------


async def test_pause_and_resume_with_audit_and_idempotence(world: World) -> None:
    await create(world)
    services = world.services
    assert await standups.set_active(services, world.caller(OWNER), "Daily", active=False) == (
        Toggled("Daily", active=False, changed=True)
    )
    again = await standups.set_active(services, world.caller(OWNER), "Daily", active=False)
    assert again == Toggled("Daily", active=False, changed=False)
    assert await standups.run_now(services, world.caller(OWNER), "Daily") == Refusal(
        Why.PAUSED, "Daily"
    )
    resumed = await standups.set_active(
        services, world.caller(ADMIN, admin=True), "Daily", active=True
    )
    assert resumed == Toggled("Daily", active=True, changed=True)
    assert await audit_actions(world) == ["create", "pause", "resume"]


async def test_pause_checks_permission_and_writes_in_one_transaction(world: World) -> None:
    await create(world)
    with transactions(world) as begun:
        refused = await standups.set_active(
            world.services, world.caller(PEER), "Daily", active=False
        )
    assert refused == Refusal(Why.NOT_MANAGER, "Daily")
    assert len(begun) == 1
    with transactions(world) as begun:
        paused = await standups.set_active(
            world.services, world.caller(OWNER), "Daily", active=False
        )
    assert isinstance(paused, Toggled) and paused.changed
    assert len(begun) == 1


async def test_unknown_names_are_refused_with_the_name(world: World) -> None:
    outcome = await standups.run_now(world.services, world.caller(OWNER), "Nightly")
    assert outcome == Refusal(Why.NO_SUCH_STANDUP, "Nightly")


async def test_run_now_creates_each_prompt_once(world: World) -> None:
    await create(world)
    first = await standups.run_now(world.services, world.caller(OWNER), "Daily")
    assert first == RunStarted("Daily", 2)
    second = await standups.run_now(world.services, world.caller(OWNER), "Daily")
    assert second == RunStarted("Daily", 0)
    async with world.services.db.session() as session:
        states = (await session.execute(select(Prompt.state))).scalars().all()
    assert states == [PromptState.PENDING, PromptState.PENDING]


# --- owners, delete, history ------------------------------------------------------------------


async def test_owners_add_and_the_last_owner_stays(world: World) -> None:
    await create(world)
    services = world.services
    added = await standups.owners(
        services, world.caller(OWNER), "Daily", standups.OwnerChange(True, PEER)
    )
    assert added == Owners("Daily", sorted([OWNER, PEER]), changed=True)
    removed = await standups.owners(
        services, world.caller(PEER), "Daily", standups.OwnerChange(False, OWNER)
    )
    assert removed == Owners("Daily", [PEER], changed=True)
    last = await standups.owners(
        services, world.caller(PEER), "Daily", standups.OwnerChange(False, PEER)
    )
    assert last == Refusal(Why.LAST_OWNER, "Daily")
    assert await audit_actions(world) == ["create", "owners", "owners"]


async def test_delete_is_confirmed_then_done_only_by_a_manager_of_this_workspace(
    world: World,
) -> None:
    created = await create(world)
    services = world.services
    request = await standups.request_delete(services, world.caller(OWNER), "Daily")
    assert request == DeleteRequest(created.standup_id, "Daily")
    assert await standups.request_delete(services, world.caller(PEER), "Daily") == Refusal(
        Why.NOT_MANAGER, "Daily"
    )
    assert await standups.delete(services, world.caller(PEER), created.standup_id) == Refusal(
        Why.NOT_MANAGER, "Daily"
    )
    foreign = await standups.delete(
        services, world.caller(ADMIN, admin=True, other=True), created.standup_id
    )
    assert foreign == Refusal(Why.STANDUP_GONE)
    assert await standups.delete(services, world.caller(OWNER), created.standup_id) == Deleted(
        "Daily"
    )
    assert await standups.overview(services, world.caller(OWNER)) == []
    assert await audit_actions(world) == ["create", "delete"]


async def test_history_for_owners_and_the_workspace_history_for_admins(world: World) -> None:
    await create(world)
    services = world.services
    history = await standups.history(services, world.caller(OWNER), "Daily")
    assert isinstance(history, History) and [c.action for c in history.changes] == ["create"]
    refused = await standups.history(services, world.caller(PEER), "Daily")
    assert refused == Refusal(Why.NOT_HISTORY_READER, "Daily")
    await workspaces.creators_setting(services, world.caller(ADMIN, admin=True), True)
    everything = await workspaces.workspace_history(services, world.caller(ADMIN, admin=True))
    assert isinstance(everything, list)
    assert [e.action for e in everything] == ["settings", "create"]
    assert await workspaces.workspace_history(services, world.caller(OWNER)) == Refusal(
        Why.WORKSPACE_HISTORY_ADMINS_ONLY
    )


async def test_overview_lists_only_what_involves_a_person_in_a_fixed_number_of_queries(
    world: World,
) -> None:
    for index in range(5):
        await create(world, name=f"Team {index}")
    client = world.services.slack.client("xoxb-never-called")
    solo = draft("Solo", participants=(ADMIN,))
    await standups.create(world.services, client, world.caller(ADMIN, admin=True), solo)
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = world.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        everything = await standups.overview(world.services, world.caller(ADMIN, admin=True))
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert len(everything) == 6
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3
    mine = await standups.overview(world.services, world.caller(PEER), mine=True)
    assert [o.name for o in mine] == [f"Team {i}" for i in range(5)]
    assert all(o.next_run is not None and o.next_run > NOW for o in everything)


# --- check-ins --------------------------------------------------------------------------------


async def started_prompt(world: World, user_id: str) -> int:
    await create(world)
    await standups.run_now(world.services, world.caller(OWNER), "Daily")
    # As if the scheduler had delivered it: a prompt is answerable once it is in the DM.
    async with world.services.db.session() as session:
        member = await members_db.get_member(session, world.workspace_id, user_id)
        assert member is not None
        row = (
            await session.execute(select(Prompt).where(Prompt.member_id == member.id))
        ).scalar_one()
        row.state = PromptState.SENT
        return row.id


async def test_answer_own_prompt_then_edit(world: World) -> None:
    prompt_id = await started_prompt(world, PEER)
    services = world.services
    form = await checkins.answer_form(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    )
    assert isinstance(form, checkins.AnswerForm) and form.existing == {}
    first = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id), ["a", "b", "c"]
    )
    assert isinstance(first, checkins.Answered) and not first.edited
    edit = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id), ["a", "b", "d"]
    )
    assert isinstance(edit, checkins.Answered) and edit.edited
    form = await checkins.answer_form(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    )
    assert isinstance(form, checkins.AnswerForm) and form.existing == {0: "a", 1: "b", 2: "d"}


async def test_answers_are_validated_and_nobody_answers_for_someone_else(world: World) -> None:
    prompt_id = await started_prompt(world, PEER)
    services = world.services
    missing = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id), ["a", ""]
    )
    assert isinstance(missing, checkins.AnswerErrors) and set(missing.errors) == {1, 2}
    stolen = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, OWNER, prompt_id), ["x"] * 3
    )
    assert stolen == Refusal(Why.NOT_YOUR_CHECKIN)
    foreign = await checkins.answer(
        services, checkins.PromptRef(world.other_workspace_id, PEER, prompt_id), ["x"] * 3
    )
    assert foreign == Refusal(Why.NOT_YOUR_CHECKIN)
    assert await checkins.skip(
        services, checkins.PromptRef(world.workspace_id, OWNER, prompt_id)
    ) == Refusal(Why.NOT_YOUR_CHECKIN)


async def test_skip_once_and_nothing_after_the_run_closed(world: World) -> None:
    prompt_id = await started_prompt(world, PEER)
    services = world.services
    skipped = await checkins.skip(services, checkins.PromptRef(world.workspace_id, PEER, prompt_id))
    assert isinstance(skipped, checkins.Skipped)
    assert await checkins.skip(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    ) == Refusal(Why.NOTHING_TO_SKIP)
    async with services.db.session() as session:
        for run in (await session.execute(select(Run))).scalars():
            run.state = RunState.CLOSED
    assert await checkins.skip(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    ) == Refusal(Why.NOTHING_TO_SKIP)
    # Answering is still possible, late, until the next run starts (tests/test_late_answers.py).
    late = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, PEER, prompt_id), ["a"] * 3
    )
    assert isinstance(late, checkins.Answered)


# --- text the database or a reader can't take -------------------------------------------------


async def test_nul_characters_are_stripped_from_names_questions_and_answers(world: World) -> None:
    """Postgres refuses NUL in text: it used to fail the whole submission, again and again."""
    client = world.services.slack.client("xoxb-never-called")
    nul = StandupDraft(
        **{**draft("Dai\x00ly\x01").__dict__, "questions": ["Yester\x00day?", "\x00", "Today?"]}
    )
    created = await standups.create(world.services, client, world.caller(OWNER), nul)
    assert isinstance(created, Created) and created.name == "Daily"
    # Looking a standup up by a name with NUL in it is no problem either.
    started = await standups.run_now(world.services, world.caller(OWNER), "Dai\x00ly")
    assert started == RunStarted("Daily", 2)
    async with world.services.db.session() as session:
        member = await members_db.get_member(session, world.workspace_id, PEER)
        assert member is not None
        prompt = (
            await session.execute(select(Prompt).where(Prompt.member_id == member.id))
        ).scalar_one()
        prompt.state = PromptState.SENT
    ref = checkins.PromptRef(world.workspace_id, PEER, prompt.id)
    answered = await checkins.answer(world.services, ref, ["did \x00it", "\ud800 next"])
    assert isinstance(answered, checkins.Answered)
    only_nul = await checkins.answer(world.services, ref, ["\x00", "fine"])
    assert only_nul == checkins.AnswerErrors({0: "Please answer this question (a dash is fine)."})
    async with world.services.db.session() as session:
        standup = (await session.execute(select(Standup))).scalar_one()
        bodies = (await session.execute(select(Answer.body).order_by(Answer.position))).all()
    assert (standup.name, texts_of(standup.questions)) == ("Daily", ["Yesterday?", "Today?"])
    assert [b[0] for b in bodies] == ["did it", "\ufffd next"]


@pytest.mark.parametrize(
    "twin",
    [
        "Da\u200bily",
        "DA\u2060ILY",
        "\ufeffDaily\u200e",
        "ＤＡＩＬＹ",
        "Da\u00adily",
        " daily\u202e ",
    ],
)
async def test_names_that_only_look_different_are_one_name(world: World, twin: str) -> None:
    await create(world)
    client = world.services.slack.client("xoxb-never-called")
    outcome = await standups.create(world.services, client, world.caller(PEER), draft(twin))
    assert isinstance(outcome, FieldErrors) and "already exists" in outcome.errors[FormField.NAME]
    found = await standups.run_now(world.services, world.caller(OWNER), twin)
    assert isinstance(found, RunStarted) and found.name == "Daily"
    assert [o.name for o in await standups.overview(world.services, world.caller(OWNER))] == [
        "Daily"
    ]


async def test_names_are_stored_without_invisible_characters(world: World) -> None:
    spoof = await create(world, name="\u202eStand\u200bup\u2060  team\ufeff")
    assert spoof.name == "Standup team"
    emoji = await create(world, name="👩\u200d💻 crew")  # a joiner inside an emoji stays
    assert emoji.name == "👩\u200d💻 crew"
    client = world.services.slack.client("xoxb-never-called")
    blank = await standups.create(
        world.services, client, world.caller(OWNER), draft("\u200b\u2060\x00")
    )
    assert (
        isinstance(blank, FieldErrors)
        and "Give the standup a name" in (blank.errors[FormField.NAME])
    )


# --- limits -----------------------------------------------------------------------------------


def set_limits(world: World, **limits: int) -> None:
    """As if the operator had set these MAX_… settings."""
    settings = world.services.settings.model_copy(update=limits)
    world.services.settings = settings


async def test_a_workspace_has_at_most_max_standups_per_workspace(world: World) -> None:
    set_limits(world, max_standups_per_workspace=2)
    first = await create(world, name="One")
    await create(world, name="Two")
    client = world.services.slack.client("xoxb-never-called")
    full = Refusal(Why.STANDUP_LIMIT, limit=2)
    assert await standups.create(world.services, client, world.caller(OWNER), draft()) == full
    assert await standups.may_create(world.services, world.caller(PEER)) == full
    said = wording.refusal_plain(full)
    assert said == (
        "A workspace can have at most 2 standups (MAX_STANDUPS_PER_WORKSPACE); "
        "delete one or ask your operator to raise the limit."
    )
    assert "MAX_STANDUPS_PER_WORKSPACE" in wording.refusal(full)
    # Per workspace: the other one is not full; and deleting one makes room.
    await create(world, name="Elsewhere", other=True)
    assert await standups.delete(world.services, world.caller(OWNER), first.standup_id)
    await create(world, name="Three")
    assert await audit_actions(world) == ["create", "create", "create", "delete", "create"]


async def test_concurrent_creates_never_pass_the_limit(world: World) -> None:
    set_limits(world, max_standups_per_workspace=3)
    client = world.services.slack.client("xoxb-never-called")
    outcomes = await asyncio.gather(
        *(
            standups.create(world.services, client, world.caller(OWNER), draft(f"Team {i}"))
            for i in range(6)
        )
    )
    assert sum(isinstance(o, Created) for o in outcomes) == 3
    assert [o for o in outcomes if not isinstance(o, Created)] == [
        Refusal(Why.STANDUP_LIMIT, limit=3)
    ] * 3
    assert len(await standups.overview(world.services, world.caller(OWNER))) == 3


async def test_participants_and_questions_limits_say_which_setting_changes_them(
    world: World,
) -> None:
    set_limits(world, max_participants_per_standup=2, max_questions_per_standup=2)
    client = world.services.slack.client("xoxb-never-called")
    crowded = draft(participants=(OWNER, PEER, ADMIN))
    outcome = await standups.create(world.services, client, world.caller(OWNER), crowded)
    assert isinstance(outcome, FieldErrors)
    assert outcome.errors == {
        FormField.PARTICIPANTS: (
            "Too many participants: a standup can have at most 2 (you picked 3). Remove some, "
            "or ask your operator to raise MAX_PARTICIPANTS_PER_STANDUP."
        ),
        FormField.QUESTIONS: (
            "Too many questions: use at most 2 (you have 3), one per line. Remove some, "
            "or ask your operator to raise MAX_QUESTIONS_PER_STANDUP."
        ),
    }
    # An edit is held to the same limits, and nothing is changed by a refused one.
    set_limits(world, max_participants_per_standup=3, max_questions_per_standup=3)
    created = await create(world)
    set_limits(world, max_participants_per_standup=1)
    edited = await standups.edit(
        world.services, client, world.caller(OWNER), created.standup_id, draft()
    )
    assert isinstance(edited, FieldErrors) and set(edited.errors) == {FormField.PARTICIPANTS}
    form = await standups.edit_form(world.services, world.caller(OWNER), "Daily")
    assert isinstance(form, EditForm) and form.participant_ids == [OWNER, PEER]


async def test_answers_are_at_most_max_answer_length(world: World) -> None:
    set_limits(world, max_answer_length=10)
    prompt_id = await started_prompt(world, PEER)
    ref = checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    form = await checkins.answer_form(world.services, ref)
    assert isinstance(form, checkins.AnswerForm) and form.max_length == 10
    long = await checkins.answer(world.services, ref, ["x" * 11, "ok", "ok"])
    assert long == checkins.AnswerErrors(
        {0: "That answer is too long: keep it to 10 characters (it has 11)."}
    )
    assert isinstance(
        await checkins.answer(world.services, ref, ["x" * 10, "ok", "ok"]), (checkins.Answered)
    )


# --- privacy ----------------------------------------------------------------------------------


async def create_in(world: World, name: str, channel: str, *people: str) -> Created:
    client = world.services.slack.client("xoxb-never-called")
    wanted = StandupDraft(**{**draft(name, people).__dict__, "channel_id": channel})
    outcome = await standups.create(world.services, client, world.caller(OWNER), wanted)
    assert isinstance(outcome, Created), outcome
    return outcome


def counting_caller(world: World, actor: Actor) -> tuple[Caller, list[str]]:
    """A caller whose admin look-up (users.info in the app) is counted."""
    lookups: list[str] = []

    async def lookup() -> Actor:
        lookups.append(actor.user_id)
        return actor

    return Caller(world.workspace_id, actor.user_id, lookup), lookups


async def names_seen(world: World, viewer: Caller, *, mine: bool = False) -> list[str]:
    return [o.name for o in await standups.overview(world.services, viewer, mine=mine)]


async def test_a_private_channels_standup_is_listed_only_to_its_people_and_admins(
    world: World,
) -> None:
    await create_in(world, "Open", "C0PUBLIC1", OWNER)
    await create_in(world, "Secret", "G0SECRET1", OWNER, PEER)
    await create_in(world, "Unknown", "C0UNKNOWN", OWNER)  # privacy not learned yet
    services = world.services
    await channels.record_privacy(services, world.workspace_id, "C0PUBLIC1", private=False)
    await channels.record_privacy(services, world.workspace_id, "G0SECRET1", private=True)
    # The same channel id in another workspace tells nothing about this one's.
    await channels.record_privacy(services, world.other_workspace_id, "C0UNKNOWN", private=False)

    stranger, asked = counting_caller(world, Actor(STRANGER, is_admin=False))
    assert await names_seen(world, stranger) == ["Open"]
    assert asked == [STRANGER]  # a private standup was in the list: is the viewer an admin?
    admin, _ = counting_caller(world, Actor(ADMIN, is_admin=True))
    assert await names_seen(world, admin) == ["Open", "Secret", "Unknown"]
    peer, asked = counting_caller(world, Actor(PEER, is_admin=False))
    assert await names_seen(world, peer) == ["Open", "Secret"]
    owner, asked = counting_caller(world, Actor(OWNER, is_admin=False))
    assert await names_seen(world, owner) == ["Open", "Secret", "Unknown"]
    assert asked == []  # everything listed involves them: no look-up
    assert await names_seen(world, peer, mine=True) == ["Secret"]
    assert await names_seen(world, stranger, mine=True) == []

    # Moving a standup to another channel forgets what we knew until we learn the new one.
    await channels.record_privacy(services, world.workspace_id, "C0UNKNOWN", private=False)
    assert await names_seen(world, stranger) == ["Open", "Unknown"]
    client = services.slack.client("xoxb-never-called")
    form = await standups.edit_form(services, world.caller(OWNER), "Open")
    assert isinstance(form, EditForm)
    moved = StandupDraft(**{**draft("Open", (OWNER,)).__dict__, "channel_id": "C0ELSEWHERE"})
    edited = await standups.edit(services, client, world.caller(OWNER), form.standup_id, moved)
    assert isinstance(edited, Edited) and edited.channel_changed
    assert edited.channel_private is None
    assert await names_seen(world, stranger) == ["Unknown"]


async def test_only_public_standups_need_no_admin_look_up(world: World) -> None:
    await create_in(world, "Open", "C0PUBLIC1", OWNER)
    await channels.record_privacy(world.services, world.workspace_id, "C0PUBLIC1", private=False)
    stranger, asked = counting_caller(world, Actor(STRANGER, is_admin=False))
    assert await names_seen(world, stranger) == ["Open"]
    assert asked == []


async def test_a_stored_standup_that_can_never_run_is_listed_but_never_fails_the_scheduler(
    world: World,
) -> None:
    """A weekly standup left without days (older data, or a cadence a newer version wrote)
    is shown as never running instead of breaking every scheduler tick."""
    from bot import planning
    from storage.models import Standup

    await create(world)
    async with world.services.db.session() as session:
        standup = (await session.execute(select(Standup))).scalar_one()
        standup.weekday_mask = 0
        standup.cadence = None
    await planning.plan_due(world.services, NOW)
    [overview] = await standups.overview(world.services, world.caller(OWNER))
    assert overview.next_run is None and overview.schedule_text.startswith("never")
