"""Tests for bot.rules.digest: grouping participants and picking out real blockers."""

from __future__ import annotations

import pytest

from bot.rules.digest import (
    AnswerEntry,
    ParticipantStatus,
    build_digest,
    is_blocker_question,
    is_no_blocker,
)

BLOCKER_Q = "Anything blocking you?"
QUESTIONS = ("What did you do yesterday?", "What will you do today?", BLOCKER_Q)


def status(user_id: str, state: str) -> ParticipantStatus:
    return ParticipantStatus(user_id=user_id, state=state)


def entry(user_id: str, blocker: str, *, today: str = "coding") -> AnswerEntry:
    answers = list(zip(QUESTIONS, ("stuff", today, blocker), strict=True))
    return AnswerEntry(user_id=user_id, answers=answers)


@pytest.mark.parametrize(
    "question",
    [
        "Anything blocking you?",
        "Blockers?",
        "Are you BLOCKED on anything?",
        "Any roadblocks",
        "What's blocking progress",
    ],
)
def test_blocker_questions_are_recognised(question: str) -> None:
    assert is_blocker_question(question)


@pytest.mark.parametrize("question", ["What did you do yesterday?", "Any risks?", ""])
def test_other_questions_are_not_blocker_questions(question: str) -> None:
    assert not is_blocker_question(question)


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


def test_only_blocker_questions_produce_blockers() -> None:
    answers = [("What will you do today?", "fight the blocked queue"), ("Blockers?", "DNS")]
    digest = build_digest([status("U1", "answered")], [AnswerEntry("U1", answers)], final=False)
    assert digest.blockers == [("U1", "DNS")]


def test_several_blocker_questions_each_count() -> None:
    answers = [("Blockers?", "DNS"), ("Anything blocking your team?", "Reviews")]
    digest = build_digest([status("U1", "answered")], [AnswerEntry("U1", answers)], final=True)
    assert digest.blockers == [("U1", "DNS"), ("U1", "Reviews")]


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
