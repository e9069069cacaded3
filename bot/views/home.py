"""The App Home tab."""

from __future__ import annotations

from typing import Any

from bot.outcomes import Attendance
from bot.views.attendance import home_blocks
from bot.views.blockkit import MODAL_MAX_BLOCKS, Block, cap, header, section
from bot.views.messages import StandupListItem, help_message, standup_list_message
from bot.views.mrkdwn import md


def home_view(
    items: list[StandupListItem] | None = None, attendance: Attendance | None = None
) -> dict[str, Any]:
    """Your standups (if any), your out of office and holiday calendar, then what
    AsyncStand does and the commands."""
    mine: list[Block] = []
    if items:
        listing = standup_list_message(items)["blocks"][: MODAL_MAX_BLOCKS - 14]
        mine = [section(md("*Your standups*")), *listing, {"type": "divider"}]
    if attendance is not None:
        mine += [*home_blocks(attendance), {"type": "divider"}]
    help_blocks = help_message()["blocks"]
    return {
        "type": "home",
        "blocks": cap([header("AsyncStand"), *mine, *help_blocks], MODAL_MAX_BLOCKS),
    }
