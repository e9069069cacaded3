"""What AsyncStand says about out of office, holiday calendars and skipped days — in replies
to ``/standup ooo``, ``/standup holidays`` and ``/standup skip``, and on App Home. User text
(standup names, messages quoting what was typed) only enters through :func:`md`."""

from __future__ import annotations

import datetime as dt

from bot.outcomes import (
    Attendance,
    AwayCleared,
    AwayStatus,
    AwayUpdated,
    DaySkipped,
    HolidayCalendars,
    Invalid,
    NoRunThatDay,
)
from bot.rules.away import describe_range
from bot.views.blockkit import Block, Message, section
from bot.views.messages import text_message
from bot.views.mrkdwn import Mrkdwn, join, md, mention

Period = tuple[dt.date, dt.date]

AWAY_EFFECT = "no prompts or reminders then, and standup summaries list {} as away"
SET_HINT = (
    "Set it with `/standup ooo 2026-12-21 2027-01-04` (both days included), "
    "`/standup ooo until 2027-01-04` or `/standup ooo 2026-12-24` (one day)."
)


def invalid(outcome: Invalid) -> Message:
    return text_message(md("{}", outcome.message))


def _periods(periods: list[Period]) -> Mrkdwn:
    return join("\n", (md("• {}", describe_range(start, end)) for start, end in periods))


def _who(user_id: str, yourself: bool) -> tuple[Mrkdwn, Mrkdwn]:
    """("You're", "you") or ("<@U…> is", "them")."""
    if yourself:
        return md("You're"), md("you")
    return md("{} is", mention(user_id)), md("them")


def away_status(outcome: AwayStatus) -> Message:
    if not outcome.periods:
        if outcome.yourself:
            return text_message(md("You have no out of office set. {}", SET_HINT))
        return text_message(md("{} has no out of office set.", mention(outcome.user_id)))
    subject, _ = _who(outcome.user_id, outcome.yourself)
    lines = md("{} out of office:\n{}", subject, _periods(outcome.periods))
    if outcome.yourself:
        lines = md(
            "{}\nClear it with `/standup ooo off`; a new range that overlaps or touches one "
            "of these is combined with it.",
            lines,
        )
    return text_message(lines)


def away_updated(outcome: AwayUpdated) -> Message:
    subject, whom = _who(outcome.user_id, outcome.yourself)
    when = describe_range(outcome.start, outcome.end)
    if not outcome.changed:
        return text_message(md("{} already out of office {}. Nothing changed.", subject, when))
    lines = [md("{} out of office {}: " + AWAY_EFFECT + ".", subject, when, whom)]
    if outcome.absorbed:
        earlier = join(", ", (md("{}", describe_range(s, e)) for s, e in outcome.absorbed))
        if outcome.shortened:
            lines.append(md("This moves the return date of what was set before ({}).", earlier))
        else:
            lines.append(md("Combined with what was set before ({}).", earlier))
    if outcome.not_sent:
        count = outcome.not_sent
        lines.append(
            md("{} prompt{} already planned won't be sent.", count, "" if count == 1 else "s")
        )
    lines.append(
        md("`/standup ooo off` clears it.")
        if outcome.yourself
        else md("`/standup ooo @{} off` clears it.", "person")
    )
    return text_message(join("\n", lines))


def away_set_for_you(outcome: AwayUpdated, by: str) -> Message:
    """The DM someone gets when an owner or admin set their out of office."""
    return text_message(
        md(
            "{} set you out of office {}: no prompts or reminders then. "
            "See it with `/standup ooo`, clear it with `/standup ooo off`.",
            mention(by),
            describe_range(outcome.start, outcome.end),
        )
    )


