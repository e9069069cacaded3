"""Tests for bot.rules.digest: grouping participants and picking out real blockers."""

from __future__ import annotations

import pytest

from bot.rules.digest import (
    AnswerEntry,
    OngoingBlocker,
    ParticipantStatus,
    build_digest,
    is_no_blocker,
)
from bot.rules.questions import Question, blocker_text

QUESTIONS = (
    Question("What did you do yesterday?"),
    Question("What will you do today?"),
    Question("Anything blocking you?", is_blocker=True),
)


def status(user_id: str, state: str) -> ParticipantStatus:
    return ParticipantStatus(user_id=user_id, state=state)


def entry(user_id: str, blocker: str, *, today: str = "coding") -> AnswerEntry:
    """An entry as the summary builds it: the blocker question's answer, if it says one."""
    return AnswerEntry(user_id, blocker_text(QUESTIONS, ["stuff", today, blocker]))


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "none",
        "None.",
        "NONE!",
        "no",
        "No.",
        "nope",
        "-",
        "—",
        "n/a",
        "N/A",
        "na",
        "nothing",
        "Nothing!",
        "no blockers",
        "No  blockers.",
        "no blocker",
        "none :)",
        "...",
    ],
)
def test_no_blocker_answers(answer: str) -> None:
    assert is_no_blocker(answer)


@pytest.mark.parametrize(
    "answer",
    [
        "Waiting on the API keys",
        "no access to prod",
        "None of the CI runners work",
        "nope, the build is red",
        "blocked by ops",
    ],
)
def test_real_blockers_are_kept(answer: str) -> None:
    assert not is_no_blocker(answer)


def test_not_final_groups_pending_and_sent_as_waiting() -> None:
    statuses = [
        status("U1", "answered"),
        status("U2", "pending"),
        status("U3", "sent"),
        status("U4", "skipped"),
        status("U5", "missed"),
        status("U6", "failed"),
    ]
    digest = build_digest(statuses, [entry("U1", "none")], final=False)
    assert digest.answered == ["U1"]
    assert digest.waiting == ["U2", "U3"]
    assert digest.skipped == ["U4"]
    assert digest.missed == ["U5", "U6"]
    assert digest.blockers == []


def test_final_moves_waiting_into_missed_in_participant_order() -> None:
    statuses = [
        status("U5", "missed"),
        status("U2", "pending"),
        status("U1", "answered"),
        status("U3", "sent"),
        status("U6", "failed"),
    ]
    digest = build_digest(statuses, [entry("U1", "-")], final=True)
    assert digest.waiting == []
    assert digest.missed == ["U5", "U2", "U3", "U6"]
    assert digest.answered == ["U1"]


def test_blockers_follow_status_order_and_skip_no_blocker_answers() -> None:
    statuses = [
        status("U3", "answered"),
        status("U1", "answered"),
        status("U2", "answered"),
        status("U4", "answered"),
    ]
    entries = [
        entry("U1", "Waiting on API keys"),
        entry("U2", "none"),
        entry("U3", "  CI is red  "),
        entry("U4", "no"),
    ]
    digest = build_digest(statuses, entries, final=True)
    assert digest.blockers == [("U3", "CI is red"), ("U1", "Waiting on API keys")]


def test_only_the_flagged_question_produces_blockers_whatever_the_wording() -> None:
    questions = [Question("Anything blocked in review?"), Question("Impediments?", is_blocker=True)]
    blocker = blocker_text(questions, ["the blocked queue", "DNS"])
    digest = build_digest([status("U1", "answered")], [AnswerEntry("U1", blocker)], final=False)
    assert digest.blockers == [("U1", "DNS")]


def test_blockers_only_from_answered_participants() -> None:
    statuses = [status("U1", "skipped"), status("U2", "answered")]
    entries = [entry("U1", "stale entry"), entry("U2", "real")]
    digest = build_digest(statuses, entries, final=True)
    assert digest.blockers == [("U2", "real")]


def test_answered_without_entry_and_duplicates_are_tolerated() -> None:
    statuses = [status("U1", "answered"), status("U1", "pending"), status("U2", "bogus")]
    digest = build_digest(statuses, [], final=True)
    assert digest.answered == ["U1"]
    assert digest.missed == []
    assert digest.blockers == []


def test_empty_run() -> None:
    digest = build_digest([], [], final=True)
    assert (digest.answered, digest.waiting, digest.skipped, digest.missed) == ([], [], [], [])
    assert digest.blockers == []


def test_late_answers_are_listed_apart_once_final_and_their_blockers_count() -> None:
    statuses = [
        ParticipantStatus("U1", "answered", late=True),
        ParticipantStatus("U2", "answered"),
        ParticipantStatus("U3", "sent"),
    ]
    entries = [entry("U1", "Waiting on legal"), entry("U2", "none")]
    final = build_digest(statuses, entries, final=True)
    assert (final.answered, final.late, final.missed) == (["U2"], ["U1"], ["U3"])
    assert final.blockers == [("U1", "Waiting on legal")]
    # Before the close nothing is late: the flag only matters for the final summary.
    live = build_digest(statuses, entries, final=False)
    assert (live.answered, live.late, live.waiting) == (["U1", "U2"], [], ["U3"])


def test_ongoing_blockers_are_kept_unless_said_again_in_this_run() -> None:
    ongoing = [
        OngoingBlocker("U1", "CI is red", "for 3 days"),
        OngoingBlocker("U2", "Waiting on legal", "since yesterday"),
        OngoingBlocker("U9", "Not in this run", "for 9 days"),
    ]
    statuses = [status("U1", "answered"), status("U2", "answered")]
    entries = [entry("U1", "CI is red"), entry("U2", "Something new")]
    digest = build_digest(statuses, entries, final=True, ongoing=ongoing)
    assert digest.blockers == [("U1", "CI is red"), ("U2", "Something new")]
    assert digest.ongoing == ongoing[1:]
    assert build_digest(statuses, [], final=True, ongoing=ongoing).ongoing == ongoing
