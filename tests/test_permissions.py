"""bot.rules.permissions: the pure role rules (no Slack, no database)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.permissions import (
    ALLOW,
    Actor,
    Decision,
    can_answer,
    can_change_settings,
    can_create,
    can_manage,
    can_read_history,
    can_remove_owner,
)

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"

user_ids = st.from_regex(r"U[A-Z0-9]{4,10}", fullmatch=True)
owner_sets = st.frozensets(user_ids, min_size=1, max_size=6)


def test_decision_is_truthy_only_when_allowed() -> None:
    assert ALLOW and ALLOW.allowed and ALLOW.reason == ""
    refused = Decision(False, "no")
    assert not refused and refused.reason == "no"
    with pytest.raises(dataclasses.FrozenInstanceError):
        refused.allowed = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Actor(ALICE, False).is_admin = True  # type: ignore[misc]


# --- create -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_admin", "restricted", "allowed"),
    [(False, False, True), (True, False, True), (True, True, True), (False, True, False)],
)
def test_can_create(is_admin: bool, restricted: bool, allowed: bool) -> None:
    decision = can_create(Actor(BOB, is_admin), create_restricted=restricted)
    assert bool(decision) is allowed
    if allowed:
        assert decision.reason == ""
    else:
        assert decision.reason == "Only workspace admins can create standups here."


# --- manage and history -----------------------------------------------------------------------


@pytest.mark.parametrize("rule", [can_manage, can_read_history])
def test_owners_and_admins_manage_others_do_not(rule) -> None:  # type: ignore[no-untyped-def]
    owners = {ALICE, BOB}
    assert rule(Actor(ALICE, False), owners, "*Daily*")  # primary owner
    assert rule(Actor(BOB, False), owners, "*Daily*")  # co-owner
    assert rule(Actor(CAROL, True), owners, "*Daily*")  # workspace admin, not an owner
    refused = rule(Actor(CAROL, False), owners, "*Daily*")
    assert not refused
    assert "*Daily*" in refused.reason and "owners" in refused.reason
    assert "admin" in refused.reason


def test_manage_and_history_refusals_say_what_was_refused() -> None:
    carol = Actor(CAROL, False)
    assert can_manage(carol, {ALICE}, "X").reason.endswith("can do that.")
    assert can_read_history(carol, {ALICE}, "X").reason.endswith("can see its history.")


def test_owner_ids_are_compared_exactly() -> None:
    # Slack ids are case-sensitive and never prefixes of each other's rights.
    assert not can_manage(Actor("U0ALICE0", False), {ALICE}, "x")
    assert not can_manage(Actor(ALICE.lower(), False), {ALICE}, "x")
    assert not can_manage(Actor("", False), {ALICE}, "x")
    assert not can_manage(Actor(ALICE, False), set(), "x")


@given(actor=user_ids, owners=owner_sets, is_admin=st.booleans())
def test_manage_property(actor: str, owners: frozenset[str], is_admin: bool) -> None:
    expected = actor in owners or is_admin
    assert bool(can_manage(Actor(actor, is_admin), owners, "s")) is expected
    assert bool(can_read_history(Actor(actor, is_admin), owners, "s")) is expected


# --- settings and answering -------------------------------------------------------------------


def test_only_admins_change_settings() -> None:
    assert can_change_settings(Actor(ALICE, True))
    refused = can_change_settings(Actor(ALICE, False))
    assert not refused and "Only workspace admins" in refused.reason


@given(actor=user_ids, owner=user_ids)
def test_only_the_prompts_own_user_answers(actor: str, owner: str) -> None:
    decision = can_answer(actor, owner)
    assert bool(decision) is (actor == owner)
    assert decision.reason == ("" if actor == owner else "That check-in isn't yours.")


# --- removing owners --------------------------------------------------------------------------


def test_the_last_owner_cannot_be_removed() -> None:
    refused = can_remove_owner({ALICE}, ALICE, ALICE)
    assert not refused and "at least one owner" in refused.reason


def test_an_owner_can_be_removed_while_another_remains() -> None:
    assert can_remove_owner({ALICE, BOB}, BOB, ALICE)  # a co-owner
    assert can_remove_owner({ALICE, BOB}, ALICE, ALICE)  # the primary owner steps down


@given(owners=owner_sets, removing=user_ids)
def test_remove_property_always_keeps_an_owner(owners: frozenset[str], removing: str) -> None:
    primary = sorted(owners)[0]
    decision = can_remove_owner(owners, removing, primary)
    assert bool(decision) is bool(owners - {removing})
    if decision:
        assert owners - {removing}
