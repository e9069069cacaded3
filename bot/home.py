"""App Home: what a person's home shows, drawn when they open it and again (by the scheduler)
whenever something on it changed — an answer, a delivered prompt, a closed run, a pause.

Only homes that were opened at least once are kept up to date: a change marks the affected
people's homes out of date in the database (storage.home), and each scheduler tick draws a
bounded number of them, claimed so that replicas never draw the same one twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Collection

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance import calendars_of, today_of
from bot.checkins import ANSWERABLE
from bot.outcomes import Attendance, HolidayCalendars, Home, HomeBlocker, HomePrompt, HomeStandup
from bot.planning import next_run_of
from bot.rules.blockers import age_text
from bot.runtime import Services
from bot.slack.gateway import PERMANENT_ERRORS, error_code
from bot.standups import schedule_text
from bot.views.home import home_view
from storage import attendance as attendance_db
from storage import home as home_rows
from storage import members, standups
from storage.home import PromptRow
from storage.models import PromptState

log = structlog.get_logger("asyncstand.home")

# Open blockers listed on a home (the view caps its lists again, to stay within 100 blocks).
BLOCKERS_SHOWN = 20
# Homes drawn again per scheduler tick, per process: views.publish is rate-limited per app
# (Tier 4), and a tick must not spend its time on homes while prompts are due.
REPUBLISH_PER_TICK = 50
REPUBLISH_BUDGET = 3.0  # seconds

_SETTLED = {
    PromptState.PENDING: "upcoming",
    PromptState.ANSWERED: "answered",
    PromptState.SKIPPED: "skipped",
    PromptState.MISSED: "missed",
    PromptState.FAILED: "failed",
    PromptState.AWAY: "away",
    PromptState.HOLIDAY: "holiday",
}


def _status(row: PromptRow, later_run: dt.date | None) -> str:
    """How one check-in reads on the home; a closed run's unanswered DM can still be answered
    late until the standup's next run has begun (as bot.checkins decides)."""
    answerable = row.run_open or later_run is None or later_run <= row.local_date
    if row.state in (PromptState.SENDING, PromptState.SENT):
        if row.run_open:
            return "open"
        return "late" if answerable else "missed"
    if row.state == PromptState.SKIPPED and not answerable:
        return "skipped_closed"
    return _SETTLED.get(row.state, "missed")


async def home_for(
    session: AsyncSession, workspace_id: int, user_id: str, now: dt.datetime
) -> Home:
    """One person's home as the database has it now, in at most nine statements whatever the
    number of standups, prompts or blockers. "Today" is their own (their time zone)."""
    member = await members.get_member(session, workspace_id, user_id)
    if member is None:
        today = now.date()
        return Home(
            user_id, today, [], [], 0, [], False, Attendance([], HolidayCalendars(None, []))
        )
    today = today_of(member, now)
    found = await standups.standups_with_people(session, workspace_id)
    mine = []
    joined = []
    for entry in found:
        participant = any(m.id == member.id for m in entry.participants)
        owner = user_id in entry.owners
        if participant:
            joined.append(entry.standup)
        if not (participant or owner):
            continue
        standup = entry.standup
        asked = [member] if participant else entry.participants
        mine.append(
            HomeStandup(
                standup_id=standup.id,
                name=standup.name,
                channel_id=standup.channel_id,
                schedule_text=schedule_text(standup),
                active=standup.active,
                next_run=next_run_of(standup, asked, now) if standup.active else None,
                participant=participant,
                manage=owner or member.is_admin,
            )
        )
    rows = await home_rows.recent_prompts(session, workspace_id, member.id, today)
    closed = [r for r in rows if not r.run_open and r.state in ANSWERABLE]
    later = await home_rows.latest_started_runs(
        session,
        workspace_id,
        {r.standup_id for r in closed},
        min((r.local_date for r in closed), default=today),
    )
    prompts = []
    for row in rows:
        status = _status(row, later.get(row.standup_id))
        if row.run_open or row.local_date == today or status == "late":
            prompts.append(
                HomePrompt(
                    prompt_id=row.prompt_id,
                    standup_id=row.standup_id,
                    standup_name=row.standup_name,
                    local_date=row.local_date,
                    status=status,
                    due_at=row.due_at,
                    answered_late=row.late,
                )
            )
    blocker_rows, blocker_count = await home_rows.open_blockers_of(
        session, workspace_id, member.id, BLOCKERS_SHOWN
    )
    blockers = [
        HomeBlocker(b.standup_name, b.text, age_text(b.opened_on, today)) for b in blocker_rows
    ]
    periods = await attendance_db.away_periods(session, workspace_id, member.id, ending_from=today)
    return Home(
        user_id=user_id,
        today=today,
        prompts=prompts,
        blockers=blockers,
        more_blockers=blocker_count - len(blockers),
        standups=mine,
        reminders_off=member.reminders_off,
        attendance=Attendance(
            [(p.starts_on, p.ends_on) for p in periods], calendars_of(member, joined, today)
        ),
    )


