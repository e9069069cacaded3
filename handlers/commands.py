"""`/standup` and its subcommands. Ack first, then do the work (Slack allows 3 seconds)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.rules.permissions import (
    Actor,
    Decision,
    can_change_settings,
    can_create,
    can_manage,
    can_read_history,
    can_remove_owner,
)
from bot.rules.timemath import (
    describe_schedule,
    describe_weekdays,
    mask_to_weekdays,
    next_occurrence,
    parse_local_time,
)
from bot.rules.validation import name_key
from bot.runtime import Services, services_from
from bot.slack import error_code
from bot.views import blocks
from bot.views.mrkdwn import escape
from handlers.context import actor_for, log, parse_id, workspace_id_for
from scheduler.planner import member_zone
from storage import audit, queries
from storage.models import AuditEntry, Member, Standup, Workspace

USAGE = "Try `/standup help` to see what I can do."


def parse_command(text: str) -> tuple[str, str]:
    """Split `/standup` text into (subcommand, argument); empty text means help."""
    parts = (text or "").strip().split(maxsplit=1)
    if not parts:
        return "help", ""
    argument = parts[1].strip() if len(parts) > 1 else ""
    if len(argument) >= 2 and argument[0] == argument[-1] and argument[0] in "\"'“”":
        argument = argument[1:-1].strip()
    return parts[0].casefold(), argument


slack_date = blocks.slack_date


def next_run_of(standup: Standup, members: list[Member], now: dt.datetime) -> dt.datetime | None:
    """The soonest upcoming prompt of a standup across its participants' zones."""
    weekdays = mask_to_weekdays(standup.weekday_mask)
    local_time = parse_local_time(standup.local_time)
    soonest: dt.datetime | None = None
    zones = {member_zone(standup, m) for m in members} or {None}
    for zone in zones:
        found = next_occurrence(weekdays, local_time, zone or ZoneInfo("UTC"), now)
        if found and (soonest is None or found[1] < soonest):
            soonest = found[1]
    return soonest


def register(app: AsyncApp) -> None:
    app.command("/standup")(on_standup)
    app.action(blocks.A_DELETE_CONFIRM)(on_delete_confirm)
    app.action(blocks.A_DELETE_CANCEL)(on_delete_cancel)


MANAGE_SUBCOMMANDS = {"run", "delete", "edit", "pause", "resume", "history", "owners"}
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|^@?([UW][A-Z0-9]{2,})$")


async def on_standup(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    subcommand, argument = parse_command(command.get("text", ""))
    user_id = str(command["user_id"])
    if subcommand == "help":
        await ack(response_type="ephemeral", **blocks.help_message())
        return
    if subcommand == "create":
        await ack()
        refusal = await create_refusal(context, client, user_id)
        if refusal:
            await respond(response_type="ephemeral", text=refusal)
            return
        await open_create_modal(client, command, user_id)
        return
    if subcommand in {"list", "ls"}:
        await ack()
        await respond(response_type="ephemeral", **await list_standups(context))
        return
    if subcommand == "settings":
        await ack()
        reply = await change_settings(context, client, user_id, argument)
        await respond(response_type="ephemeral", **reply)
        return
    if subcommand in MANAGE_SUBCOMMANDS:
        if not argument:
            usage = (
                "owners <name> add|remove @user"
                if subcommand == "owners"
                else subcommand + " <name>"
            )
            await ack(
                response_type="ephemeral",
                text=f"Which standup? Use `/standup {escape(usage)}` (see `/standup list`).",
            )
            return
        await ack()
        managed = await manage(context, client, command, subcommand, argument)
        if managed is not None:
            await respond(response_type="ephemeral", replace_original=False, **managed)
        return
    await ack(
        response_type="ephemeral",
        text=f"I don't know `{escape(subcommand[:40])}`. {USAGE}",
    )


async def create_refusal(context: AsyncBoltContext, client: AsyncWebClient, user_id: str) -> str:
    """Why this user may not create a standup here, or "" if they may."""
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    async with services.db.session() as session:
        workspace = await session.get(Workspace, workspace_id)
        restricted = bool(workspace and workspace.create_restricted)
    if not restricted:
        return ""
    actor = await actor_for(services, client, workspace_id, user_id)
    return can_create(actor, create_restricted=restricted).reason


async def open_create_modal(client: AsyncWebClient, command: dict[str, Any], user_id: str) -> None:
    try:
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=blocks.create_modal(creator_id=user_id),
        )
    except SlackApiError as exc:
        log.warning("create_modal_failed", error=error_code(exc))


