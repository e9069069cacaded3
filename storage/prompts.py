"""Prompts (one person's check-in for one run), their answers and delivery problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import affected, upsert
from storage.models import (
    Answer,
    DeliveryIssue,
    Member,
    Prompt,
    PromptState,
    Run,
    Standup,
)


async def existing_prompt_keys(
    session: AsyncSession, workspace_id: int, standup_id: int, dates: Iterable[dt.date]
) -> set[tuple[int, dt.date]]:
    rows = await session.execute(
        select(Prompt.member_id, Prompt.local_date).where(
            Prompt.workspace_id == workspace_id,
            Prompt.standup_id == standup_id,
            Prompt.local_date.in_(list(set(dates))),
        )
    )
    return {(m, d) for m, d in rows}


async def insert_prompt(
    session: AsyncSession,
    workspace_id: int,
    *,
    run: Run,
    member_id: int,
    due_at: dt.datetime,
    state: PromptState = PromptState.PENDING,
) -> bool:
    """Insert unless (standup, member, local date) already has one; True if inserted."""
    stmt = upsert(session, Prompt).values(
        workspace_id=workspace_id,
        run_id=run.id,
        standup_id=run.standup_id,
        member_id=member_id,
        local_date=run.local_date,
        due_at=due_at,
        state=PromptState(state),
        attempts=0,
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["standup_id", "member_id", "local_date"])
    )
    return affected(result) > 0


@dataclass(frozen=True)
class PromptView:
    """A prompt with what is needed to act on it (all from the same workspace)."""

    prompt: Prompt
    member: Member
    run: Run
    standup: Standup


def _prompt_view_query(workspace_id: int) -> Select[Prompt, Member, Run, Standup]:
    return (
        select(Prompt, Member, Run, Standup)
        .join(Member, and_(Member.id == Prompt.member_id, Member.workspace_id == workspace_id))
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == workspace_id))
        .join(Standup, and_(Standup.id == Prompt.standup_id, Standup.workspace_id == workspace_id))
        .where(Prompt.workspace_id == workspace_id)
    )


async def get_prompt_view(
    session: AsyncSession, workspace_id: int, prompt_id: int, *, for_user: str | None = None
) -> PromptView | None:
    """Load a prompt only if it is in this workspace (and, if given, belongs to `for_user`)."""
    stmt = _prompt_view_query(workspace_id).where(Prompt.id == prompt_id)
    if for_user is not None:
        stmt = stmt.where(Member.slack_user_id == for_user)
    row = (await session.execute(stmt)).first()
    if row is None:
        return None
    return PromptView(row[0], row[1], row[2], row[3])


async def prompt_views_by_id(
    session: AsyncSession, pairs: Sequence[tuple[int, int]]
) -> list[PromptView]:
    """Load claimed prompts of many workspaces at once; each row is joined within its own
    workspace, so a prompt is only ever combined with its own workspace's rows."""
    if not pairs:
        return []
    ids = [p for _, p in pairs]
    stmt = (
        select(Prompt, Member, Run, Standup)
        .join(
            Member,
            and_(Member.id == Prompt.member_id, Member.workspace_id == Prompt.workspace_id),
        )
        .join(Run, and_(Run.id == Prompt.run_id, Run.workspace_id == Prompt.workspace_id))
        .join(
            Standup,
            and_(Standup.id == Prompt.standup_id, Standup.workspace_id == Prompt.workspace_id),
        )
        .where(Prompt.id.in_(ids))
    )
    wanted = set(pairs)
    return [
        PromptView(row[0], row[1], row[2], row[3])
        for row in await session.execute(stmt)
        if (row[0].workspace_id, row[0].id) in wanted
    ]


async def run_prompt_views(
    session: AsyncSession, workspace_id: int, run_id: int
) -> list[PromptView]:
    rows = await session.execute(
        _prompt_view_query(workspace_id).where(Prompt.run_id == run_id).order_by(Prompt.id)
    )
    return [PromptView(row[0], row[1], row[2], row[3]) for row in rows]


