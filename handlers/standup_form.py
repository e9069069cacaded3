"""The create-standup modal: validate within Slack's 3 seconds, store, then set up the channel."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.rules.permissions import can_create, can_manage
from bot.rules.timemath import (
    describe_schedule,
    is_valid_timezone,
    parse_local_time,
    weekdays_to_mask,
)
from bot.rules.validation import (
    StandupDraft,
    name_key,
    normalise_name,
    parse_questions,
    validate_draft,
)
from bot.runtime import Services, services_from
from bot.slack import error_code, send_dm
from bot.views import blocks
from bot.views.mrkdwn import escape
from handlers.commands import standup_snapshot
from handlers.context import actor_for, log, parse_id, workspace_id_for
from scheduler.worker import fetch_profile
from storage import audit, queries
from storage.models import Standup, Workspace

# Profile look-ups must finish well inside the 3 s a view submission allows.
PROFILE_LOOKUP_BUDGET = 1.5


def register(app: AsyncApp) -> None:
    app.view(blocks.CREATE_CALLBACK)(on_create_submit)
    app.view(blocks.EDIT_CALLBACK)(on_edit_submit)


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    block = values.get(block_id) or {}
    element = block.get(blocks.A_VALUE) or {}
    return element if isinstance(element, dict) else {}


def draft_from_view(view: dict[str, Any]) -> StandupDraft:
    """Read the submitted form; anything missing becomes empty and fails validation."""
    values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
    days = _value(values, blocks.B_DAYS).get("selected_options") or []
    weekdays = frozenset(
        int(o["value"]) for o in days if str(o.get("value", "")).isdigit() and int(o["value"]) < 7
    )
    tz_option = _value(values, blocks.B_TZ_MODE).get("selected_option") or {}
    return StandupDraft(
        name=normalise_name(_value(values, blocks.B_NAME).get("value") or ""),
        channel_id=_value(values, blocks.B_CHANNEL).get("selected_conversation"),
        questions=parse_questions(_value(values, blocks.B_QUESTIONS).get("value") or ""),
        participant_ids=list(
            dict.fromkeys(_value(values, blocks.B_PARTICIPANTS).get("selected_users") or [])
        ),
        weekdays=weekdays,
        local_time=_value(values, blocks.B_TIME).get("selected_time"),
        tz_mode=str(tz_option.get("value") or "participant"),
        fixed_tz=(_value(values, blocks.B_TZ).get("value") or "").strip() or None,
    )


async def _bot_participants(
    services: Services, client: AsyncWebClient, workspace_id: int, user_ids: list[str]
) -> set[str]:
    """Which of these users are bots, using cached profiles and users.info for the rest."""
    async with services.db.session() as session:
        members = await queries.ensure_members(session, workspace_id, user_ids)
    bots = {u for u, m in members.items() if m.is_bot}
    unknown = [u for u, m in members.items() if m.profile_refreshed_at is None]
    if unknown:
        lookups = [fetch_profile(services, client, workspace_id, u) for u in unknown]
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*lookups), timeout=PROFILE_LOOKUP_BUDGET
            )
        except TimeoutError:
            results = []
        for user_id, user in zip(unknown, results, strict=False):
            if user and (user.get("is_bot") or user_id == "USLACKBOT"):
                bots.add(user_id)
    if "USLACKBOT" in user_ids:
        bots.add("USLACKBOT")
    return bots


async def on_create_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    draft = draft_from_view(view)
    async with services.db.session() as session:
        existing = await queries.standup_name_keys(session, workspace_id)
        workspace = await session.get(Workspace, workspace_id)
        restricted = bool(workspace and workspace.create_restricted)
    if restricted:
        actor = await actor_for(services, client, workspace_id, user_id)
        decision = can_create(actor, create_restricted=restricted)
        if not decision:
            await ack(response_action="errors", errors={blocks.B_NAME: decision.reason})
            return
    bots = await _bot_participants(services, client, workspace_id, draft.participant_ids)
    errors = validate_draft(
        draft, existing_names=existing, bot_user_ids=bots, is_valid_tz=is_valid_timezone
    )
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    assert draft.channel_id is not None and draft.local_time is not None
    now = services.clock()
    try:
        async with services.db.session() as session:
            standup = await queries.create_standup(
                session,
                workspace_id,
                name=draft.name,
                name_key=name_key(draft.name),
                channel_id=draft.channel_id,
                questions=draft.questions,
                weekday_mask=weekdays_to_mask(draft.weekdays),
                local_time=draft.local_time,
                tz_mode=draft.tz_mode,
                fixed_tz=draft.fixed_tz if draft.tz_mode == "fixed" else None,
                owner_user_id=user_id,
                participant_ids=draft.participant_ids,
                now=now,
            )
            await audit.record(
                session,
                workspace_id,
                actor=user_id,
                action="create",
                standup_id=standup.id,
                standup_name=standup.name,
                after=standup_snapshot(standup, draft.participant_ids),
                now=now,
            )
    except IntegrityError:  # a concurrent create with the same name won the race
        await ack(
            response_action="errors",
            errors={blocks.B_NAME: "A standup with this name already exists."},
        )
        return
    await ack()
    log.info("standup_created", standup_id=standup.id, participants=len(draft.participant_ids))
    services.wake_scheduler()
    note = await join_channel(client, standup.channel_id)
    await confirm_to_creator(client, user_id, standup, len(draft.participant_ids), note)


async def on_edit_submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """Save an edited standup. The id in private_metadata is re-checked: same workspace, and
    the submitter must be an owner or a workspace admin."""
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    standup_id = parse_id(view.get("private_metadata")) or -1
    actor = await actor_for(services, client, workspace_id, user_id)
    async with services.db.session() as session:
        standup = await queries.get_standup(session, workspace_id, standup_id)
        owners = await queries.owner_ids(session, workspace_id, standup) if standup else set()
        existing = await queries.standup_name_keys(session, workspace_id)
    if standup is None:
        await ack(
            response_action="errors", errors={blocks.B_NAME: "That standup no longer exists."}
        )
        return
    decision = can_manage(actor, owners, standup.name)
    if not decision:
        await ack(response_action="errors", errors={blocks.B_NAME: decision.reason})
        return
    draft = draft_from_view(view)
    bots = await _bot_participants(services, client, workspace_id, draft.participant_ids)
    errors = validate_draft(
        draft,
        existing_names=existing - {standup.name_key},
        bot_user_ids=bots,
        is_valid_tz=is_valid_timezone,
    )
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    assert draft.channel_id is not None and draft.local_time is not None
    now = services.clock()
    try:
        async with services.db.session() as session:
            row = await queries.get_standup(session, workspace_id, standup_id)
            if row is None:
                await ack(
                    response_action="errors", errors={blocks.B_NAME: "That standup was deleted."}
                )
                return
            before_participants = [
                m.slack_user_id
                for m in await queries.standup_participants(session, workspace_id, row.id)
            ]
            before = standup_snapshot(row, before_participants)
            fixed_tz = draft.fixed_tz if draft.tz_mode == "fixed" else None
            new_mask = weekdays_to_mask(draft.weekdays)
            schedule_changed = (row.weekday_mask, row.local_time, row.tz_mode, row.fixed_tz) != (
                new_mask,
                draft.local_time,
                draft.tz_mode,
                fixed_tz,
            )
            row.name = draft.name
            row.name_key = name_key(draft.name)
            row.channel_id = draft.channel_id
            row.questions = list(draft.questions)
            row.weekday_mask = new_mask
            row.local_time = draft.local_time
            row.tz_mode = draft.tz_mode
            row.fixed_tz = fixed_tz
            row.updated_at = now
            await queries.replace_participants(
                session, workspace_id, row, draft.participant_ids, now
            )
            if schedule_changed:
                row.schedule_from = now
                await queries.drop_pending_prompts(session, workspace_id, row.id)
            await audit.record(
                session,
                workspace_id,
                actor=user_id,
                action="edit",
                standup_id=row.id,
                standup_name=row.name,
                before=before,
                after=standup_snapshot(row, draft.participant_ids),
                now=now,
            )
    except IntegrityError:
        await ack(
            response_action="errors",
            errors={blocks.B_NAME: "A standup with this name already exists."},
        )
        return
    await ack()
    log.info("standup_edited", standup_id=standup_id)
    services.wake_scheduler()
    if draft.channel_id != standup.channel_id:
        note = await join_channel(client, draft.channel_id)
        if note:
            message = blocks.text_message(note)
            try:
                await send_dm(client, user_id, message["text"], message["blocks"])
            except SlackApiError as exc:
                log.warning("edit_note_failed", error=error_code(exc))


async def join_channel(client: AsyncWebClient, channel_id: str) -> str | None:
    """Join a public channel ourselves; for a private one, say how to invite us."""
    try:
        info = await client.conversations_info(channel=channel_id)
        channel: dict[str, Any] = info["channel"]
        if channel.get("is_member"):
            return None
        if channel.get("is_private"):
            return (
                f"I'm not in <#{channel_id}> yet and can't join private channels myself: "
                "please `/invite` me there so I can post the standup."
            )
        await client.conversations_join(channel=channel_id)
        return None
    except SlackApiError as exc:
        code = error_code(exc)
        log.warning("channel_join_failed", channel=channel_id, error=code)
        if code in {"channel_not_found", "method_not_supported_for_channel_type"}:
            return (
                f"I can't see <#{channel_id}> — if it's private, please `/invite` me there "
                "so I can post the standup."
            )
        return f"I couldn't join <#{channel_id}> ({code}); please `/invite` me there."


async def confirm_to_creator(
    client: AsyncWebClient, user_id: str, standup: Standup, participants: int, note: str | None
) -> None:
    schedule = describe_schedule(
        frozenset(d for d in range(7) if standup.weekday_mask & (1 << d)),
        parse_local_time(standup.local_time),
        standup.fixed_tz,
    )
    text = (
        f"Created *{escape(standup.name)}* for <#{standup.channel_id}>: {escape(schedule)}, "
        f"{participants} participant(s). Try it now with `/standup run {escape(standup.name)}`."
    )
    if note:
        text += "\n" + note
    message = blocks.text_message(text)
    try:
        await send_dm(client, user_id, message["text"], message["blocks"])
    except SlackApiError as exc:
        log.warning("create_confirmation_failed", error=error_code(exc))
