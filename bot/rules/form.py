"""The standup form's fields. Errors are keyed by them, and the Slack form's block ids are these
same names, so an error lands under its input."""

from __future__ import annotations

import enum


class FormField(enum.StrEnum):
    NAME = "name"
    CHANNEL = "channel"
    QUESTIONS = "questions"
    PARTICIPANT_SOURCE = "participant_source"
    PARTICIPANTS = "participants"
    REPEAT = "repeat"
    EVERY_WEEKS = "every_weeks"
    STARTING = "starting"
    MONTH_DAY = "month_day"
    WEEK_OF_MONTH = "week_of_month"
    DAYS = "days"
    TIME = "time"
    TZ_MODE = "tz_mode"
    TZ = "tz"
    WINDOW = "window"
    REMINDER = "reminder"
    HOLIDAYS = "holidays"
    BLOCKER_ESCALATION_DAYS = "blocker_escalation_days"
