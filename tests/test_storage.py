"""Storage on both backends: migrations, the constraints that make impossible states impossible,
workspace-scoped queries, UTC datetimes, cascades, and secrets at rest."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.rules.questions import texts_of
from storage import members as members_db
from storage import prompts as prompts_db
from storage import runs as runs_db
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.crypto import SecretBox, SecretBoxError
from storage.db import Database
from storage.migrate import alembic_config, upgrade_to_head
from storage.models import (
    Answer,
    Base,
    Member,
    Participant,
    Prompt,
    PromptState,
    Run,
    Standup,
    Workspace,
)
from tests.harness import BOT_TOKEN, start_app
from tests.slack_fake import FakeSlack

NOW = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)
ALICE, BOB = "U0ALICE01", "U0BOB0001"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await upgrade_to_head(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


@dataclass
class Seed:
    ws: int  # workspace "T0TEAM001"
    other_ws: int  # workspace "T0OTHER01"
    standup: int
    run: int
    prompt: int  # Alice's prompt for TODAY
    alice: int  # member ids in `ws`
    bob: int
    other_alice: int  # the same Slack user id, in `other_ws`


async def _seed(db: Database) -> Seed:
    """Two workspaces; in the first a standup with Alice and Bob, today's run, Alice's prompt
    answered — all written through the app's own queries."""
    async with db.session() as s:
        ws = await workspaces_db.ensure_workspace(s, "T0TEAM001", name="Team")
        other = await workspaces_db.ensure_workspace(s, "T0OTHER01", name="Other")
        standup = await standups_db.create_standup(
            s,
            ws.id,
            name="Daily",
            name_key="daily",
            channel_id="C0STANDUP1",
            questions=["Yesterday?", "Today?"],
            weekday_mask=0b0011111,
            local_time="09:30",
            tz_mode="participant",
            fixed_tz=None,
            owner_user_id=ALICE,
            participant_ids=[ALICE, BOB],
            now=NOW,
        )
        members = await members_db.ensure_members(s, ws.id, [ALICE, BOB])
        other_members = await members_db.ensure_members(s, other.id, [ALICE])
        run = await runs_db.get_or_create_run(
            s, ws.id, standup, TODAY, close_at=NOW + dt.timedelta(hours=4)
        )
        assert await prompts_db.insert_prompt(
            s, ws.id, run=run, member_id=members[ALICE].id, due_at=NOW
        )
        prompt_id = (
            await s.execute(select(Prompt.id).where(Prompt.member_id == members[ALICE].id))
        ).scalar_one()
        view = await prompts_db.get_prompt_view(s, ws.id, prompt_id)
        assert view is not None
        await prompts_db.save_answers(
            s, ws.id, view, ["shipped it", "more"], NOW, question_texts=texts_of(run.questions)
        )
        return Seed(
            ws=ws.id,
            other_ws=other.id,
            standup=standup.id,
            run=run.id,
            prompt=prompt_id,
            alice=members[ALICE].id,
            bob=members[BOB].id,
            other_alice=other_members[ALICE].id,
        )


async def _count(db: Database, model: type[Base]) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


# --- migrations -------------------------------------------------------------------------------


def _schema_state(connection: Connection) -> tuple[set[str], str | None, list[object]]:
    tables = set(inspect(connection).get_table_names())
    revision = MigrationContext.configure(connection).get_current_revision()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return tables, revision, compare_metadata(context, Base.metadata)


async def _assert_at_head(engine: AsyncEngine) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with engine.connect() as connection:
        tables, revision, diff = await connection.run_sync(_schema_state)
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert revision == head
    assert diff == [], f"migrations and models disagree: {diff}"


async def test_migration_to_head_creates_every_table_and_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        await upgrade_to_head(database.engine)
        await _assert_at_head(database.engine)
        seed = await _seed(database)
        await upgrade_to_head(database.engine)  # second run: nothing to do, nothing lost
        await _assert_at_head(database.engine)
        async with database.session() as s:
            assert await standups_db.get_standup(s, seed.ws, seed.standup) is not None
        assert await _count(database, Answer) == 2
    finally:
        await database.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_upgrades_do_not_fail(database_url: str) -> None:
    """Several replicas starting at once against one Postgres all migrate without error."""
    databases = [Database(database_url) for _ in range(3)]
    try:
        async with asyncio.timeout(30):  # without the advisory lock they block each other
            await asyncio.gather(*(upgrade_to_head(d.engine) for d in databases))
        await _assert_at_head(databases[0].engine)
        async with databases[0].engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert len(rows) == 1
    finally:
        for d in databases:
            await d.dispose()


