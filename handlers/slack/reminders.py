"""App Home's "Turn reminders off/on" button. Whose reminders change is the user who clicked
(from the signed payload); the button's value only says which way."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import reminders
from bot.views.blockkit import A_REMINDERS_TOGGLE
from handlers.slack.context import acked, caller_of, services_of
from handlers.slack.home import publish_home

WANTED = {"off": True, "on": False}


def register(app: AsyncApp) -> None:
    app.action(A_REMINDERS_TOGGLE)(acked(on_reminders_button))


async def on_reminders_button(args: AsyncArgs) -> None:
    user_id = str(args.body["user"]["id"])
    off = WANTED.get(str((args.action or {}).get("value")))
    if off is not None:
        caller = await caller_of(args.context, args.client, user_id)
        await reminders.own_reminders(services_of(args.context), caller, off=off)
    await publish_home(args.context, args.client, user_id)
