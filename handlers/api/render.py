"""Outcomes as the API's JSON (the shapes ``handlers/api/schemas.py`` documents). Times are
RFC 3339 in UTC with a ``Z``; dates are ``YYYY-MM-DD``; days of the week are ``mon``..``sun``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.api_tokens import ApiPrincipal, TokenInfo
from bot.attendance import AwayTime
from bot.outcomes import Overview, StandupReport
from bot.records import RunDetail, RunSummary, StandupDetail
from bot.rules import reports
from bot.rules.questions import to_json

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def when(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def token(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "prefix": info.prefix,
        "scope": info.scope,
        "created_at": when(info.created_at),
        "last_used_at": when(info.last_used_at),
    }


def me(principal: ApiPrincipal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "team_id": principal.team_id,
        "is_admin": principal.is_admin,
        "token": token(principal.token),
    }


def standup_item(item: Overview) -> dict[str, Any]:
    return {
        "id": item.standup_id,
        "name": item.name,
        "channel": item.channel_id,
        "schedule_text": item.schedule_text,
        "participant_count": item.participant_count,
        "active": item.active,
        "owner": item.owner_id,
        "next_run": when(item.next_run),
    }


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 4)


def standup(detail: StandupDetail, warnings: list[str] | None = None) -> dict[str, Any]:
    draft = detail.schedule
    data: dict[str, Any] = {
        "id": detail.standup_id,
        "name": detail.name,
        "channel": detail.channel_id,
        "questions": to_json(detail.questions),
        "participant_source": detail.participant_source,
        "participants": detail.participant_ids,
        "owners": detail.owner_ids,
        "repeat": str(draft.repeat),
        "days": [DAYS[d] for d in sorted(detail.weekdays)],
        "every_weeks": draft.every_weeks,
        "starting": day(draft.starting),
        "month_day": draft.month_day,
        "week_of_month": draft.week_of_month,
        "time": detail.local_time,
        "tz_mode": detail.tz_mode,
        "tz": detail.fixed_tz,
        "window": _number(draft.window_hours),
        "reminder": draft.reminder,
        "holidays": draft.holidays,
        "blocker_escalation_days": draft.blocker_escalation_days,
        "schedule_text": detail.schedule_text,
        "active": detail.active,
        "next_run": when(detail.next_run),
        "created_at": when(detail.created_at),
        "updated_at": when(detail.updated_at),
    }
    if warnings is not None:
        data["warnings"] = warnings
    return data


def run(summary: RunSummary) -> dict[str, Any]:
    return {
        "id": summary.run_id,
        "standup_id": summary.standup_id,
        "local_date": day(summary.local_date),
        "state": summary.state,
        "channel": summary.channel_id,
        "questions": to_json(summary.questions),
        "prompts": summary.prompts,
        "answered": summary.answered,
        "close_at": when(summary.close_at),
        "closed_at": when(summary.closed_at),
        "created_at": when(summary.created_at),
    }


def run_detail(detail: RunDetail) -> dict[str, Any]:
    data = run(detail.run)
    data["standup_name"] = detail.standup_name
    data["participants"] = [
        {
            "user_id": entry.user_id,
            "state": entry.state,
            "due_at": when(entry.due_at),
            "sent_at": when(entry.sent_at),
            "answered_at": when(entry.answered_at),
            "late": entry.late,
            "answers": [
                {
                    "position": a.position,
                    "question": a.question,
                    "answer": a.body,
                    "submitted_at": when(a.submitted_at),
                    "edited_at": when(a.edited_at),
                }
                for a in entry.answers
            ],
        }
        for entry in detail.entries
    ]
    return data


def _counts(counts: reports.Counts) -> dict[str, int]:
    return {str(outcome): counts[outcome] for outcome in reports.Outcome}


def report(outcome: StandupReport) -> dict[str, Any]:
    built = outcome.report
    return {
        "standup_id": outcome.standup_id,
        "from": day(outcome.start),
        "to": day(outcome.end),
        "scope": outcome.scope,
        "people": [
            {
                "user_id": person.person,
                "counts": _counts(person.counts),
                "total": person.total,
                "participation_rate": _number(person.participation_rate),
                "current_streak": person.current_streak,
                "longest_streak": person.longest_streak,
                "mood_average": _number(person.mood_average),
                "mood_trend": person.mood_trend.value if person.mood_trend else None,
            }
            for person in built.people
        ],
        "overall": {
            "counts": _counts(built.overall.counts),
            "total": built.overall.total,
            "participation_rate": _number(built.overall.participation_rate),
            "mood_average": _number(built.overall.mood_average),
            "mood_trend": built.overall.mood_trend.value if built.overall.mood_trend else None,
        },
        "open_blockers": [
            {
                "user_id": b.user_id,
                "standup_id": b.standup_id,
                "text": b.text,
                "opened_on": day(b.opened_on),
                "days_open": b.days_open,
                "working_days_open": b.working_days_open,
            }
            for b in outcome.blockers
        ],
    }


def away(outcome: AwayTime) -> dict[str, Any]:
    return {
        "user_id": outcome.user_id,
        "today": day(outcome.today),
        "periods": [
            {"id": p.period_id, "start": day(p.start), "end": day(p.end), "set_by": p.set_by}
            for p in outcome.periods
        ],
    }
