"""What exports read: answers (one row per answer, streamed in batches) and, for a workspace's
"give me my data" export, every table row of that workspace without secrets. Every function
takes its workspace."""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import (
    Answer,
    ApiToken,
    AuditEntry,
    AwayPeriod,
    Base,
    Blocker,
    DeliveryIssue,
    Installation,
    Member,
    Participant,
    Participation,
    Prompt,
    Run,
    SkippedDay,
    Standup,
    StandupOwner,
    Webhook,
    WebhookDelivery,
    Workspace,
)

# Rows fetched from the database at a time while an export is written.
BATCH = 500


# --- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerRow:
    standup: str
    due_at: dt.datetime
    local_date: dt.date
    user_id: str
    user_name: str | None
    question: str
    body: str
    submitted_at: dt.datetime
    late: bool


def _filtered(
    stmt: Any,
    workspace_id: int,
    standup_id: int | None,
    only_user: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> Any:
    stmt = (
        stmt.join(Prompt, Prompt.id == Answer.prompt_id)
        .join(Member, Member.id == Answer.member_id)
        .where(
            Answer.workspace_id == workspace_id,
            Prompt.workspace_id == workspace_id,
            Member.workspace_id == workspace_id,
        )
    )
    if standup_id is not None:
        stmt = stmt.where(Prompt.standup_id == standup_id)
    if only_user is not None:
        stmt = stmt.where(Member.slack_user_id == only_user)
    if start is not None:
        stmt = stmt.where(Prompt.local_date >= start)
    if end is not None:
        stmt = stmt.where(Prompt.local_date <= end)
    return stmt


async def count_answers(
    session: AsyncSession,
    workspace_id: int,
    *,
    standup_id: int | None = None,
    only_user: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> int:
    """How many answer rows an export with these filters writes (one statement)."""
    stmt = _filtered(
        select(func.count()).select_from(Answer), workspace_id, standup_id, only_user, start, end
    )
    return int(await session.scalar(stmt) or 0)


async def answers(
    session: AsyncSession,
    workspace_id: int,
    *,
    standup_id: int | None = None,
    only_user: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> AsyncIterator[list[AnswerRow]]:
    """Answers of one standup (or the whole workspace), optionally one person's and between two
    local dates (both included), by date, standup, person and question: one statement whose
    rows arrive in batches of :data:`BATCH`, so an export never holds them all."""
    stmt = _filtered(
        select(
            Standup.name,
            Prompt.due_at,
            Prompt.local_date,
            Member.slack_user_id,
            Member.name,
            Answer.question,
            Answer.body,
            Answer.submitted_at,
            Prompt.late,
        ).select_from(Answer),
        workspace_id,
        standup_id,
        only_user,
        start,
        end,
    )
    stmt = (
        stmt.join(Standup, Standup.id == Prompt.standup_id)
        .where(Standup.workspace_id == workspace_id)
        .order_by(
            Prompt.local_date,
            Standup.name_key,
            Member.slack_user_id,
            Prompt.id,
            Answer.position,
        )
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(stmt)
    async for partition in result.partitions():
        yield [AnswerRow(*row) for row in partition]


# --- everything about a workspace ---------------------------------------------------------------

# Tables in a workspace's data export, in an order that reads well (parents first).
EXPORTED: tuple[type[Base], ...] = (
    Workspace,
    Installation,
    Member,
    Standup,
    StandupOwner,
    Participant,
    Run,
    Prompt,
    Answer,
    Participation,
    Blocker,
    AwayPeriod,
    SkippedDay,
    DeliveryIssue,
    AuditEntry,
    Webhook,
    WebhookDelivery,
    ApiToken,
)

# Tables left out, and why (tests check that every table is in one list or the other).
NOT_EXPORTED: dict[str, str] = {
    "web_session": "sign-in sessions: only digests of browser cookies",
    "idempotency_key": "stored API responses, which may hold a webhook secret shown once",
    "oauth_state": "install attempts, not tied to a workspace",
    "login_state": "sign-in attempts, not tied to a workspace",
    "processed_event": "ids of Slack events already handled",
    "alembic_version": "the schema's version",
}

# Columns never exported: secrets, and what only serves to prove one (digests).
SECRET_COLUMNS: dict[str, frozenset[str]] = {
    "installation": frozenset({"bot_token_encrypted", "bot_refresh_token_encrypted"}),
    "webhook": frozenset({"secret_encrypted"}),
    "api_token": frozenset({"digest"}),
}
# And, whatever the table, any column whose name says it holds one (a safety net for columns
# added later: they stay out until someone decides otherwise here) — but for these, which only
# sound like one.
_SECRET_NAME = re.compile(r"secret|token|digest|encrypted|password|hash|private_key", re.I)
NOT_SECRET: dict[str, frozenset[str]] = {"installation": frozenset({"bot_token_expires_at"})}


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def exported_columns(model: type[Base]) -> list[str]:
    """The columns of `model` a workspace export shows."""
    table = _table(model)
    hidden = SECRET_COLUMNS.get(table.name, frozenset())
    allowed = NOT_SECRET.get(table.name, frozenset())
    return [
        column.name
        for column in table.columns
        if column.name not in hidden
        and (column.name in allowed or not _SECRET_NAME.search(column.name))
    ]


def _plain(value: Any) -> Any:
    """A column value as JSON can hold it (dates ISO 8601, datetimes UTC with "Z")."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _workspace_filter(model: type[Base], workspace_id: int) -> Any:
    column = model.id if model is Workspace else model.workspace_id  # type: ignore[attr-defined]
    assert isinstance(column, InstrumentedAttribute)
    return column == workspace_id


async def table_rows(
    session: AsyncSession, workspace_id: int, model: type[Base]
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row of `model` that belongs to the workspace, as plain dicts of its exported
    columns, in batches: one statement per table."""
    names = exported_columns(model)
    table = _table(model)
    columns: Sequence[Any] = [table.c[name] for name in names]
    order = [table.c[c.name] for c in table.primary_key.columns]
    stmt = (
        select(*columns)
        .where(_workspace_filter(model, workspace_id))
        .order_by(*order)
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(stmt)
    async for partition in result.partitions():
        yield [
            {name: _plain(value) for name, value in zip(names, row, strict=True)}
            for row in partition
        ]