async def list_standups(context: AsyncBoltContext) -> blocks.Message:
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    return blocks.standup_list_message(await list_items(services, workspace_id))


async def list_items(
    services: Services, workspace_id: int, *, involving: str | None = None
) -> list[blocks.StandupListItem]:
    """This workspace's standups as list rows (only those `involving` a user, if given)."""
    now = services.clock()
    items = []
    async with services.db.session() as session:
        for standup, count in await queries.list_standups(session, workspace_id):
            members = await queries.standup_participants(session, workspace_id, standup.id)
            if involving is not None:
                owners = await queries.owner_ids(session, workspace_id, standup)
                if involving not in owners and involving not in {m.slack_user_id for m in members}:
                    continue
            upcoming = next_run_of(standup, members, now) if standup.active else None
            items.append(
                blocks.StandupListItem(
                    name=standup.name,
                    channel_id=standup.channel_id,
                    schedule_text=describe_schedule(
                        mask_to_weekdays(standup.weekday_mask),
                        parse_local_time(standup.local_time),
                        standup.fixed_tz if standup.tz_mode == "fixed" else None,
                    ),
                    participant_count=count,
                    # A Slack date token: each reader sees it in their own time zone.
                    next_run_text="not scheduled",
                    next_run=upcoming,
                    active=standup.active,
                    owner_id=standup.owner_user_id,
                )
            )
    return items


async def _managed_standup(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    user_id: str,
    name: str,
    *,
    check: Callable[[Actor, Collection[str], str], Decision] = can_manage,
) -> tuple[Standup | None, blocks.Message | None, Actor]:
    """The named standup if this user may manage it, else a refusal to show them."""
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    actor = await actor_for(services, client, workspace_id, user_id)
    async with services.db.session() as session:
        standup = await queries.find_standup_by_name(session, workspace_id, name_key(name))
        owners = await queries.owner_ids(session, workspace_id, standup) if standup else set()
    if standup is None:
        return (
            None,
            blocks.text_message(
                f"There is no standup called *{escape(name[:80])}*. See `/standup list`."
            ),
            actor,
        )
    decision = check(actor, owners, f"*{escape(standup.name)}*")
    if not decision:
        return None, blocks.text_message(decision.reason), actor
    return standup, None, actor


async def manage(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    command: dict[str, Any],
    subcommand: str,
    argument: str,
) -> blocks.Message | None:
    user_id = str(command["user_id"])
    name, extra = argument, ""
    if subcommand == "owners":
        match = re.match(r"^(.*?)\s+(add|remove)\s+(.+)$", argument, re.IGNORECASE | re.DOTALL)
        if match is None:
            name = argument
        else:
            name, extra = match.group(1).strip(), f"{match.group(2).lower()} {match.group(3)}"
    check = can_read_history if subcommand == "history" else can_manage
    standup, refusal, actor = await _managed_standup(context, client, user_id, name, check=check)
    if standup is None:
        return refusal
    if subcommand == "run":
        return await run_now(context, standup, actor)
    if subcommand == "delete":
        return blocks.delete_confirm_message(standup_id=standup.id, standup_name=standup.name)
    if subcommand == "edit":
        await open_edit_modal(context, client, command, standup)
        return None
    if subcommand in {"pause", "resume"}:
        return await set_active(context, standup, actor, active=subcommand == "resume")
    if subcommand == "history":
        return await history(context, standup)
    return await change_owners(context, standup, actor, extra)


