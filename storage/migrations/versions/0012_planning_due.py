"""planning due: an index for the planner's one query per tick

Standups are planned again only shortly before their next prompt (standup.planned_until is that
instant), so an idle tick looks for "active, planned_until missing or soon" — by index, not by
reading every standup.

Revision ID: 0012_planning_due
Revises: 0011_app_home
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_planning_due"
down_revision: str | None = "0011_app_home"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_standup_plan_due", "standup", ["active", "planned_until"])


def downgrade() -> None:
    op.drop_index("ix_standup_plan_due", table_name="standup")