async def set_prompt_state(
    session: AsyncSession,
    workspace_id: int,
    prompt_id: int,
    state: PromptState,
    *,
    from_states: Sequence[PromptState],
    held_by: str | None = None,
    **values: Any,
) -> bool:
    """Compare-and-set a prompt's state; False if it was not in one of `from_states` (or, with
    `held_by`, if that claim no longer holds it)."""
    conditions = [
        Prompt.workspace_id == workspace_id,
        Prompt.id == prompt_id,
        Prompt.state.in_(list(from_states)),
    ]
    if held_by is not None:
        conditions.append(Prompt.claim_token == held_by)
    result = await session.execute(update(Prompt).where(*conditions).values(state=state, **values))
    return affected(result) > 0


async def mark_posting(
    session: AsyncSession,
    claims: Sequence[tuple[int, int, str]],
    *,
    now: dt.datetime,
    lease: dt.timedelta,
) -> set[tuple[int, int]]:
    """Last step before chat.postMessage, for (workspace_id, prompt_id, claim_token) claims at
    once: note that each DM may reach Slack from now on (until its ts is recorded) where the
    claim still holds. Returns the (workspace_id, prompt_id) pairs marked; a missing one is
    held by another replica now."""
    if not claims:
        return set()
    result = await session.execute(
        update(Prompt)
        .where(
            tuple_(Prompt.workspace_id, Prompt.id, Prompt.claim_token).in_(list(claims)),
            Prompt.state == PromptState.SENDING,
        )
        .values(posting_at=now, lease_until=now + lease)
        .returning(Prompt.workspace_id, Prompt.id)
        .execution_options(synchronize_session=False)
    )
    return {(w, p) for w, p in result}


