"""Standup use cases: create, edit, pause, resume, run now, delete, owners, history, list.

Each runs in one transaction (permission check and write together), writes its audit entry and
returns data (or a Refusal) that every surface — Slack, web, API — renders its own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import channels, roster
from bot.outcomes import (
    Amended,
    Change,
    Created,
    Deleted,
    DeleteRequest,
    Edited,
    EditForm,
    FieldErrors,
    History,
    Overview,
    Owners,
    Refusal,
    RunStarted,
    Toggled,
    refused,
)
from bot.people import Caller, bot_ids
from bot.planning import absent_state, answer_window, may_prompt, next_run_of
from bot.rules import schedule
from bot.rules.attendance import HolidayLookup
from bot.rules.permissions import (
    Actor,
    Decision,
    Why,
    can_create,
    can_manage,
    can_read_history,
    can_remove_owner,
    can_see,
)
from bot.rules.questions import lines_of, to_json
from bot.rules.timemath import (
    describe_weekdays,
    is_valid_timezone,
    mask_to_weekdays,
    parse_local_time,
    weekdays_to_mask,
)
from bot.rules.validation import (
    FormField,
    StandupDraft,
    clean_draft,
    name_key,
    questions_of,
    validate_draft,
)
from bot.runtime import Services
from bot.slack.gateway import error_code, send_dm
from bot.views import wording
from bot.views.blockkit import Message
from bot.views.messages import text_message
from storage import attendance as attendance_db
from storage import audit, members, prompts, runs, standups, workspaces
from storage import home as home_rows
from storage.models import (
    AuditEntry,
    Member,
    ParticipantSource,
    PromptState,
    RunState,
    Standup,
    TzMode,
)

log = structlog.get_logger("asyncstand.standups")

PermissionCheck = Callable[[Actor, Collection[str], str], Decision]


def snapshot(standup: Standup, participants: list[str] | None = None) -> dict[str, Any]:
    """The audited view of a standup's configuration."""
    values: dict[str, Any] = {
        "name": standup.name,
        "channel": standup.channel_id,
        "questions": lines_of(standup.questions),
        "days": describe_weekdays(mask_to_weekdays(standup.weekday_mask)),
        "time": standup.local_time,
        "time_zone": standup.fixed_tz or "each participant's own",
        "active": standup.active,
        "repeat": schedule.cadence_text(schedule.cadence_of(standup.cadence, standup.weekday_mask)),
        "answer_window_minutes": standup.answer_window_minutes,
        "reminder": _reminder_text(standup.reminder_minutes_before),
        "holidays": standup.holiday_calendar,
        "blocker_escalation_days": standup.blocker_escalation_days,
        "participants_from": standup.participant_source,
    }
    if participants is not None:
        values["participants"] = participants
    return values


def schedule_text(standup: Standup) -> str:
    return schedule.describe(
        schedule.cadence_of(standup.cadence, standup.weekday_mask),
        parse_local_time(standup.local_time),
        standup.fixed_tz if standup.tz_mode == TzMode.FIXED else None,
    )


def _reminder_text(minutes_before: int | None) -> str:
    if minutes_before is None:
        return "halfway through the answer window"
    return "off" if minutes_before == 0 else f"{minutes_before} minutes before the close"


def _with_defaults(draft: StandupDraft, today: dt.date) -> StandupDraft:
    """An every-N-weeks standup without a start date counts its weeks from this week."""
    if draft.schedule.repeat == "every_n_weeks" and draft.schedule.starting is None:
        return replace(draft, schedule=replace(draft.schedule, starting=today))
    return draft


