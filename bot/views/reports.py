"""Reports and exports in Slack: the report as an ephemeral message or a modal (App Home's
Report button), and what `/standup export` says.

A report of 100 people fits: one compact line per person, packed into as few sections as fit
3,000 characters each; open blockers are capped at :data:`BLOCKERS_SHOWN` lines. User text (the
standup's name, blocker text) only enters through :func:`md`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.outcomes import (
    ExportEmpty,
    ExportFailed,
    ExportSent,
    ExportTooLarge,
    OpenBlocker,
    Refusal,
    StandupReport,
)
from bot.rules.reports import Counts, MoodTrend, Outcome, PersonStats
from bot.views import wording
from bot.views.blockkit import (
    MODAL_BUTTON_MAX,
    MODAL_MAX_BLOCKS,
    MODAL_TITLE_MAX,
    Block,
    Message,
    cap,
    context,
    display_name,
    message,
    pack,
    plain,
    section,
)
from bot.views.messages import text_message
from bot.views.mrkdwn import Mrkdwn, clip, md, mention

BLOCKERS_SHOWN = 20
BLOCKER_SHOWN_MAX = 200
REPORT_MODAL_CALLBACK = "report_view"
_ARROWS = {MoodTrend.UP: "↗ up", MoodTrend.DOWN: "↘ down", MoodTrend.FLAT: "→ flat"}
# Outcomes shown after "on time", in this order, when they happened at least once.
_OTHERS = (
    (Outcome.LATE, "late"),
    (Outcome.SKIPPED, "skipped"),
    (Outcome.AWAY, "away"),
    (Outcome.HOLIDAY, "holiday"),
    (Outcome.MISSED, "missed"),
    (Outcome.UNDELIVERABLE, "undeliverable"),
)


def _rate(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def _counts(counts: Counts) -> str:
    parts = [f"{counts[Outcome.ANSWERED]} on time"]
    parts += [f"{counts[outcome]} {label}" for outcome, label in _OTHERS if counts[outcome]]
    return ", ".join(parts)


def _mood(average: float | None, trend: MoodTrend | None) -> str:
    if average is None:
        return ""
    text = f" · mood {average:.1f}/5"
    return text + (f" {_ARROWS[trend]}" if trend else "")


def _person_line(person: PersonStats) -> Mrkdwn:
    if person.total == 0:
        return md("{} — no records in this period", mention(person.person))
    return md(
        "{} — *{}* · {} · streak {} (best {}){}",
        mention(person.person),
        _rate(person.participation_rate),
        _counts(person.counts),
        person.current_streak,
        person.longest_streak,
        _mood(person.mood_average, person.mood_trend),
    )


def _blocker_line(blocker: OpenBlocker) -> Mrkdwn:
    working = blocker.working_days_open
    return md(
        "{} — {} · open {} ({} working day{})",
        mention(blocker.user_id),
        clip(md("_{}_", blocker.text.replace("\n", " ")), BLOCKER_SHOWN_MAX),
        blocker.age_text,
        working,
        "" if working == 1 else "s",
    )


def _period(outcome: StandupReport) -> str:
    return f"{outcome.start.isoformat()} – {outcome.end.isoformat()}"


def report_blocks(outcome: StandupReport) -> list[Block]:
    """The report's blocks (the message's and the modal's)."""
    name = display_name(outcome.standup_name or "Your standups")
    overall = outcome.report.overall
    blocks: list[Block] = [
        section(
            md(
                "*{}* — participation over the last {} days ({})",
                name,
                outcome.days,
                _period(outcome),
            )
        )
    ]
    if overall.total == 0:
        blocks.append(section(md("No closed runs in this period yet: nothing to count.")))
    else:
        blocks.append(
            section(
                md(
                    "*Overall*: *{}* answered · {}{}",
                    _rate(overall.participation_rate),
                    _counts(overall.counts),
                    _mood(overall.mood_average, overall.mood_trend),
                )
            )
        )
    if outcome.scope == "own":
        blocks.append(
            context(
                md(
                    "You see your own line and the team's overall figures; the owners and "
                    "workspace admins see everyone's."
                )
            )
        )
    lines = [_person_line(p) for p in outcome.report.people]
    if lines:
        blocks += [section(text) for text in pack(md("*People*\n"), lines, "\n")]
    if outcome.blockers:
        shown = [_blocker_line(b) for b in outcome.blockers[:BLOCKERS_SHOWN]]
        more = len(outcome.blockers) - len(shown)
        if more:
            shown.append(md("_… and {} more_", more))
        heading = md("*Open blockers ({})*\n", len(outcome.blockers))
        blocks += [section(text) for text in pack(heading, shown, "\n")]
    blocks.append(
        context(
            md(
                "Rate = (on time + late) / (on time + late + skipped + missed); away, holiday "
                "and undeliverable days never count against anyone. Streaks count answered "
                "days in a row within the period."
            )
        )
    )
    return blocks


