"""App Home's use case (bot.home) on both databases: what one person's home shows — today's
check-ins and their state, open blockers, their standups with what they may do — from seeded
rows; a fixed number of statements whatever the number of standups, prompts or blockers;
which homes a change marks out of date and how the scheduler claims them; and the view,
escaped and within Block Kit's limits however long the lists."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from bot import home
from bot.outcomes import Attendance, HolidayCalendars, Home, HomeBlocker, HomePrompt, HomeStandup
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views.home import home_view
from storage import attendance as attendance_db
from storage import home as home_rows
from storage.db import Database
from storage.home import PromptRow
from storage.migrate import upgrade_to_head
from storage.models import Prompt, PromptState, Run, RunState, Standup
from tests.blockkit_limits import validate_view
from tests.harness import BOT_TOKEN
from tests.history_seed import QUESTIONS, Seeded, add_blocker, seed_standup
from tests.slack_fake import FakeSlack
from tests.test_blocks import EVIL, injection_problems, mrkdwn_texts
from tests.test_report_usecase import _services, counting

TEAM, OTHER_TEAM = "T0HOME001", "T0OTHER01"
ALICE, BOB, CAROL, ADMIN = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ADMIN01"
# Friday 13 March 2026, noon in Berlin (every standup's fixed zone, and everyone's own).
NOW = dt.datetime(2026, 3, 13, 11, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 13)
CREATED = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
PROFILES = {u: (u.lower(), "Europe/Berlin", u == ADMIN) for u in (ALICE, BOB, CAROL, ADMIN)}


async def add_run(
    db: Database,
    seeded: Seeded,
    day: dt.date,
    states: dict[str, PromptState],
    *,
    open_: bool,
    hour: int = 8,
) -> int:
    """A run on `day` (open or closed) with one prompt per person in the given state."""
    due = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)
    async with db.session() as session:
        run = Run(
            workspace_id=seeded.workspace_id,
            standup_id=seeded.standup_id,
            local_date=day,
            questions=list(QUESTIONS),
            channel_id="C0TEAM0001",
            state=RunState.OPEN if open_ else RunState.CLOSED,
            close_at=due + dt.timedelta(hours=4),
            closed_at=None if open_ else due + dt.timedelta(hours=4),
        )
        session.add(run)
        await session.flush()
        for user, state in states.items():
            sent = state not in (PromptState.PENDING, PromptState.AWAY, PromptState.HOLIDAY)
            session.add(
                Prompt(
                    workspace_id=seeded.workspace_id,
                    run_id=run.id,
                    standup_id=seeded.standup_id,
                    member_id=seeded.members[user],
                    local_date=day,
                    due_at=due,
                    state=state,
                    sent_at=due if sent else None,
                )
            )
        return run.id


@dataclass
class World:
    services: Services
    db: Database
    daily: Seeded
    weekly: Seeded
    retro: Seeded
    other: Seeded
    daily_today: int


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    services = _services(database_url, db)
    services.clock = lambda: NOW
    daily = await seed_standup(
        db,
        TEAM,
        name="Daily <core> & co",
        owner=ALICE,
        participants=[ALICE, BOB, CAROL],
        created=CREATED,
        profiles=PROFILES,
    )
    weekly = await seed_standup(
        db, TEAM, name="Weekly", owner=BOB, participants=[ALICE], created=CREATED
    )
    retro = await seed_standup(
        db, TEAM, name="Retro", owner=CAROL, participants=[BOB, ADMIN], created=CREATED
    )
    # Today's Daily is open: Alice waits, Bob answered, Carol is away.
    S = PromptState
    daily_today = await add_run(
        db, daily, TODAY, {ALICE: S.SENT, BOB: S.ANSWERED, CAROL: S.AWAY}, open_=True
    )
    # Yesterday's Daily closed and Alice missed it; today's has started, so no late answer.
    await add_run(db, daily, TODAY - dt.timedelta(days=1), {ALICE: S.SENT}, open_=False)
    # Yesterday's Weekly closed unanswered: late answers stay possible (no later run yet).
    await add_run(db, weekly, TODAY - dt.timedelta(days=1), {ALICE: S.SENT}, open_=False, hour=7)
    # Long ago: never on a home.
    await add_run(db, daily, TODAY - dt.timedelta(days=20), {ALICE: S.SENT}, open_=False)
    await add_blocker(db, daily, ALICE, "CI is red <!here> & stuck", TODAY - dt.timedelta(days=3))
    await add_blocker(
        db, daily, ALICE, "fixed already", TODAY - dt.timedelta(days=5), resolved=True
    )
    await add_blocker(db, daily, BOB, "Bob's own", TODAY)
    async with db.session() as session:
        await attendance_db.add_away_period(
            session,
            daily.workspace_id,
            daily.members[ALICE],
            TODAY + dt.timedelta(days=10),
            TODAY + dt.timedelta(days=12),
            set_by=ALICE,
            now=NOW,
        )
    # Another workspace where the same user ids exist: never on these homes.
    other = await seed_standup(
        db, OTHER_TEAM, name="Theirs", owner=ALICE, participants=[ALICE, BOB], created=CREATED
    )
    try:
        yield World(services, db, daily, weekly, retro, other, daily_today)
    finally:
        await services.slack.close()
        await db.dispose()


async def home_of(world: World, user: str, team_seeded: Seeded | None = None) -> Home:
    workspace_id = (team_seeded or world.daily).workspace_id
    async with world.db.session() as session:
        return await home.home_for(session, workspace_id, user, NOW)


def statuses(shown: Home) -> list[tuple[str, dt.date, str]]:
    return [(p.standup_name, p.local_date, p.status) for p in shown.prompts]


def standups(shown: Home) -> list[tuple[str, bool, bool, bool]]:
    return [(s.name, s.participant, s.manage, s.active) for s in shown.standups]


async def test_a_home_shows_todays_checkins_blockers_and_standups(world: World) -> None:
    alice = await home_of(world, ALICE)
    yesterday = TODAY - dt.timedelta(days=1)
    assert alice.today == TODAY
    assert statuses(alice) == [
        ("Weekly", yesterday, "late"),
        ("Daily <core> & co", TODAY, "open"),
    ]
    assert alice.blockers == [
        HomeBlocker("Daily <core> & co", "CI is red <!here> & stuck", "for 3 days")
    ]
    assert alice.more_blockers == 0
    # She owns Daily (all buttons) and takes part in Weekly (Bob's); Retro isn't hers.
    assert standups(alice) == [
        ("Daily <core> & co", True, True, True),
        ("Weekly", True, False, True),
    ]
    daily = alice.standups[0]
    # Her next prompt: Monday 16 March, 09:00 in Berlin.
    assert daily.next_run == dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC)
    assert alice.attendance.away == [(TODAY + dt.timedelta(days=10), TODAY + dt.timedelta(days=12))]
    assert not alice.reminders_off

    bob = await home_of(world, BOB)
    assert statuses(bob) == [("Daily <core> & co", TODAY, "answered")]
    assert [b.text for b in bob.blockers] == ["Bob's own"]
    # He owns Weekly without taking part in it.
    assert standups(bob) == [
        ("Daily <core> & co", True, False, True),
        ("Retro", True, False, True),
        ("Weekly", False, True, True),
    ]
    assert statuses(await home_of(world, CAROL)) == [("Daily <core> & co", TODAY, "away")]
    # A workspace admin may manage every standup on their home.
    assert standups(await home_of(world, ADMIN)) == [("Retro", True, True, True)]
    # Someone AsyncStand has never met: an empty home, no error.
    stranger = await home_of(world, "U0NOBODY1")
    assert (stranger.prompts, stranger.standups, stranger.blockers) == ([], [], [])


async def test_a_home_reads_only_its_own_workspace(world: World) -> None:
    theirs = await home_of(world, ALICE, world.other)
    assert [s.name for s in theirs.standups] == ["Theirs"]
    assert (theirs.prompts, theirs.blockers) == ([], [])


async def test_a_paused_standup_has_no_next_run(world: World) -> None:
    async with world.db.session() as session:
        await session.execute(
            update(Standup).where(Standup.id == world.weekly.standup_id).values(active=False)
        )
    [_, weekly] = (await home_of(world, ALICE)).standups
    assert (weekly.name, weekly.active, weekly.next_run) == ("Weekly", False, None)


async def test_the_statement_count_does_not_grow_with_standups_prompts_or_blockers(
    world: World,
) -> None:
    async def count() -> int:
        with counting(world.db) as statements:
            await home_of(world, ALICE)
        return len(statements)

    before = await count()
    assert before <= 9
    for n in range(6):
        more = await seed_standup(
            world.db,
            TEAM,
            name=f"Extra {n}",
            owner=ALICE,
            participants=[ALICE, BOB],
            created=CREATED,
        )
        await add_run(world.db, more, TODAY, {ALICE: PromptState.SENT}, open_=True)
        await add_run(
            world.db, more, TODAY - dt.timedelta(days=1), {ALICE: PromptState.SENT}, open_=False
        )
        await add_blocker(world.db, more, ALICE, f"blocker {n}", TODAY)
    shown = await home_of(world, ALICE)
    assert len(shown.standups) == 8 and len(shown.blockers) == 7
    # Each extra's closed run of yesterday is followed by today's: missed, so not listed.
    assert sorted(p.status for p in shown.prompts) == ["late"] + ["open"] * 7
    assert await count() == before


async def test_only_opened_homes_are_marked_and_each_is_claimed_once(world: World) -> None:
    services, workspace_id = world.services, world.daily.workspace_id
    async with world.db.session() as session:
        await home_rows.mark_runs_stale(session, workspace_id, [world.daily_today], NOW)
        assert await home_rows.claim_stale(session, 10) == []  # nobody ever opened a home
    shown = await home.opened(services, workspace_id, ALICE)
    assert shown.user_id == ALICE
    await home.opened(services, workspace_id, CAROL)
    async with world.db.session() as session:
        assert await home_rows.mark_runs_stale(session, workspace_id, [world.daily_today], NOW) == 2
        # Pausing Retro concerns Bob, Admin and Carol (its owner): only Carol opened hers.
        assert (
            await home_rows.mark_standup_stale(session, workspace_id, world.retro.standup_id, NOW)
            == 1
        )
    async with world.db.session() as session:
        first = await home_rows.claim_stale(session, 1)
    async with world.db.session() as session:
        rest = await home_rows.claim_stale(session, 10)
        again = await home_rows.claim_stale(session, 10)
    assert sorted(first + rest) == [(workspace_id, ALICE), (workspace_id, CAROL)]
    assert len(first) == 1 and again == []
    # Drawing a home (e.g. after a click on it) clears its mark.
    async with world.db.session() as session:
        await home_rows.mark_members_stale(session, workspace_id, [world.daily.members[ALICE]], NOW)
    await home.current(services, workspace_id, ALICE)
    async with world.db.session() as session:
        assert await home_rows.claim_stale(session, 10) == []


async def test_homes_not_reached_within_the_budget_wait_for_the_next_tick(world: World) -> None:
    services, workspace_id = world.services, world.daily.workspace_id
    for user in (ALICE, BOB):
        await home.opened(services, workspace_id, user)
    async with world.db.session() as session:
        await home_rows.mark_runs_stale(session, workspace_id, [world.daily_today], NOW)
    assert await home.republish_stale(services, budget=-1.0) == 0
    async with world.db.session() as session:
        again = await home_rows.claim_stale(session, 10)
    assert sorted(again) == [(workspace_id, ALICE), (workspace_id, BOB)]


def test_a_closed_checkin_offers_an_answer_only_until_the_next_run_starts() -> None:
    def row(state: PromptState, *, run_open: bool) -> PromptRow:
        return PromptRow(1, 1, "Daily", TODAY, state, NOW, False, run_open)

    tomorrow = TODAY + dt.timedelta(days=1)
    cases = [
        (PromptState.SENT, True, None, "open"),
        (PromptState.SENT, False, None, "late"),
        (PromptState.SENT, False, TODAY, "late"),
        (PromptState.SENT, False, tomorrow, "missed"),
        (PromptState.SKIPPED, True, tomorrow, "skipped"),
        (PromptState.SKIPPED, False, None, "skipped"),
        (PromptState.SKIPPED, False, tomorrow, "skipped_closed"),
        (PromptState.PENDING, True, None, "upcoming"),
        (PromptState.ANSWERED, False, tomorrow, "answered"),
        (PromptState.FAILED, True, None, "failed"),
    ]
    for state, run_open, later, expected in cases:
        assert home._status(row(state, run_open=run_open), later) == expected, (state, later)


# --- the view ------------------------------------------------------------------------------------

SLACK_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>]*>")


def _safe(view: dict[str, object]) -> None:
    assert validate_view(view) == []
    for text in mrkdwn_texts(view["blocks"]):
        assert injection_problems(SLACK_DATE.sub("", text)) == [], text


def _big_home(count: int) -> Home:
    due = NOW - dt.timedelta(hours=1)
    kinds = ["open", "answered", "skipped", "late", "missed", "upcoming", "away", "holiday"]
    return Home(
        user_id=ALICE,
        today=TODAY,
        prompts=[
            HomePrompt(n, n, f"{EVIL} {n}", TODAY, kinds[(n - 1) % len(kinds)], due)
            for n in range(1, count + 1)
        ],
        blockers=[HomeBlocker(EVIL, EVIL * 20, "for 3 days") for _ in range(count)],
        more_blockers=5,
        standups=[
            HomeStandup(
                n, f"{EVIL} {n}", "C0TEAM0001", "Mon–Fri 09:00", n % 2 == 0, due, True, True
            )
            for n in range(1, count + 1)
        ],
        reminders_off=True,
        attendance=Attendance([(TODAY, TODAY)], HolidayCalendars("DE-BY", [])),
    )


def test_the_home_view_stays_within_limits_and_escapes_user_text() -> None:
    for count in (0, 1, 40):
        view = home_view(_big_home(count))
        _safe(view)
        assert len(view["blocks"]) <= 100
    text = json.dumps(home_view(_big_home(40)), ensure_ascii=False)
    assert "…and 25 more" in text and "…and 20 more" in text and "…and 5 more" in text
    shown = " ".join(mrkdwn_texts(home_view(_big_home(40))["blocks"]))
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown


def test_each_checkin_state_offers_the_prompts_own_button() -> None:
    view = home_view(_big_home(8))
    buttons = {
        e["action_id"] + ":" + e["text"]["text"]: e["value"]
        for b in view["blocks"]
        for e in [b.get("accessory") or {}]
        if e.get("type") == "button" and e["action_id"].startswith("prompt_")
    }
    # Same ids and value (the prompt id) as the DM's buttons: the same listener opens the form.
    assert buttons == {
        "prompt_answer:Answer": "1",
        "prompt_edit:Edit": "2",
        "prompt_answer:Answer anyway": "3",
        "prompt_answer:Answer late": "4",
    }
    actions = [b for b in view["blocks"] if b["type"] == "actions"]
    paused = [e["action_id"] for e in actions[0]["elements"]]  # standup 1 is paused
    running = [e["action_id"] for e in actions[1]["elements"]]
    assert paused == ["home_run", "home_resume", "home_edit", "home_report"]
    assert running == ["home_run", "home_pause", "home_edit", "home_report"]


def test_a_standup_one_may_not_manage_offers_only_its_report() -> None:
    due = NOW + dt.timedelta(days=1)
    shown = _big_home(0)
    shown = Home(
        **{
            **shown.__dict__,
            "standups": [HomeStandup(7, "Weekly", "C0X", "Mondays", True, due, True, False)],
        }
    )
    view = home_view(shown)
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [("home_report", "7")]


async def test_homes_slack_could_not_take_are_drawn_again_next_tick(world: World) -> None:
    services, workspace_id = world.services, world.daily.workspace_id
    for user in (ALICE, BOB):
        await home.opened(services, workspace_id, user)
    async with world.db.session() as session:
        await home_rows.mark_runs_stale(session, workspace_id, [world.daily_today], NOW)
    # This world's Slack address answers nothing (a network failure): both wait for a retry.
    assert await home.republish_stale(services) == 0
    async with world.db.session() as session:
        again = await home_rows.claim_stale(session, 10)
    assert sorted(again) == [(workspace_id, ALICE), (workspace_id, BOB)]


async def test_a_home_slack_will_never_draw_is_not_tried_again(
    world: World, database_url: str
) -> None:
    workspace_id = world.daily.workspace_id
    async with FakeSlack() as slack:
        for user in (ALICE, BOB):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        settings = load_settings(
            slack_signing_secret="s" * 32,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.api_url,
            database_url=database_url,
            _env_file=None,
        )
        services = Services(
            settings=settings, db=world.db, slack=SlackGateway(settings, None, world.db)
        )
        services.clock = lambda: NOW
        try:
            for user in (ALICE, BOB):
                await home.opened(services, workspace_id, user)
            async with world.db.session() as session:
                await home_rows.mark_runs_stale(session, workspace_id, [world.daily_today], NOW)
            slack.fail_next("views.publish", error="user_not_found", status=200)
            assert await home.republish_stale(services) == 1  # the other one was drawn
            assert len(slack.calls_to("views.publish")) == 2
            async with world.db.session() as session:
                assert await home_rows.claim_stale(session, 10) == []
        finally:
            await services.slack.close()