def _config(draft: StandupDraft, default_window: dt.timedelta) -> dict[str, Any]:
    """Column values for a validated draft."""
    assert draft.channel_id is not None and draft.local_time is not None
    settings = schedule.settle(draft.schedule, draft.weekdays, default_window)
    return {
        "cadence": settings.cadence_json,
        "answer_window_minutes": settings.window_minutes,
        "reminder_minutes_before": settings.reminder_minutes_before,
        "holiday_calendar": settings.holiday_calendar,
        "blocker_escalation_days": settings.blocker_escalation_days,
        "participant_source": ParticipantSource(draft.participant_source),
        "name": draft.name,
        "name_key": name_key(draft.name),
        "channel_id": draft.channel_id,
        "questions": to_json(questions_of(draft)),
        "weekday_mask": weekdays_to_mask(draft.weekdays),
        "local_time": draft.local_time,
        "tz_mode": TzMode(draft.tz_mode),
        "fixed_tz": draft.fixed_tz if draft.tz_mode == TzMode.FIXED else None,
    }


def _name_taken() -> FieldErrors:
    return FieldErrors({FormField.NAME: "A standup with this name already exists."})


def _chosen_people(draft: StandupDraft) -> StandupDraft:
    """With everyone in the channel taking part, the people picker's content means nothing
    (it is optional, and prefilled): the channel's members are synced instead."""
    if draft.participant_source == ParticipantSource.CHANNEL:
        return replace(draft, participant_ids=[])
    return draft


def _leaving_a_big_channel(
    errors: dict[str, str], standup: Standup, people: Sequence[Member], services: Services
) -> dict[str, str]:
    """Switching from a channel too big for the people picker to chosen people: the form
    showed nobody (see edit_form), so say why rather than just "add at least one"."""
    limit = services.settings.max_participants_per_standup
    if (
        FormField.PARTICIPANTS in errors
        and standup.participant_source == ParticipantSource.CHANNEL
        and len(people) > limit
    ):
        errors[FormField.PARTICIPANTS] = (
            f"Everyone in the channel is {len(people)} people, more than the {limit} you can "
            "choose here: pick the people who take part, or keep everyone in the channel."
        )
    return errors


# --- create and edit --------------------------------------------------------------------------


async def may_create(services: Services, caller: Caller) -> Refusal | None:
    """Before opening the form: refuse early if only admins may create standups here, or if
    the workspace has as many standups as it may."""
    async with services.db.session() as session:
        workspace = await workspaces.workspace_by_id(session, caller.workspace_id)
        restricted = bool(workspace and workspace.create_restricted)
        count = await standups.count_standups(session, caller.workspace_id)
    if restricted:
        decision = can_create(await caller.actor(), create_restricted=True)
        if not decision:
            return refused(decision)
    return _standup_limit(services, count)


def _standup_limit(services: Services, count: int) -> Refusal | None:
    limit = services.settings.max_standups_per_workspace
    return Refusal(Why.STANDUP_LIMIT, limit=limit) if count >= limit else None


async def create(
    services: Services, client: AsyncWebClient, caller: Caller, draft: StandupDraft
) -> Created | FieldErrors | Refusal:
    """Validate and store a new standup; its creator becomes its owner."""
    draft = _chosen_people(clean_draft(draft))
    actor = await caller.actor() if await _creation_restricted(services, caller) else None
    bots = await bot_ids(services, client, caller.workspace_id, draft.participant_ids)
    now = services.clock()
    try:
        async with services.db.session() as session:
            # First, so that the count below holds until this standup is committed.
            await standups.hold_creation(session, caller.workspace_id)
            workspace = await workspaces.workspace_by_id(session, caller.workspace_id)
            restricted = bool(workspace and workspace.create_restricted)
            decision = can_create(
                actor or Actor(caller.user_id, is_admin=False), create_restricted=restricted
            )
            if not decision:
                return refused(decision)
            full = _standup_limit(
                services, await standups.count_standups(session, caller.workspace_id)
            )
            if full is not None:
                return full
            errors = validate_draft(
                draft,
                existing_names=await standups.standup_name_keys(session, caller.workspace_id),
                bot_user_ids=bots,
                is_valid_tz=is_valid_timezone,
                limits=services.settings.limits,
                default_window=services.close_after,
            )
            if errors:
                return FieldErrors(errors)
            standup = await standups.create_standup(
                session,
                caller.workspace_id,
                owner_user_id=caller.user_id,
                participant_ids=draft.participant_ids,
                now=now,
                **_config(draft, services.close_after),
            )
            after = snapshot(standup, draft.participant_ids)
            await _audit(session, standup, caller, "create", now, after=after)
    except IntegrityError:  # a concurrent create with the same name won the race
        return _name_taken()
    log.info("standup_created", standup_id=standup.id, participants=len(draft.participant_ids))
    services.wake_scheduler()
    return Created(
        standup.id,
        standup.name,
        standup.channel_id,
        schedule_text(standup),
        len(draft.participant_ids),
    )


