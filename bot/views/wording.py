"""What AsyncStand says in Slack about a use case's outcome: every sentence in one place,
escaped by construction (user text only ever enters through :func:`md`)."""

from __future__ import annotations

from typing import Any

from bot.outcomes import (
    Change,
    Created,
    History,
    Nudged,
    Owners,
    OwnReminders,
    Refusal,
    RunStarted,
    Toggled,
)
from bot.rules.permissions import Why
from bot.views.blockkit import Message, slack_date
from bot.views.messages import history_message, text_message
from bot.views.mrkdwn import Mrkdwn, channel_link, join, md, mention

# {name} is the standup concerned: bold in messages, as typed in modal field errors.
REFUSALS: dict[Why, str] = {
    Why.NO_SUCH_STANDUP: "There is no standup called {name}. See `/standup list`.",
    Why.STANDUP_GONE: "That standup no longer exists.",
    Why.NOT_MANAGER: "Only the owners of {name} or a workspace admin can do that.",
    Why.NOT_HISTORY_READER: "Only the owners of {name} or a workspace admin can see its history.",
    Why.CREATE_ADMINS_ONLY: "Only workspace admins can create standups here.",
    Why.SETTINGS_ADMINS_ONLY: "Only workspace admins can change AsyncStand's settings.",
    Why.WORKSPACE_HISTORY_ADMINS_ONLY: (
        "Only workspace admins can see the workspace's history; a standup's owners can see its own."
    ),
    Why.LAST_OWNER: "A standup needs at least one owner; add another owner first.",
    Why.NOT_YOUR_CHECKIN: "That check-in isn't yours, or it no longer exists.",
    Why.NOT_YOUR_BLOCKER: "That blocker isn't yours, or it no longer exists.",
    Why.PAUSED: "{name} is paused; resume it first.",
    Why.RUN_CLOSED: "Today's run of {name} has already closed.",
    Why.CHECKIN_CLOSED: "This standup has closed; answers are no longer collected.",
    Why.NOTHING_TO_SKIP: "Nothing to skip: this check-in was already answered or has closed.",
    Why.NAME_TAKEN: "A standup with this name already exists.",
    Why.NOT_ATTENDANCE_MANAGER: (
        "Only a workspace admin or an owner of a standup they take part in can see or set "
        "someone else's out of office."
    ),
    Why.NOT_REPORT_READER: (
        "Only the owners of {name}, its participants (their own line) or a workspace admin "
        "can see its report or export its answers."
    ),
    Why.STANDUP_LIMIT: (
        "A workspace can have at most {limit} standups (MAX_STANDUPS_PER_WORKSPACE); "
        "delete one or ask your operator to raise the limit."
    ),
    Why.NUDGED_RECENTLY: (
        "{name} was nudged less than 10 minutes ago; give people a moment. "
        "You can nudge again {until}."
    ),
    Why.NOTHING_OPEN: "{name} has no round open right now, so there is nobody to nudge.",
    Why.WEBHOOK_GONE: "That webhook no longer exists.",
    Why.WEBHOOK_LIMIT: "A standup can have at most {limit} webhooks; delete one first.",
    Why.WEBHOOKS_NEED_KEY: (
        "Webhooks need ENCRYPTION_KEY to be set: their signing secrets are stored encrypted. "
        "Ask whoever runs AsyncStand to set it."
    ),
}
NAME_SHOWN_MAX = 80


def refusal(outcome: Refusal) -> Mrkdwn:
    """A refusal as a message, the standup's name in bold."""
    return md(
        REFUSALS[outcome.why],
        name=md("*{}*", outcome.name[:NAME_SHOWN_MAX]),
        limit=outcome.limit or "",
        until=slack_date(outcome.until) if outcome.until else md("soon"),
    )


def refusal_plain(outcome: Refusal) -> str:
    """A refusal as plain text (modal field errors show text literally)."""
    until = outcome.until.strftime("%H:%M UTC") if outcome.until else "soon"
    return REFUSALS[outcome.why].format(
        name=outcome.name[:NAME_SHOWN_MAX], limit=outcome.limit or "", until=until
    )


def refusal_message(outcome: Refusal) -> Message:
    return text_message(refusal(outcome))


