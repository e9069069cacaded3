"""bot.rules.roster: who in a channel takes part, how the list changes, the limit, and when each
standup is reconciled (property tests: every moment is due once, whatever the scheduler's ticks)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.roster import (
    RECONCILE_EVERY,
    RECONCILE_PERIOD_SECONDS,
    SLACKBOT,
    change,
    due_phases,
    from_channel,
    moment,
    period_of,
    phase_of,
    read_enough,
)

US = "U0ASYNCST"


def test_from_channel_leaves_out_us_slackbot_bots_and_deactivated_accounts() -> None:
    members = ["U3", "U1", US, SLACKBOT, "B1", "GONE", "U2", "U1", ""]
    assert from_channel(members, ourselves={US}, bots={"B1"}, deactivated={"GONE"}) == [
        "U1",
        "U2",
        "U3",
    ]


def test_change_adds_and_removes() -> None:
    delta = change({"A", "B"}, {"B", "C"}, limit=10)
    assert (set(delta.add), set(delta.remove), delta.wanted, delta.refused) == (
        {"C"},
        {"A"},
        2,
        False,
    )
    assert delta.changed
    assert not change({"A"}, {"A"}, limit=1).changed


def test_over_the_limit_nobody_is_added_but_leavers_go() -> None:
    delta = change({"A", "B", "C"}, {"B", "C", "D", "E"}, limit=3)
    assert (set(delta.add), set(delta.remove), delta.wanted, delta.refused) == (
        set(),
        {"A"},
        4,
        True,
    )
    # Over the limit only because it was lowered, and nobody joins: the leavers still go.
    delta = change({"A", "B", "C", "D"}, {"B", "C", "D"}, limit=2)
    assert (set(delta.add), set(delta.remove), delta.refused) == (set(), {"A"}, False)


def test_an_incomplete_member_list_changes_nothing() -> None:
    delta = change({"A"}, {"B"}, limit=1, complete=False)
    assert (set(delta.add), set(delta.remove), delta.refused) == (set(), set(), True)


def test_paging_stops_past_twice_the_limit_or_a_thousand() -> None:
    assert not read_enough(1000, 1)
    assert read_enough(1001, 1)
    assert not read_enough(2000, 1000)
    assert read_enough(2001, 1000)


def test_phases_spread_over_the_period() -> None:
    phases = [phase_of(i) for i in range(1, 101)]
    assert all(0 <= p < RECONCILE_PERIOD_SECONDS for p in phases)
    assert len(set(phases)) == 100
    # Consecutive ids are far apart: 100 standups made one after another never bunch up.
    gaps = sorted(phases)
    assert max(b - a for a, b in itertools.pairwise(gaps)) < RECONCILE_PERIOD_SECONDS / 20


def test_due_phases_edges() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # a period boundary
    assert due_phases(start, start) == []
    assert due_phases(start, start - dt.timedelta(seconds=1)) == []
    assert due_phases(start, start + dt.timedelta(seconds=60)) == [(0, 60)]
    wrap = due_phases(start - dt.timedelta(seconds=10), start + dt.timedelta(seconds=5))
    assert wrap == [(RECONCILE_PERIOD_SECONDS - 10, RECONCILE_PERIOD_SECONDS - 1), (-1, 5)]
    assert due_phases(start, start + RECONCILE_EVERY) == [(-1, RECONCILE_PERIOD_SECONDS - 1)]


def _in(phase: int, ranges: list[tuple[int, int]]) -> bool:
    return any(low < phase <= high for low, high in ranges)


@given(
    standup_id=st.integers(1, 10**9),
    start=st.integers(1_600_000_000, 1_900_000_000),
    steps=st.lists(st.integers(1, 3 * 3600), min_size=1, max_size=40),
)
def test_every_moment_is_due_once_however_the_ticks_fall(
    standup_id: int, start: int, steps: list[int]
) -> None:
    """Windows (t0, t1], (t1, t2], … that cover time find each of the standup's moments in
    exactly one window, and each finding names a different period."""
    times = [start]
    for step in steps:
        times.append(times[-1] + step)
    at = [dt.datetime.fromtimestamp(t, dt.UTC) for t in times]
    periods = [
        period_of(standup_id, now)
        for since, now in itertools.pairwise(at)
        if _in(phase_of(standup_id), due_phases(since, now))
    ]
    phase, period = phase_of(standup_id), RECONCILE_PERIOD_SECONDS
    first = (times[0] - phase) // period + 1  # the first moment after times[0]
    moments = [k * period + phase for k in range(first, (times[-1] - phase) // period + 1)]
    assert len(periods) == len(moments)
    assert len(set(periods)) == len(periods)
    for found, index in zip(moments, periods, strict=True):
        assert found == index * period + phase
        assert moment(standup_id, index) == dt.datetime.fromtimestamp(found, dt.UTC)
