"""What a use case can answer besides its own result: a refusal, or field errors.

Use cases return data, never Slack blocks or HTML; each surface renders these in its own words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.rules.permissions import Decision, Why
from bot.rules.schedule import ScheduleDraft


@dataclass(frozen=True)
class Refusal:
    """Nothing was done, and why; `name` is the standup concerned (plain text), if any, and
    `limit` the limit that was reached, if that is why."""

    why: Why
    name: str = ""
    limit: int | None = None


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
