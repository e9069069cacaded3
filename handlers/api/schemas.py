"""The JSON shapes of the API (OpenAPI 3.1 components, i.e. JSON Schema 2020-12), written next to
``render.py`` and ``bodies.py``, which produce and read them. Tests check real responses
against these."""

from __future__ import annotations

from typing import Any

from bot.rules.blockers import DEFAULT_ESCALATION_DAYS, MAX_ESCALATION_DAYS
from bot.rules.questions import QuestionType
from handlers.api.render import DAYS

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


_TIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "format": "date"}
_USER = {"type": "string", "pattern": "^[UW][A-Z0-9]{2,31}$"}
_CHANNEL = {"type": "string", "pattern": "^[CG][A-Z0-9]{2,31}$"}
_DAY = {"type": "string", "enum": list(DAYS)}
_OUTCOMES = ["answered", "late", "skipped", "away", "holiday", "missed", "undeliverable"]


def _obj(properties: Schema, required: list[str] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, **extra}
    schema["required"] = list(properties) if required is None else required
    return schema


def _page(item: str) -> Schema:
    return _obj(
        {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": _nullable(
                "string", description="Pass as `cursor` for the next page; null on the last."
            ),
        },
        additionalProperties=False,
    )


# Fields of a standup as the Slack form has them (bodies.py reads them, render.py writes them).
_SETTINGS: Schema = {
    "name": {"type": "string", "description": "Unique in the workspace (ignoring case)"},
    "channel": {**_CHANNEL, "description": "Where summaries are posted"},
    "questions": {"type": "array", "items": ref("Question")},
    "participant_source": {
        "type": "string",
        "enum": ["people", "channel"],
        "description": "`people` listed in `participants`, or everyone in the `channel`",
    },
    "participants": {"type": "array", "items": _USER},
    "repeat": {
        "type": "string",
        "enum": ["weekly", "every_n_weeks", "monthly_day", "monthly_weekday"],
    },
    "days": {"type": "array", "items": _DAY},
    "every_weeks": _nullable("integer", description="For `every_n_weeks`"),
    "starting": {
        "type": ["string", "null"],
        "format": "date",
        "description": "For `every_n_weeks`: a date in the first week",
    },
    "month_day": _nullable("integer", description="For `monthly_day`: 1-31"),
    "week_of_month": _nullable(
        "string", description="For `monthly_weekday`: 1, 2, 3, 4 or last (with one day)"
    ),
    "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "description": "HH:MM"},
    "tz_mode": {
        "type": "string",
        "enum": ["participant", "fixed"],
        "description": "Each participant's own time zone, or the fixed `tz`",
    },
    "tz": _nullable("string", description="IANA time zone when `tz_mode` is fixed"),
    "window": _nullable("number", description="Answer window in hours (null: the default)"),
    "reminder": _nullable(
        "string", description="off, halfway (null: the default) or minutes before the close"
    ),
    "holidays": _nullable("string", description="A public holiday calendar, e.g. DE-BY"),
    "blocker_escalation_days": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_ESCALATION_DAYS,
        "description": "A blocker open more than this many working days is sent once to the owners",
    },
}

_INPUT_SETTINGS: Schema = {
    **_SETTINGS,
    "questions": {
        "type": "array",
        "items": {
            "oneOf": [
                {
                    "type": "string",
                    "description": "A question as the Slack form takes it; a trailing tag sets "
                    "its type: [optional], [number], [mood], [choice: A, B], [blocker]",
                },
                ref("Question"),
            ]
        },
    },
    "week_of_month": {"type": ["string", "integer", "null"]},
    "reminder": {"type": ["string", "integer", "null"]},
    "blocker_escalation_days": {
        "type": ["integer", "null"],
        "minimum": 0,
        "maximum": MAX_ESCALATION_DAYS,
        "description": f"Working days (null: the default, {DEFAULT_ESCALATION_DAYS})",
    },
}

_TOKEN = _obj(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "prefix": {"type": "string", "description": "ast_<prefix>_… identifies the token"},
        "scope": {"type": "string", "enum": ["read", "write"]},
        "created_at": _TIME,
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
    }
)

_ANSWER = _obj(
    {
        "position": {"type": "integer"},
        "question": {"type": "string"},
        "answer": {"type": "string"},
        "submitted_at": _TIME,
        "edited_at": {"type": ["string", "null"], "format": "date-time"},
    }
)

_RUN: Schema = {
    "id": {"type": "integer"},
    "standup_id": {"type": "integer"},
    "local_date": _DATE,
    "state": {"type": "string", "enum": ["open", "closed"]},
    "channel": {"type": "string"},
    "questions": {"type": "array", "items": ref("Question")},
    "prompts": {"type": "integer", "description": "People prompted"},
    "answered": {"type": "integer", "description": "Of them, who answered"},
    "close_at": _TIME,
    "closed_at": {"type": ["string", "null"], "format": "date-time"},
    "created_at": _TIME,
}