async def _creation_restricted(services: Services, caller: Caller) -> bool:
    async with services.db.session() as session:
        workspace = await workspaces.workspace_by_id(session, caller.workspace_id)
        return bool(workspace and workspace.create_restricted)


async def edit(
    services: Services,
    client: AsyncWebClient,
    caller: Caller,
    standup_id: int | None,
    draft: StandupDraft,
) -> Edited | FieldErrors | Refusal:
    """Save an edited standup (owners and admins). Schedule changes apply from now on: unsent
    prompts are re-planned from the new schedule."""
    draft = _chosen_people(clean_draft(draft))
    bots = await bot_ids(services, client, caller.workspace_id, draft.participant_ids)
    now = services.clock()
    try:
        async with _managing(services, caller, standup_id) as (session, row):
            if isinstance(row, Refusal):
                return row
            names = await standups.standup_name_keys(session, caller.workspace_id)
            errors = validate_draft(
                draft,
                existing_names=names - {row.name_key},
                bot_user_ids=bots,
                is_valid_tz=is_valid_timezone,
                limits=services.settings.limits,
                default_window=services.close_after,
            )
            before_people = await standups.standup_participants(
                session, caller.workspace_id, row.id
            )
            if errors:
                return FieldErrors(_leaving_a_big_channel(errors, row, before_people, services))
            before = snapshot(row, [m.slack_user_id for m in before_people])
            config = _config(draft, services.close_after)
            schedule_keys = (
                "weekday_mask",
                "local_time",
                "tz_mode",
                "fixed_tz",
                "cadence",
                "answer_window_minutes",
                "reminder_minutes_before",
                "holiday_calendar",
            )
            schedule_changed = any(getattr(row, k) != config[k] for k in schedule_keys)
            old_channel = row.channel_id
            for key, value in config.items():
                setattr(row, key, value)
            if row.channel_id != old_channel:  # listed as private until we learn the new one
                row.channel_private = None
            row.updated_at = now
            # Whoever it involved before the change, and (below) whoever it involves after.
            await home_rows.mark_standup_stale(session, caller.workspace_id, row.id, now)
            if row.participant_source == ParticipantSource.PEOPLE:
                await standups.replace_participants(
                    session, caller.workspace_id, row, draft.participant_ids, now
                )
                people_after = draft.participant_ids
            else:  # the channel's members: synced once the form is acknowledged
                people_after = before["participants"]
            if schedule_changed:
                row.schedule_from = now
                await attendance_db.drop_future_absences(session, caller.workspace_id, row.id, now)
                await standups.drop_pending_prompts(session, caller.workspace_id, row.id)
            after = snapshot(row, people_after)
            await _audit(session, row, caller, "edit", now, before=before, after=after)
            await home_rows.mark_standup_stale(session, caller.workspace_id, row.id, now)
    except IntegrityError:
        return _name_taken()
    log.info("standup_edited", standup_id=row.id)
    services.wake_scheduler()
    return Edited(
        row.id, row.name, row.channel_id, row.channel_id != old_channel, row.channel_private
    )


