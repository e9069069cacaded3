"""standup names: invisible characters removed and name_key recomputed (NFKC, invisible characters
removed, whitespace collapsed, case-folded); names that now collide are renamed, never lost

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The rule is copied here on purpose (a migration must not change when the app's code does);
tests/test_name_migration.py checks that it agrees with bot.rules.validation today.

Within a workspace the standup whose stored name was already clean keeps its name (then the
oldest); any other standup whose new key is taken is renamed "<name> (2)", "(3)"…, an empty name
becomes "Standup <id>". Each rename is logged (warning) and written to the audit log, so the
owners see it in `/standup history`. Nothing is deleted.
"""

import datetime as dt
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("asyncstand.migrations")

NAME_LEN = 80  # standup.name and standup.name_key are VARCHAR(80)

# --- the rule as of this revision (bot.rules.validation: clean_text, normalise_name, name_key) ---

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_VARIATION_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
_IGNORABLE = (
    frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F})
    | frozenset({0x3164, 0xFFA0})
    | _VARIATION_SELECTORS
)
_ZWJ = "\u200d"


def clean_text(text: str) -> str:
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or ord(char) in _IGNORABLE


def _emoji_part(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or ord(char) in _VARIATION_SELECTORS


def _shown(text: str, index: int) -> bool:
    char = text[index]
    if ord(char) in _VARIATION_SELECTORS:
        return index > 0 and _emoji_part(text[index - 1])
    if char == _ZWJ:
        return (
            0 < index < len(text) - 1
            and _emoji_part(text[index - 1])
            and _emoji_part(text[index + 1])
        )
    return False


def normalise_name(name: str) -> str:
    text = clean_text(name)
    text = "".join(c for i, c in enumerate(text) if not _invisible(c) or _shown(text, i))
    return " ".join(text.split())


def name_key(name: str) -> str:
    text = unicodedata.normalize("NFKC", clean_text(name))
    text = "".join(c for c in text if not _invisible(c))
    text = unicodedata.normalize("NFKC", " ".join(text.split()).casefold())
    return text[:NAME_LEN]


def old_name_key(name: str) -> str:
    """The rule before this revision (for downgrades)."""
    return " ".join(name.split()).casefold()


# --- planning (pure) --------------------------------------------------------------------------


class Row(NamedTuple):
    id: int
    workspace_id: int
    name: str
    name_key: str


class Change(NamedTuple):
    id: int
    workspace_id: int
    old_name: str
    name: str
    key: str
    renamed: bool  # the name people see changed (a collision, or nothing visible was left)


def _with_suffix(name: str, suffix: str) -> str:
    """`name` + `suffix`, the name cut so that both the name and its key fit their columns."""
    base = name[: NAME_LEN - len(suffix)].rstrip()
    while base and len(name_key(base + suffix)) >= NAME_LEN:
        base = base[:-1].rstrip()
    return base + suffix


def plan(rows: Iterable[Row]) -> list[Change]:
    """New names and keys for every row whose name or key changes; keys unique per workspace."""
    by_workspace: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_workspace[row.workspace_id].append(row)
    changes = []
    for workspace_rows in by_workspace.values():
        # Names that were already clean keep them first, then the oldest standups.
        ordered = sorted(workspace_rows, key=lambda r: (normalise_name(r.name) != r.name, r.id))
        taken: set[str] = set()
        for row in ordered:
            clean = normalise_name(row.name)[:NAME_LEN]
            name = clean or f"Standup {row.id}"
            key, number = name_key(name), 1
            while key in taken:
                number += 1
                name = _with_suffix(clean or f"Standup {row.id}", f" ({number})")
                key = name_key(name)
            taken.add(key)
            if (name, key) != (row.name, row.name_key):
                renamed = name != clean
                changes.append(Change(row.id, row.workspace_id, row.name, name, key, renamed))
    return changes


# --- applying ---------------------------------------------------------------------------------

_standup = sa.table(
    "standup",
    sa.column("id", sa.Integer),
    sa.column("workspace_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)
_audit = sa.table(
    "audit_log",
    sa.column("workspace_id", sa.Integer),
    sa.column("standup_id", sa.Integer),
    sa.column("standup_name", sa.String),
    sa.column("actor_user_id", sa.String),
    sa.column("action", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("at", sa.DateTime(timezone=True)),
)


def _rows(connection: sa.Connection) -> list[Row]:
    result = connection.execute(
        sa.select(_standup.c.id, _standup.c.workspace_id, _standup.c.name, _standup.c.name_key)
    )
    return [Row(*r) for r in result]


def _park(connection: sa.Connection, ids: Iterable[int]) -> None:
    """Move keys out of the way first (onto values no name produces: they start with a control
    character), so no intermediate state breaks UNIQUE (workspace_id, name_key)."""
    for standup_id in ids:
        connection.execute(
            sa.update(_standup)
            .where(_standup.c.id == standup_id)
            .values(name_key=f"\x01{standup_id}")
        )


def upgrade() -> None:
    connection = op.get_bind()
    changes = plan(_rows(connection))
    _park(connection, (c.id for c in changes))
    now = dt.datetime.now(dt.UTC)
    if connection.dialect.name == "sqlite":  # stored as naive UTC there (see UTCDateTime)
        now = now.replace(tzinfo=None)
    for change in changes:
        connection.execute(
            sa.update(_standup)
            .where(_standup.c.id == change.id)
            .values(name=change.name, name_key=change.key)
        )
        if not change.renamed:
            continue
        log.warning(
            "standup %s renamed from %r to %r: its name collided with another standup's "
            "once invisible characters, width and case were ignored",
            change.id,
            change.old_name,
            change.name,
        )
        connection.execute(
            sa.insert(_audit).values(
                workspace_id=change.workspace_id,
                standup_id=change.id,
                standup_name=change.name,
                actor_user_id=None,
                action="rename",
                before={"name": change.old_name},
                after={"name": change.name},
                at=now,
            )
        )


def downgrade() -> None:
    """Keys by the old rule again (names stay as they are now); a key that would collide gets
    "~<id>" appended, and is logged."""
    connection = op.get_bind()
    rows = _rows(connection)
    _park(connection, (r.id for r in rows))
    taken: set[tuple[int, str]] = set()
    for row in sorted(rows, key=lambda r: r.id):
        key = old_name_key(row.name)[:NAME_LEN]
        if (row.workspace_id, key) in taken:
            suffix = f"~{row.id}"
            key = key[: NAME_LEN - len(suffix)] + suffix
            log.warning("standup %s keeps name key %r on downgrade (collision)", row.id, key)
        taken.add((row.workspace_id, key))
        connection.execute(sa.update(_standup).where(_standup.c.id == row.id).values(name_key=key))