_COUNTS = _obj({o: {"type": "integer"} for o in _OUTCOMES}, additionalProperties=False)
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_MOOD = {"type": ["number", "null"], "minimum": 1, "maximum": 5}
_TREND = {
    "type": ["string", "null"],
    "enum": ["up", "down", "flat", None],
    "description": "Null with fewer than 4 moods",
}

_DELIVERY = _obj(
    {
        "id": {"type": "integer"},
        "event_id": {"type": "string"},
        "event": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["pending", "sending", "retrying", "delivered", "failed"],
        },
        "attempts": {"type": "integer"},
        "last_status": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]},
        "created_at": _TIME,
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "delivered_at": {"type": ["string", "null"], "format": "date-time"},
        "gave_up_at": {"type": ["string", "null"], "format": "date-time"},
    }
)
_WEBHOOK = {
    "id": {"type": "integer"},
    "standup_id": {"type": "integer"},
    "url": {"type": "string"},
    "events": {"type": "array", "items": {"type": "string"}},
    "enabled": {"type": "boolean"},
    "disabled_at": {"type": ["string", "null"], "format": "date-time"},
    "disabled_reason": {"type": ["string", "null"]},
    "consecutive_failures": {"type": "integer"},
    "created_by": {"type": ["string", "null"]},
    "created_at": _TIME,
    "recent_deliveries": {"type": "array", "items": _DELIVERY},
}

