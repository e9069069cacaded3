"""What a use case can answer besides its own result: a refusal, or field errors.

Use cases return data, never Slack blocks or HTML; each surface renders these in its own words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.rules.permissions import Decision, Why
from bot.rules.reports import Report
from bot.rules.schedule import ScheduleDraft


@dataclass(frozen=True)
class Refusal:
    """Nothing was done, and why; `name` is the standup concerned (plain text), if any,
    `limit` the limit that was reached, if that is why, and `until` when it can be done
    again, if that is known."""

    why: Why
    name: str = ""
    limit: int | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class FieldErrors:
    """Input that cannot be saved: a plain-text message per form field."""

    errors: dict[str, str] = field(default_factory=dict)


def refused(decision: Decision, name: str = "") -> Refusal:
    """The refusal for a negative permission decision."""
    assert decision.why is not None, "an allowing decision is not a refusal"
    return Refusal(decision.why, name)


# --- standups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """One standup as a list shows it; `next_run` is when its soonest prompt is due (UTC)."""

    standup_id: int
    name: str
    channel_id: str
    schedule_text: str
    participant_count: int
    active: bool
    owner_id: str
    next_run: dt.datetime | None


@dataclass(frozen=True)
class Created:
    standup_id: int
    name: str
    channel_id: str
    schedule_text: str
    participant_count: int


@dataclass(frozen=True)
class Edited:
    standup_id: int
    name: str
    channel_id: str
    channel_changed: bool
    channel_private: bool | None = None  # None: not known yet


@dataclass(frozen=True)
class EditForm:
    """A standup's settings as the edit form shows them."""

    standup_id: int
    name: str
    channel_id: str
    questions: list[str]
    participant_ids: list[str]
    weekdays: frozenset[int]
    local_time: str
    tz_mode: str
    fixed_tz: str | None
    schedule: ScheduleDraft = field(default_factory=ScheduleDraft)
    participant_source: str = "people"


@dataclass(frozen=True)
class Amended:
    """Some settings changed (the API's PATCH): what `edit` and `set_active` did, if called."""

    standup_id: int
    edited: Edited | None
    toggled: Toggled | None


@dataclass(frozen=True)
class Toggled:
    """A pause or resume; `changed` is False when it already was so."""

    name: str
    active: bool
    changed: bool


@dataclass(frozen=True)
class RunStarted:
    name: str
    prompts_created: int
    # Participants from a channel not asked: Slack has not told us who they are yet (maybe bots).
    waiting: int = 0


@dataclass(frozen=True)
class DeleteRequest:
    """Deleting needs a confirmation click: what to ask about."""

    standup_id: int
    name: str


@dataclass(frozen=True)
class Deleted:
    name: str


@dataclass(frozen=True)
class Owners:
    """A standup's owners; `changed` is None when only listed, else whether a change happened."""

    name: str
    owner_ids: list[str]
    changed: bool | None = None


@dataclass(frozen=True)
class Change:
    """One audited change, for history listings."""

    at: dt.datetime
    actor_user_id: str | None
    action: str
    standup_name: str | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class History:
    """Recent changes, newest first; `standup_name` is None for the workspace-wide history."""

    standup_name: str | None
    changes: list[Change]


# --- reminders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nudged:
    """`/standup remind`: how many people who haven't answered were nudged (their reminder DMs
    go out next: `prompt_ids`), and how many who are waiting were left alone because they
    turned reminders off or were reminded in the last few minutes."""

    name: str
    nudged: int
    reminders_off: int = 0
    just_reminded: int = 0
    prompt_ids: tuple[int, ...] = ()
    nudged_by: str = ""


@dataclass(frozen=True)
class OwnReminders:
    """A person's own reminder setting; `changed` is None when it was only shown."""

    off: bool
    changed: bool | None = None


# --- attendance: out of office, holiday calendars, skipped days (issue 9) ----------------------


@dataclass(frozen=True)
class Invalid:
    """Input that can't be used, with a plain-text explanation that includes the usage."""

    message: str


@dataclass(frozen=True)
class AwayStatus:
    """Someone's away periods from their today on; `yourself` when they are the caller."""

    user_id: str
    yourself: bool
    periods: list[tuple[dt.date, dt.date]]


@dataclass(frozen=True)
class AwayUpdated:
    """A period was set: `start`..`end` (both included) is what is stored now. `absorbed` are
    the periods it was combined with; `shortened` when that moved a return date earlier;
    `not_sent` counts prompts already planned in the range that now won't go out."""

    user_id: str
    yourself: bool
    start: dt.date
    end: dt.date
    absorbed: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    shortened: bool = False
    not_sent: int = 0
    changed: bool = True


@dataclass(frozen=True)
class AwayCleared:
    """Out of office cleared from `today` (their calendar) on: `cleared` lists the periods,
    as they were, that were removed or cut to end yesterday (empty: nothing was set)."""

    user_id: str
    yourself: bool
    today: dt.date
    cleared: list[tuple[dt.date, dt.date]] = field(default_factory=list)


