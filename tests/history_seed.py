"""Seeding a standup's past straight into the database, for report and export tests: closed
runs, each person's prompt (in the state its outcome implies), answers, participation records
with moods, and blockers — the rows the scheduler and the answer flow would have written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import members as members_db
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.models import (
    Answer,
    Blocker,
    Member,
    Outcome,
    Participation,
    Prompt,
    PromptState,
    Run,
    RunState,
    StandupOwner,
)

QUESTIONS = ["What did you do?", "What's next?", "Anything blocking you?"]

_STATE = {
    Outcome.ANSWERED: PromptState.ANSWERED,
    Outcome.LATE: PromptState.ANSWERED,
    Outcome.SKIPPED: PromptState.SKIPPED,
    Outcome.AWAY: PromptState.AWAY,
    Outcome.HOLIDAY: PromptState.HOLIDAY,
    Outcome.MISSED: PromptState.MISSED,
    Outcome.UNDELIVERABLE: PromptState.FAILED,
}


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    standup_id: int
    members: dict[str, int]  # Slack user id -> member row id


@dataclass(frozen=True)
class Entry:
    """One person's day: the outcome (an Outcome's value), a mood (1..5) and the answers
    (question order)."""

    outcome: str
    mood: int | None = None
    answers: list[str] = field(default_factory=list)


async def seed_standup(
    db: Database,
    team_id: str,
    *,
    name: str,
    owner: str,
    participants: list[str],
    channel: str = "C0TEAM0001",
    private: bool | None = False,
    fixed_tz: str | None = "Europe/Berlin",
    created: dt.datetime,
    profiles: dict[str, tuple[str, str, bool]] | None = None,
    co_owners: list[str] | None = None,
    active: bool = True,
) -> Seeded:
    """A Mon–Fri standup as /standup create stores it; `profiles` caches users.info for people
    (user -> (name, tz, is_admin)) so no Slack call is needed to know them. A paused standup
    (`active` False) keeps a running scheduler from adding runs of its own."""
    async with db.session() as session:
        workspace = await workspaces_db.ensure_workspace(session, team_id)
        for user, (display, tz, admin) in (profiles or {}).items():
            await members_db.update_member_profile(
                session,
                workspace.id,
                user,
                name=display,
                tz=tz,
                is_bot=False,
                deleted=False,
                now=created,
                is_admin=admin,
            )
        standup = await standups_db.create_standup(
            session,
            workspace.id,
            name=name,
            name_key=name_key(name),
            channel_id=channel,
            questions=QUESTIONS,
            weekday_mask=weekdays_to_mask(range(5)),
            local_time="09:00",
            tz_mode="fixed" if fixed_tz else "participant",
            fixed_tz=fixed_tz,
            owner_user_id=owner,
            participant_ids=participants,
            now=created,
        )
        standup.channel_private = private
        standup.active = active
        for co_owner in co_owners or []:
            session.add(
                StandupOwner(
                    standup_id=standup.id,
                    slack_user_id=co_owner,
                    workspace_id=workspace.id,
                    added_at=created,
                )
            )
        await members_db.ensure_members(session, workspace.id, [owner, *participants])
        found = await session.execute(
            select(Member.slack_user_id, Member.id).where(Member.workspace_id == workspace.id)
        )
        return Seeded(workspace.id, standup.id, {user: member_id for user, member_id in found})


async def add_day(
    db: Database, seeded: Seeded, day: dt.date, entries: dict[str, Entry], *, hour: int = 8
) -> int:
    """A closed run on `day` with these people's outcomes; returns the run's id."""
    due = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)
    async with db.session() as session:
        run = Run(
            workspace_id=seeded.workspace_id,
            standup_id=seeded.standup_id,
            local_date=day,
            questions=list(QUESTIONS),
            channel_id="C0TEAM0001",
            state=RunState.CLOSED,
            close_at=due + dt.timedelta(hours=4),
            closed_at=due + dt.timedelta(hours=4),
            created_at=due,
        )
        session.add(run)
        await session.flush()
        for user, entry in entries.items():
            member_id = seeded.members[user]
            outcome = Outcome(entry.outcome)
            late = outcome == Outcome.LATE
            answered_at = due + dt.timedelta(hours=6 if late else 1)
            answered = outcome in (Outcome.ANSWERED, Outcome.LATE)
            prompt = Prompt(
                workspace_id=seeded.workspace_id,
                run_id=run.id,
                standup_id=seeded.standup_id,
                member_id=member_id,
                local_date=day,
                due_at=due,
                state=_STATE[outcome],
                late=late,
                sent_at=due,
                answered_at=answered_at if answered else None,
            )
            session.add(prompt)
            await session.flush()
            for position, body in enumerate(entry.answers):
                session.add(
                    Answer(
                        workspace_id=seeded.workspace_id,
                        prompt_id=prompt.id,
                        member_id=member_id,
                        position=position,
                        question=QUESTIONS[position],
                        body=body,
                        submitted_at=answered_at,
                    )
                )
            session.add(
                Participation(
                    workspace_id=seeded.workspace_id,
                    run_id=run.id,
                    standup_id=seeded.standup_id,
                    member_id=member_id,
                    local_date=day,
                    outcome=outcome,
                    due_at=due,
                    answered_at=answered_at if answered else None,
                    mood=entry.mood,
                    recorded_at=due + dt.timedelta(hours=4),
                )
            )
        return run.id


async def add_blocker(
    db: Database,
    seeded: Seeded,
    user: str,
    text: str,
    opened_on: dt.date,
    *,
    resolved: bool = False,
) -> None:
    opened_at = dt.datetime(opened_on.year, opened_on.month, opened_on.day, 9, tzinfo=dt.UTC)
    async with db.session() as session:
        session.add(
            Blocker(
                workspace_id=seeded.workspace_id,
                standup_id=seeded.standup_id,
                member_id=seeded.members[user],
                text=text,
                opened_on=opened_on,
                opened_at=opened_at,
                resolved_at=opened_at + dt.timedelta(days=1) if resolved else None,
            )
        )
