"""`/standup` and its subcommands: acknowledge first (Slack allows 3 seconds), then call one
use case and render its outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError

from bot import attendance, reminders, standups, workspaces
from bot.outcomes import (
    AwayCleared,
    AwayStatus,
    AwayUpdated,
    DaySkipped,
    Invalid,
    NoRunThatDay,
    Refusal,
)
from bot.people import Caller
from bot.rules.attendance import parse_skip
from bot.rules.away import ParseError
from bot.rules.permissions import Why
from bot.slack.gateway import error_code
from bot.views import attendance as attendance_views
from bot.views import wording
from bot.views.blockkit import A_DELETE_CANCEL, A_DELETE_CONFIRM, Message
from bot.views.messages import (
    delete_confirm_message,
    help_message,
    list_items,
    standup_list_message,
    text_message,
)
from bot.views.modals import create_modal, edit_modal
from bot.views.mrkdwn import md
from handlers.slack.blockers import blockers_command
from handlers.slack.command_text import MAX_TEXT, parse, parse_owners
from handlers.slack.context import after_ack, caller_of, parse_id, services_of
from handlers.slack.reports import export_command, report_command

log = structlog.get_logger("asyncstand.handlers")

# Subcommands that name a standup, with their usage when the name is missing.
NEEDS_NAME = {
    "run": "run <name>",
    "delete": "delete <name>",
    "edit": "edit <name>",
    "pause": "pause <name>",
    "resume": "resume <name>",
    "owners": "owners <name> add|remove @user",
    "remind": "remind <name>",
    "skip": "skip <name> [YYYY-MM-DD]",
    "report": "report <name> [7d|30d|90d]",
    "blockers": "blockers <name>",
    "export": "export <name> [csv|json] [from] [to]",
}

# Subcommands that answer with a modal (opened with the command's trigger_id).
OPENS_MODAL = frozenset({"create", "edit"})

Reply = Message | None
# A subcommand: the request, who is asking, and the text after the subcommand.
Subcommand = Callable[[AsyncArgs, Caller, str], Awaitable[Reply]]


def register(app: AsyncApp) -> None:
    app.command("/standup")(on_standup)
    app.action(A_DELETE_CONFIRM)(on_delete_confirm)
    app.action(A_DELETE_CANCEL)(on_delete_cancel)


async def on_standup(args: AsyncArgs) -> None:
    ack, command = args.ack, args.command or {}
    parsed = parse(command.get("text"))
    if parsed.too_long:
        text = md("That command is too long (over {} characters). See `/standup help`.", MAX_TEXT)
        await ack(response_type="ephemeral", **text_message(text))
        return
    if parsed.subcommand == "help":
        await ack(response_type="ephemeral", **help_message())
        return
    handler = SUBCOMMANDS.get(parsed.subcommand)
    if handler is None:
        await ack(response_type="ephemeral", text=wording.unknown_command(parsed.subcommand))
        return
    if parsed.subcommand in NEEDS_NAME and not parsed.argument:
        usage = NEEDS_NAME[parsed.subcommand]
        await ack(response_type="ephemeral", text=wording.which_standup(usage))
        return
    await ack()
    async with after_ack(args.context, opens_modal=parsed.subcommand in OPENS_MODAL):
        caller = await caller_of(args.context, args.client, str(command["user_id"]))
        reply = await handler(args, caller, parsed.argument)
        if reply is not None:
            await args.respond(response_type="ephemeral", replace_original=False, **reply)


def _refusal_or(outcome: Any, render: Callable[[Any], Message]) -> Message:
    return wording.refusal_message(outcome) if isinstance(outcome, Refusal) else render(outcome)


async def _create(args: AsyncArgs, caller: Caller, _: str) -> Reply:
    refusal = await standups.may_create(services_of(args.context), caller)
    if refusal is not None:
        return wording.refusal_message(refusal)
    limits = services_of(args.context).settings.limits
    view = create_modal(creator_id=caller.user_id, limits=limits)
    await _open_modal(args, view, "create_modal_failed")
    return None


async def _list(args: AsyncArgs, caller: Caller, _a: str) -> Reply:
    return standup_list_message(
        list_items(await standups.overview(services_of(args.context), caller))
    )


async def _settings(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    words = argument.casefold().split()
    wanted = (
        words[1] == "admins"
        if len(words) == 2 and words[0] == "creators" and words[1] in ("admins", "everyone")
        else None
    )
    outcome = await workspaces.creators_setting(services_of(args.context), caller, wanted)
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    if wanted is None:
        return wording.creators_usage(outcome.admins_only)
    return wording.creators(outcome.admins_only)


async def _run(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    return _refusal_or(
        await standups.run_now(services_of(args.context), caller, name), wording.run_started
    )


async def _pause(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    outcome = await standups.set_active(services_of(args.context), caller, name, active=False)
    return _refusal_or(outcome, wording.toggled)


async def _resume(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    outcome = await standups.set_active(services_of(args.context), caller, name, active=True)
    return _refusal_or(outcome, wording.toggled)


async def _delete(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    outcome = await standups.request_delete(services_of(args.context), caller, name)
    return _refusal_or(
        outcome, lambda o: delete_confirm_message(standup_id=o.standup_id, standup_name=o.name)
    )


async def _history(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    services = services_of(args.context)
    if name:
        return _refusal_or(await standups.history(services, caller, name), wording.history)
    return _refusal_or(await workspaces.workspace_history(services, caller), wording.history)


async def _owners(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    wanted = parse_owners(argument)
    change = (
        standups.OwnerChange(add=wanted.verb == "add", user_id=wanted.target)
        if wanted.verb and wanted.target
        else None
    )
    outcome = await standups.owners(services_of(args.context), caller, wanted.name, change)
    return _refusal_or(outcome, wording.owners)


async def _edit(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    form = await standups.edit_form(services_of(args.context), caller, name)
    if isinstance(form, Refusal):
        return wording.refusal_message(form)
    view = edit_modal(
        form, editor_id=caller.user_id, limits=services_of(args.context).settings.limits
    )
    await _open_modal(args, view, "edit_modal_failed")
    return None


async def _ooo(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    outcome = await attendance.away(
        services_of(args.context), caller, argument.split(), client=args.client
    )
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    if isinstance(outcome, Invalid):
        return attendance_views.invalid(outcome)
    if isinstance(outcome, AwayStatus):
        return attendance_views.away_status(outcome)
    if isinstance(outcome, AwayCleared):
        return attendance_views.away_cleared(outcome)
    assert isinstance(outcome, AwayUpdated)
    if not outcome.yourself and outcome.changed:
        await attendance.tell(
            args.client,
            outcome.user_id,
            attendance_views.away_set_for_you(outcome, caller.user_id),
        )
    return attendance_views.away_updated(outcome)


async def _holidays(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    outcome = await attendance.holiday_calendar(services_of(args.context), caller, argument)
    if isinstance(outcome, Invalid):
        return attendance_views.invalid(outcome)
    return attendance_views.holiday_calendars(outcome)


async def _skip(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    wanted = parse_skip(argument)
    if isinstance(wanted, ParseError):
        return attendance_views.invalid(Invalid(wanted.message))
    outcome = await attendance.skip_day(
        services_of(args.context), caller, wanted.name, wanted.day, client=args.client
    )
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    if isinstance(outcome, Invalid):
        return attendance_views.invalid(outcome)
    if isinstance(outcome, NoRunThatDay):
        return attendance_views.no_run_that_day(outcome)
    assert isinstance(outcome, DaySkipped)
    return attendance_views.day_skipped(outcome)


async def _open_modal(args: AsyncArgs, view: dict[str, Any], failure: str) -> None:
    try:
        await args.client.views_open(trigger_id=args.body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning(failure, error=error_code(exc))


async def _remind(args: AsyncArgs, caller: Caller, name: str) -> Reply:
    services = services_of(args.context)
    outcome = await reminders.nudge(services, caller, name)
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    # Say how many first; the DMs follow (a large standup's take a moment).
    await args.respond(response_type="ephemeral", replace_original=False, **wording.nudged(outcome))
    await reminders.deliver_nudges(services, args.client, caller.workspace_id, outcome)
    return None


async def _reminders(args: AsyncArgs, caller: Caller, argument: str) -> Reply:
    word = argument.casefold().strip()
    if word not in ("", "on", "off"):
        return text_message(md("Use `/standup reminders on` or `/standup reminders off`."))
    off = None if not word else word == "off"
    outcome = await reminders.own_reminders(services_of(args.context), caller, off=off)
    return wording.own_reminders(outcome)


SUBCOMMANDS: dict[str, Subcommand] = {
    "create": _create,
    "list": _list,
    "ls": _list,
    "settings": _settings,
    "run": _run,
    "pause": _pause,
    "resume": _resume,
    "delete": _delete,
    "history": _history,
    "owners": _owners,
    "edit": _edit,
    "remind": _remind,
    "reminders": _reminders,
    "ooo": _ooo,
    "holidays": _holidays,
    "skip": _skip,
    "report": report_command,
    "blockers": blockers_command,
    "export": export_command,
}


async def on_delete_confirm(args: AsyncArgs) -> None:
    await args.ack()
    async with after_ack(args.context):
        await _delete_confirmed(args)


async def _delete_confirmed(args: AsyncArgs) -> None:
    respond = args.respond
    standup_id = parse_id((args.action or {}).get("value"))
    if standup_id is None:
        await respond(replace_original=True, text="That button is no longer valid.")
        return
    caller = await caller_of(args.context, args.client, str(args.body["user"]["id"]))
    outcome = await standups.delete(services_of(args.context), caller, standup_id)
    if isinstance(outcome, Refusal):
        # The confirmation stays in place unless there is nothing left to delete.
        gone = outcome.why == Why.STANDUP_GONE
        await respond(replace_original=gone, text=wording.refusal(outcome))
        return
    await respond(replace_original=True, text=wording.deleted(outcome.name))


async def on_delete_cancel(args: AsyncArgs) -> None:
    await args.ack()
    await args.respond(replace_original=True, text="Kept it — nothing was deleted.")
