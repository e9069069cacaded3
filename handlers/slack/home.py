"""App Home: drawing it when it is opened, and its buttons on a standup — Run now, Pause,
Resume, Edit — which call the same use cases as `/standup run|pause|resume|edit`. (Its
Answer / Edit buttons on a check-in are the prompt's own: handlers.slack.checkins; Report is
handlers.slack.reports'; the reminders switch is handlers.slack.reminders'.)

A button's value is a standup id: only a hint, re-checked by the use case (this workspace, and
the clicker must be an owner or a workspace admin). A home has no thread to answer in, so what
a click has to say (a refusal, "run started") opens a small modal.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import home, standups
from bot.outcomes import Refusal
from bot.people import Caller
from bot.rules.permissions import Why
from bot.slack.gateway import error_code
from bot.views import wording
from bot.views.blockkit import A_HOME_EDIT, A_HOME_PAUSE, A_HOME_RESUME, A_HOME_RUN, Block
from bot.views.home import notice_modal
from bot.views.modals import edit_modal
from handlers.slack.context import acked, caller_of, parse_id, services_of, workspace_id_of

log = structlog.get_logger("asyncstand.handlers")


def register(app: AsyncApp) -> None:
    app.action(A_HOME_RUN)(acked(on_run, opens_modal=True))
    app.action(A_HOME_PAUSE)(acked(on_pause))
    app.action(A_HOME_RESUME)(acked(on_resume))
    app.action(A_HOME_EDIT)(acked(on_edit, opens_modal=True))


async def on_home_opened(args: AsyncArgs) -> None:
    """Draw the home (the first opening starts keeping it up to date). Their profile is read
    first (users.info, at most every few minutes): their time zone says what "today" is, and
    the admin flag which buttons they get."""
    event = args.event or {}
    if event.get("tab") != "home":
        return
    user_id = str(event["user"])
    caller = await caller_of(args.context, args.client, user_id)
    await caller.actor()
    shown = await home.opened(services_of(args.context), caller.workspace_id, user_id)
    await home.publish(args.client, shown)


async def publish_home(context: AsyncBoltContext, client: AsyncWebClient, user_id: str) -> None:
    """Draw a person's home again now (they changed something from it)."""
    workspace_id = await workspace_id_of(context)
    await home.refresh(services_of(context), client, workspace_id, user_id)


async def _clicked(args: AsyncArgs) -> tuple[Caller, int | None]:
    caller = await caller_of(args.context, args.client, str(args.body["user"]["id"]))
    return caller, parse_id((args.action or {}).get("value"))


async def show_notice(args: AsyncArgs, title: str, blocks: list[Block]) -> None:
    """What a click on App Home has to say, in a small modal (a home has no thread)."""
    await _open(args, notice_modal(title, blocks), "home_notice_failed")


async def _open(args: AsyncArgs, view: dict[str, Any], failure: str) -> None:
    try:
        await args.client.views_open(trigger_id=args.body["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning(failure, error=error_code(exc))


async def _refused(args: AsyncArgs, outcome: Refusal) -> None:
    await show_notice(args, "AsyncStand", wording.refusal_message(outcome)["blocks"])


GONE = Refusal(Why.STANDUP_GONE)


async def on_run(args: AsyncArgs) -> None:
    caller, standup_id = await _clicked(args)
    services = services_of(args.context)
    outcome = await standups.run_now(services, caller, standup_id) if standup_id else GONE
    if isinstance(outcome, Refusal):
        await _refused(args, outcome)
        return
    await show_notice(args, "Run now", wording.run_started(outcome)["blocks"])


async def _toggle(args: AsyncArgs, *, active: bool) -> None:
    caller, standup_id = await _clicked(args)
    services = services_of(args.context)
    outcome = (
        await standups.set_active(services, caller, standup_id, active=active)
        if standup_id
        else GONE
    )
    if isinstance(outcome, Refusal):
        await _refused(args, outcome)
        return
    # Their own home shows it at once; everyone else's is drawn again by the scheduler.
    await home.refresh(services, args.client, caller.workspace_id, caller.user_id)


async def on_pause(args: AsyncArgs) -> None:
    await _toggle(args, active=False)


async def on_resume(args: AsyncArgs) -> None:
    await _toggle(args, active=True)


async def on_edit(args: AsyncArgs) -> None:
    """The edit form; its submission is handled by handlers.slack.forms like the command's."""
    caller, standup_id = await _clicked(args)
    services = services_of(args.context)
    form = await standups.edit_form(services, caller, standup_id) if standup_id else GONE
    if isinstance(form, Refusal):
        await _refused(args, form)
        return
    view = edit_modal(form, editor_id=caller.user_id, limits=services.settings.limits)
    await _open(args, view, "edit_modal_failed")