async def close_unsent(session: AsyncSession, workspace_id: int, run_id: int) -> int:
    """A run closed: prompts never sent are recorded as missed."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.run_id == run_id,
            Prompt.state == PromptState.PENDING,
        )
        .values(state=PromptState.MISSED, error="run closed")
    )
    return affected(result)


@dataclass(frozen=True)
class SentDM:
    """A prompt's DM that is in Slack: where, its ts, when it was seen there, and when its
    reminder is due (None: no reminder)."""

    workspace_id: int
    prompt_id: int
    dm_channel_id: str
    message_ts: str
    sent_at: dt.datetime
    remind_at: dt.datetime | None


async def record_sent(
    session: AsyncSession, sent: Sequence[SentDM]
) -> dict[tuple[int, int], PromptState]:
    """Record posted DMs (one statement for all). Each prompt becomes 'sent' unless it was
    answered or skipped in the moment between posting and recording; returns the resulting
    state by (workspace_id, prompt_id)."""
    if not sent:
        return {}
    table = cast(Table, Prompt.__table__)  # Core: one executemany, per-row values
    await session.execute(
        update(table)
        .where(table.c.workspace_id == bindparam("w"), table.c.id == bindparam("p"))
        .values(
            state=case(
                (table.c.state == PromptState.SENDING.value, PromptState.SENT.value),
                else_=table.c.state,
            ),
            dm_channel_id=bindparam("channel"),
            message_ts=bindparam("ts"),
            sent_at=bindparam("sent_at"),
            lease_until=None,
            claim_token=None,
            error=None,
            remind_at=bindparam("remind"),
        ),
        [
            {
                "w": s.workspace_id,
                "p": s.prompt_id,
                "channel": s.dm_channel_id,
                "ts": s.message_ts,
                "sent_at": s.sent_at,
                "remind": s.remind_at,
            }
            for s in sent
        ],
    )
    rows = await session.execute(
        select(Prompt.workspace_id, Prompt.id, Prompt.state).where(
            tuple_(Prompt.workspace_id, Prompt.id).in_(
                [(s.workspace_id, s.prompt_id) for s in sent]
            )
        )
    )
    return {(w, p): PromptState(state) for w, p, state in rows}


async def claim_reply(
    session: AsyncSession, workspace_id: int, prompt_id: int, now: dt.datetime, lease: dt.timedelta
) -> PromptView | None:
    """Take an answer's thread reply for posting or updating (by lease); None when another
    replica holds it or when nothing is pending."""
    result = await session.execute(
        update(Prompt)
        .where(
            Prompt.workspace_id == workspace_id,
            Prompt.id == prompt_id,
            Prompt.reply_requested_at.is_not(None),
            or_(Prompt.reply_lease_until.is_(None), Prompt.reply_lease_until < now),
        )
        .values(reply_lease_until=now + lease)
    )
    if not affected(result):
        return None
    stmt = _prompt_view_query(workspace_id).where(Prompt.id == prompt_id)
    row = (await session.execute(stmt.execution_options(populate_existing=True))).first()
    return PromptView(row[0], row[1], row[2], row[3]) if row else None


async def mark_reply_posting(
    session: AsyncSession, workspace_id: int, prompt_id: int, now: dt.datetime
) -> None:
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == prompt_id)
        .values(reply_posting_at=now)
    )


async def record_reply(
    session: AsyncSession,
    workspace_id: int,
    prompt_id: int,
    reply_ts: str,
    rendered_for: dt.datetime | None,
) -> None:
    """The reply is in Slack as rendered for `rendered_for`; a newer edit stays pending."""
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == prompt_id)
        .values(
            reply_ts=reply_ts,
            reply_lease_until=None,
            reply_requested_at=case(
                (Prompt.reply_requested_at == rendered_for, None),
                else_=Prompt.reply_requested_at,
            ),
        )
    )


async def release_reply(session: AsyncSession, workspace_id: int, prompt_id: int) -> None:
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == prompt_id)
        .values(reply_lease_until=None)
    )


# --- answers ----------------------------------------------------------------------------------


async def run_answers(session: AsyncSession, workspace_id: int, run_id: int) -> list[Answer]:
    rows = await session.execute(
        select(Answer)
        .join(Prompt, Prompt.id == Answer.prompt_id)
        .where(
            Answer.workspace_id == workspace_id,
            Prompt.workspace_id == workspace_id,
            Prompt.run_id == run_id,
        )
        .order_by(Answer.prompt_id, Answer.position)
    )
    return list(rows.scalars())


async def prompt_answers(session: AsyncSession, workspace_id: int, prompt_id: int) -> list[Answer]:
    rows = await session.execute(
        select(Answer)
        .where(Answer.workspace_id == workspace_id, Answer.prompt_id == prompt_id)
        .order_by(Answer.position)
    )
    return list(rows.scalars())


async def save_answers(
    session: AsyncSession,
    workspace_id: int,
    view: PromptView,
    answers: list[str],
    now: dt.datetime,
    *,
    question_texts: Sequence[str],
    late: bool = False,
) -> bool:
    """Store or update all answers of one prompt; True if this was an edit. `late`: the run
    has closed, so a first answer is marked late (an edit keeps what the first answer was)."""
    existing = {a.position: a for a in await prompt_answers(session, workspace_id, view.prompt.id)}
    edited = bool(existing)
    for position, body in enumerate(answers):
        row = existing.get(position)
        if row is None:
            session.add(
                Answer(
                    workspace_id=workspace_id,
                    prompt_id=view.prompt.id,
                    member_id=view.member.id,
                    position=position,
                    question=question_texts[position],
                    body=body,
                    submitted_at=now,
                )
            )
        elif row.body != body:
            row.body = body
            row.edited_at = now
    await session.execute(
        update(Prompt)
        .where(Prompt.workspace_id == workspace_id, Prompt.id == view.prompt.id)
        .values(
            state=PromptState.ANSWERED,
            answered_at=func.coalesce(Prompt.answered_at, now),
            late=case((Prompt.answered_at.is_(None), late), else_=Prompt.late),
            reply_requested_at=now,
        )
    )
    await session.flush()
    return edited


# --- delivery problems ------------------------------------------------------------------------


async def record_delivery_issue(
    session: AsyncSession,
    workspace_id: int,
    standup_id: int,
    member_id: int,
    reason: str,
    now: dt.datetime,
) -> bool:
    """True the first time this (standup, member, reason) is seen: the owner should be told."""
    stmt = upsert(session, DeliveryIssue).values(
        standup_id=standup_id,
        member_id=member_id,
        reason=reason[:64],
        workspace_id=workspace_id,
        first_seen_at=now,
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["standup_id", "member_id", "reason"])
    )
    return affected(result) > 0
