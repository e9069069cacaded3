"""Who may do what (pure): workspace admins, standup owners, participants.

A decision carries `why` (for each surface's own wording) and a plain-English `reason`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass


class Why(enum.StrEnum):
    """Why something was refused; each surface words it its own way (bot.views.wording)."""

    NO_SUCH_STANDUP = "no_such_standup"
    STANDUP_GONE = "standup_gone"
    NOT_MANAGER = "not_manager"
    NOT_HISTORY_READER = "not_history_reader"
    CREATE_ADMINS_ONLY = "create_admins_only"
    SETTINGS_ADMINS_ONLY = "settings_admins_only"
    WORKSPACE_HISTORY_ADMINS_ONLY = "workspace_history_admins_only"
    LAST_OWNER = "last_owner"
    NOT_YOUR_CHECKIN = "not_your_checkin"
    NOT_YOUR_BLOCKER = "not_your_blocker"
    PAUSED = "paused"
    RUN_CLOSED = "run_closed"
    CHECKIN_CLOSED = "checkin_closed"
    NOTHING_TO_SKIP = "nothing_to_skip"
    NAME_TAKEN = "name_taken"
    STANDUP_LIMIT = "standup_limit"
    NUDGED_RECENTLY = "nudged_recently"
    NOTHING_OPEN = "nothing_open"
    WEBHOOK_GONE = "webhook_gone"
    WEBHOOK_LIMIT = "webhook_limit"
    WEBHOOKS_NEED_KEY = "webhooks_need_key"
    NOT_ATTENDANCE_MANAGER = "not_attendance_manager"
    NOT_REPORT_READER = "not_report_reader"


@dataclass(frozen=True)
class Actor:
    """The person asking, as far as permissions care."""

    user_id: str
    is_admin: bool  # workspace admin or owner, per users.info


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    why: Why | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def can_create(actor: Actor, *, create_restricted: bool) -> Decision:
    if create_restricted and not actor.is_admin:
        return Decision(
            False, "Only workspace admins can create standups here.", Why.CREATE_ADMINS_ONLY
        )
    return ALLOW


def _owner_or_admin(actor: Actor, owner_ids: Collection[str], refusal: Decision) -> Decision:
    return ALLOW if actor.user_id in owner_ids or actor.is_admin else refusal


def can_manage(actor: Actor, owner_ids: Collection[str], standup_name: str) -> Decision:
    """Edit, pause, resume, run, delete, change owners: owners and workspace admins."""
    reason = f"Only the owners of {standup_name} or a workspace admin can do that."
    return _owner_or_admin(actor, owner_ids, Decision(False, reason, Why.NOT_MANAGER))


def can_read_history(actor: Actor, owner_ids: Collection[str], standup_name: str) -> Decision:
    reason = f"Only the owners of {standup_name} or a workspace admin can see its history."
    return _owner_or_admin(actor, owner_ids, Decision(False, reason, Why.NOT_HISTORY_READER))


def can_change_settings(actor: Actor) -> Decision:
    if actor.is_admin:
        return ALLOW
    return Decision(
        False, "Only workspace admins can change AsyncStand's settings.", Why.SETTINGS_ADMINS_ONLY
    )


def can_read_workspace_history(actor: Actor) -> Decision:
    if actor.is_admin:
        return ALLOW
    return Decision(
        False,
        "Only workspace admins can see the workspace's history.",
        Why.WORKSPACE_HISTORY_ADMINS_ONLY,
    )


def can_answer(actor_user_id: str, prompt_user_id: str) -> Decision:
    if actor_user_id == prompt_user_id:
        return ALLOW
    return Decision(False, "That check-in isn't yours.", Why.NOT_YOUR_CHECKIN)


def can_remove_owner(owner_ids: Collection[str], removing: str, primary_owner: str) -> Decision:
    """A standup always keeps at least one owner."""
    if not set(owner_ids) - {removing}:
        return Decision(
            False,
            "A standup needs at least one owner; add another owner first.",
            Why.LAST_OWNER,
        )
    return ALLOW


def can_set_attendance_for(
    actor: Actor, person_user_id: str, owners_of_their_standups: Collection[str]
) -> Decision:
    """Out of office for someone: the person themselves, a workspace admin, or an owner of a
    standup the person takes part in."""
    if actor.user_id == person_user_id or actor.is_admin:
        return ALLOW
    if actor.user_id in owners_of_their_standups:
        return ALLOW
    return Decision(
        False,
        "Only a workspace admin or an owner of a standup they take part in can see or set "
        "someone else's out of office.",
        Why.NOT_ATTENDANCE_MANAGER,
    )


def listed_to_everyone(channel_private: bool | None) -> bool:
    """A standup posting to a public channel is listed to everyone in the workspace; one in a
    private channel — or one whose channel's privacy we don't know yet — is not."""
    return channel_private is False


def can_see(actor: Actor, involved: Collection[str], channel_private: bool | None) -> bool:
    """Whether a standup shows in `actor`'s lists: public channel, or they take part in it
    (participant or owner), or they are a workspace admin."""
    return listed_to_everyone(channel_private) or actor.user_id in involved or actor.is_admin


class ReportScope(enum.StrEnum):
    """How much of a standup's report (and answer export) someone may read."""

    EVERYONE = "everyone"  # owners and workspace admins: every person's line and answers
    OWN = "own"  # a participant: their own line (and answers) and the overall figures
    NONE = "none"


def report_scope(
    actor: Actor, owner_ids: Collection[str], participant_ids: Collection[str]
) -> ReportScope:
    """Reports and exports: owners and workspace admins see everyone; a participant who is
    neither sees their own line and the overall figures (no one else's line, answers or
    blockers); anyone else nothing."""
    if actor.is_admin or actor.user_id in owner_ids:
        return ReportScope.EVERYONE
    if actor.user_id in participant_ids:
        return ReportScope.OWN
    return ReportScope.NONE