async def edit_form(services: Services, caller: Caller, name: str | int) -> EditForm | Refusal:
    """A standup's settings as the edit form shows them (owners and admins); by name, or by id
    (the API)."""
    async with _managing(services, caller, name) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        people = await standups.standup_participants(session, caller.workspace_id, standup.id)
    cadence = schedule.cadence_of(standup.cadence, standup.weekday_mask)
    chosen = [m.slack_user_id for m in people]
    if (
        standup.participant_source == ParticipantSource.CHANNEL
        and len(chosen) > services.settings.max_participants_per_standup
    ):
        chosen = []  # more than the picker takes: switching to chosen people starts afresh
    return EditForm(
        standup_id=standup.id,
        name=standup.name,
        channel_id=standup.channel_id,
        questions=lines_of(standup.questions),
        participant_ids=chosen,
        weekdays=schedule.weekdays_of(cadence, mask_to_weekdays(standup.weekday_mask)),
        local_time=standup.local_time,
        tz_mode=standup.tz_mode,
        fixed_tz=standup.fixed_tz,
        schedule=schedule.draft_of(
            cadence,
            standup.answer_window_minutes,
            standup.reminder_minutes_before,
            standup.holiday_calendar,
            standup.blocker_escalation_days,
        ),
        participant_source=standup.participant_source,
    )


async def amend(
    services: Services,
    client: AsyncWebClient,
    caller: Caller,
    standup_id: int,
    change: Callable[[StandupDraft], StandupDraft],
    *,
    active: bool | None = None,
) -> Amended | FieldErrors | Refusal:
    """Change some of a standup's settings (the API's PATCH): its current settings, as the edit
    form shows them, changed by `change` and saved by `edit` (the same validation, audit and
    re-planning as the form); then, if `active` is given, `set_active`. Owners and admins."""
    form = await edit_form(services, caller, standup_id)
    if isinstance(form, Refusal):
        return form
    current = StandupDraft(
        name=form.name,
        channel_id=form.channel_id,
        questions=list(form.questions),
        participant_ids=list(form.participant_ids),
        weekdays=form.weekdays,
        local_time=form.local_time,
        tz_mode=form.tz_mode,
        fixed_tz=form.fixed_tz,
        schedule=form.schedule,
        participant_source=form.participant_source,
    )
    wanted = change(current)
    edited: Edited | None = None
    if wanted != current:
        saved = await edit(services, client, caller, standup_id, wanted)
        if isinstance(saved, FieldErrors | Refusal):
            return saved
        edited = saved
    toggled: Toggled | None = None
    if active is not None:
        switched = await set_active(services, caller, standup_id, active=active)
        if isinstance(switched, Refusal):
            return switched
        toggled = switched
    return Amended(standup_id, edited, toggled)


# --- the channel and the creator ---------------------------------------------------------------


async def join_channel(
    services: Services, client: AsyncWebClient, workspace_id: int, channel_id: str
) -> str | None:
    """Join a public channel ourselves; for a private one we must be invited. Whether it is
    private is recorded on the way. Returns the problem ("private" or Slack's error) or None."""
    try:
        channel = await channels.describe(services, client, workspace_id, channel_id)
        if channel.get("is_member"):
            return None
        if channel.get("is_private"):
            return "private"
        await client.conversations_join(channel=channel_id)
        return None
    except SlackApiError as exc:
        code = error_code(exc)
        log.warning("channel_join_failed", channel=channel_id, error=code)
        return code


async def announce_created(
    services: Services,
    client: AsyncWebClient,
    caller: Caller,
    created: Created,
    *,
    bot_user_id: str | None = None,
) -> None:
    """Set up the channel (and, with everyone in it taking part, sync its members), then DM
    the creator what was made (and any channel problem)."""
    problem = await join_channel(services, client, caller.workspace_id, created.channel_id)
    synced = await roster.sync_standup(
        services, client, caller.workspace_id, created.standup_id, bot_user_id=bot_user_id
    )
    if synced is not None:
        created = replace(created, participant_count=synced.participants)
    note = wording.channel_note(created.channel_id, problem) if problem else None
    await _dm(client, caller.user_id, wording.created(created, note))