@dataclass(frozen=True)
class StandupCalendar:
    """A standup the person takes part in and the holiday calendar it follows (None: none)."""

    name: str
    code: str | None


@dataclass(frozen=True)
class HolidayCalendars:
    """A person's own holiday calendar (None: they follow each standup's), their standups'
    calendars, and the next public holiday of their own calendar. `changed` is None when
    only shown, else whether the setting changed."""

    own: str | None
    standups: list[StandupCalendar]
    next_holiday: tuple[dt.date, str] | None = None
    changed: bool | None = None


@dataclass(frozen=True)
class DaySkipped:
    """A date called off for everyone. `changed` False: it already was. `dropped` prompts
    that were planned won't be sent; `already_sent` were in people's DMs before (they may
    still answer them)."""

    name: str
    local_date: dt.date
    changed: bool
    dropped: int = 0
    already_sent: int = 0


@dataclass(frozen=True)
class NoRunThatDay:
    """The standup doesn't run on that date, so there is nothing to skip."""

    name: str
    local_date: dt.date
    schedule_text: str


@dataclass(frozen=True)
class Attendance:
    """What App Home shows of a person's attendance settings."""

    away: list[tuple[dt.date, dt.date]]
    holidays: HolidayCalendars


# --- reports and exports (issue 10) -----------------------------------------------------------


@dataclass(frozen=True)
class OpenBlocker:
    """A blocker still open, and for how long: calendar days and the standup's working days."""

    user_id: str
    standup_id: int
    text: str
    opened_on: dt.date
    days_open: int
    working_days_open: int
    age_text: str  # "since today", "since yesterday", "for 3 days"


@dataclass(frozen=True)
class StandupReport:
    """Participation per person and overall over `start`..`end` (local dates, both included).

    `scope` is what the caller may read: "everyone" (owners, workspace admins), "own" (a
    participant: `report.people` is their own line only, `report.overall` covers everyone), or,
    over several standups, "mixed". `standup_id`/`standup_name` are None over several standups.
    `days` is the period's length; `today` the date blockers' ages are counted to.
    """

    standup_id: int | None
    standup_name: str | None
    start: dt.date
    end: dt.date
    days: int
    today: dt.date
    scope: str
    report: Report
    blockers: list[OpenBlocker]


@dataclass(frozen=True)
class ExportReady:
    """An answer export that may go ahead: whose answers (`only_user` None: everyone's) of which
    standup, between which local dates (None: unbounded), and how many rows it has."""

    workspace_id: int
    standup_id: int
    standup_name: str
    only_user: str | None
    format: str
    start: dt.date | None
    end: dt.date | None
    rows: int


@dataclass(frozen=True)
class ExportEmpty:
    """Nothing to export: no answers in that range (of the caller's own, with `own_only`)."""

    standup_name: str
    start: dt.date | None
    end: dt.date | None
    own_only: bool


@dataclass(frozen=True)
class ExportTooLarge:
    """More answer rows than a Slack upload takes; the operator command and the API stream
    any size."""

    standup_name: str
    rows: int
    limit: int
    max_bytes: int


@dataclass(frozen=True)
class ExportSent:
    """The file is in the requester's DM."""

    standup_name: str
    filename: str
    rows: int


@dataclass(frozen=True)
class ExportFailed:
    """Slack refused the upload; `error` is Slack's code (e.g. missing_scope)."""

    standup_name: str
    error: str


# --- App Home ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomePrompt:
    """One of the person's check-ins on App Home. `status`: "upcoming" (planned, not in their
    DM yet), "open" (waiting for their answer), "answered", "skipped" (they may still answer),
    "skipped_closed" (no longer), "late" (the run closed, a late answer is still possible),
    "missed", "failed" (never delivered), "away", "holiday"."""

    prompt_id: int
    standup_id: int
    standup_name: str
    local_date: dt.date
    status: str
    due_at: dt.datetime
    answered_late: bool = False


@dataclass(frozen=True)
class HomeBlocker:
    """One of the person's open blockers: where, what, and for how long ("for 3 days")."""

    standup_name: str
    text: str
    age_text: str


@dataclass(frozen=True)
class HomeStandup:
    """A standup the person takes part in or owns; `next_run` is when they are next asked (or,
    if they only own it, its soonest run), None when paused or never; `manage` when they may
    run, pause, resume and edit it (owners, workspace admins)."""

    standup_id: int
    name: str
    channel_id: str
    schedule_text: str
    active: bool
    next_run: dt.datetime | None
    participant: bool
    manage: bool


@dataclass(frozen=True)
class Home:
    """What one person's App Home shows: today's check-ins, open blockers, their standups,
    reminders and attendance. `more_blockers`: open blockers not listed."""

    user_id: str
    today: dt.date
    prompts: list[HomePrompt]
    blockers: list[HomeBlocker]
    more_blockers: int
    standups: list[HomeStandup]
    reminders_off: bool
    attendance: Attendance