# --- constraints ------------------------------------------------------------------------------


async def test_second_prompt_for_same_member_and_day_is_rejected(db: Database) -> None:
    seed = await _seed(db)
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(
                Prompt(
                    workspace_id=seed.ws,
                    run_id=seed.run,
                    standup_id=seed.standup,
                    member_id=seed.alice,
                    local_date=TODAY,
                    due_at=NOW + dt.timedelta(minutes=5),
                    state="pending",
                    attempts=0,
                )
            )
    # The app's own insert is a no-op for the duplicate; a different member or day is fine.
    async with db.session() as s:
        run = await runs_db.get_run(s, seed.ws, seed.run)
        assert run is not None
        assert not await prompts_db.insert_prompt(
            s, seed.ws, run=run, member_id=seed.alice, due_at=NOW
        )
        assert await prompts_db.insert_prompt(s, seed.ws, run=run, member_id=seed.bob, due_at=NOW)
    assert await _count(db, Prompt) == 2


async def test_answer_by_someone_else_than_the_prompted_member_is_rejected(db: Database) -> None:
    seed = await _seed(db)
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(
                Answer(
                    workspace_id=seed.ws,
                    prompt_id=seed.prompt,
                    member_id=seed.bob,  # Alice's prompt
                    position=2,
                    question="Blockers?",
                    body="none",
                    submitted_at=NOW,
                )
            )
    async with db.session() as s:  # the same row for the right member is accepted
        s.add(
            Answer(
                workspace_id=seed.ws,
                prompt_id=seed.prompt,
                member_id=seed.alice,
                position=2,
                question="Blockers?",
                body="none",
                submitted_at=NOW,
            )
        )
    assert await _count(db, Answer) == 3


async def test_participant_from_another_workspace_is_rejected(db: Database) -> None:
    seed = await _seed(db)
    for workspace_id in (seed.ws, seed.other_ws):  # either way the pair does not match
        with pytest.raises(IntegrityError):
            async with db.session() as s:
                s.add(
                    Participant(
                        standup_id=seed.standup,
                        member_id=seed.other_alice,
                        workspace_id=workspace_id,
                        added_at=NOW,
                    )
                )
    async with db.session() as s:
        participants = await standups_db.standup_participants(s, seed.ws, seed.standup)
    assert {m.id for m in participants} == {seed.alice, seed.bob}


async def test_prompt_for_a_member_of_another_workspace_is_rejected(db: Database) -> None:
    seed = await _seed(db)
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(
                Prompt(
                    workspace_id=seed.ws,
                    run_id=seed.run,
                    standup_id=seed.standup,
                    member_id=seed.other_alice,
                    local_date=TODAY,
                    due_at=NOW,
                    state="pending",
                    attempts=0,
                )
            )


async def test_standup_names_unique_per_workspace_only(db: Database) -> None:
    seed = await _seed(db)

    def daily(workspace_id: int, name: str = "DAILY") -> Standup:
        return Standup(
            workspace_id=workspace_id,
            name=name,
            name_key="daily",
            channel_id="C0OTHER001",
            questions=["?"],
            weekday_mask=1,
            local_time="10:00",
            tz_mode="participant",
            owner_user_id=BOB,
        )

    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(daily(seed.ws))
    async with db.session() as s:  # same name in another workspace: fine
        s.add(daily(seed.other_ws, "Daily"))
    async with db.session() as s:
        ours = await standups_db.find_standup_by_name(s, seed.ws, "daily")
        theirs = await standups_db.find_standup_by_name(s, seed.other_ws, "daily")
        assert ours is not None and theirs is not None and ours.id != theirs.id
        assert (ours.channel_id, theirs.channel_id) == ("C0STANDUP1", "C0OTHER001")
        assert [s_.id for s_, _ in await standups_db.list_standups(s, seed.other_ws)] == [theirs.id]


