"""Reports and exports in Slack: `/standup report`, `/standup export` (both reached through
handlers.slack.commands) and App Home's Report button, which opens the report in a modal."""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError

from bot import exports, reports
from bot.outcomes import ExportEmpty, ExportFailed, ExportTooLarge, Refusal, StandupReport
from bot.people import Caller
from bot.rules.away import ParseError
from bot.rules.export import parse_export_args
from bot.rules.permissions import Why
from bot.rules.reports import parse_report_args
from bot.slack.gateway import error_code
from bot.views import reports as views
from bot.views import wording
from bot.views.blockkit import A_HOME_REPORT, Message
from handlers.slack.context import acked, caller_of, parse_id, services_of

log = structlog.get_logger("asyncstand.handlers")

HOME_REPORT_DAYS = 30


def register(app: AsyncApp) -> None:
    app.action(A_HOME_REPORT)(acked(on_home_report, opens_modal=True))


async def report_command(args: AsyncArgs, caller: Caller, argument: str) -> Message | None:
    """`/standup report <name> [7d|30d|90d]`."""
    wanted = parse_report_args(argument)
    if isinstance(wanted, ParseError):
        return views.bad_input(wanted.message)
    outcome = await reports.report(
        services_of(args.context), caller, wanted.name, reports.LastDays(wanted.days)
    )
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    return views.report_message(outcome)


async def export_command(args: AsyncArgs, caller: Caller, argument: str) -> Message | None:
    """`/standup export <name> [csv|json] [from] [to]`: after the ack, a note, then the file
    in the requester's DM (bounded: see bot.exports.MAX_SLACK_ROWS)."""
    wanted = parse_export_args(argument)
    if isinstance(wanted, ParseError):
        return views.bad_input(wanted.message)
    services = services_of(args.context)
    ready = await exports.prepare(
        services, caller, wanted.name, wanted.format, wanted.start, wanted.end
    )
    if isinstance(ready, Refusal):
        return wording.refusal_message(ready)
    if isinstance(ready, ExportEmpty):
        return views.export_empty(ready)
    await args.respond(
        response_type="ephemeral",
        replace_original=False,
        **views.preparing(ready.standup_name, ready.format),
    )
    sent = await exports.send_to_dm(services, args.client, caller, ready)
    if isinstance(sent, ExportTooLarge):
        return views.export_too_large(sent)
    if isinstance(sent, ExportFailed):
        return views.export_failed(sent)
    return views.export_sent(sent)


async def on_home_report(args: AsyncArgs) -> None:
    """App Home's Report button: the standup's last 30 days in a modal, for the clicking user,
    with the same checks as the command (an id of another workspace's standup is not found)."""
    standup_id = parse_id((args.action or {}).get("value"))
    caller = await caller_of(args.context, args.client, str(args.body["user"]["id"]))
    services = services_of(args.context)
    outcome: StandupReport | Refusal = (
        await reports.report(services, caller, standup_id, reports.LastDays(HOME_REPORT_DAYS))
        if standup_id is not None
        else Refusal(Why.STANDUP_GONE)
    )
    try:
        await args.client.views_open(
            trigger_id=args.body["trigger_id"], view=views.report_modal(outcome)
        )
    except SlackApiError as exc:
        log.warning("report_modal_failed", error=error_code(exc))
