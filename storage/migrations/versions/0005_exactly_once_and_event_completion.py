"""exactly once: claim tokens and posting markers, durable thread replies, event completion,
channel privacy, OAuth state expiry index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("posting_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("reply_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reply_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reply_posting_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_prompt_reply_requested", ["reply_requested_at"])
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("summary_posting_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("summary_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_run_summary_requested", ["summary_requested_at"])
    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    # Events recorded before this revision were handled the old way: count them as done.
    op.execute("UPDATE processed_event SET completed_at = received_at")
    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_private", sa.Boolean(), nullable=True))
    with op.batch_alter_table("oauth_state", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_state_expires_at", ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("oauth_state", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_state_expires_at")
    with op.batch_alter_table("standup", schema=None) as batch_op:
        batch_op.drop_column("channel_private")
    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index("ix_run_summary_requested")
        batch_op.drop_column("summary_requested_at")
        batch_op.drop_column("summary_posting_at")
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_index("ix_prompt_reply_requested")
        batch_op.drop_column("reply_posting_at")
        batch_op.drop_column("reply_lease_until")
        batch_op.drop_column("reply_requested_at")
        batch_op.drop_column("posting_at")
        batch_op.drop_column("claim_token")
