"""Summary maths for a standup run: who answered, who we are waiting on, what is blocked.

Kept pure so the channel summary can be rebuilt from stored state at any time (each answer
and the final close both re-render it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "AWAY_STATES",
    "STATES",
    "AnswerEntry",
    "Digest",
    "OngoingBlocker",
    "ParticipantStatus",
    "build_digest",
    "is_no_blocker",
    "nobody_asked",
]

STATES = ("pending", "sent", "answered", "skipped", "missed", "failed", "away", "holiday")
_NOT_YET = frozenset({"pending", "sent"})
_GAVE_UP = frozenset({"missed", "failed"})
# Never asked, by design: out of office or on a public holiday. Never "didn't answer".
AWAY_STATES = frozenset({"away", "holiday"})

# Answers that mean "nothing is blocking me", compared after strip/casefold/whitespace collapse
# and with trailing punctuation removed.
_NO_BLOCKER_ANSWERS = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        "—",
        "–",
        "no",
        "nope",
        "nah",
        "none",
        "none so far",
        "none today",
        "none at the moment",
        "none atm",
        "n/a",
        "na",
        "nil",
        "nothing",
        "nothing today",
        "nothing so far",
        "nothing blocking",
        "nothing blocking me",
        "no blocker",
        "no blockers",
        "no blockers today",
        "no blocks",
        "no impediments",
        "no issues",
        "not blocked",
        "not really",
        "all good",
        "👍",
        ":+1:",
        ":thumbsup:",
    }
)
_TRAILING_PUNCTUATION = ".!?,;:…)( "


@dataclass(frozen=True)
class ParticipantStatus:
    """Where one participant's prompt stands for this run (see :data:`STATES`)."""

    user_id: str
    state: str
    # Answered after the run closed (allowed until the standup's next run starts).
    late: bool = False


@dataclass(frozen=True)
class AnswerEntry:
    """What one participant's answers say is blocking them (the answer to the standup's
    blocker question, unless it means "nothing"), or None."""

    user_id: str
    blocker: str | None


@dataclass(frozen=True)
class OngoingBlocker:
    """A blocker raised before this run and still open, with its age ("for 3 days")."""

    user_id: str
    text: str
    age_text: str


@dataclass(frozen=True)
class Digest:
    """Participants grouped for the summary, each list in the run's participant order."""

    answered: list[str]
    waiting: list[str]
    skipped: list[str]
    missed: list[str]
    blockers: list[tuple[str, str]]
    # Answered after the close: listed apart once the run is final, never as "didn't answer".
    late: list[str] = field(default_factory=list)
    # Out of office or on a public holiday: not asked, so neither waited on nor missing.
    away: list[str] = field(default_factory=list)
    # Raised in an earlier run and still open (not repeated in this run's answers).
    ongoing: list[OngoingBlocker] = field(default_factory=list)


def is_no_blocker(answer: str) -> bool:
    """True for answers like "none", "No.", "n/a" or "-" that should not be listed as blockers."""
    normalised = " ".join(answer.casefold().split()).rstrip(_TRAILING_PUNCTUATION).strip()
    return normalised in _NO_BLOCKER_ANSWERS


def build_digest(
    statuses: list[ParticipantStatus],
    entries: list[AnswerEntry],
    *,
    final: bool,
    ongoing: Sequence[OngoingBlocker] = (),
) -> Digest:
    """Group participants for the summary and collect real blockers, in participant order.

    Before the close, people who have not answered yet are "waiting"; once the run is final
    they count as having missed it. Missed/failed prompts always count as missed; away and
    holiday ones are "away" before and after the close; unknown states are left out.
    Blockers only come from participants whose state is "answered".
    Once final, an answer given after the close is "late" (its blockers still count).
    `ongoing` blockers (open since an earlier run) are kept unless someone said the same one
    again in this run: then it is listed once, as theirs in this run.
    """
    answered: list[str] = []
    late: list[str] = []
    waiting: list[str] = []
    skipped: list[str] = []
    missed: list[str] = []
    away: list[str] = []
    seen: set[str] = set()
    seen_order: list[str] = []
    for status in statuses:
        if status.user_id in seen:
            continue
        seen.add(status.user_id)
        seen_order.append(status.user_id)
        if status.state == "answered":
            (late if final and status.late else answered).append(status.user_id)
        elif status.state == "skipped":
            skipped.append(status.user_id)
        elif status.state in _NOT_YET:
            (missed if final else waiting).append(status.user_id)
        elif status.state in _GAVE_UP:
            missed.append(status.user_id)
        elif status.state in AWAY_STATES:
            away.append(status.user_id)

    # If a user somehow has several entries, the latest one wins.
    by_user = {entry.user_id: entry for entry in entries}
    blockers: list[tuple[str, str]] = []
    reported = set(answered) | set(late)
    for user_id in (u for u in seen_order if u in reported):
        entry = by_user.get(user_id)
        if entry is not None and entry.blocker:
            blockers.append((user_id, entry.blocker))

    said_again = set(blockers)
    return Digest(
        answered=answered,
        waiting=waiting,
        skipped=skipped,
        missed=missed,
        blockers=blockers,
        late=late,
        away=away,
        ongoing=[b for b in ongoing if (b.user_id, b.text) not in said_again],
    )


def nobody_asked(states: list[str]) -> bool:
    """A run in which everyone was away or on holiday (and so nobody was asked)."""
    return bool(states) and all(state in AWAY_STATES for state in states)
