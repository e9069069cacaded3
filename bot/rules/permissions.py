"""Who may do what (pure): workspace admins, standup owners, participants."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The person asking, as far as permissions care."""

    user_id: str
    is_admin: bool  # workspace admin or owner, per users.info


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def can_create(actor: Actor, *, create_restricted: bool) -> Decision:
    if create_restricted and not actor.is_admin:
        return Decision(False, "Only workspace admins can create standups here.")
    return ALLOW


def can_manage(actor: Actor, owner_ids: Collection[str], standup_name: str) -> Decision:
    """Edit, pause, resume, run, delete, change owners: owners and workspace admins."""
    if actor.user_id in owner_ids or actor.is_admin:
        return ALLOW
    return Decision(False, f"Only the owners of {standup_name} or a workspace admin can do that.")


def can_read_history(actor: Actor, owner_ids: Collection[str], standup_name: str) -> Decision:
    if actor.user_id in owner_ids or actor.is_admin:
        return ALLOW
    return Decision(
        False, f"Only the owners of {standup_name} or a workspace admin can see its history."
    )


def can_change_settings(actor: Actor) -> Decision:
    if actor.is_admin:
        return ALLOW
    return Decision(False, "Only workspace admins can change AsyncStand's settings.")


def can_answer(actor_user_id: str, prompt_user_id: str) -> Decision:
    if actor_user_id == prompt_user_id:
        return ALLOW
    return Decision(False, "That check-in isn't yours.")


def can_remove_owner(owner_ids: Collection[str], removing: str, primary_owner: str) -> Decision:
    """A standup always keeps at least one owner."""
    if not set(owner_ids) - {removing}:
        return Decision(False, "A standup needs at least one owner; add another owner first.")
    return ALLOW
