"""Blocker messages: the "Still blocked?" follow-up before a prompt, the owners' escalation DM
and ``/standup blockers``. Blocker text is the person's own words: it only enters through
:func:`md` (escaped) and is clipped to :data:`BLOCKER_TEXT_MAX`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.views.blockkit import (
    BLOCKER_TEXT_MAX,
    Block,
    Message,
    button,
    context,
    display_name,
    message,
    pack,
    section,
)
from bot.views.mrkdwn import Mrkdwn, clip, md, mention

A_BLOCKER_RESOLVED = "blocker_resolved"
A_BLOCKER_STILL = "blocker_still"
FOLLOW_UP_SHOWN = 5  # blockers asked about in one message (two blocks each)
LISTED_SHOWN = 40  # lines of `/standup blockers`


@dataclass(frozen=True)
class AskedBlocker:
    blocker_id: int
    text: str


@dataclass(frozen=True)
class BlockerLine:
    """One open blocker as `/standup blockers`, the API and the web page show it."""

    blocker_id: int
    user_id: str
    text: str
    opened_on: dt.date
    age_text: str
    still_blocked_on: dt.date | None


def _quoted(text: str) -> Mrkdwn:
    return clip(md("{}", " ".join(text.split())), BLOCKER_TEXT_MAX)


def _question_block_id(blocker_id: int) -> str:
    return f"blocker_q:{blocker_id}"


def _actions_block_id(blocker_id: int) -> str:
    return f"blocker_a:{blocker_id}"


def follow_up_message(standup_name: str, asked: Sequence[AskedBlocker]) -> Message:
    """Asked before the day's prompt: one question and a Resolved / Still blocked pair per open
    blocker, at most :data:`FOLLOW_UP_SHOWN`, then "and N more"."""
    name = display_name(standup_name)
    blocks: list[Block] = [section(md("*{}* standup — before you check in:", name))]
    for item in asked[:FOLLOW_UP_SHOWN]:
        value = str(item.blocker_id)
        blocks.append(
            section(
                md("Still blocked on _{}_?", _quoted(item.text)),
                block_id=_question_block_id(item.blocker_id),
            )
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": _actions_block_id(item.blocker_id),
                "elements": [
                    button("Resolved", A_BLOCKER_RESOLVED, value, style="primary"),
                    button("Still blocked", A_BLOCKER_STILL, value),
                ],
            }
        )
    more = len(asked) - FOLLOW_UP_SHOWN
    if more > 0:
        blocks.append(context(md("…and {} more; see `/standup blockers {}`.", more, standup_name)))
    text = md("{} standup: still blocked?", name)
    return message(text, blocks)


def mark_answered(blocks: Sequence[Block], blocker_id: int, *, resolved: bool) -> list[Block]:
    """The follow-up message after a click: that blocker's buttons give way to what was said;
    the other blockers keep theirs."""
    note = md("✅ Resolved") if resolved else md("⏳ Still blocked — noted")
    wanted = _actions_block_id(blocker_id)
    return [context(note) if block.get("block_id") == wanted else dict(block) for block in blocks]


def escalation_message(
    user_id: str, standup_name: str, text: str, age: str, working_days: int
) -> Message:
    name = display_name(standup_name)
    body = md(
        "⚠️ {who} has been blocked {age} ({days} working days) in *{name}*:\n>{text}\n"
        "Maybe you can help unblock them.",
        who=mention(user_id),
        age=age,
        days=working_days,
        name=name,
        text=_quoted(text),
    )
    return message(md("{} is still blocked in {} standup", mention(user_id), name), [section(body)])


def blockers_list_message(standup_name: str, lines: Sequence[BlockerLine]) -> Message:
    """`/standup blockers <name>`: who, what, for how long, and when they last said so."""
    name = display_name(standup_name)
    if not lines:
        return message(
            md("No open blockers in {}", name), [section(md("*{}*: no open blockers 🎉", name))]
        )
    shown = [_line(line) for line in lines[:LISTED_SHOWN]]
    blocks = [
        section(t) for t in pack(md("*Open blockers in {} ({})*\n", name, len(lines)), shown, "\n")
    ]
    more = len(lines) - len(shown)
    if more > 0:
        blocks.append(context(md("…and {} more.", more)))
    return message(md("{} open blockers in {}", len(lines), name), blocks)


def _line(line: BlockerLine) -> Mrkdwn:
    still = (
        md(" — still blocked on {}", line.still_blocked_on.isoformat())
        if line.still_blocked_on
        else md("")
    )
    return md("• {} _{}_ — {}{}", mention(line.user_id), _quoted(line.text), line.age_text, still)
