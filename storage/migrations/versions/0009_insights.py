"""insights: blockers followed up until resolved, their escalation threshold, moods in
participation records

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:55:44.429752
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocker",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "standup_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("prompt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_asked_on", sa.Date(), nullable=True),
        sa.Column("still_blocked_on", sa.Date(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id", "workspace_id"],
            ["member.id", "member.workspace_id"],
            name=op.f("fk_blocker_member_id_workspace_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["standup_id", "workspace_id"],
            ["standup.id", "standup.workspace_id"],
            name=op.f("fk_blocker_standup_id_workspace_id_standup"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_blocker_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocker")),
        sa.UniqueConstraint("id", "workspace_id", name=op.f("uq_blocker_id_workspace_id")),
    )
    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blocker_open_by_member", ["workspace_id", "member_id", "resolved_at"], unique=False
        )
        batch_op.create_index(
            "ix_blocker_open_by_standup",
            ["workspace_id", "standup_id", "resolved_at"],
            unique=False,
        )

    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mood", sa.Integer(), nullable=True))

    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("blocker_escalation_days", sa.Integer(), server_default="2", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.drop_column("blocker_escalation_days")

    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_column("mood")

    with op.batch_alter_table("blocker", schema=None) as batch_op:
        batch_op.drop_index("ix_blocker_open_by_standup")
        batch_op.drop_index("ix_blocker_open_by_member")

    op.drop_table("blocker")
