"""The schedule part of the standup form, beyond days and time: how often it repeats, how long
answers are collected, when the reminder goes out, whose public holidays count, after how many
working days an open blocker goes to the owners. Pure: turns
what was typed into stored settings, or into a plain message per field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.rules import blockers, holidays
from bot.rules.cadence import (
    Cadence,
    CadenceKind,
    EveryNWeeks,
    MonthlyDay,
    MonthlyWeekday,
    Weekly,
    cadence_error,
    from_json,
    make_cadence,
    to_json,
)
from bot.rules.cadence import describe as describe_cadence
from bot.rules.form import FormField
from bot.rules.reminders import parse_reminder, reminder_error
from bot.rules.timemath import describe_schedule

MIN_WINDOW = dt.timedelta(minutes=15)
MAX_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class ScheduleDraft:
    """What was typed; anything left empty takes its default."""

    repeat: str = CadenceKind.WEEKLY
    every_weeks: int | None = None
    starting: dt.date | None = None
    month_day: int | None = None
    week_of_month: str | None = None  # "1".."4" or "last"
    window_hours: float | None = None
    reminder: str | None = None  # "off", "halfway" (default) or minutes before the close
    holidays: str | None = None  # a country (and region) code such as DE-BY
    blocker_escalation_days: int | None = None  # working days; empty: the default (2)


@dataclass(frozen=True)
class Schedule:
    """Settings as stored: `cadence_json` None means weekly on the chosen days."""

    cadence_json: dict[str, object] | None
    window_minutes: int | None
    reminder_minutes_before: int | None  # None: halfway through the window; 0: off
    holiday_calendar: str | None
    blocker_escalation_days: int


def _cadence_inputs(draft: ScheduleDraft, weekdays: frozenset[int]) -> dict[str, object]:
    kind = draft.repeat or CadenceKind.WEEKLY
    if kind == CadenceKind.WEEKLY:
        return {"weekdays": weekdays}
    if kind == CadenceKind.EVERY_N_WEEKS:
        return {"weekdays": weekdays, "interval": draft.every_weeks, "start": draft.starting}
    if kind == CadenceKind.MONTHLY_DAY:
        return {"day": draft.month_day}
    only_day = next(iter(weekdays)) if len(weekdays) == 1 else None
    return {"nth": draft.week_of_month, "weekday": only_day}


def _cadence_field(kind: str, draft: ScheduleDraft, weekdays: frozenset[int]) -> FormField:
    """Which input a cadence problem belongs under."""
    if kind == CadenceKind.EVERY_N_WEEKS and draft.every_weeks is not None and draft.starting:
        return FormField.DAYS
    if kind == CadenceKind.EVERY_N_WEEKS:
        return FormField.EVERY_WEEKS if draft.every_weeks is None else FormField.STARTING
    if kind == CadenceKind.MONTHLY_DAY:
        return FormField.MONTH_DAY
    if kind == CadenceKind.MONTHLY_WEEKDAY and len(weekdays) != 1:
        return FormField.DAYS
    if kind == CadenceKind.MONTHLY_WEEKDAY:
        return FormField.WEEK_OF_MONTH
    return FormField.DAYS if kind == CadenceKind.WEEKLY else FormField.REPEAT


def window_of(draft: ScheduleDraft, default: dt.timedelta) -> dt.timedelta:
    if draft.window_hours is None:
        return default
    return dt.timedelta(minutes=round(draft.window_hours * 60))


def schedule_errors(
    draft: ScheduleDraft, weekdays: frozenset[int], default_window: dt.timedelta
) -> dict[str, str]:
    """``{field: message}`` for what cannot be stored; empty when `settle` will succeed."""
    errors: dict[str, str] = {}
    kind = draft.repeat or CadenceKind.WEEKLY
    if kind not in set(CadenceKind):
        errors[FormField.REPEAT] = "Choose how often the standup repeats."
    elif kind != CadenceKind.WEEKLY or weekdays:
        problem = cadence_error(kind, **_cadence_inputs(draft, weekdays))  # type: ignore[arg-type]
        if problem:
            errors[_cadence_field(kind, draft, weekdays)] = problem
    window = window_of(draft, default_window)
    if draft.window_hours is not None and not MIN_WINDOW <= window <= MAX_WINDOW:
        errors[FormField.WINDOW] = (
            "Give an answer window from a quarter of an hour to 168 hours (a week), e.g. 4."
        )
    else:
        problem = reminder_error(draft.reminder, window)
        if problem:
            errors[FormField.REMINDER] = problem
    if draft.holidays and draft.holidays.strip():
        problem = holidays.validate_code(draft.holidays)
        if problem:
            errors[FormField.HOLIDAYS] = problem
    problem = blockers.escalation_days_error(draft.blocker_escalation_days)
    if problem:
        errors[FormField.BLOCKER_ESCALATION_DAYS] = problem
    return errors


def settle(
    draft: ScheduleDraft, weekdays: frozenset[int], default_window: dt.timedelta
) -> Schedule:
    """The stored settings of a draft that `schedule_errors` found nothing wrong with."""
    kind = draft.repeat or CadenceKind.WEEKLY
    cadence = make_cadence(kind, **_cadence_inputs(draft, weekdays))  # type: ignore[arg-type]
    window = window_of(draft, default_window)
    reminder = parse_reminder(draft.reminder, window)
    return Schedule(
        cadence_json=None if isinstance(cadence, Weekly) else to_json(cadence),
        window_minutes=None if draft.window_hours is None else int(window.total_seconds() // 60),
        reminder_minutes_before=(
            None if reminder.default_halfway else (reminder.minutes_before or 0)
        ),
        holiday_calendar=holidays.normalize_code(draft.holidays),
        blocker_escalation_days=blockers.escalation_days_of(draft.blocker_escalation_days),
    )


def describe(cadence: Cadence | None, local_time: dt.time, fixed_tz: str | None) -> str:
    """One line: when it runs, at which time, on whose clock."""
    if cadence is None:
        return describe_schedule(frozenset(), local_time, fixed_tz)
    if isinstance(cadence, Weekly):
        return describe_schedule(frozenset(cadence.weekdays), local_time, fixed_tz)
    when = f"{describe_cadence(cadence)} at {local_time.strftime('%H:%M')}"
    return f"{when} in each participant's time zone" if fixed_tz is None else f"{when} {fixed_tz}"


def cadence_of(cadence_json: object, weekday_mask: int) -> Cadence | None:
    """A stored standup's cadence (NULL: weekly on its days); None when what is stored can
    never run (a weekly standup without days, or a cadence this version cannot read) — it is
    then simply not scheduled, instead of failing every scheduler tick."""
    try:
        return from_json(cadence_json, weekday_mask=weekday_mask)
    except ValueError:
        return None


def cadence_text(cadence: Cadence | None) -> str:
    return "never" if cadence is None else describe_cadence(cadence)


def draft_of(
    cadence: Cadence | None,
    window_minutes: int | None,
    reminder_minutes_before: int | None,
    holiday_calendar: str | None,
    blocker_escalation_days: int,
) -> ScheduleDraft:
    """The form's values for stored settings (to prefill the edit form)."""
    every_weeks = starting = month_day = week_of_month = None
    kind = CadenceKind.WEEKLY
    if isinstance(cadence, EveryNWeeks):
        kind, every_weeks, starting = CadenceKind.EVERY_N_WEEKS, cadence.interval, cadence.start
    elif isinstance(cadence, MonthlyDay):
        kind, month_day = CadenceKind.MONTHLY_DAY, cadence.day
    elif isinstance(cadence, MonthlyWeekday):
        kind = CadenceKind.MONTHLY_WEEKDAY
        week_of_month = "last" if cadence.nth < 0 else str(cadence.nth)
    reminder = (
        None
        if reminder_minutes_before is None
        else "off"
        if reminder_minutes_before == 0
        else str(reminder_minutes_before)
    )
    return ScheduleDraft(
        repeat=kind,
        every_weeks=every_weeks,
        starting=starting,
        month_day=month_day,
        week_of_month=week_of_month,
        window_hours=None if window_minutes is None else window_minutes / 60,
        reminder=reminder,
        holidays=holiday_calendar,
        blocker_escalation_days=blocker_escalation_days,
    )


def weekdays_of(cadence: Cadence | None, weekday_mask_days: Iterable[int]) -> frozenset[int]:
    """The days the form shows ticked for a cadence."""
    if isinstance(cadence, Weekly | EveryNWeeks):
        return frozenset(cadence.weekdays)
    if isinstance(cadence, MonthlyWeekday):
        return frozenset({cadence.weekday})
    return frozenset(weekday_mask_days)
