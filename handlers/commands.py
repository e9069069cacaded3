"""`/standup` and its subcommands. Ack first, then do the work (Slack allows 3 seconds)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks
from bot.mrkdwn import escape
from bot.runtime import Services, services_from
from bot.slack import error_code
from bot.validation import name_key
from handlers.context import log, workspace_id_for
from scheduler.planner import member_zone
from scheduler.timemath import (
    describe_schedule,
    mask_to_weekdays,
    next_occurrence,
    parse_local_time,
)
from storage import queries
from storage.models import Member, Standup

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


def slack_date(instant: dt.datetime) -> str:
    """A date Slack renders in each reader's own time zone, with a UTC fallback."""
    epoch = int(instant.timestamp())
    fallback = instant.strftime("%a %d %b %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


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
        await open_create_modal(client, command, user_id)
        return
    if subcommand in {"list", "ls"}:
        await ack()
        await respond(response_type="ephemeral", **await list_standups(context))
        return
    if subcommand in {"run", "delete"}:
        if not argument:
            await ack(
                response_type="ephemeral",
                text=f"Which standup? Use `/standup {subcommand} <name>` (see `/standup list`).",
            )
            return
        await ack()
        if subcommand == "run":
            reply = await run_now(context, user_id, argument)
        else:
            reply = await ask_delete(context, user_id, argument)
        await respond(response_type="ephemeral", replace_original=False, **reply)
        return
    await ack(
        response_type="ephemeral",
        text=f"I don't know `{escape(subcommand[:40])}`. {USAGE}",
    )


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
    now = services.clock()
    items = []
    async with services.db.session() as session:
        for standup, count in await queries.list_standups(session, workspace_id):
            members = await queries.standup_participants(session, workspace_id, standup.id)
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
                    next_run_text=slack_date(upcoming) if upcoming else "not scheduled",
                    active=standup.active,
                    owner_id=standup.owner_user_id,
                )
            )
    return blocks.standup_list_message(items)


async def _owned_standup(
    services: Services, workspace_id: int, user_id: str, name: str
) -> tuple[Standup | None, blocks.Message | None]:
    """The named standup if the user may manage it, else a refusal to show them."""
    async with services.db.session() as session:
        standup = await queries.find_standup_by_name(session, workspace_id, name_key(name))
    if standup is None:
        return None, blocks.text_message(
            f"There is no standup called *{escape(name[:80])}*. See `/standup list`."
        )
    if standup.owner_user_id != user_id:
        return None, blocks.text_message(
            f"Only the owner of *{escape(standup.name)}* (<@{standup.owner_user_id}>) can do that."
        )
    return standup, None


async def run_now(context: AsyncBoltContext, user_id: str, name: str) -> blocks.Message:
    """Start today's run immediately: every participant gets their prompt now."""
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    standup, refusal = await _owned_standup(services, workspace_id, user_id, name)
    if standup is None:
        assert refusal is not None
        return refusal
    now = services.clock()
    async with services.db.session() as session:
        members = await queries.standup_participants(session, workspace_id, standup.id)
        owner = next((m for m in members if m.slack_user_id == user_id), None)
        zone_name = (
            standup.fixed_tz if standup.tz_mode == "fixed" else (owner.tz if owner else None)
        )
        local_date = now.astimezone(ZoneInfo(zone_name or "UTC")).date()
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


async def ask_delete(context: AsyncBoltContext, user_id: str, name: str) -> blocks.Message:
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    standup, refusal = await _owned_standup(services, workspace_id, user_id, name)
    if standup is None:
        assert refusal is not None
        return refusal
    return blocks.delete_confirm_message(standup_id=standup.id, standup_name=standup.name)


async def on_delete_confirm(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services = services_from(context)
    workspace_id = await workspace_id_for(context)
    user_id = str(body["user"]["id"])
    try:
        standup_id = int(action.get("value", ""))
    except ValueError:
        await respond(replace_original=True, text="That button is no longer valid.")
        return
    async with services.db.session() as session:
        # The id came from a button: only honour it inside this workspace, for its owner.
        standup = await queries.get_standup(session, workspace_id, standup_id)
        if standup is None:
            await respond(replace_original=True, text="That standup no longer exists.")
            return
        if standup.owner_user_id != user_id:
            await respond(replace_original=False, text="Only the standup's owner can delete it.")
            return
        name = standup.name
        await queries.delete_standup(session, workspace_id, standup_id)
    log.info("standup_deleted", standup_id=standup_id)
    await respond(replace_original=True, text=f"Deleted *{escape(name)}*.")


async def on_delete_cancel(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(replace_original=True, text="Kept it — nothing was deleted.")