SCHEMAS: dict[str, Schema] = {
    "Question": _obj(
        {
            "text": {"type": "string"},
            "type": {
                "type": "string",
                "enum": [t.value for t in QuestionType],
                "description": "text (required), optional, choice, number, or mood (1-5); "
                "default text",
            },
            "options": {
                "type": "array",
                "items": {"type": "string"},
                "description": "A choice question's options, in order",
            },
            "is_blocker": {
                "type": "boolean",
                "description": "Answers to it open blockers (one text or optional question)",
            },
        },
        required=["text"],
        additionalProperties=False,
    ),
    "Webhook": _obj(_WEBHOOK),
    "WebhookCreated": _obj(
        {
            **_WEBHOOK,
            "secret": {
                "type": "string",
                "description": "Signs every delivery (HMAC-SHA256 over v1:<timestamp>:<body>); "
                "shown this once",
            },
        }
    ),
    "WebhookList": _obj(
        {
            "standup_id": {"type": "integer"},
            "standup_name": {"type": "string"},
            "items": {"type": "array", "items": ref("Webhook")},
        }
    ),
    "WebhookInput": _obj(
        {
            "url": {"type": "string", "description": "http(s) URL that receives the POSTs"},
            "events": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": [
                        "answer.submitted",
                        "answer.updated",
                        "run.closed",
                        "blocker.opened",
                        "blocker.resolved",
                    ],
                },
            },
        },
        additionalProperties=False,
    ),
    "Problem": _obj(
        {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "For invalid input: a message per field",
            },
        },
        required=["type", "title", "status", "detail"],
    ),
    "Me": _obj(
        {
            "user_id": _USER,
            "team_id": {"type": "string"},
            "is_admin": {"type": "boolean"},
            "token": _TOKEN,
        }
    ),
    "StandupSummary": _obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "channel": {"type": "string"},
            "schedule_text": {"type": "string"},
            "participant_count": {"type": "integer"},
            "active": {"type": "boolean"},
            "owner": {"type": "string"},
            "next_run": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "StandupPage": _page("StandupSummary"),
    "Standup": _obj(
        {
            "id": {"type": "integer"},
            **_SETTINGS,
            "channel": {"type": "string"},
            "participants": {"type": "array", "items": {"type": "string"}},
            "owners": {"type": "array", "items": {"type": "string"}},
            "schedule_text": {"type": "string"},
            "active": {"type": "boolean"},
            "next_run": {"type": ["string", "null"], "format": "date-time"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "warnings": {
                "type": "array",
                "items": {"type": "string"},
                "description": "After a create or a channel change: if the channel needs you",
            },
        },
        required=[
            "id",
            *_SETTINGS,
            "owners",
            "schedule_text",
            "active",
            "next_run",
            "created_at",
            "updated_at",
        ],
    ),
    "StandupInput": _obj(
        _INPUT_SETTINGS,
        required=["name", "channel", "questions", "time"],
        additionalProperties=False,
        description="Days are required unless `repeat` is monthly_day; participants unless "
        "`participant_source` is channel.",
    ),
    "StandupPatch": _obj(
        {**_INPUT_SETTINGS, "active": {"type": "boolean", "description": "false pauses"}},
        required=[],
        additionalProperties=False,
    ),
    "RunStarted": _obj(
        {
            "standup_id": {"type": "integer"},
            "name": {"type": "string"},
            "prompts_created": {"type": "integer"},
        }
    ),
    "Run": _obj(_RUN),
    "RunPage": _page("Run"),
    "RunDetail": _obj(
        {
            **_RUN,
            "standup_name": {"type": "string"},
            "participants": {
                "type": "array",
                "items": _obj(
                    {
                        "user_id": {"type": "string"},
                        "state": {
                            "type": "string",
                            "enum": [
                                "pending",
                                "sending",
                                "sent",
                                "answered",
                                "skipped",
                                "missed",
                                "failed",
                                "away",
                                "holiday",
                            ],
                        },
                        "due_at": _TIME,
                        "sent_at": {"type": ["string", "null"], "format": "date-time"},
                        "answered_at": {"type": ["string", "null"], "format": "date-time"},
                        "late": {"type": "boolean"},
                        "answers": {"type": "array", "items": _ANSWER},
                    }
                ),
            },
        }
    ),
    "Report": _obj(
        {
            "standup_id": {"type": ["integer", "null"]},
            "from": _DATE,
            "to": _DATE,
            "scope": {
                "type": "string",
                "enum": ["everyone", "own", "mixed"],
                "description": "`own`: a participant's view, their own line and blockers only "
                "(the overall figures still cover everyone); `mixed` over several standups",
            },
            "people": {
                "type": "array",
                "items": _obj(
                    {
                        "user_id": {"type": "string"},
                        "counts": _COUNTS,
                        "total": {"type": "integer"},
                        "participation_rate": _RATE,
                        "current_streak": {"type": "integer"},
                        "longest_streak": {"type": "integer"},
                        "mood_average": _MOOD,
                        "mood_trend": _TREND,
                    }
                ),
            },
            "overall": _obj(
                {
                    "counts": _COUNTS,
                    "total": {"type": "integer"},
                    "participation_rate": _RATE,
                    "mood_average": _MOOD,
                    "mood_trend": _TREND,
                }
            ),
            "open_blockers": {
                "type": "array",
                "items": _obj(
                    {
                        "user_id": {"type": "string"},
                        "standup_id": {"type": "integer"},
                        "text": {"type": "string"},
                        "opened_on": {**_DATE, "description": "In the person's own calendar"},
                        "days_open": {"type": "integer", "minimum": 0},
                        "working_days_open": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "Counting only the standup's days",
                        },
                    }
                ),
            },
        }
    ),
    "BlockerList": _obj(
        {
            "standup_id": {"type": "integer"},
            "blockers": {
                "type": "array",
                "items": _obj(
                    {
                        "id": {"type": "integer"},
                        "user_id": _USER,
                        "text": {"type": "string", "description": "As typed (not Slack markup)"},
                        "opened_on": {**_DATE, "description": "In the person's own calendar"},
                        "age": {
                            "type": "string",
                            "description": '"since today", "since yesterday", "for 3 days"',
                        },
                        "still_blocked_on": {
                            **_nullable("string", format="date"),
                            "description": "When they last said they were still blocked",
                        },
                    },
                    additionalProperties=False,
                ),
            },
        },
        additionalProperties=False,
    ),
    "ExportRows": {
        "type": "array",
        "description": "The JSON form; the CSV has the same columns, in this order, a header "
        "line first",
        "items": _obj(
            {
                "standup": {"type": "string"},
                "run_date_utc": {**_DATE, "description": "The UTC date the prompt was due"},
                "local_date": {**_DATE, "description": "The run's date in the person's calendar"},
                "person": _USER,
                "person_name": {"type": "string", "description": "As Slack last showed it"},
                "question": {"type": "string"},
                "answer": {"type": "string"},
                "answered_at": _nullable("string", format="date-time"),
                "late": {"type": "boolean"},
            },
            additionalProperties=False,
        ),
    },
    "OutOfOffice": _obj(
        {
            "user_id": {"type": "string"},
            "today": {**_DATE, "description": "Today in the person's own time zone"},
            "periods": {
                "type": "array",
                "items": _obj(
                    {
                        "id": {"type": "integer"},
                        "start": _DATE,
                        "end": _DATE,
                        "set_by": {"type": ["string", "null"]},
                    }
                ),
            },
        }
    ),
    "OutOfOfficeInput": _obj(
        {"start": _DATE, "end": {**_DATE, "description": "Included"}},
        additionalProperties=False,
    ),
}
