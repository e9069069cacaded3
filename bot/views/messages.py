"""Slack messages: help, the prompt DM, thread replies, the channel summary, lists, confirmations.

Every piece of user text goes through :func:`md` (escaped by construction) and every builder
stays inside Slack's limits, so callers can post whatever these return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import zip_longest

from bot.outcomes import Overview
from bot.rules.digest import Digest
from bot.views.blockkit import (
    A_ANSWER,
    A_DELETE_CANCEL,
    A_DELETE_CONFIRM,
    A_EDIT,
    A_REMINDER_ANSWER,
    A_SKIP,
    BLOCKER_TEXT_MAX,
    CONFIRM_BUTTON_MAX,
    CONFIRM_TEXT_MAX,
    CONFIRM_TITLE_MAX,
    DELETE_ACTIONS_BLOCK,
    MESSAGE_MAX_BLOCKS,
    PROMPT_ACTIONS_BLOCK,
    REMINDER_ACTIONS_BLOCK,
    SECTION_TEXT_MAX,
    Block,
    Message,
    button,
    cap,
    context,
    display_name,
    header,
    message,
    pack,
    plain,
    section,
    slack_date,
    text_sections,
)
from bot.views.mrkdwn import Mrkdwn, channel_link, clip, join, md, mention, truncate

OPEN_STATES = ("pending", "sent")
CLOSED_STATES = ("missed", "closed", "failed")
# The run closed unanswered, but a late answer is still possible (until the next run starts).
LATE_STATE = "late"


@dataclass(frozen=True)
class StandupListItem:
    """One row of ``/standup list``; the text fields are plain text and get escaped here."""

    name: str
    channel_id: str
    schedule_text: str
    participant_count: int
    next_run_text: str
    active: bool
    owner_id: str
    # When set, shown as a Slack date so each reader sees it in their own time zone.
    next_run: dt.datetime | None = None


def list_items(overviews: list[Overview]) -> list[StandupListItem]:
    return [
        StandupListItem(
            name=o.name,
            channel_id=o.channel_id,
            schedule_text=o.schedule_text,
            participant_count=o.participant_count,
            next_run_text="not scheduled",
            active=o.active,
            owner_id=o.owner_id,
            next_run=o.next_run,
        )
        for o in overviews
    ]


HELP_COMMANDS = (
    ("/standup create", "set up a new standup: channel, questions, people and schedule."),
    ("/standup list", "see your standups, when each runs next and how many people are in it."),
    ("/standup run <name>", "start today's round right now, e.g. to try out a new standup."),
    ("/standup edit <name>", "change a standup's questions, people or schedule."),
    ("/standup pause <name>", "stop prompts for a while (`/standup resume <name>` restarts)."),
    ("/standup owners <name> add|remove @user", "share who may manage a standup."),
    ("/standup history [name]", "see who changed a standup (or, admins: the workspace) and how."),
    ("/standup remind <name>", "nudge everyone who hasn't answered today's round yet, now."),
    ("/standup reminders [on|off]", "see, or turn on or off, the reminders you get yourself."),
    ("/standup delete <name>", "remove a standup and its schedule once the team is done."),
    (
        "/standup ooo YYYY-MM-DD [YYYY-MM-DD]",
        "out of office, both days included (`until YYYY-MM-DD`, `off`, or alone to see it); "
        "owners and admins may put @someone first.",
    ),
    ("/standup holidays [CODE|off]", "follow your own country's public holidays, e.g. IN-KA."),
    ("/standup skip <name> [YYYY-MM-DD]", "call off today's run (or a date) for everyone."),
    (
        "/standup report <name> [7d|30d|90d]",
        "participation, streaks, mood and open blockers (participants: their own line).",
    ),
    ("/standup blockers <name>", "who is blocked on what, for how long, until it is resolved."),
    (
        "/standup export <name> [csv|json] [from] [to]",
        "the answers as a file in your DM (participants: their own).",
    ),
    ("/standup settings creators admins|everyone", "admins: who may create standups."),
    ("/standup help", "show this message."),
)


def help_message() -> Message:
    """Ephemeral ``/standup help``: each command with the reason you would use it."""
    lines = [
        md("*AsyncStand* runs standups in a thread, so nobody has to be online at the same time."),
        *(md("• `{}` — {}", command, why) for command, why in HELP_COMMANDS),
    ]
    return message(md("AsyncStand commands"), [section(join("\n", lines))])


def welcome_message() -> Message:
    """The DM the installer gets right after installing."""
    text = md(
        "*Thanks for installing AsyncStand!* :wave:\n"
        "Run `/standup create` in any channel to set up your first standup: pick the channel, "
        "the questions, who takes part, the days and the time. Everyone is asked at that time "
        "*in their own time zone*, and answers land in a thread in the channel.\n"
        "Try it straight away with `/standup run {}`; `/standup help` lists everything.",
        "<name>",
    )
    return message(md("Thanks for installing AsyncStand!"), [section(text)])


def history_message(title: Mrkdwn, lines: list[Mrkdwn]) -> Message:
    """`/standup history`: recent changes, newest first."""
    heading = md("*{}*", title)
    if not lines:
        return message(heading, [section(md("{}\nNo changes recorded yet.", heading))])
    packed = pack(md("{}\n", heading), lines, "\n")
    return message(heading, cap([section(chunk) for chunk in packed], MESSAGE_MAX_BLOCKS))


def _actions(*elements: Block) -> Block:
    return {"type": "actions", "block_id": PROMPT_ACTIONS_BLOCK, "elements": list(elements)}


def prompt_message(
    *,
    prompt_id: int,
    standup_name: str,
    questions: list[str],
    state: str,
    local_date: str | None = None,
    answered_at_text: str | None = None,
    reason: str | None = None,
) -> Message:
    """The DM that asks one participant to check in, re-rendered as its state changes.

    States: "pending"/"sent" (questions + Answer/Skip), "answered" (Edit), "skipped"
    (Answer anyway), "late" (closed, but Answer until the next run), "missed"/"closed"/"failed"
    (closed, no buttons).
    """
    name = display_name(standup_name)
    value = str(prompt_id)
    blocks: list[Block]
    if state in OPEN_STATES:
        numbered = join("\n", (md("{}. {}", i, q) for i, q in enumerate(questions, start=1)))
        blocks = [section(md("*{}* standup — time to check in", name))]
        if local_date:
            blocks.append(context(md("{}", local_date)))
        blocks += text_sections(numbered)
        blocks.append(
            _actions(
                button("Answer", A_ANSWER, value, style="primary"),
                button("Skip today", A_SKIP, value),
            )
        )
        text = md("Time to check in: {} standup", name)
    elif state == "answered":
        blocks = [section(md("*{}* standup\n✅ Answered — thanks!", name))]
        if answered_at_text:
            blocks.append(context(md("{}", answered_at_text)))
        blocks.append(_actions(button("Edit", A_EDIT, value)))
        text = md("{} standup: answered — thanks!", name)
    elif state == "skipped":
        blocks = [
            section(md("*{}* standup\nSkipped today", name)),
            _actions(button("Answer anyway", A_ANSWER, value)),
        ]
        text = md("{} standup: skipped today", name)
    elif state == LATE_STATE:
        late = (
            "*{}* standup\nThis standup has closed, but you can still answer until the next one "
            "starts; your answers will be marked late."
        )
        blocks = [
            section(md(late, name)),
            _actions(button("Answer late", A_ANSWER, value)),
        ]
        text = md("{} standup closed — you can still answer late", name)
    elif state in CLOSED_STATES:
        closed = "*{}* standup\nThis standup closed — answers are no longer collected."
        blocks = [section(md(closed, name))]
        text = md("{} standup closed", name)
    else:
        raise ValueError(f"unknown prompt state: {state!r}")
    if local_date and state not in OPEN_STATES:
        blocks.insert(1, context(md("{}", local_date)))
    if reason:
        blocks.append(context(md("{}", reason)))
    return message(text, blocks)


def reminder_message(
    *,
    prompt_id: int,
    standup_name: str,
    closes_at: dt.datetime,
    local_date: str | None = None,
    nudged_by: str | None = None,
) -> Message:
    """The one reminder of a run, to someone who hasn't answered: which standup, when it
    closes (a Slack date, shown in the reader's own zone) and an Answer button. `nudged_by`:
    the owner or admin who asked for it (`/standup remind`), else it is the automatic one."""
    name = display_name(standup_name)
    closes = slack_date(closes_at)
    if nudged_by:
        line = md(
            "{} nudged you: *{}* standup is waiting for your answers. It closes {}.",
            mention(nudged_by),
            name,
            closes,
        )
    else:
        line = md("⏰ Reminder: you haven't answered *{}* standup yet. It closes {}.", name, closes)
    blocks: list[Block] = [section(line)]
    if local_date:
        blocks.append(context(md("{}", local_date)))
    blocks.append(
        {
            "type": "actions",
            "block_id": REMINDER_ACTIONS_BLOCK,
            "elements": [button("Answer", A_REMINDER_ANSWER, str(prompt_id), style="primary")],
        }
    )
    return message(md("Reminder: {} standup closes {}", name, closes), blocks)


def answer_reply(
    *,
    user_id: str,
    questions: list[str],
    answers: list[str],
    edited: bool = False,
    late: bool = False,
) -> Message:
    """A participant's answers as a reply in the standup's channel thread; "(late)" when they
    were given after the run closed.

    Long answers are split over several sections; if the reply would need more than 50 blocks
    the last block says that text was truncated.
    """
    marks = [word for word, on in (("late", late), ("edited", edited)) if on]
    title = md("{}'s answers{}", mention(user_id), f" ({', '.join(marks)})" if marks else "")
    blocks: list[Block] = [section(title)]
    fallback_lines = [title]
    pairs = zip_longest(questions, answers, fillvalue=None)
    for position, (question, answer) in enumerate(pairs, start=1):
        # Questions are one line by design; keep the bold line intact and reasonably short.
        shown_question = " ".join((question or f"Question {position}").split())
        question_line = md("*{}*", clip(md("{}", shown_question), SECTION_TEXT_MAX // 3))
        body = md("{}", answer) if answer and answer.strip() else md("_No answer_")
        # split_chunks prefers the latest newline, so the question line never gets split.
        blocks += text_sections(md("{}\n{}", question_line, body))
        fallback_lines.append(md("{}: {}", shown_question, body))
    return message(join("\n", fallback_lines), blocks)


def _blocker_text(text: str) -> Mrkdwn:
    return clip(md("{}", " ".join(text.split())), BLOCKER_TEXT_MAX)


def summary_message(
    *, standup_name: str, local_date: str, digest: Digest, final: bool, total: int
) -> Message:
    """The channel post that heads the thread: progress while open, blockers first once closed.

    `total` counts every participant of the run; those away (out of office, on holiday) were
    not asked, so they are listed apart and left out of "answered (n/total)"."""
    name = display_name(standup_name)
    total -= len(digest.away)
    blocks: list[Block] = [header(f"{name} — {local_date}")]

    def group(title: str, user_ids: list[str]) -> None:
        if user_ids:
            mentions = [mention(uid) for uid in user_ids]
            blocks.extend(section(t) for t in pack(md("*{}*: ", title), mentions, ", "))

    answered_title = f"Answered ({len(digest.answered)}/{total})"
    if final:
        if digest.blockers:
            lines = [
                md("• {}: {}", mention(uid), _blocker_text(text)) for uid, text in digest.blockers
            ]
            blocks.extend(section(t) for t in pack(md("*New blockers*\n"), lines, "\n"))
        if digest.ongoing:
            lines = [
                md("• {}: {} — {}", mention(b.user_id), _blocker_text(b.text), b.age_text)
                for b in digest.ongoing
            ]
            blocks.extend(section(t) for t in pack(md("*Ongoing blockers*\n"), lines, "\n"))
        if not digest.blockers and not digest.ongoing:
            blocks.append(section(md("No blockers reported 🎉")))
        group(answered_title, digest.answered)
        group(f"Answered late ({len(digest.late)})", digest.late)
        group("Skipped", digest.skipped)
        group("Didn't answer", digest.missed)
        group("Away", digest.away)
        blocks.append(context(md("Standup closed")))
    else:
        if digest.answered:
            group(answered_title, digest.answered)
        else:
            blocks.append(section(md("*{}*: nobody yet", answered_title)))
        group("Waiting on", digest.waiting)
        group("Skipped", digest.skipped)
        group("Away", digest.away)
        blocks.append(context(md("Answers are in the thread 🧵")))

    answered = len(digest.answered) + len(digest.late)
    text = md("{} — {}: {}/{} answered", name, local_date, answered, total)
    if final:
        count = len(digest.blockers)
        text = md("{}, {} blocker{} (closed)", text, count, "" if count == 1 else "s")
    return message(text, blocks)


def standup_list_message(items: list[StandupListItem]) -> Message:
    """``/standup list``: one section per standup, capped at 50 blocks with an "…and N more"."""
    if not items:
        empty = md("No standups yet — create one with `/standup create`.")
        return message(empty, [section(empty)])
    shown = items if len(items) <= MESSAGE_MAX_BLOCKS else items[: MESSAGE_MAX_BLOCKS - 1]
    blocks: list[Block] = []
    for item in shown:
        count = item.participant_count
        line = md(
            "*{}* in {} — {}, {} participant{}. Next: {}{}",
            display_name(item.name),
            channel_link(item.channel_id),
            item.schedule_text,
            count,
            "" if count == 1 else "s",
            slack_date(item.next_run) if item.next_run else item.next_run_text,
            "" if item.active else " (paused)",
        )
        blocks.append(section(line))
    if len(shown) < len(items):
        blocks.append(section(md("…and {} more", len(items) - len(shown))))
    count = len(items)
    return message(md("You have {} standup{}", count, "" if count == 1 else "s"), blocks)


def delete_confirm_message(*, standup_id: int, standup_name: str) -> Message:
    """Ask before deleting, with Slack's own confirm dialog as a second safety net."""
    name = display_name(standup_name)
    value = str(standup_id)
    confirm: Block = {
        "title": plain("Delete standup?", CONFIRM_TITLE_MAX),
        "text": plain(
            f"“{truncate(name, 200)}” and its whole history will be deleted. This can't be undone.",
            CONFIRM_TEXT_MAX,
        ),
        "confirm": plain("Delete", CONFIRM_BUTTON_MAX),
        "deny": plain("Keep it", CONFIRM_BUTTON_MAX),
        "style": "danger",
    }
    blocks: list[Block] = [
        section(md("Delete *{}*? This removes its schedule and history.", name)),
        {
            "type": "actions",
            "block_id": DELETE_ACTIONS_BLOCK,
            "elements": [
                button("Delete", A_DELETE_CONFIRM, value, style="danger", confirm=confirm),
                button("Cancel", A_DELETE_CANCEL, value),
            ],
        },
    ]
    return message(md("Delete {}?", name), blocks)


def text_message(text: Mrkdwn) -> Message:
    """A single section of formatted mrkdwn."""
    if not text.strip():
        raise ValueError("text_message needs non-empty text")
    return message(text, [section(text)])