@pytest.mark.parametrize(
    "changes",
    [{"weekday_mask": 128}, {"tz_mode": "mars"}, {"tz_mode": "fixed", "fixed_tz": None}],
    ids=["weekday-mask", "tz-mode", "fixed-without-zone"],
)
async def test_standup_check_constraints(db: Database, changes: dict[str, object]) -> None:
    seed = await _seed(db)
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            standup = await standups_db.get_standup(s, seed.ws, seed.standup)
            assert standup is not None
            for key, value in changes.items():
                setattr(standup, key, value)


# --- workspace scoping ------------------------------------------------------------------------


async def test_queries_only_see_their_own_workspace(db: Database) -> None:
    seed = await _seed(db)
    async with db.session() as s:
        assert await standups_db.get_standup(s, seed.ws, seed.standup) is not None
        assert await standups_db.get_standup(s, seed.other_ws, seed.standup) is None
        assert await standups_db.find_standup_by_name(s, seed.other_ws, "daily") is None
        assert await standups_db.list_standups(s, seed.other_ws) == []
        assert await runs_db.get_run(s, seed.other_ws, seed.run) is None
        assert await prompts_db.run_prompt_views(s, seed.other_ws, seed.run) == []
        assert await prompts_db.run_answers(s, seed.other_ws, seed.run) == []
        assert await prompts_db.prompt_answers(s, seed.other_ws, seed.prompt) == []
        assert await standups_db.standup_participants(s, seed.other_ws, seed.standup) == []

        view = await prompts_db.get_prompt_view(s, seed.ws, seed.prompt)
        assert view is not None
        assert (view.member.slack_user_id, view.run.id, view.standup.id) == (
            ALICE,
            seed.run,
            seed.standup,
        )
        assert await prompts_db.get_prompt_view(s, seed.other_ws, seed.prompt) is None
        # Alice's prompt is Alice's: Bob's click (or Alice's id in another team) finds nothing.
        assert await prompts_db.get_prompt_view(s, seed.ws, seed.prompt, for_user=ALICE) is not None
        assert await prompts_db.get_prompt_view(s, seed.ws, seed.prompt, for_user=BOB) is None
        assert (
            await prompts_db.get_prompt_view(s, seed.other_ws, seed.prompt, for_user=ALICE) is None
        )
        # Writes are scoped too: another workspace cannot delete or change our rows.
        assert not await standups_db.delete_standup(s, seed.other_ws, seed.standup)
        assert not await prompts_db.set_prompt_state(
            s, seed.other_ws, seed.prompt, PromptState.MISSED, from_states=(PromptState.ANSWERED,)
        )
    async with db.session() as s:
        prompt = await s.get(Prompt, seed.prompt)
        assert prompt is not None and prompt.state == "answered"
        assert await standups_db.get_standup(s, seed.ws, seed.standup) is not None


# --- datetimes --------------------------------------------------------------------------------


async def test_datetimes_come_back_aware_utc(db: Database) -> None:
    seed = await _seed(db)
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    due = dt.datetime(2026, 3, 10, 9, 30, tzinfo=kolkata)  # 04:00 UTC
    async with db.session() as s:
        await s.execute(
            cast(Table, Prompt.__table__)
            .update()
            .where(Prompt.id == seed.prompt)
            .values(due_at=due)
        )
    fresh = Database(db.url)  # a new engine: nothing cached from the write
    try:
        async with fresh.session() as s:
            prompt = await s.get(Prompt, seed.prompt)
            run = await s.get(Run, seed.run)
            standup = await s.get(Standup, seed.standup)
            answers = (await s.execute(select(Answer))).scalars().all()
            assert prompt is not None and run is not None and standup is not None
            values = [
                prompt.due_at,
                prompt.answered_at,
                run.close_at,
                run.created_at,
                standup.schedule_from,
                standup.created_at,
                *(a.submitted_at for a in answers),
            ]
            for value in values:
                assert value is not None
                assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0), value
            assert prompt.due_at == dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
            assert run.close_at == NOW + dt.timedelta(hours=4)
            assert standup.schedule_from == NOW
            # Comparisons in SQL use the same instants.
            earlier = (
                (await s.execute(select(Prompt.id).where(Prompt.due_at < NOW))).scalars().all()
            )
            assert earlier == [seed.prompt]
    finally:
        await fresh.dispose()


