"""The Resolved / Still blocked buttons of the "Still blocked on …?" follow-up, and
`/standup blockers <name>`.

The button's value (a blocker id) is only a hint: the use case honours it only for a blocker of
the requesting workspace that is the clicking user's own."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from bot import blockers
from bot.outcomes import Refusal
from bot.people import Caller
from bot.views import wording
from bot.views.blockers import (
    A_BLOCKER_RESOLVED,
    A_BLOCKER_STILL,
    blockers_list_message,
    mark_answered,
)
from bot.views.blockkit import Message
from handlers.slack.context import acked, parse_id, services_of, workspace_id_of


def register(app: AsyncApp) -> None:
    app.action(A_BLOCKER_RESOLVED)(acked(on_resolved))
    app.action(A_BLOCKER_STILL)(acked(on_still_blocked))


async def on_resolved(args: AsyncArgs) -> None:
    await _answer(args, resolved=True)


async def on_still_blocked(args: AsyncArgs) -> None:
    await _answer(args, resolved=False)


async def _answer(args: AsyncArgs, *, resolved: bool) -> None:
    ref = blockers.BlockerRef(
        await workspace_id_of(args.context),
        str(args.body["user"]["id"]),
        parse_id((args.action or {}).get("value")),
    )
    outcome = await blockers.answer_follow_up(services_of(args.context), ref, resolved=resolved)
    if isinstance(outcome, Refusal):
        await args.respond(
            replace_original=False, response_type="ephemeral", text=wording.refusal(outcome)
        )
        return
    original: dict[str, Any] = args.body.get("message") or {}
    shown = original.get("blocks")
    if isinstance(shown, list):
        await args.respond(
            replace_original=True,
            text=str(original.get("text") or "Still blocked?"),
            blocks=mark_answered(shown, outcome.blocker_id, resolved=outcome.resolved),
        )


async def blockers_command(args: AsyncArgs, caller: Caller, name: str) -> Message:
    """`/standup blockers <name>`: the standup's open blockers, for whoever may see it."""
    outcome = await blockers.standup_blockers(services_of(args.context), caller, name)
    if isinstance(outcome, Refusal):
        return wording.refusal_message(outcome)
    return blockers_list_message(outcome.standup_name, outcome.blockers)
