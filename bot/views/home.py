"""The App Home tab: today's check-ins with their buttons, open blockers, your standups (with
Run now / Pause / Resume / Edit / Report for those you manage), reminders, out of office.

Buttons reuse the ids whose listeners already exist (the prompt's Answer and Edit, App Home's
Report, the reminders switch); a button's value is only an id, re-checked by the use case.
"""

from __future__ import annotations

from typing import Any

from bot.outcomes import Home, HomePrompt, HomeStandup
from bot.views.attendance import home_blocks
from bot.views.blockkit import (
    A_ANSWER,
    A_EDIT,
    A_HOME_EDIT,
    A_HOME_PAUSE,
    A_HOME_REPORT,
    A_HOME_RESUME,
    A_HOME_RUN,
    A_REMINDERS_TOGGLE,
    BLOCKER_TEXT_MAX,
    CONFIRM_BUTTON_MAX,
    CONFIRM_TEXT_MAX,
    CONFIRM_TITLE_MAX,
    HOME_REMINDERS_BLOCK,
    MODAL_BUTTON_MAX,
    MODAL_MAX_BLOCKS,
    MODAL_TITLE_MAX,
    Block,
    button,
    cap,
    context,
    display_name,
    header,
    pack,
    plain,
    section,
    slack_date,
)
from bot.views.messages import help_message
from bot.views.mrkdwn import channel_link, clip, md

# Lists are cut here (with "…and N more") so that a home stays well inside 100 blocks.
PROMPTS_SHOWN = 15
STANDUPS_SHOWN = 20
DIVIDER: Block = {"type": "divider"}
HOME_NOTICE_CALLBACK = "home_notice"

# How each check-in reads, and the button it offers (action id, label) if any.
_STATUS_TEXT = {
    "upcoming": "coming up {due}",
    "open": "waiting for your answer",
    "answered": "✅ answered",
    "skipped": "skipped",
    "skipped_closed": "skipped",
    "late": "closed — you can still answer until the next one starts (marked late)",
    "missed": "closed — not answered",
    "failed": "couldn't be delivered to you",
    "away": "you're out of office — not asked",
    "holiday": "public holiday for you — not asked",
}
_BUTTONS = {
    "open": (A_ANSWER, "Answer"),
    "answered": (A_EDIT, "Edit"),
    "skipped": (A_ANSWER, "Answer anyway"),
    "late": (A_ANSWER, "Answer late"),
}


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


def _more(count: int) -> list[Block]:
    return [context(md("…and {} more", count))] if count > 0 else []


def _prompt_block(prompt: HomePrompt) -> Block:
    status = md(_STATUS_TEXT.get(prompt.status, "{due}"), due=slack_date(prompt.due_at))
    if prompt.status == "answered" and prompt.answered_late:
        status = md("{} (late)", status)
    line = md("*{}* ({}) — {}", display_name(prompt.standup_name), prompt.local_date, status)
    block = section(line)
    offered = _BUTTONS.get(prompt.status)
    if offered is not None:
        action_id, label = offered
        style = "primary" if prompt.status == "open" else None
        block["accessory"] = button(label, action_id, str(prompt.prompt_id), style=style)
    return block


def _today(home: Home) -> list[Block]:
    blocks = [section(md("*Today* ({})", home.today))]
    if not home.prompts:
        blocks.append(context(md("Nothing to answer right now.")))
    blocks += [_prompt_block(p) for p in home.prompts[:PROMPTS_SHOWN]]
    return blocks + _more(len(home.prompts) - PROMPTS_SHOWN)


def _blockers(home: Home) -> list[Block]:
    if not home.blockers:
        return []
    lines = [
        md(
            "• *{}*: {} _({})_",
            display_name(b.standup_name),
            clip(md("{}", " ".join(b.text.split())), BLOCKER_TEXT_MAX),
            b.age_text,
        )
        for b in home.blockers
    ]
    return [
        *(section(text) for text in pack(md("*Your open blockers*\n"), lines, "\n")),
        *_more(home.more_blockers),
        DIVIDER,
    ]


def _confirm(title: str, text: str, go: str) -> Block:
    return {
        "title": plain(title, CONFIRM_TITLE_MAX),
        "text": plain(text, CONFIRM_TEXT_MAX),
        "confirm": plain(go, CONFIRM_BUTTON_MAX),
        "deny": plain("Cancel", CONFIRM_BUTTON_MAX),
    }


def _standup_blocks(standup: HomeStandup) -> list[Block]:
    name = display_name(standup.name)
    when = slack_date(standup.next_run) if standup.next_run else md("not scheduled")
    line = md(
        "*{}* in {} — {}. Next: {}{}{}",
        name,
        channel_link(standup.channel_id),
        standup.schedule_text,
        when,
        "" if standup.active else " (paused)",
        "" if standup.participant else " — you own it, you don't take part",
    )
    value = str(standup.standup_id)
    elements: list[Block] = []
    if standup.manage:
        elements.append(
            button(
                "Run now",
                A_HOME_RUN,
                value,
                confirm=_confirm("Run now?", f"Everyone in {name} is asked now.", "Run now"),
            )
        )
        if standup.active:
            elements.append(button("Pause", A_HOME_PAUSE, value))
        else:
            elements.append(button("Resume", A_HOME_RESUME, value))
        elements.append(button("Edit", A_HOME_EDIT, value))
    elements.append(button("Report", A_HOME_REPORT, value))
    actions = {
        "type": "actions",
        "block_id": f"home_standup_{standup.standup_id}",
        "elements": elements,
    }
    return [section(line), actions]


def _standups(home: Home) -> list[Block]:
    if not home.standups:
        return [
            section(md("*Your standups*: none yet — create one with `/standup create`.")),
            DIVIDER,
        ]
    blocks = [section(md("*Your standups*"))]
    for standup in home.standups[:STANDUPS_SHOWN]:
        blocks += _standup_blocks(standup)
    return [*blocks, *_more(len(home.standups) - STANDUPS_SHOWN), DIVIDER]


def home_view(home: Home | None = None) -> dict[str, Any]:
    """A person's home (before we know anything about them: what AsyncStand does and the
    commands), always within Slack's 100 blocks."""
    mine: list[Block] = []
    if home is not None:
        mine = [
            *_today(home),
            DIVIDER,
            *_blockers(home),
            *_standups(home),
            reminders_section(home.reminders_off),
            DIVIDER,
            *home_blocks(home.attendance),
            DIVIDER,
        ]
    help_blocks = help_message()["blocks"]
    return {
        "type": "home",
        "blocks": cap([header("AsyncStand"), *mine, *help_blocks], MODAL_MAX_BLOCKS),
    }


def notice_modal(title: str, blocks: list[Block]) -> dict[str, Any]:
    """A small modal with a message: what App Home's buttons say back (a home has no thread to
    answer in), e.g. why something was refused."""
    return {
        "type": "modal",
        "callback_id": HOME_NOTICE_CALLBACK,
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain("Close", MODAL_BUTTON_MAX),
        "blocks": cap(blocks, MODAL_MAX_BLOCKS),
    }