def away_cleared(outcome: AwayCleared) -> Message:
    subject, _ = _who(outcome.user_id, outcome.yourself)
    if not outcome.cleared:
        if outcome.yourself:
            return text_message(md("You had no out of office set. Nothing changed."))
        return text_message(md("{} had no out of office set.", mention(outcome.user_id)))
    prompted = "you're" if outcome.yourself else "they're"
    return text_message(
        md(
            "{} no longer out of office from today ({}) on; {} asked as usual again.\nCleared:\n{}",
            subject,
            describe_range(outcome.today, outcome.today),
            prompted,
            _periods(outcome.cleared),
        )
    )


# --- holidays -------------------------------------------------------------------------------------


def _next(outcome: HolidayCalendars) -> Mrkdwn:
    if outcome.next_holiday is None:
        return md("")
    day, name = outcome.next_holiday
    return md(" Next: {}, {}.", name, describe_range(day, day))


def _standup_lines(outcome: HolidayCalendars) -> Mrkdwn:
    if not outcome.standups:
        return md("You take part in no standup yet.")
    lines = (
        md("• *{}*: {}", s.name, s.code or "no holiday calendar")
        if outcome.own is None
        else md("• *{}*: {} (its own: {})", s.name, outcome.own, s.code or "none")
        for s in outcome.standups
    )
    return join("\n", lines)


def holiday_calendars(outcome: HolidayCalendars) -> Message:
    if outcome.own is None:
        head = (
            md("You follow each standup's public holidays again.")
            if outcome.changed
            else md("You follow each standup's public holidays.")
        )
        hint = md("Follow your own country's instead with `/standup holidays IN-KA` (any code).")
    else:
        verb = "now follow" if outcome.changed else "follow"
        head = md(
            "You {} *{}*'s public holidays in every standup: no prompts on those days.{}",
            verb,
            outcome.own,
            _next(outcome),
        )
        hint = md("Go back to each standup's with `/standup holidays off`.")
    if outcome.changed is False:
        head = md("{} Nothing changed.", head)
    return text_message(md("{}\n{}\n{}", head, _standup_lines(outcome), hint))


# --- skipping a day -------------------------------------------------------------------------------


def day_skipped(outcome: DaySkipped) -> Message:
    day = describe_range(outcome.local_date, outcome.local_date)
    if not outcome.changed:
        lines = [md("*{}* is already skipped on {}.", outcome.name, day)]
    else:
        lines = [
            md(
                "Skipped *{}* on {} for everyone: nobody is asked that day, and nobody counts "
                "as missing.",
                outcome.name,
                day,
            )
        ]
    if outcome.dropped:
        count = outcome.dropped
        lines.append(
            md("{} prompt{} already planned won't be sent.", count, "" if count == 1 else "s")
        )
    if outcome.already_sent:
        count = outcome.already_sent
        lines.append(
            md(
                "{} participant{} had already been asked: not answering counts as skipped, "
                "and they may still answer.",
                count,
                "" if count == 1 else "s",
            )
        )
    return text_message(join("\n", lines))


def no_run_that_day(outcome: NoRunThatDay) -> Message:
    return text_message(
        md(
            "*{}* doesn't run on {} ({}): nothing to skip.",
            outcome.name,
            describe_range(outcome.local_date, outcome.local_date),
            outcome.schedule_text,
        )
    )


# --- App Home -------------------------------------------------------------------------------------


def home_blocks(attendance: Attendance) -> list[Block]:
    """The person's out of office and holiday calendar, for App Home."""
    if attendance.away:
        away = md("*Out of office*\n{}", _periods(attendance.away))
    else:
        away = md("*Out of office*: not set. `/standup ooo YYYY-MM-DD YYYY-MM-DD` sets it.")
    calendars = attendance.holidays
    if calendars.own:
        holidays = md(
            "*Public holidays*: you follow *{}* in every standup.{}",
            calendars.own,
            _next(calendars),
        )
    else:
        followed = sorted({s.code for s in calendars.standups if s.code})
        which = md("each standup's ({})", ", ".join(followed)) if followed else md("none")
        holidays = md(
            "*Public holidays*: {}. `/standup holidays CODE` follows your own country's.", which
        )
    return [section(away), section(holidays)]
