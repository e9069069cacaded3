"""attendance: cadences, answer windows, reminders, holidays, out of office, skipped days,
channel-synced participants, away/holiday prompt states, participation records (backfilled)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ("pending", "sending", "sent", "answered", "skipped", "missed", "failed")
NEW_STATES = (*OLD_STATES, "away", "holiday")
OUTCOMES = ("answered", "late", "skipped", "away", "holiday", "missed", "undeliverable")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(timestamp: str) -> sa.Column[Any]:
    return sa.Column(timestamp, sa.DateTime(timezone=True), nullable=True)


def _id(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cadence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("answer_window_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminder_minutes_before", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("holiday_calendar", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "participant_source",
                sa.String(length=16),
                server_default="people",
                nullable=False,
            )
        )
        batch_op.add_column(_when("nudged_at"))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminders_off", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("holiday_calendar", sa.String(length=16), nullable=True))
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.add_column(_when("remind_at"))
        batch_op.add_column(_when("reminded_at"))
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.drop_constraint(op.f("ck_prompt_state_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_prompt_state_known"), _one_of("state", NEW_STATES)
        )
        batch_op.create_index("ix_prompt_remind", ["state", "remind_at"])

    op.create_table(
        "away_period",
        _id("id"),
        _id("workspace_id"),
        _id("member_id"),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("set_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_away_period_ordered")),
        sa.ForeignKeyConstraint(
            ["member_id", "workspace_id"],
            ["member.id", "member.workspace_id"],
            name=op.f("fk_away_period_member_id_workspace_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_away_period_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_away_period")),
    )
    op.create_index(
        "ix_away_period_member", "away_period", ["workspace_id", "member_id", "ends_on"]
    )
    op.create_table(
        "skipped_day",
        _id("standup_id"),
        sa.Column("local_date", sa.Date(), nullable=False),
        _id("workspace_id"),
        sa.Column("skipped_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standup_id", "workspace_id"],
            ["standup.id", "standup.workspace_id"],
            name=op.f("fk_skipped_day_standup_id_workspace_id_standup"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_skipped_day_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("standup_id", "local_date", name=op.f("pk_skipped_day")),
    )
    op.create_table(
        "participation",
        _id("id"),
        _id("workspace_id"),
        _id("run_id"),
        _id("standup_id"),
        _id("member_id"),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            _one_of("outcome", OUTCOMES), name=op.f("ck_participation_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["member_id", "workspace_id"],
            ["member.id", "member.workspace_id"],
            name=op.f("fk_participation_member_id_workspace_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id", "workspace_id"],
            ["run.id", "run.workspace_id"],
            name=op.f("fk_participation_run_id_workspace_id_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_participation_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation")),
        sa.UniqueConstraint("run_id", "member_id", name=op.f("uq_participation_run_id_member_id")),
    )
    op.create_index(
        "ix_participation_standup_date",
        "participation",
        ["workspace_id", "standup_id", "local_date"],
    )
    # Every run closed before this revision gets its records, from what its prompts say.
    op.execute(
        """
        INSERT INTO participation
            (workspace_id, run_id, standup_id, member_id, local_date, outcome,
             due_at, answered_at, recorded_at)
        SELECT prompt.workspace_id, prompt.run_id, prompt.standup_id, prompt.member_id,
               prompt.local_date,
               CASE prompt.state
                   WHEN 'answered' THEN
                       CASE WHEN run.closed_at IS NOT NULL AND prompt.answered_at > run.closed_at
                            THEN 'late' ELSE 'answered' END
                   WHEN 'skipped' THEN 'skipped'
                   WHEN 'failed' THEN 'undeliverable'
                   ELSE 'missed'
               END,
               prompt.due_at, prompt.answered_at, COALESCE(run.closed_at, run.close_at)
        FROM prompt JOIN run ON run.id = prompt.run_id AND run.workspace_id = prompt.workspace_id
        WHERE run.state = 'closed'
        """
    )


def downgrade() -> None:
    op.drop_index("ix_participation_standup_date", table_name="participation")
    op.drop_table("participation")
    op.drop_table("skipped_day")
    op.drop_index("ix_away_period_member", table_name="away_period")
    op.drop_table("away_period")
    op.execute("UPDATE prompt SET state = 'missed' WHERE state IN ('away', 'holiday')")
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_index("ix_prompt_remind")
        batch_op.drop_constraint(op.f("ck_prompt_state_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_prompt_state_known"), _one_of("state", OLD_STATES)
        )
        batch_op.drop_column("late")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("remind_at")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("holiday_calendar")
        batch_op.drop_column("reminders_off")
    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.drop_column("nudged_at")
        batch_op.drop_column("participant_source")
        batch_op.drop_column("holiday_calendar")
        batch_op.drop_column("reminder_minutes_before")
        batch_op.drop_column("answer_window_minutes")
        batch_op.drop_column("cadence")