async def opened(services: Services, workspace_id: int, user_id: str) -> Home:
    """They opened App Home: remember it (their home is kept up to date from now on) and say
    what it shows — one transaction."""
    now = services.clock()
    async with services.db.session() as session:
        await home_rows.record_opened(session, workspace_id, user_id, now)
        return await home_for(session, workspace_id, user_id, now)


async def current(services: Services, workspace_id: int, user_id: str) -> Home:
    """A home about to be drawn again: it is marked up to date first, in the same transaction
    as the reads, so a change committed meanwhile marks it again rather than being lost."""
    now = services.clock()
    async with services.db.session() as session:
        await home_rows.mark_fresh(session, workspace_id, user_id)
        return await home_for(session, workspace_id, user_id, now)


async def publish(client: AsyncWebClient, home: Home) -> bool:
    """Draw a home in Slack (views.publish); False when Slack refused it."""
    try:
        await client.views_publish(user_id=home.user_id, view=home_view(home))
    except SlackApiError as exc:
        log.warning("home_publish_failed", error=error_code(exc))
        return False
    return True


async def refresh(
    services: Services, client: AsyncWebClient, workspace_id: int, user_id: str
) -> None:
    """Draw one person's home again now (after they changed something from it)."""
    await publish(client, await current(services, workspace_id, user_id))


async def runs_changed(services: Services, runs: Collection[tuple[int, int]]) -> None:
    """Prompts of these (workspace, run) pairs reached people's DMs: their homes are out of
    date. One transaction, one statement per workspace."""
    by_workspace: dict[int, set[int]] = defaultdict(set)
    for workspace_id, run_id in runs:
        by_workspace[workspace_id].add(run_id)
    if not by_workspace:
        return
    now = services.clock()
    async with services.db.session() as session:
        for workspace_id, run_ids in by_workspace.items():
            await home_rows.mark_runs_stale(session, workspace_id, run_ids, now)


async def republish_stale(
    services: Services, limit: int = REPUBLISH_PER_TICK, budget: float = REPUBLISH_BUDGET
) -> int:
    """The scheduler's step: draw again up to `limit` homes marked out of date, for at most
    `budget` seconds (views.publish waits for its rate limit, and the next tick's prompts must
    not wait for homes); the ones not reached, and those Slack could not take now (a network
    error, a rate limit), are marked again for the next tick. Returns how many were published."""
    async with services.db.session() as session:
        claimed = await home_rows.claim_stale(session, limit)
    if not claimed:
        return 0
    started = time.monotonic()
    clients: dict[int, AsyncWebClient | None] = {}
    published = 0
    retry: list[tuple[int, str]] = []
    for done, (workspace_id, user_id) in enumerate(claimed):
        if time.monotonic() - started > budget:
            await _mark_again(services, claimed[done:])
            break
        if workspace_id not in clients:
            async with services.db.session() as session:
                clients[workspace_id] = await services.slack.bot_client(session, workspace_id)
        client = clients[workspace_id]
        if client is None:
            continue
        try:
            async with services.db.session() as session:
                home = await home_for(session, workspace_id, user_id, services.clock())
            await client.views_publish(user_id=home.user_id, view=home_view(home))
            published += 1
        except Exception as exc:  # one home's failure neither loses the others nor this one
            code = error_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("home_publish_failed", error=code)
            if code not in PERMANENT_ERRORS:  # drawing it again would not change Slack's answer
                retry.append((workspace_id, user_id))
    if retry:
        await _mark_again(services, retry)
    log.info("homes_republished", claimed=len(claimed), published=published, retry=len(retry))
    return published


async def _mark_again(services: Services, homes: list[tuple[int, str]]) -> None:
    by_workspace: dict[int, set[str]] = defaultdict(set)
    for workspace_id, user_id in homes:
        by_workspace[workspace_id].add(user_id)
    now = services.clock()
    async with services.db.session() as session:
        for workspace_id, user_ids in by_workspace.items():
            await home_rows.mark_users_stale(session, workspace_id, user_ids, now)