async def announce_edited(
    services: Services,
    client: AsyncWebClient,
    caller: Caller,
    edited: Edited,
    *,
    bot_user_id: str | None = None,
) -> None:
    """A new channel is joined; if we can't post there, the editor hears why. A channel whose
    privacy we never learned (a standup older than that) is looked up. With everyone in the
    channel taking part, its members are synced."""
    if not edited.channel_changed:
        if edited.channel_private is None:
            with suppress(SlackApiError):
                await channels.describe(services, client, caller.workspace_id, edited.channel_id)
        problem = None
    else:
        problem = await join_channel(services, client, caller.workspace_id, edited.channel_id)
    await roster.sync_standup(
        services, client, caller.workspace_id, edited.standup_id, bot_user_id=bot_user_id
    )
    if problem:
        await _dm(
            client, caller.user_id, text_message(wording.channel_note(edited.channel_id, problem))
        )


async def _dm(client: AsyncWebClient, user_id: str, message: Message) -> None:
    try:
        await send_dm(client, user_id, message["text"], message["blocks"])
    except SlackApiError as exc:
        log.warning("dm_failed", error=error_code(exc))


# --- lifecycle --------------------------------------------------------------------------------


async def set_active(
    services: Services, caller: Caller, name: str | int, *, active: bool
) -> Toggled | Refusal:
    """Pause (no prompts) or resume; paused days are never recorded as missed. The standup is
    named, or given by id (the API)."""
    now = services.clock()
    async with _managing(services, caller, name) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        if standup.active == active:
            return Toggled(standup.name, active, changed=False)
        standup.active = active
        if active:  # don't record the paused days as missed
            standup.schedule_from = now
        # Unsent prompts go either way: on pause so none is sent, and again on resume in case
        # a planner on another replica wrote one while the pause was being saved.
        await standups.drop_pending_prompts(session, caller.workspace_id, standup.id)
        await home_rows.mark_standup_stale(session, caller.workspace_id, standup.id, now)
        await _audit(
            session,
            standup,
            caller,
            "resume" if active else "pause",
            now,
            before={"active": not active},
            after={"active": active},
        )
    services.wake_scheduler()
    return Toggled(standup.name, active, changed=True)


async def run_now(services: Services, caller: Caller, name: str | int) -> RunStarted | Refusal:
    """Start today's run immediately: every participant gets their prompt now. The standup is
    named, or given by id (the API)."""
    now = services.clock()
    workspace_id = caller.workspace_id
    async with _managing(services, caller, name) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        if not standup.active:  # nothing is created: a later resume must not send stale prompts
            return Refusal(Why.PAUSED, standup.name)
        people = await standups.standup_participants(session, workspace_id, standup.id)
        runner = await members.get_member(session, workspace_id, caller.user_id)
        local_date = now.astimezone(_runner_zone(standup, runner.tz if runner else None)).date()
        close_at = now + answer_window(standup, services.close_after)
        run = await runs.get_or_create_run(session, workspace_id, standup, local_date, close_at)
        if run.state != RunState.OPEN:
            return Refusal(Why.RUN_CLOSED, standup.name)
        away = await attendance_db.away_ranges(
            session,
            workspace_id,
            [m.id for m in people],
            local_date - dt.timedelta(days=1),
            local_date + dt.timedelta(days=1),
        )
        holidays = HolidayLookup()
        created = waiting = 0
        for member in people:
            if member.is_bot or member.deleted:
                continue
            if not may_prompt(standup, member):  # from the channel, not looked up yet
                waiting += 1
                continue
            # Out of office or on a public holiday: listed as away, not asked.
            absent = absent_state(
                standup, member, local_date, now, away=away.get(member.id, []), holidays=holidays
            )
            if (
                await prompts.insert_prompt(
                    session,
                    workspace_id,
                    run=run,
                    member_id=member.id,
                    due_at=now,
                    state=absent or PromptState.PENDING,
                )
                and absent is None
            ):
                created += 1
    services.wake_scheduler()
    log.info("run_started", standup_id=standup.id, prompts=created, waiting=waiting)
    return RunStarted(standup.name, created, waiting)