async def test_naive_datetimes_are_refused(db: Database) -> None:
    seed = await _seed(db)
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.session() as s:
            prompt = await s.get(Prompt, seed.prompt)
            assert prompt is not None
            prompt.due_at = dt.datetime(2026, 3, 10, 9, 30)


# --- cascades ---------------------------------------------------------------------------------


async def test_deleting_a_standup_cascades_to_its_runs_prompts_and_answers(db: Database) -> None:
    seed = await _seed(db)
    async with db.session() as s:  # a second standup whose rows must survive
        keep = await standups_db.create_standup(
            s,
            seed.ws,
            name="Weekly",
            name_key="weekly",
            channel_id="C0WEEKLY01",
            questions=["How was the week?"],
            weekday_mask=1,
            local_time="16:00",
            tz_mode="fixed",
            fixed_tz="Europe/Berlin",
            owner_user_id=BOB,
            participant_ids=[BOB],
            now=NOW,
        )
        run = await runs_db.get_or_create_run(s, seed.ws, keep, TODAY, NOW + dt.timedelta(hours=1))
        await prompts_db.insert_prompt(s, seed.ws, run=run, member_id=seed.bob, due_at=NOW)
    before = {m: await _count(db, m) for m in (Run, Prompt, Answer, Participant)}
    assert before == {Run: 2, Prompt: 2, Answer: 2, Participant: 3}

    async with db.session() as s:
        assert await standups_db.delete_standup(s, seed.ws, seed.standup)

    after = {m: await _count(db, m) for m in (Run, Prompt, Answer, Participant)}
    assert after == {Run: 1, Prompt: 1, Answer: 0, Participant: 1}
    async with db.session() as s:
        assert (await s.execute(select(Run.standup_id))).scalars().all() == [keep.id]
        # Members and workspaces are not owned by a standup.
        assert await _count_in(s, Member) == 3
        assert await _count_in(s, Workspace) == 2


async def _count_in(session: AsyncSession, model: type[Base]) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


# --- secrets at rest --------------------------------------------------------------------------

TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"


def test_secret_box_round_trip() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    ciphertext = box.encrypt(TOKEN)
    assert ciphertext != TOKEN
    assert "xoxb" not in ciphertext and "AbCdEf" not in ciphertext
    assert box.decrypt(ciphertext) == TOKEN
    assert box.encrypt(TOKEN) != ciphertext  # random IV: equal tokens don't look equal


def test_secret_box_key_rotation() -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_box = SecretBox([old])
    both = SecretBox([new, old])  # ENCRYPTION_KEY="new,old"
    new_only = SecretBox([new])

    stored = old_box.encrypt(TOKEN)
    assert both.decrypt(stored) == TOKEN
    with pytest.raises(SecretBoxError):
        new_only.decrypt(stored)

    rotated = both.rotate(stored)
    assert rotated != stored
    assert new_only.decrypt(rotated) == TOKEN
    with pytest.raises(SecretBoxError):
        old_box.decrypt(rotated)
    # New secrets are encrypted with the first key.
    assert new_only.decrypt(both.encrypt("xoxe-1-refresh")) == "xoxe-1-refresh"


def test_secret_box_rejects_garbage_and_empty_key_lists() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    with pytest.raises(SecretBoxError):
        box.decrypt("not-a-fernet-token")
    with pytest.raises(ValueError):
        SecretBox([])


def _database_bytes(folder: Path) -> bytes:
    """The SQLite file and any journal / WAL next to it."""
    files = sorted(p for p in folder.iterdir() if p.name.startswith("asyncstand.db"))
    assert files
    return b"".join(p.read_bytes() for p in files)


async def test_single_workspace_run_leaves_no_token_in_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "asyncstand.db"
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        app = await start_app(f"sqlite+aiosqlite:///{path}", slack)
        try:
            await slack.wait_for("auth.test")
            status, _ = await app.requests.command(ALICE, "list")
            assert status == 200
            await slack.wait_for("response_url")
        finally:
            await app.stop()
    data = _database_bytes(tmp_path)
    assert slack.team_id.encode() in data  # the run did write the workspace
    assert BOT_TOKEN.startswith("xoxb-")
    assert b"xoxb-" not in data
    assert BOT_TOKEN.split("-", 1)[1].encode() not in data
