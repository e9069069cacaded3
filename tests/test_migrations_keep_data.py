"""Upgrading a database that holds data loses none of it, on SQLite (where some tables are
copied to be changed) and on Postgres; closed runs get their participation records."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storage.db import Database
from storage.migrate import migrate
from storage.models import (
    Answer,
    AuditEntry,
    Member,
    Outcome,
    Participant,
    Participation,
    Prompt,
    Run,
    Standup,
)

NOW = dt.datetime(2026, 11, 2, 9, 0)
TABLES = (Member, Standup, Participant, Run, Prompt, Answer, AuditEntry)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def _seed_at_0004(db: Database) -> None:
    """A workspace with a closed run (answered, late, skipped, missed, failed) and an open one,
    written with the columns of revision 0004."""
    statements = [
        "INSERT INTO workspace (id, team_id, active, create_restricted, created_at, updated_at)"
        " VALUES (1, 'T0KEEP001', true, false, :now, :now)",
        *(
            f"INSERT INTO member (id, workspace_id, slack_user_id, is_bot, deleted, is_admin,"
            f" created_at) VALUES ({n}, 1, 'U0KEEP00{n}', false, false, false, :now)"
            for n in range(1, 6)
        ),
        "INSERT INTO standup (id, workspace_id, name, name_key, channel_id, questions,"
        " weekday_mask, local_time, tz_mode, active, owner_user_id, schedule_from, created_at,"
        " updated_at) VALUES (1, 1, 'Daily', 'daily', 'C0KEEP001', '[\"Yesterday?\"]', 127,"
        " '09:00', 'participant', true, 'U0KEEP001', :now, :now, :now)",
        *(
            f"INSERT INTO participant (standup_id, member_id, workspace_id, added_at)"
            f" VALUES (1, {n}, 1, :now)"
            for n in range(1, 6)
        ),
        "INSERT INTO run (id, workspace_id, standup_id, local_date, questions, channel_id, state,"
        " close_at, closed_at, created_at) VALUES (1, 1, 1, '2026-11-01', '[\"Yesterday?\"]',"
        " 'C0KEEP001', 'closed', :now, :now, :now)",
        "INSERT INTO run (id, workspace_id, standup_id, local_date, questions, channel_id, state,"
        " close_at, created_at) VALUES (2, 1, 1, '2026-11-02', '[\"Yesterday?\"]',"
        " 'C0KEEP001', 'open', :later, :now)",
    ]
    states = {1: "answered", 2: "answered", 3: "skipped", 4: "pending", 5: "failed"}
    for member, state in states.items():
        answered = {1: ":early", 2: ":later"}.get(member, "NULL")
        statements.append(
            "INSERT INTO prompt (id, workspace_id, run_id, standup_id, member_id, local_date,"
            f" due_at, state, attempts, answered_at) VALUES ({member}, 1, 1, 1, {member},"
            f" '2026-11-01', :early, '{state}', 1, {answered})"
        )
    statements += [
        "INSERT INTO prompt (id, workspace_id, run_id, standup_id, member_id, local_date, due_at,"
        " state, attempts) VALUES (6, 1, 2, 1, 1, '2026-11-02', :now, 'sent', 1)",
        *(
            f"INSERT INTO answer (workspace_id, prompt_id, member_id, position, question, body,"
            f" submitted_at) VALUES (1, {n}, {n}, 0, 'Yesterday?', 'shipped', :now)"
            for n in (1, 2)
        ),
        "INSERT INTO audit_log (workspace_id, standup_id, standup_name, actor_user_id, action,"
        " at) VALUES (1, 1, 'Daily', 'U0KEEP001', 'create', :now)",
    ]
    times = {
        "now": NOW,
        "early": NOW - dt.timedelta(hours=1),
        "later": NOW + dt.timedelta(hours=1),
    }
    async with db.session() as session:
        for statement in statements:
            names = {k: v for k, v in times.items() if f":{k}" in statement}
            await session.execute(text(statement), names)


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            model.__tablename__: int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in TABLES
        }


async def test_upgrading_keeps_every_row_and_records_closed_runs(db: Database) -> None:
    await migrate(db.engine, "0004")
    await _seed_at_0004(db)
    before = await _counts(db)
    assert before == {
        "member": 5,
        "standup": 1,
        "participant": 5,
        "run": 2,
        "prompt": 6,
        "answer": 2,
        "audit_log": 1,
    }
    await migrate(db.engine, "head")
    assert await _counts(db) == before
    async with db.session() as session:
        records = (await session.execute(select(Participation))).scalars().all()
        states = dict((await session.execute(select(Prompt.id, Prompt.state))).all())
    assert {r.member_id: r.outcome for r in records} == {
        1: Outcome.ANSWERED,
        2: Outcome.LATE,  # answered after the run closed
        3: Outcome.SKIPPED,
        4: Outcome.MISSED,
        5: Outcome.UNDELIVERABLE,
    }
    assert {r.run_id for r in records} == {1}  # the open run gets its records when it closes
    assert states[6] == "sent"


async def test_questions_become_typed_with_the_wording_rule_applied_once(db: Database) -> None:
    """0010: every stored question list (standups and runs' copies) becomes typed questions;
    the first whose wording contains "block" is the blocker question, and later wording no
    longer matters. Down again keeps the texts."""
    await migrate(db.engine, "0009")
    await _seed_at_0004(db)
    legacy = '["Yesterday?", "Anything BLOCKING you?", "Blocked on reviews?"]'
    async with db.session() as session:
        await session.execute(text("UPDATE standup SET questions = :q"), {"q": legacy})
        await session.execute(text("UPDATE run SET questions = :q WHERE id = 1"), {"q": legacy})
    await migrate(db.engine, "0010")
    async with db.session() as session:
        standup = (await session.execute(select(Standup.questions))).scalar_one()
        runs: dict[int, list[Any]] = dict(
            (await session.execute(select(Run.id, Run.questions))).all()
        )

    def typed(text_: str, blocker: bool) -> dict[str, object]:
        return {"text": text_, "type": "text", "options": [], "is_blocker": blocker}

    expected = [
        typed("Yesterday?", False),
        typed("Anything BLOCKING you?", True),
        typed("Blocked on reviews?", False),
    ]
    assert standup == expected and runs[1] == expected
    assert runs[2] == [typed("Yesterday?", False)]

    await migrate(db.engine, "0010", down=False)  # again: nothing changes
    await migrate(db.engine, "0009", down=True)
    async with db.session() as session:
        standup = (await session.execute(select(Standup.questions))).scalar_one()
    assert standup == ["Yesterday?", "Anything BLOCKING you?", "Blocked on reviews?"]