def _runner_zone(standup: Standup, runner_tz: str | None) -> ZoneInfo:
    """Whose "today" a run started by hand belongs to: the standup's zone, else the runner's."""
    zone_name = standup.fixed_tz if standup.tz_mode == TzMode.FIXED else runner_tz
    try:
        return ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def request_delete(services: Services, caller: Caller, name: str) -> DeleteRequest | Refusal:
    """Deleting is confirmed by a click: check the right to, and say what would go."""
    async with _managing(services, caller, name) as (_, standup):
        return standup if isinstance(standup, Refusal) else DeleteRequest(standup.id, standup.name)


async def delete(services: Services, caller: Caller, standup_id: int | None) -> Deleted | Refusal:
    """Delete a standup (the id came from a button: only honoured inside this workspace)."""
    now = services.clock()
    async with _managing(services, caller, standup_id) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        owners = sorted(await standups.owner_ids(session, caller.workspace_id, standup))
        await _audit(session, standup, caller, "delete", now, before=snapshot(standup, owners))
        await home_rows.mark_standup_stale(session, caller.workspace_id, standup.id, now)
        await standups.delete_standup(session, caller.workspace_id, standup.id)
    log.info("standup_deleted", standup_id=standup.id)
    return Deleted(standup.name)


# --- owners and history -----------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerChange:
    add: bool
    user_id: str


async def owners(
    services: Services, caller: Caller, name: str, change: OwnerChange | None
) -> Owners | Refusal:
    """List a standup's owners, or add/remove one (a standup always keeps one)."""
    workspace_id = caller.workspace_id
    now = services.clock()
    async with _managing(services, caller, name) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        before = sorted(await standups.owner_ids(session, workspace_id, standup))
        if change is None:
            return Owners(standup.name, before)
        if change.add:
            changed = await standups.add_owner(
                session, workspace_id, standup, change.user_id, caller.user_id, now
            )
        else:
            decision = can_remove_owner(before, change.user_id, standup.owner_user_id)
            if not decision:
                return refused(decision, standup.name)
            changed = await standups.remove_owner(session, workspace_id, standup, change.user_id)
        after = sorted(await standups.owner_ids(session, workspace_id, standup))
        if changed:
            # Owning it or not changes what their App Home offers (Run now, Pause, Edit…).
            moved = set(before) ^ set(after)
            await home_rows.mark_users_stale(session, workspace_id, moved, now)
            await _audit(
                session,
                standup,
                caller,
                "owners",
                now,
                before={"owners": before},
                after={"owners": after},
            )
    return Owners(standup.name, after, changed)


async def history(services: Services, caller: Caller, name: str) -> History | Refusal:
    """Who changed a standup, when, and what (owners and admins)."""
    async with _managing(services, caller, name, check=can_read_history) as (session, standup):
        if isinstance(standup, Refusal):
            return standup
        entries = await audit.standup_history(session, caller.workspace_id, standup.id)
    return History(standup.name, changes(entries))


def changes(entries: Sequence[AuditEntry]) -> list[Change]:
    return [
        Change(e.at, e.actor_user_id, e.action, e.standup_name, e.before or {}, e.after or {})
        for e in entries
    ]


# --- lists ------------------------------------------------------------------------------------


