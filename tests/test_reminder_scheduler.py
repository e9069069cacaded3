"""The automatic reminder as the scheduler sends it, driven by the injected clock on both
databases with the Slack stand-in: once per run to each person who has neither answered nor
skipped, halfway through their window by default or N minutes before the close, never when
off (for the standup or for the person), following a close that moves later, retried when
Slack refuses it for now; `/standup remind` and its ten-minute limit; two workers at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import attendance, checkins, reminders
from bot.outcomes import Nudged, Refusal
from bot.people import Caller
from bot.rules.permissions import Actor, Why
from bot.runtime import Services
from scheduler.worker import Worker
from storage.db import Database
from storage.models import Member, Run, Standup
from tests.harness import Clock
from tests.slack_fake import Call, FakeSlack
from tests.test_scheduler import (
    ALICE,
    BOB,
    CAROL,
    DAY,
    prompt_rows,
    prompted,
    seed_standup,
    set_clock,
    tick_at,
    utc,
    worker_for,
)

BERLIN = "Europe/Berlin"
DUE = utc(DAY, 8)  # 09:00 in Berlin (winter)
SENT = DUE + dt.timedelta(seconds=5)  # when the first tick sends the prompts


def near(instant: dt.datetime | None, expected: dt.datetime) -> bool:
    """Within a second: the injected clock keeps running from where a test set it."""
    return instant is not None and abs(instant - expected) < dt.timedelta(seconds=1)


def is_reminder(call: Call) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.ok
        and str(call.body.get("channel", "")).startswith("D")
        and "reminder_answer" in json.dumps(call.body.get("blocks"))
    )


def reminded(slack: FakeSlack) -> list[str]:
    """Who got a reminder DM, in order."""
    return ["U" + c.body["channel"][1:] for c in slack.calls if is_reminder(c)]


async def berlin_standup(
    database_url: str, slack: FakeSlack, people: list[str], **config: Any
) -> None:
    """A standup "Daily" at 09:00 Berlin for `people` (the first one owns it), with these
    settings."""
    for user in people:
        slack.add_user(user, user.lower(), tz=BERLIN)
    await seed_standup(
        database_url, slack, participants=people, schedule_from=utc(DAY, 6), fixed_tz=BERLIN
    )
    if config:
        db = Database(database_url)
        try:
            async with db.session() as session:
                await session.execute(update(Standup).values(**config))
        finally:
            await db.dispose()


async def answer(services: Services, user: str, *, skip: bool = False) -> None:
    rows = await prompt_rows(services.db.url)
    prompt = rows[user, DAY]
    ref = checkins.PromptRef(prompt.workspace_id, user, prompt.id)
    outcome = await (
        checkins.skip(services, ref) if skip else checkins.answer(services, ref, ["x"] * 3)
    )
    assert isinstance(outcome, checkins.Skipped | checkins.Answered), outcome


async def set_reminders_off(database_url: str, user: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.execute(
                update(Member).where(Member.slack_user_id == user).values(reminders_off=True)
            )
    finally:
        await db.dispose()


async def sent_prompts(worker: Worker, clock: Clock, slack: FakeSlack, count: int) -> None:
    await tick_at(worker, clock, SENT)
    assert len(prompted(slack)) == count


# --- once, at the right time ----------------------------------------------------------------------


async def test_one_reminder_halfway_to_whoever_has_neither_answered_nor_skipped(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [CAROL, ALICE, BOB])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 3)
            await answer(worker.services, BOB)
            await answer(worker.services, CAROL, skip=True)
            # The window runs from the prompt to the close 240 minutes after it was due.
            close = DUE + dt.timedelta(minutes=240)
            row = (await prompt_rows(database_url))[ALICE, DAY]
            assert row.sent_at is not None and near(row.sent_at, SENT)
            halfway = row.sent_at + (close - row.sent_at) / 2
            assert row.remind_at == halfway

            await tick_at(worker, clock, halfway - dt.timedelta(seconds=30))
            assert reminded(slack) == []
            await tick_at(worker, clock, halfway + dt.timedelta(seconds=1))
            assert reminded(slack) == [ALICE]
            for later in (2, 30, 90, 119):
                await tick_at(worker, clock, halfway + dt.timedelta(minutes=later))
            await tick_at(worker, clock, close + dt.timedelta(seconds=5))  # closes the run
            await tick_at(worker, clock, close + dt.timedelta(minutes=5))
            assert reminded(slack) == [ALICE]

        [reminder] = [c for c in slack.calls if is_reminder(c)]
        text = json.dumps(reminder.body["blocks"])
        assert "*Daily* standup" in text and "haven't answered" in text
        assert f"<!date^{int(close.timestamp())}^" in text  # when it closes, in her own zone
        button = reminder.body["blocks"][-1]["elements"][0]
        row = (await prompt_rows(database_url))[ALICE, DAY]
        assert (button["action_id"], button["value"]) == ("reminder_answer", str(row.id))
        assert reminder.body["metadata"]["event_type"] == "asyncstand_reminder"
        assert near(row.reminded_at, halfway + dt.timedelta(seconds=1))
        assert row.remind_at is None


async def test_a_reminder_n_minutes_before_the_close(database_url: str) -> None:
    async with FakeSlack() as slack:
        await berlin_standup(
            database_url, slack, [ALICE], answer_window_minutes=120, reminder_minutes_before=30
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 1)
            due = DUE + dt.timedelta(minutes=90)
            await tick_at(worker, clock, due - dt.timedelta(minutes=1))
            assert reminded(slack) == []
            await tick_at(worker, clock, due + dt.timedelta(seconds=1))
            await tick_at(worker, clock, due + dt.timedelta(minutes=10))
            assert reminded(slack) == [ALICE]


@pytest.mark.parametrize("off_for", ["standup", "person"])
async def test_no_reminder_when_turned_off(database_url: str, off_for: str) -> None:
    async with FakeSlack() as slack:
        config = {"reminder_minutes_before": 0} if off_for == "standup" else {}
        await berlin_standup(database_url, slack, [ALICE, BOB], **config)
        if off_for == "person":
            await set_reminders_off(database_url, ALICE)
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 2)
            for hour in (9, 10, 11, 12):
                await tick_at(worker, clock, utc(DAY, hour, 30))
        rows = await prompt_rows(database_url)
        if off_for == "standup":
            assert reminded(slack) == []
            assert {p.remind_at for p in rows.values()} == {None}
        else:
            assert reminded(slack) == [BOB]
            assert rows[ALICE, DAY].reminded_at is not None  # its turn came, and went
            assert rows[ALICE, DAY].remind_at is None


async def test_no_reminder_to_someone_who_went_out_of_office_after_the_prompt(
    database_url: str,
) -> None:
    """A prompt already went out; Alice then says she is away today: she is not chased."""
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [ALICE, BOB])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 2)
            caller = Caller.known(
                (await prompt_rows(database_url))[ALICE, DAY].workspace_id,
                Actor(ALICE, is_admin=False),
            )
            outcome = await attendance.away(worker.services, caller, [DAY.isoformat()])
            assert type(outcome).__name__ == "AwayUpdated", outcome
            for hour in (9, 10, 11, 12):
                await tick_at(worker, clock, utc(DAY, hour, 30))
        assert reminded(slack) == [BOB]


async def test_turning_reminders_off_for_the_standup_later_stops_the_pending_ones(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [ALICE])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 1)
            async with worker.services.db.session() as session:
                await session.execute(update(Standup).values(reminder_minutes_before=0))
            for hour in (10, 11):
                await tick_at(worker, clock, utc(DAY, hour, 30))
        assert reminded(slack) == []


async def test_a_reminder_follows_a_close_that_moved_later(database_url: str) -> None:
    """A later participant planned after Alice's prompt went out moves the run's close: her
    reminder, due halfway to the old close, waits for halfway to the new one."""
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [ALICE])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 1)
            new_close = utc(DAY, 16)
            async with worker.services.db.session() as session:
                await session.execute(update(Run).values(close_at=new_close))
            await tick_at(worker, clock, utc(DAY, 10, 1))  # halfway to the old close
            assert reminded(slack) == []
            row = (await prompt_rows(database_url))[ALICE, DAY]
            assert row.sent_at is not None
            new_halfway = row.sent_at + (new_close - row.sent_at) / 2
            assert row.remind_at == new_halfway
            await tick_at(worker, clock, new_halfway + dt.timedelta(seconds=1))
            await tick_at(worker, clock, new_halfway + dt.timedelta(minutes=5))
            assert reminded(slack) == [ALICE]


@pytest.mark.parametrize("permanent", [False, True], ids=["for_now", "for_good"])
async def test_a_reminder_slack_refused_is_tried_again_later_unless_for_good(
    database_url: str, permanent: bool
) -> None:
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [ALICE])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await sent_prompts(worker, clock, slack, 1)
            error = "is_archived" if permanent else "internal_error"
            slack.fail_next("chat.postMessage", error=error, status=200)
            await tick_at(worker, clock, utc(DAY, 10, 1))
            assert reminded(slack) == []
            await tick_at(worker, clock, utc(DAY, 10, 5))  # not yet: five minutes on
            await tick_at(worker, clock, utc(DAY, 10, 7))
            await tick_at(worker, clock, utc(DAY, 10, 30))
        assert reminded(slack) == ([] if permanent else [ALICE])


# --- /standup remind --------------------------------------------------------------------------


async def test_a_nudge_is_the_runs_reminder_and_waits_ten_minutes(database_url: str) -> None:
    async with FakeSlack() as slack:
        await berlin_standup(database_url, slack, [CAROL, ALICE, BOB])
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            services = worker.services
            await sent_prompts(worker, clock, slack, 3)
            await answer(services, CAROL)
            workspace_id = (await prompt_rows(database_url))[CAROL, DAY].workspace_id
            owner = Caller.known(workspace_id, Actor(CAROL, is_admin=False))
            async with services.db.session() as session:
                client = await services.slack.bot_client(session, workspace_id)
            assert client is not None

            async def nudge_at(instant: dt.datetime) -> Nudged | Refusal:
                set_clock(clock, instant)
                outcome = await reminders.nudge(services, owner, "Daily")
                if isinstance(outcome, Nudged):
                    await reminders.deliver_nudges(services, client, workspace_id, outcome)
                return outcome

            first = await nudge_at(utc(DAY, 8, 30))
            assert isinstance(first, Nudged) and first.nudged == 2
            assert sorted(reminded(slack)) == [ALICE, BOB]
            nudge = next(c for c in slack.calls if is_reminder(c))
            assert f"<@{CAROL}> nudged you" in json.dumps(nudge.body["blocks"])

            refused = await nudge_at(utc(DAY, 8, 35))
            assert isinstance(refused, Refusal) and refused.why == Why.NUDGED_RECENTLY
            assert near(refused.until, utc(DAY, 8, 40))

            await answer(services, ALICE)
            second = await nudge_at(utc(DAY, 8, 41))
            assert isinstance(second, Nudged) and second.nudged == 1
            assert sorted(reminded(slack)) == [ALICE, BOB, BOB]

            # Nudged: no automatic reminder at halfway, nor later.
            for hour, minute in ((10, 1), (10, 30), (11, 59)):
                await tick_at(worker, clock, utc(DAY, hour, minute))
            assert sorted(reminded(slack)) == [ALICE, BOB, BOB]


# --- replicas -----------------------------------------------------------------------------------


async def test_two_workers_remind_each_non_answerer_once(database_url: str) -> None:
    people = [f"U0R{n:06d}" for n in range(16)]
    answerers = set(people[::4])
    async with FakeSlack() as slack:
        slack.latency = 0.005  # let the two workers' requests interleave
        await berlin_standup(database_url, slack, people, answer_window_minutes=60)
        clock = Clock()
        async with (
            worker_for(database_url, slack, clock) as first,
            worker_for(database_url, slack, clock) as second,
        ):
            for seconds in (5, 6):
                set_clock(clock, DUE + dt.timedelta(seconds=seconds))
                await asyncio.gather(first.tick(), second.tick())
            assert sorted(prompted(slack)) == sorted(people)
            for user in answerers:
                await answer(first.services, user)
            for minutes in (29, 30, 31, 32, 45):
                set_clock(clock, DUE + dt.timedelta(minutes=minutes, seconds=3))
                await asyncio.gather(first.tick(), second.tick())

        counts = {user: reminded(slack).count(user) for user in people}
        assert counts == {user: 0 if user in answerers else 1 for user in people}
        db = Database(database_url)
        try:
            async with db.session() as session:
                assert (await session.execute(select(Run.state))).scalars().all() == ["open"]
        finally:
            await db.dispose()
