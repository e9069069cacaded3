"""app home: who has opened App Home (only their homes are kept up to date) and whose home
needs drawing again; prompts found by person for the home's "today"

Revision ID: 0011_app_home
Revises: 0010
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_app_home"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_opened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("home_stale_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_member_home_stale", ["home_stale_at"], unique=False)
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prompt_member_date", ["workspace_id", "member_id", "local_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_index("ix_prompt_member_date")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index("ix_member_home_stale")
        batch_op.drop_column("home_stale_at")
        batch_op.drop_column("home_opened_at")