async def overview(
    services: Services,
    viewer: Caller,
    *,
    mine: bool = False,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[Overview]:
    """This workspace's standups as `viewer` may see them — one in a private channel (or one
    whose channel's privacy is not known yet) only if they take part in it or are a workspace
    admin — or, with `mine`, only those they take part in; each with its next run.

    By name; or, for a page (`limit`, the API), by id, those after `after_id` only.

    A fixed number of queries whatever the number of standups; the viewer's admin flag is only
    looked up (users.info, cached) when a private standup they don't take part in is listed.
    """
    now = services.clock()
    async with services.db.session() as session:
        everything = await standups.standups_with_people(session, viewer.workspace_id)
    candidates = []
    for entry in everything:
        involved = entry.owners | {m.slack_user_id for m in entry.participants}
        if not mine or viewer.user_id in involved:
            candidates.append((entry, involved))
    actor = Actor(viewer.user_id, is_admin=False)
    if any(not can_see(actor, people, e.standup.channel_private) for e, people in candidates):
        actor = await viewer.actor()  # only an admin sees more than this
    shown = [e for e, people in candidates if can_see(actor, people, e.standup.channel_private)]
    if limit is not None:
        shown.sort(key=lambda e: e.standup.id)
        shown = [e for e in shown if after_id is None or e.standup.id > after_id][:limit]
    items = []
    for entry in shown:
        standup, people = entry.standup, entry.participants
        items.append(
            Overview(
                standup_id=standup.id,
                name=standup.name,
                channel_id=standup.channel_id,
                schedule_text=schedule_text(standup),
                participant_count=len(people),
                active=standup.active,
                owner_id=standup.owner_user_id,
                next_run=next_run_of(standup, people, now) if standup.active else None,
            )
        )
    return items


# --- shared steps -----------------------------------------------------------------------------


@asynccontextmanager
async def _managing(
    services: Services,
    caller: Caller,
    standup: str | int | None,
    *,
    check: PermissionCheck = can_manage,
) -> AsyncIterator[tuple[AsyncSession, Standup | Refusal]]:
    """One transaction, with the standup (named, or by an id from a button or modal) if the
    caller passes `check` on it — else why not. The caller's role is looked up first."""
    actor = await caller.actor()
    async with services.db.session() as session:
        if isinstance(standup, str):
            found = await _managed_by_name(session, caller.workspace_id, standup, actor, check)
        else:
            found = await _managed_by_id(session, caller.workspace_id, standup, actor)
        yield session, found


# For use cases elsewhere that act on one standup as its manager (bot.reminders): the same
# role look-up, permission check and transaction.
managing = _managing


async def _managed_by_name(
    session: AsyncSession, workspace_id: int, name: str, actor: Actor, check: PermissionCheck
) -> Standup | Refusal:
    """The named standup if `actor` passes `check` on it, else why not."""
    standup = await standups.find_standup_by_name(session, workspace_id, name_key(name))
    if standup is None:
        return Refusal(Why.NO_SUCH_STANDUP, name)
    return await _checked(session, workspace_id, standup, actor, check)


async def _managed_by_id(
    session: AsyncSession, workspace_id: int, standup_id: int | None, actor: Actor
) -> Standup | Refusal:
    """A standup named by an id from a button or modal: in this workspace, for its managers."""
    standup = await standups.get_standup(session, workspace_id, standup_id) if standup_id else None
    if standup is None:
        return Refusal(Why.STANDUP_GONE)
    checked = await _checked(session, workspace_id, standup, actor, can_manage)
    if isinstance(checked, Refusal) and not await _visible(session, workspace_id, standup, actor):
        # An id of a standup they may not even see (a private channel's): as if it did not exist.
        return Refusal(Why.STANDUP_GONE)
    return checked


async def _visible(
    session: AsyncSession, workspace_id: int, standup: Standup, actor: Actor
) -> bool:
    people = await standups.standup_participants(session, workspace_id, standup.id)
    involved = await standups.owner_ids(session, workspace_id, standup)
    involved |= {m.slack_user_id for m in people}
    return can_see(actor, involved, standup.channel_private)


async def _checked(
    session: AsyncSession,
    workspace_id: int,
    standup: Standup,
    actor: Actor,
    check: PermissionCheck,
) -> Standup | Refusal:
    owners_now = await standups.owner_ids(session, workspace_id, standup)
    decision = check(actor, owners_now, standup.name)
    return standup if decision else refused(decision, standup.name)


async def _audit(
    session: AsyncSession,
    standup: Standup,
    caller: Caller,
    action: str,
    now: dt.datetime,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        caller.workspace_id,
        actor=caller.user_id,
        action=action,
        standup_id=standup.id,
        standup_name=standup.name,
        before=before,
        after=after,
        now=now,
    )
