"""The App Home tab."""

from __future__ import annotations

from typing import Any

from bot.outcomes import Attendance
from bot.views.attendance import home_blocks
from bot.views.blockkit import (
    A_REMINDERS_TOGGLE,
    HOME_REMINDERS_BLOCK,
    MODAL_MAX_BLOCKS,
    Block,
    button,
    cap,
    header,
    section,
)
from bot.views.messages import StandupListItem, help_message, standup_list_message
from bot.views.mrkdwn import md


def reminders_section(reminders_off: bool) -> Block:
    """The person's own reminder setting ("Reminders: on [Turn off]"), with a button to flip
    it. The button's value is only the wanted state; whose setting it is comes from the click."""
    if reminders_off:
        text = md("*Reminders:* off — you get no reminder when you haven't answered a standup.")
        flip = button("Turn on", A_REMINDERS_TOGGLE, "on")
    else:
        text = md("*Reminders:* on — one reminder per standup if you haven't answered yet.")
        flip = button("Turn off", A_REMINDERS_TOGGLE, "off")
    return {**section(text, block_id=HOME_REMINDERS_BLOCK), "accessory": flip}


def home_view(
    items: list[StandupListItem] | None = None,
    attendance: Attendance | None = None,
    *,
    reminders_off: bool | None = None,
) -> dict[str, Any]:
    """Your standups (if any), your reminder setting, your out of office and holiday
    calendar (when known), then what AsyncStand does and the commands."""
    mine: list[Block] = []
    if items:
        listing = standup_list_message(items)["blocks"][: MODAL_MAX_BLOCKS - 16]
        mine = [section(md("*Your standups*")), *listing, {"type": "divider"}]
    if reminders_off is not None:
        mine += [reminders_section(reminders_off), {"type": "divider"}]
    if attendance is not None:
        mine += [*home_blocks(attendance), {"type": "divider"}]
    help_blocks = help_message()["blocks"]
    return {
        "type": "home",
        "blocks": cap([header("AsyncStand"), *mine, *help_blocks], MODAL_MAX_BLOCKS),
    }
