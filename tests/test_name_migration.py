"""Migration 0006 on both backends: existing standup names lose their invisible characters, every
name_key follows the new rule (NFKC, invisible characters removed, case-folded), and standups
whose names now collide are renamed — logged and audited — never lost."""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from bot.rules import validation
from storage import standups as standups_db
from storage.db import Database
from storage.migrate import MIGRATIONS_DIR, migrate
from storage.models import AuditEntry, Participant, Standup, Workspace

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _load_migration() -> ModuleType:
    path = MIGRATIONS_DIR / "versions" / "0006_name_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MIGRATION = _load_migration()

# Text that exercises the rule: letters, width and case variants, spaces, controls, invisible
# and joining characters, emoji, and characters NFKC or case folding expand.
TRICKY = st.text(
    alphabet=st.sampled_from(
        [
            *"aAbB zZ\t\n\x00\x01\x7f\x85ßſ",
            *("\u200b", "\u200c", "\u200d", "\u200e", "\u202e", "\u2060", "\ufeff", "\u00ad"),
            *("\u3164", "\ufe0f", "\U000e0100", "\u034f", "Ａ", "ｂ", "ﬁ", "\ufdfa", "İ"),
            *("👩", "💻", "❤", "\U0001f3fb", "\u3000", "\xa0", "\ud800"),
        ]
    ),
    max_size=30,
)


@given(TRICKY)
def test_the_migration_applies_the_rule_the_app_applies(name: str) -> None:
    assert MIGRATION.name_key(name) == validation.name_key(name)
    assert MIGRATION.normalise_name(name) == validation.normalise_name(name)
    assert MIGRATION.clean_text(name) == validation.clean_text(name)


def test_plan_keeps_clean_names_first_and_renames_the_rest() -> None:
    rows = [
        MIGRATION.Row(1, 7, "Da\u200bily", "da\u200bily"),
        MIGRATION.Row(2, 7, "Daily", "daily"),
        MIGRATION.Row(3, 7, "\u200b\u2060", "\u200b\u2060"),
        MIGRATION.Row(4, 8, "Da\u200bily", "da\u200bily"),  # another workspace: no collision
        MIGRATION.Row(5, 7, "Weekly", "weekly"),  # already right: untouched
    ]
    changes = {c.id: (c.name, c.key, c.renamed) for c in MIGRATION.plan(rows)}
    assert changes == {
        1: ("Daily (2)", "daily (2)", True),
        3: ("Standup 3", "standup 3", True),
        4: ("Daily", "daily", False),
    }


def test_plan_fits_suffixed_names_and_keys_in_their_columns() -> None:
    long = "ß" * 80  # its key ("ss" * 40, cut at 80) is as long as a key can be
    rows = [MIGRATION.Row(1, 7, long, "x"), MIGRATION.Row(2, 7, long + "\u200b", "y")]
    changes = {c.id: c for c in MIGRATION.plan(rows)}
    renamed = changes[2]
    assert renamed.renamed and renamed.name.endswith(" (2)")
    assert len(renamed.name) <= 80 and len(renamed.key) <= 80
    assert renamed.key != changes[1].key


# --- on the databases -------------------------------------------------------------------------


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    await migrate(db.engine, revision, down=down)


async def _standup(db: Database, workspace_id: int, name: str, key: str) -> int:
    """A standup with its owner as participant, written with the columns of revision 0005
    (the models describe the newest schema, which has more)."""
    async with db.session() as session:
        standup_id = await session.scalar(
            text(
                "INSERT INTO standup (workspace_id, name, name_key, channel_id, questions,"
                " weekday_mask, local_time, tz_mode, active, owner_user_id, schedule_from,"
                " created_at, updated_at) VALUES (:ws, :name, :key, 'C0TEAM001',"
                " '[\"Yesterday?\"]', 31, '09:30', 'participant', true, 'U0OWNER01',"
                " :now, :now, :now) RETURNING id"
            ),
            {"ws": workspace_id, "name": name, "key": key, "now": NOW},
        )
        member_id = await session.scalar(
            text(
                "INSERT INTO member (workspace_id, slack_user_id, is_bot, deleted, is_admin,"
                " created_at) VALUES (:ws, 'U0OWNER01', false, false, false, :now)"
                " ON CONFLICT (workspace_id, slack_user_id) DO UPDATE SET deleted = false"
                " RETURNING id"
            ),
            {"ws": workspace_id, "now": NOW},
        )
        await session.execute(
            text(
                "INSERT INTO participant (standup_id, member_id, workspace_id, added_at)"
                " VALUES (:standup, :member, :ws, :now)"
            ),
            {"standup": standup_id, "member": member_id, "ws": workspace_id, "now": NOW},
        )
        assert isinstance(standup_id, int)
        return standup_id


async def test_upgrade_recomputes_keys_and_renames_collisions_without_losing_a_standup(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate(db, "0005")
    async with db.session() as session:
        home = Workspace(team_id="T0HOME001")
        other = Workspace(team_id="T0OTHER01")
        session.add_all([home, other])
        await session.flush()
        home_id, other_id = home.id, other.id
    # Keys as the old rule made them (strip, collapse, casefold): all distinct before 0006.
    spoof = await _standup(db, home_id, "Da\u200bily", "da\u200bily")
    daily = await _standup(db, home_id, "Daily", "daily")
    wide = await _standup(db, home_id, "ＤＡＩＬＹ", "ｄａｉｌｙ")
    blank = await _standup(db, home_id, "\u2060\u200b", "\u2060\u200b")
    elsewhere = await _standup(db, other_id, "Da\u200bily", "da\u200bily")
    weekly = await _standup(db, home_id, "Weekly", "weekly")

    with caplog.at_level(logging.WARNING, logger="asyncstand.migrations"):
        await _migrate(db, "head")

    async with db.session() as session:
        rows = await session.execute(select(Standup.id, Standup.name, Standup.name_key))
        stored = {r.id: (r.name, r.name_key) for r in rows}
        participants = await session.scalar(select(func.count()).select_from(Participant))
        audit = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        renames = {
            (a.standup_id, (a.before or {}).get("name"), (a.after or {}).get("name")) for a in audit
        }
        found = await standups_db.find_standup_by_name(
            session, home_id, validation.name_key("daily (3)")
        )
    assert stored == {
        daily: ("Daily", "daily"),
        wide: ("ＤＡＩＬＹ (2)", "daily (2)"),
        spoof: ("Daily (3)", "daily (3)"),
        blank: (f"Standup {blank}", f"standup {blank}"),
        elsewhere: ("Daily", "daily"),
        weekly: ("Weekly", "weekly"),
    }
    assert participants == 6  # nothing else touched
    assert renames == {
        (wide, "ＤＡＩＬＹ", "ＤＡＩＬＹ (2)"),
        (spoof, "Da\u200bily", "Daily (3)"),
        (blank, "\u2060\u200b", f"Standup {blank}"),
    }
    assert found is not None and found.id == spoof  # reachable by its new name
    warned = [r.getMessage() for r in caplog.records if r.name == "asyncstand.migrations"]
    assert len(warned) == 3 and any("'Daily (3)'" in w for w in warned), warned

    # And back: keys by the old rule again, the names kept.
    await _migrate(db, "0005", down=True)
    async with db.session() as session:
        rows = await session.execute(select(Standup.id, Standup.name, Standup.name_key))
        back = {r.id: (r.name, r.name_key) for r in rows}
    assert back[daily] == ("Daily", "daily") and back[wide] == ("ＤＡＩＬＹ (2)", "ｄａｉｌｙ (2)")
    await _migrate(db, "head")