def run_started(outcome: RunStarted) -> Message:
    waiting = (
        md(
            " {} more are still being looked up in Slack: run it again in a few minutes to "
            "ask them too.",
            outcome.waiting,
        )
        if outcome.waiting
        else md("")
    )
    if not outcome.prompts_created:
        if outcome.waiting:
            return text_message(
                md(
                    "Nobody new in *{}* to ask yet: {} participant(s) are still being looked "
                    "up in Slack. Run it again in a few minutes.",
                    outcome.name,
                    outcome.waiting,
                )
            )
        return text_message(md("Everyone in *{}* already has today's prompt.", outcome.name))
    return text_message(
        md(
            "Started *{}*: {} participant(s) are getting their prompt now.{}",
            outcome.name,
            outcome.prompts_created,
            waiting,
        )
    )


def toggled(outcome: Toggled) -> Message:
    verb = "resumed" if outcome.active else "paused"
    if not outcome.changed:
        return text_message(md("*{}* is already {}.", outcome.name, verb))
    return text_message(md("*{}* is {}.", outcome.name, verb))


def deleted(name: str) -> Mrkdwn:
    return md("Deleted *{}*.", name)


def owners(outcome: Owners) -> Message:
    listed = join(", ", (mention(o) for o in outcome.owner_ids))
    if outcome.changed is None:
        return text_message(
            md(
                "Owners of *{name}*: {listed}.\n"
                "Change with `/standup owners {name} add|remove @user`.",
                name=outcome.name,
                listed=listed,
            )
        )
    if not outcome.changed:
        return text_message(md("Nothing to change: owners are {}.", listed))
    return text_message(md("Owners of *{}* are now {}.", outcome.name, listed))


def creators(admins_only: bool) -> Message:
    who = "workspace admins only" if admins_only else "everyone"
    return text_message(md("Who can create standups: *{}*.", who))


def creators_usage(admins_only: bool) -> Message:
    who = "workspace admins only" if admins_only else "everyone"
    return text_message(
        md(
            "Who can create standups: *{}*.\n"
            "Admins change it with `/standup settings creators admins` or "
            "`/standup settings creators everyone`.",
            who,
        )
    )


def history(outcome: History) -> Message:
    if outcome.standup_name is None:
        title = md("Recent changes in this workspace")
    else:
        title = md("Recent changes to {}", outcome.standup_name.strip() or "Standup")
    workspace_wide = outcome.standup_name is None
    return history_message(title, [_change_line(c, workspace_wide) for c in outcome.changes])


def _change_line(change: Change, with_standup: bool) -> Mrkdwn:
    who = mention(change.actor_user_id) if change.actor_user_id else md("AsyncStand")
    differences = [
        md("{}: {} → {}", key, _short(change.before.get(key)), _short(change.after.get(key)))
        for key in sorted(set(change.before) | set(change.after))
        if change.before.get(key) != change.after.get(key)
    ]
    detail = (
        md(" ({})", join("; ", differences))
        if differences and change.action != "create"
        else md("")
    )
    where = md(" _{}_", change.standup_name) if with_standup and change.standup_name else md("")
    person = change.after.get("person")  # a person's own setting (out of office, holidays)
    if isinstance(person, str):
        where = md(" for {}{}", mention(person), where)
    return md("• {} — {} *{}*{}{}", slack_date(change.at), who, change.action, where, detail)


