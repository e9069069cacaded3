"""question types: every standup's questions (and each run's copy of them) become typed

Questions were stored as a list of strings; a "blocker" question was any whose wording contained
"block". They become a list of objects ``{"text", "type", "options", "is_blocker"}``: every old
question is free text, and the first one whose wording contains "block" is marked as the blocker
question — the wording rule, applied once here and never again.

Downgrade keeps only each question's text (types and the blocker flag are lost).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500
_TABLES = ("standup", "run")


def _typed(texts: list[str]) -> list[dict[str, Any]]:
    """The legacy list as typed questions (kept here: a migration must not change with the app)."""
    typed: list[dict[str, Any]] = []
    blocker_found = False
    for text in texts:
        is_blocker = not blocker_found and "block" in text.casefold()
        blocker_found = blocker_found or is_blocker
        typed.append({"text": text, "type": "text", "options": [], "is_blocker": is_blocker})
    return typed


def _texts(questions: list[Any]) -> list[str]:
    return [q["text"] if isinstance(q, dict) else str(q) for q in questions]


def _rewrite(table_name: str, convert: Any, wanted: Any) -> None:
    """Rewrite every row's questions whose form ``wanted`` says needs it, in id order and in
    batches so a big table is never held in memory at once."""
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column("questions", sa.JSON))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.questions)
            .where(table.c.id > last_id)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row_id, questions in rows:
            if isinstance(questions, list) and wanted(questions):
                connection.execute(
                    table.update().where(table.c.id == row_id).values(questions=convert(questions))
                )
        last_id = rows[-1][0]


def upgrade() -> None:
    for name in _TABLES:
        _rewrite(name, _typed, lambda qs: all(isinstance(q, str) for q in qs))


def downgrade() -> None:
    for name in _TABLES:
        _rewrite(name, _texts, lambda qs: any(isinstance(q, dict) for q in qs))