def report_message(outcome: StandupReport) -> Message:
    name = display_name(outcome.standup_name or "Your standups")
    return message(md("Report for {}", name), report_blocks(outcome))


def report_modal(outcome: StandupReport | Refusal) -> dict[str, Any]:
    """The report in a modal (App Home's Report button), or why there is none."""
    if isinstance(outcome, Refusal):
        blocks = [section(wording.refusal(outcome))]
        title = "Report"
    else:
        blocks = report_blocks(outcome)
        title = f"Report: {display_name(outcome.standup_name or '')}"
    return {
        "type": "modal",
        "callback_id": REPORT_MODAL_CALLBACK,
        "title": plain(title, MODAL_TITLE_MAX),
        "close": plain("Close", MODAL_BUTTON_MAX),
        "blocks": cap(blocks, MODAL_MAX_BLOCKS),
    }


def bad_input(text: str) -> Message:
    """A parse error (plain text from the rules, usage included)."""
    return text_message(md("{}", text))


# --- exports ----------------------------------------------------------------------------------


def _range(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()} on"
    if end:
        return f"up to {end.isoformat()}"
    return "at any date"


def preparing(name: str, fmt: str) -> Message:
    return text_message(
        md(
            "Preparing your export of *{}* ({})… it will arrive in your DM with me.",
            display_name(name),
            fmt.upper(),
        )
    )


def export_empty(outcome: ExportEmpty) -> Message:
    whose = "You have no answers" if outcome.own_only else "There are no answers"
    return text_message(
        md(
            "{} in *{}* {}: nothing to export. Check the dates (YYYY-MM-DD, both included).",
            whose,
            display_name(outcome.standup_name),
            _range(outcome.start, outcome.end),
        )
    )


def export_too_large(outcome: ExportTooLarge) -> Message:
    return text_message(
        md(
            "That export of *{}* has {} answers, more than a Slack upload takes (at most {} "
            "answers and {} MB). Pick a shorter period (`/standup export <name> csv "
            "YYYY-MM-DD YYYY-MM-DD`), or use the REST API (`GET /api/v1/standups/<id>/export`) "
            "or ask your operator for `python app.py export`, which stream any size.",
            display_name(outcome.standup_name),
            f"{outcome.rows:,}",
            f"{outcome.limit:,}",
            outcome.max_bytes // (1024 * 1024),
        )
    )


def export_failed(outcome: ExportFailed) -> Message:
    if outcome.error == "missing_scope":
        why = md(
            "AsyncStand is missing Slack's `files:write` permission; ask a workspace admin to "
            "reinstall the app (its manifest lists it), or use the REST API meanwhile."
        )
    else:
        why = md("Slack refused the upload ({}); please try again in a moment.", outcome.error)
    return text_message(
        md("Your export of *{}* could not be sent. {}", display_name(outcome.standup_name), why)
    )


def export_sent(outcome: ExportSent) -> Message:
    return text_message(
        md(
            "Done: *{}* ({} answer{}) is in your DM with me.",
            outcome.filename,
            f"{outcome.rows:,}",
            "" if outcome.rows == 1 else "s",
        )
    )


def export_comment(
    name: str, rows: int, own_only: bool, start: dt.date | None, end: dt.date | None
) -> str:
    """The message the file is shared with (mrkdwn)."""
    return str(
        md(
            "Your export of *{}*: {} answer{}{}, {}.",
            display_name(name),
            f"{rows:,}",
            "" if rows == 1 else "s",
            " (your own)" if own_only else "",
            _range(start, end),
        )
    )