async def run_now(context: AsyncBoltContext, standup: Standup, actor: Actor) -> blocks.Message:
    """Start today's run immediately: every participant gets their prompt now."""
    if not standup.active:  # nothing is created: a later resume must not send stale prompts
        return blocks.text_message(f"*{escape(standup.name)}* is paused; resume it first.")
    services = services_from(context)
    workspace_id = standup.workspace_id
    now = services.clock()
    async with services.db.session() as session:
        members = await queries.standup_participants(session, workspace_id, standup.id)
        runner = await queries.get_member(session, workspace_id, actor.user_id)
        zone_name = (
            standup.fixed_tz if standup.tz_mode == "fixed" else (runner.tz if runner else None)
        )
        try:
            zone = ZoneInfo(zone_name or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        local_date = now.astimezone(zone).date()
        run = await queries.get_or_create_run(
            session, workspace_id, standup, local_date, now + services.close_after
        )
        if run.state != "open":
            return blocks.text_message(
                f"Today's run of *{escape(standup.name)}* has already closed."
            )
        created = 0
        for member in members:
            if member.is_bot or member.deleted:
                continue
            if await queries.insert_prompt(
                session, workspace_id, run=run, member_id=member.id, due_at=now
            ):
                created += 1
    services.wake_scheduler()
    log.info("run_started", standup_id=standup.id, prompts=created)
    if not created:
        return blocks.text_message(
            f"Everyone in *{escape(standup.name)}* already has today's prompt."
        )
    return blocks.text_message(
        f"Started *{escape(standup.name)}*: {created} participant(s) are getting their prompt now."
    )


async def set_active(
    context: AsyncBoltContext, standup: Standup, actor: Actor, *, active: bool
) -> blocks.Message:
    services = services_from(context)
    verb = "resumed" if active else "paused"
    if standup.active == active:
        return blocks.text_message(f"*{escape(standup.name)}* is already {verb}.")
    now = services.clock()
    async with services.db.session() as session:
        row = await queries.get_standup(session, standup.workspace_id, standup.id)
        if row is None:
            return blocks.text_message("That standup no longer exists.")
        row.active = active
        if active:  # don't record the paused days as missed
            row.schedule_from = now
        # Unsent prompts go either way: on pause so none is sent, and again on resume in case
        # a planner on another replica wrote one while the pause was being saved.
        await queries.drop_pending_prompts(session, standup.workspace_id, standup.id)
        await audit.record(
            session,
            standup.workspace_id,
            actor=actor.user_id,
            action="resume" if active else "pause",
            standup_id=standup.id,
            standup_name=standup.name,
            before={"active": not active},
            after={"active": active},
            now=now,
        )
    services.wake_scheduler()
    return blocks.text_message(f"*{escape(standup.name)}* is {verb}.")


def _describe_change(entry: AuditEntry) -> str:
    when = slack_date(entry.at)
    who = f"<@{entry.actor_user_id}>" if entry.actor_user_id else "AsyncStand"
    before, after = entry.before or {}, entry.after or {}
    changed = [
        f"{escape(key)}: {escape(_short(before.get(key)))} → {escape(_short(after.get(key)))}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    detail = f" ({'; '.join(changed)})" if changed and entry.action not in {"create"} else ""
    return f"• {when} — {who} *{escape(entry.action)}*{detail}"


def _short(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


async def history(context: AsyncBoltContext, standup: Standup) -> blocks.Message:
    services = services_from(context)
    async with services.db.session() as session:
        entries = await audit.standup_history(session, standup.workspace_id, standup.id)
    return blocks.history_message(standup.name, [_describe_change(e) for e in entries])


async def change_owners(
    context: AsyncBoltContext, standup: Standup, actor: Actor, extra: str
) -> blocks.Message:
    services = services_from(context)
    parts = extra.split(maxsplit=1)
    match = USER_MENTION.search(parts[1].strip()) if len(parts) == 2 else None
    if not parts or match is None:
        async with services.db.session() as session:
            owners = sorted(await queries.owner_ids(session, standup.workspace_id, standup))
        listed = ", ".join(f"<@{o}>" for o in owners)
        return blocks.text_message(
            f"Owners of *{escape(standup.name)}*: {listed}.\n"
            f"Change with `/standup owners {escape(standup.name)} add|remove @user`."
        )
    target = match.group(1) or match.group(2)
    now = services.clock()
    async with services.db.session() as session:
        row = await queries.get_standup(session, standup.workspace_id, standup.id)
        if row is None:
            return blocks.text_message("That standup no longer exists.")
        before = sorted(await queries.owner_ids(session, standup.workspace_id, row))
        if parts[0] == "add":
            changed = await queries.add_owner(
                session, standup.workspace_id, row, target, actor.user_id, now
            )
        else:
            decision = can_remove_owner(before, target, row.owner_user_id)
            if not decision:
                return blocks.text_message(decision.reason)
            changed = await queries.remove_owner(session, standup.workspace_id, row, target)
        after = sorted(await queries.owner_ids(session, standup.workspace_id, row))
        if changed:
            await audit.record(
                session,
                standup.workspace_id,
                actor=actor.user_id,
                action="owners",
                standup_id=standup.id,
                standup_name=standup.name,
                before={"owners": before},
                after={"owners": after},
                now=now,
            )
    if not changed:
        return blocks.text_message(
            f"Nothing to change: owners are {', '.join(f'<@{o}>' for o in after)}."
        )
    return blocks.text_message(
        f"Owners of *{escape(standup.name)}* are now {', '.join(f'<@{o}>' for o in after)}."
    )


async def change_settings(
    context: AsyncBoltContext, client: AsyncWebClient, user_id: str, argument: str
) -> blocks.Message:
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    async with services.db.session() as session:
        workspace = await session.get(Workspace, workspace_id)
        restricted = bool(workspace and workspace.create_restricted)
    current = "workspace admins only" if restricted else "everyone"
    parts = argument.casefold().split()
    if len(parts) != 2 or parts[0] != "creators" or parts[1] not in {"admins", "everyone"}:
        return blocks.text_message(
            f"Who can create standups: *{current}*.\n"
            "Admins change it with `/standup settings creators admins` or "
            "`/standup settings creators everyone`."
        )
    actor = await actor_for(services, client, workspace_id, user_id)
    decision = can_change_settings(actor)
    if not decision:
        return blocks.text_message(decision.reason)
    want = parts[1] == "admins"
    async with services.db.session() as session:
        workspace = await session.get(Workspace, workspace_id)
        assert workspace is not None
        if workspace.create_restricted != want:
            await audit.record(
                session,
                workspace_id,
                actor=user_id,
                action="settings",
                before={"create_restricted": workspace.create_restricted},
                after={"create_restricted": want},
                now=services.clock(),
            )
            workspace.create_restricted = want
    who = "workspace admins only" if want else "everyone"
    return blocks.text_message(f"Who can create standups: *{who}*.")


async def open_edit_modal(
    context: AsyncBoltContext, client: AsyncWebClient, command: dict[str, Any], standup: Standup
) -> None:
    services = services_from(context)
    async with services.db.session() as session:
        members = await queries.standup_participants(session, standup.workspace_id, standup.id)
    initial = blocks.StandupFormValues(
        name=standup.name,
        channel_id=standup.channel_id,
        questions=list(standup.questions),
        participant_ids=[m.slack_user_id for m in members],
        weekdays=mask_to_weekdays(standup.weekday_mask),
        local_time=standup.local_time,
        tz_mode=standup.tz_mode,
        fixed_tz=standup.fixed_tz,
    )
    try:
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=blocks.create_modal(
                creator_id=str(command["user_id"]),
                private_metadata=str(standup.id),
                initial=initial,
            ),
        )
    except SlackApiError as exc:
        log.warning("edit_modal_failed", error=error_code(exc))


async def on_delete_confirm(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    standup_id = parse_id(action.get("value"))
    if standup_id is None:
        await respond(replace_original=True, text="That button is no longer valid.")
        return
    actor = await actor_for(services, client, workspace_id, user_id)
    async with services.db.session() as session:
        # The id came from a button: only honour it inside this workspace, for an owner/admin.
        standup = await queries.get_standup(session, workspace_id, standup_id)
        if standup is None:
            await respond(replace_original=True, text="That standup no longer exists.")
            return
        owners = await queries.owner_ids(session, workspace_id, standup)
        decision = can_manage(actor, owners, f"*{escape(standup.name)}*")
        if not decision:
            await respond(replace_original=False, text=decision.reason)
            return
        name = standup.name
        await audit.record(
            session,
            workspace_id,
            actor=user_id,
            action="delete",
            standup_id=standup_id,
            standup_name=name,
            before=standup_snapshot(standup, sorted(owners)),
            now=services.clock(),
        )
        await queries.delete_standup(session, workspace_id, standup_id)
    log.info("standup_deleted", standup_id=standup_id)
    await respond(replace_original=True, text=f"Deleted *{escape(name)}*.")


def standup_snapshot(standup: Standup, participants: list[str] | None = None) -> dict[str, Any]:
    """The audited view of a standup's configuration."""
    snapshot: dict[str, Any] = {
        "name": standup.name,
        "channel": standup.channel_id,
        "questions": list(standup.questions),
        "days": describe_weekdays(mask_to_weekdays(standup.weekday_mask)),
        "time": standup.local_time,
        "time_zone": standup.fixed_tz or "each participant's own",
        "active": standup.active,
    }
    if participants is not None:
        snapshot["participants"] = participants
    return snapshot


async def on_delete_cancel(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(replace_original=True, text="Kept it — nothing was deleted.")
