"""The report use case (bot.reports) on both databases: numbers on a seeded history, worked out
by hand from the inputs; who sees what; another workspace's standup; a fixed number of SQL
statements whatever the period or the number of people; and the Slack rendering of 100 people
within Block Kit's limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

import pytest
from sqlalchemy import event

from bot import reports
from bot.outcomes import Refusal, StandupReport
from bot.people import Caller
from bot.rules.permissions import Actor, Why
from bot.rules.reports import MoodTrend, Outcome
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views.reports import report_message, report_modal
from storage.db import Database
from storage.migrate import upgrade_to_head
from tests.blockkit_limits import validate_message_blocks, validate_view
from tests.history_seed import Entry, Seeded, add_blocker, add_day, seed_standup

TEAM, OTHER_TEAM = "T0HOME001", "T0OTHER01"
ALICE, BOB, CAROL, ADMIN, STRANGER = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ADMIN01", "U0STRANGE"
# Friday 13 March 2026, noon in Berlin (the standup's fixed zone).
NOW = dt.datetime(2026, 3, 13, 11, 0, tzinfo=dt.UTC)
A, L, S, W, H, M, U = (
    Outcome.ANSWERED,
    Outcome.LATE,
    Outcome.SKIPPED,
    Outcome.AWAY,
    Outcome.HOLIDAY,
    Outcome.MISSED,
    Outcome.UNDELIVERABLE,
)


def day(d: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, d)


# Each person's outcomes (and moods) by local date: the history every test below reads.
HISTORY: dict[dt.date, dict[str, Entry]] = {
    day(2, 2): {ALICE: Entry(A, 1), BOB: Entry(A)},  # before any 30-day window ending 13 March
    day(2): {ALICE: Entry(A, 2), BOB: Entry(M)},
    day(3): {ALICE: Entry(A, 3), BOB: Entry(M)},
    day(4): {ALICE: Entry(L, 3), BOB: Entry(A, 1)},
    day(5): {ALICE: Entry(M), BOB: Entry(A, 2)},
    day(6): {ALICE: Entry(A, 4), BOB: Entry(A)},
    day(9): {ALICE: Entry(A, 4), BOB: Entry(L)},
    day(10): {ALICE: Entry(W), BOB: Entry(A)},
    day(11): {ALICE: Entry(A, 5), BOB: Entry(H)},
    day(12): {ALICE: Entry(S), BOB: Entry(A)},
    day(13): {ALICE: Entry(A, 5), BOB: Entry(U)},
}


@dataclass
class World:
    services: Services
    seeded: Seeded
    other: Seeded

    def caller(self, user: str, *, admin: bool = False, other: bool = False) -> Caller:
        workspace = self.other.workspace_id if other else self.seeded.workspace_id
        return Caller.known(workspace, Actor(user, admin))


def _services(database_url: str, db: Database) -> Services:
    settings = load_settings(
        slack_signing_secret="s" * 32,
        slack_bot_token="xoxb-never-called",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no Slack call may happen
        database_url=database_url,
        _env_file=None,
    )
    return Services(
        settings=settings, db=db, slack=SlackGateway(settings, None, db), clock=lambda: NOW
    )


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    services = _services(database_url, db)
    created = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    profiles = {u: (u.lower(), "Europe/Berlin", u == ADMIN) for u in (ALICE, BOB, CAROL, ADMIN)}
    seeded = await seed_standup(
        db,
        TEAM,
        name="Daily",
        owner=ALICE,
        participants=[ALICE, BOB, CAROL],
        created=created,
        profiles=profiles,
    )
    other = await seed_standup(
        db, OTHER_TEAM, name="Daily", owner=STRANGER, participants=[STRANGER], created=created
    )
    for date, entries in HISTORY.items():
        await add_day(db, seeded, date, entries)
    await add_blocker(db, seeded, ALICE, "CI is red", day(10))
    await add_blocker(db, seeded, BOB, "waiting on <legal> & @channel", day(6))
    await add_blocker(db, seeded, BOB, "old, fixed", day(2), resolved=True)
    try:
        yield World(services, seeded, other)
    finally:
        await services.slack.close()
        await db.dispose()


async def report_of(
    world: World, caller: Caller, which: str | int = "Daily", days: int = 30
) -> StandupReport:
    outcome = await reports.report(world.services, caller, which, reports.LastDays(days))
    assert isinstance(outcome, StandupReport), outcome
    return outcome


# --- the numbers ---------------------------------------------------------------------------------


async def test_thirty_days_per_person_and_overall(world: World) -> None:
    outcome = await report_of(world, world.caller(ALICE))
    assert (outcome.start, outcome.end, outcome.days) == (day(12, 2), day(13), 30)
    assert outcome.scope == "everyone"
    people = {p.person: p for p in outcome.report.people}
    assert list(people) == [ALICE, BOB, CAROL]  # every participant, by user id

    alice = people[ALICE]
    # 2..13 March: answered 2,3,6,9,11,13; late 4; missed 5; away 10; skipped 12.
    assert (alice.counts[A], alice.counts[L], alice.counts[M], alice.counts[W]) == (6, 1, 1, 1)
    assert alice.counts[S] == 1 and alice.total == 10
    assert alice.participation_rate == pytest.approx(7 / 9)  # away never counts
    # A A L | M | A A (away) A | S | A: the current streak is 1, the longest 3.
    assert (alice.current_streak, alice.longest_streak) == (1, 3)
    assert alice.mood_average == pytest.approx((2 + 3 + 3 + 4 + 4 + 5 + 5) / 7)
    assert alice.mood_trend == MoodTrend.UP

    bob = people[BOB]
    # missed 2,3; answered 4,5,6,10,12; late 9; holiday 11; undeliverable 13.
    assert (bob.counts[A], bob.counts[L], bob.counts[M], bob.counts[H], bob.counts[U]) == (
        5,
        1,
        2,
        1,
        1,
    )
    assert bob.participation_rate == pytest.approx(6 / 8)
    # From the 4th on nothing breaks his streak (holiday and undeliverable are neutral).
    assert (bob.current_streak, bob.longest_streak) == (6, 6)
    assert bob.mood_average == pytest.approx(1.5)
    assert bob.mood_trend is None  # two moods: too few for a trend

    carol = people[CAROL]
    assert carol.total == 0 and carol.participation_rate is None

    overall = outcome.report.overall
    assert overall.total == 20
    assert overall.counts[A] == 11 and overall.counts[L] == 2 and overall.counts[M] == 3
    assert overall.participation_rate == pytest.approx(13 / 17)
    assert overall.mood_average == pytest.approx(29 / 9)
    # Least squares over (days since 2 March, mood): n=9, Σx=39, Σy=29, Σx²=285, Σxy=161,
    # slope 318/1044, times the 11-day span: +3.35 points, far above the 0.5 dead band.
    assert Fraction(9 * 161 - 39 * 29, 9 * 285 - 39 * 39) * 11 > Fraction(1, 2)
    assert overall.mood_trend == MoodTrend.UP


async def test_seven_days_and_ninety(world: World) -> None:
    week = await report_of(world, world.caller(ALICE), days=7)
    assert (week.start, week.end) == (day(7), day(13))
    people = {p.person: p for p in week.report.people}
    # Alice 9 A, 10 away, 11 A, 12 S, 13 A.
    assert (people[ALICE].counts[A], people[ALICE].counts[S], people[ALICE].total) == (3, 1, 5)
    assert people[ALICE].participation_rate == pytest.approx(3 / 4)
    assert (people[ALICE].current_streak, people[ALICE].longest_streak) == (1, 2)
    assert people[ALICE].mood_average == pytest.approx(14 / 3)
    # Bob 9 L, 10 A, 11 holiday, 12 A, 13 undeliverable.
    assert people[BOB].participation_rate == 1.0
    assert (people[BOB].current_streak, people[BOB].longest_streak) == (3, 3)

    quarter = await report_of(world, world.caller(ALICE), days=90)
    assert quarter.start == day(14, 12).replace(year=2025)
    assert quarter.report.overall.total == 22  # the 2 February records too


async def test_open_blockers_with_their_age(world: World) -> None:
    outcome = await report_of(world, world.caller(ALICE))
    ages = [
        (b.user_id, b.text, b.opened_on, b.days_open, b.working_days_open, b.age_text)
        for b in outcome.blockers
    ]
    # Oldest first; the resolved one is not listed. Friday 6 → Friday 13: 7 days, 5 working
    # days (Mon–Fri); Tuesday 10 → Friday 13: 3 days, 3 working days.
    assert ages == [
        (BOB, "waiting on <legal> & @channel", day(6), 7, 5, "for 7 days"),
        (ALICE, "CI is red", day(10), 3, 3, "for 3 days"),
    ]


# --- who sees what -------------------------------------------------------------------------------


async def test_owners_and_admins_see_everyone_participants_their_own_line(world: World) -> None:
    owner = await report_of(world, world.caller(ALICE))
    admin = await report_of(world, world.caller(ADMIN, admin=True))
    assert admin.scope == "everyone"
    assert admin.report == owner.report and admin.blockers == owner.blockers

    bob = await report_of(world, world.caller(BOB))
    assert bob.scope == "own"
    assert bob.report.people == [p for p in owner.report.people if p.person == BOB]
    assert bob.report.overall == owner.report.overall  # everyone's records, together
    assert [b.user_id for b in bob.blockers] == [BOB]

    carol = await report_of(world, world.caller(CAROL))
    assert [(p.person, p.total) for p in carol.report.people] == [(CAROL, 0)]


async def test_others_are_refused_and_private_standups_are_not_found(world: World) -> None:
    public = await reports.report(
        world.services, world.caller(STRANGER), "Daily", reports.LastDays(30)
    )
    assert public == Refusal(Why.NOT_REPORT_READER, "Daily")
    async with world.services.db.session() as session:
        from storage.models import Standup

        standup = await session.get(Standup, world.seeded.standup_id)
        assert standup is not None
        standup.channel_private = True
    private = await reports.report(
        world.services, world.caller(STRANGER), "daily", reports.LastDays(30)
    )
    assert private == Refusal(Why.NO_SUCH_STANDUP, "daily")  # not even a hint it exists
    by_id = await reports.report(
        world.services, world.caller(STRANGER), world.seeded.standup_id, reports.LastDays(30)
    )
    assert by_id == Refusal(Why.STANDUP_GONE)


async def test_another_workspaces_standup_is_unknown(world: World) -> None:
    # The other workspace has a "Daily" of its own; its admin never reaches ours, by name or id.
    stranger = world.caller(STRANGER, admin=True, other=True)
    theirs = await report_of(world, stranger)
    assert theirs.standup_id == world.other.standup_id
    assert [p.person for p in theirs.report.people] == [STRANGER]
    assert theirs.report.overall.total == 0
    by_id = await reports.report(
        world.services, stranger, world.seeded.standup_id, reports.LastDays(30)
    )
    assert by_id == Refusal(Why.STANDUP_GONE)
    nothing = await reports.report(
        world.services, world.caller(ADMIN, admin=True, other=True), "Nope", reports.LastDays(7)
    )
    assert nothing == Refusal(Why.NO_SUCH_STANDUP, "Nope")


async def test_every_standup_at_once_keeps_each_scope(world: World) -> None:
    """Without a standup (the API's /reports): Bob's own line, everyone's overall."""
    whole = reports.Between(day(1), day(31))
    bob = await reports.report(world.services, world.caller(BOB), None, whole)
    assert isinstance(bob, StandupReport) and bob.scope == "own"
    assert [p.person for p in bob.report.people] == [BOB]
    assert bob.report.overall.total == 20
    stranger = await reports.report(world.services, world.caller(STRANGER), None, whole)
    assert isinstance(stranger, StandupReport)
    assert stranger.report.people == [] and stranger.report.overall.total == 0


# --- a fixed number of statements -------------------------------------------------------------


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_statement_count_does_not_grow_with_the_period_or_the_team(
    world: World,
) -> None:
    counts = {}
    for days in (7, 90):
        with counting(world.services.db) as statements:
            await report_of(world, world.caller(ALICE), days=days)
        counts[days] = len(statements)
    # A bigger team with a longer history: 40 people × 60 days.
    db = world.services.db
    people = [f"U0BIG{n:04d}" for n in range(40)]
    big = await seed_standup(
        db, TEAM, name="Big", owner=ALICE, participants=people, created=NOW, co_owners=[]
    )
    for offset in range(60):
        date = day(13) - dt.timedelta(days=offset)
        await add_day(db, big, date, {p: Entry(A, 3) for p in people})
    with counting(db) as statements:
        outcome = await report_of(world, world.caller(ALICE), "Big", days=90)
    assert outcome.report.overall.total == 40 * 60
    # The standup, its participants, its owners, the caller's zone (not needed: the standup
    # has a fixed one), the records, the open blockers.
    assert counts[7] == counts[90] == len(statements) <= 5, statements


# --- in Slack -----------------------------------------------------------------------------------


async def test_a_hundred_people_fit_in_a_message_and_a_modal(world: World) -> None:
    db = world.services.db
    people = [f"U0P{n:06d}" for n in range(100)]
    team = await seed_standup(
        db, TEAM, name="Everyone <here>", owner=ALICE, participants=people, created=NOW
    )
    moods = [1, 2, 3, 4, 5]
    for offset in range(20):
        date = day(13) - dt.timedelta(days=offset)
        entries = {
            p: Entry([A, L, S, M, W][(i + offset) % 5], moods[(i * offset) % 5])
            for i, p in enumerate(people)
        }
        await add_day(db, team, date, entries)
    for n, person in enumerate(people[:30]):
        await add_blocker(db, team, person, f"blocked by <!channel> #{n} " + "x" * 400, day(1))
    outcome = await report_of(world, world.caller(ALICE), "Everyone <here>", days=30)
    message = report_message(outcome)
    assert validate_message_blocks(message["blocks"]) == []
    text = str(message["blocks"])
    assert all(f"<@{p}>" in text for p in people)  # every line is there
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # user text is escaped
    assert "Everyone &lt;here&gt;" in text
    assert "… and 10 more" in text  # blockers beyond 20 are counted, not listed
    assert validate_view(report_modal(outcome)) == []