def _short(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


def created(outcome: Created, note: Mrkdwn | None) -> Message:
    text = md(
        "Created *{name}* for {channel}: {schedule}, {count} participant(s). "
        "Try it now with `/standup run {name}`.",
        name=outcome.name,
        channel=channel_link(outcome.channel_id),
        schedule=outcome.schedule_text,
        count=outcome.participant_count,
    )
    return text_message(md("{}\n{}", text, note) if note else text)


def channel_note(channel_id: str, problem: str) -> Mrkdwn:
    """Why we may not be able to post in a channel, and what to do about it."""
    link = channel_link(channel_id)
    if problem == "private":
        return md(
            "I'm not in {} yet and can't join private channels myself: "
            "please `/invite` me there so I can post the standup.",
            link,
        )
    if problem in {"channel_not_found", "method_not_supported_for_channel_type"}:
        return md(
            "I can't see {} — if it's private, please `/invite` me there "
            "so I can post the standup.",
            link,
        )
    return md("I couldn't join {} ({}); please `/invite` me there.", link, problem)


def channel_over_limit(
    name: str, channel_id: str, *, people: int, complete: bool, limit: int, kept: int
) -> Message:
    """To a standup's owners, once: its channel has more people than it may take."""
    size = (
        md("{} people who could take part", people) if complete else md("over {} members", people)
    )
    return text_message(
        md(
            "*{name}* takes everyone in {channel}, but {channel} has {size} and a standup "
            "can follow at most {limit} (MAX_CHANNEL_PARTICIPANTS). Nobody new was added: it "
            "keeps its {kept} participant(s), and people who leave the channel are still "
            "removed. Choose the people instead with `/standup edit {name}`, or ask your "
            "operator to raise MAX_CHANNEL_PARTICIPANTS.",
            name=name[:NAME_SHOWN_MAX],
            channel=channel_link(channel_id),
            size=size,
            limit=limit,
            kept=kept,
        )
    )


def which_standup(usage: str) -> Mrkdwn:
    return md("Which standup? Use `/standup {}` (see `/standup list`).", usage)


def unknown_command(word: str) -> Mrkdwn:
    return md("I don't know `{}`. Try `/standup help` to see what I can do.", word[:40])


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def nudged(outcome: Nudged) -> Message:
    """`/standup remind`: how many were nudged, and who was left alone and why."""
    name = outcome.name
    if outcome.nudged == 1:
        text = md("Nudged 1 person who hasn't answered *{}* yet.", name)
    elif outcome.nudged:
        text = md("Nudged {} people who haven't answered *{}* yet.", outcome.nudged, name)
    elif outcome.reminders_off or outcome.just_reminded:
        text = md("Nobody to nudge in *{}* right now.", name)
    else:
        text = md("Nobody to nudge in *{}*: everyone has answered or skipped.", name)
    notes = [text]
    if outcome.reminders_off:
        were = "was" if outcome.reminders_off == 1 else "were"
        notes.append(
            md("{} turned reminders off and {} left alone.", _people(outcome.reminders_off), were)
        )
    if outcome.just_reminded:
        notes.append(
            md("{} got a reminder in the last 10 minutes.", _people(outcome.just_reminded))
        )
    return text_message(join(" ", notes))


def own_reminders(outcome: OwnReminders) -> Message:
    """`/standup reminders [on|off]`: the person's own setting, and how to change it."""
    if outcome.off:
        state = md("Your reminders are *off*: you get no reminder when you haven't answered.")
        change = md("Turn them back on with `/standup reminders on`.")
    else:
        state = md(
            "Your reminders are *on*: if you haven't answered a standup, you get one reminder "
            "before it closes."
        )
        change = md("Turn them off with `/standup reminders off`.")
    if outcome.changed is False:
        state = md("Nothing changed. {}", state)
    return text_message(md("{}\n{}", state, change))


# --- webhooks ---------------------------------------------------------------------------------

URL_SHOWN_MAX = 120


def webhook_disabled(
    *,
    standup_name: str,
    url: str,
    failures: int,
    last_error: str,
    timeout_seconds: float,
    web_url: str | None,
) -> Message:
    """The one DM a webhook's owner gets when it is turned off after failing deliveries."""
    shown = url if len(url) <= URL_SHOWN_MAX else url[: URL_SHOWN_MAX - 1] + "…"
    where = (
        md("the standup's Webhooks page at {}", web_url + "/app/")
        if web_url
        else md("the standup's Webhooks page in the AsyncStand web app")
    )
    return text_message(
        md(
            "I turned off the *{name}* webhook to `{url}`: its last {failures} deliveries all "
            "failed, each retried for 24 hours (last error: {error}). No events are sent to it "
            "until it is turned back on.\n"
            "Fix the receiver (it must answer with a 2xx status within {timeout:g} seconds), then "
            "re-enable the webhook on {where}.",
            name=standup_name,
            url=shown,
            failures=failures,
            error=last_error,
            timeout=timeout_seconds,
            where=where,
        )
    )
