"""Reminders and late answers, as use cases called directly (no HTTP, no Slack) on both
databases: `/standup remind` (who may, the ten-minute limit, who is left alone, one
transaction), each person's own setting, the automatic reminder's claim, and answering after
a run closed until the standup's next run starts.

The scheduler side (when reminders go out, once) is in tests/test_reminder_scheduler.py; over
real HTTP in tests/test_reminders_http.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from bot import checkins, reminders, standups
from bot.outcomes import Created, Nudged, OwnReminders, Refusal
from bot.rules.permissions import Why
from bot.rules.validation import StandupDraft
from bot.views import wording
from storage import members as members_db
from storage import reminders as reminder_rows
from storage import standups as standups_db
from storage.models import Member, Prompt, PromptState, Run, RunState
from tests.test_usecases import (
    ADMIN,
    NOW,
    OWNER,
    PEER,
    STRANGER,
    World,
    started_prompt,
    transactions,
    world,
)

__all__ = ["world"]  # the fixture, shared with tests/test_usecases.py


def at(world: World, instant: dt.datetime) -> None:
    """Make the use cases' clock read `instant`."""
    world.services.clock = lambda: instant


async def daily_for_three(world: World) -> dict[str, int]:
    """A standup "Daily" with OWNER, PEER and STRANGER, run now, every prompt in its DM; returns
    the prompt ids."""
    client = world.services.slack.client("xoxb-never-called")
    draft = StandupDraft(
        name="Daily",
        channel_id="C0TEAM001",
        questions=["Yesterday?", "Today?", "Blockers?"],
        participant_ids=[OWNER, PEER, STRANGER],
        weekdays=frozenset(range(5)),
        local_time="09:30",
        tz_mode="participant",
        fixed_tz=None,
    )
    created = await standups.create(world.services, client, world.caller(OWNER), draft)
    assert isinstance(created, Created)
    await standups.run_now(world.services, world.caller(OWNER), "Daily")
    ids = {}
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(Member.slack_user_id, Prompt).join(Member, Member.id == Prompt.member_id)
        )
        for user, prompt in rows:
            prompt.state, prompt.sent_at, prompt.dm_channel_id = PromptState.SENT, NOW, "D" + user
            ids[user] = prompt.id
    return ids


async def prompt_of(world: World, prompt_id: int) -> Prompt:
    async with world.services.db.session() as session:
        return (await session.execute(select(Prompt).where(Prompt.id == prompt_id))).scalar_one()


async def close_runs(world: World) -> None:
    async with world.services.db.session() as session:
        await session.execute(update(Run).values(state=RunState.CLOSED, closed_at=NOW))


# --- /standup remind ---------------------------------------------------------------------------


async def test_remind_nudges_those_waiting_and_leaves_others_alone(world: World) -> None:
    ids = await daily_for_three(world)
    services = world.services
    answered = await checkins.answer(
        services, checkins.PromptRef(world.workspace_id, OWNER, ids[OWNER]), ["a", "b", "c"]
    )
    assert isinstance(answered, checkins.Answered)
    assert await reminders.own_reminders(services, world.caller(PEER), off=True) == OwnReminders(
        True, changed=True
    )

    outcome = await reminders.nudge(services, world.caller(OWNER), "daily")
    assert outcome == Nudged(
        "Daily",
        nudged=1,
        reminders_off=1,
        just_reminded=0,
        prompt_ids=(ids[STRANGER],),
        nudged_by=OWNER,
    )
    said = wording.nudged(outcome)["text"]
    assert said.startswith("Nudged 1 person who hasn't answered *Daily* yet.")
    assert "1 person turned reminders off and was left alone." in said
    # The nudge is the run's reminder: no automatic one follows.
    nudged = await prompt_of(world, ids[STRANGER])
    assert (nudged.reminded_at, nudged.remind_at) == (NOW, None)
    assert (await prompt_of(world, ids[PEER])).reminded_at is None


async def test_a_second_remind_within_ten_minutes_is_refused_with_when(world: World) -> None:
    await daily_for_three(world)
    services = world.services
    first = await reminders.nudge(services, world.caller(OWNER), "Daily")
    assert isinstance(first, Nudged) and first.nudged == 3
    assert wording.nudged(first)["text"] == "Nudged 3 people who haven't answered *Daily* yet."

    at(world, NOW + dt.timedelta(minutes=9, seconds=59))
    again = await reminders.nudge(services, world.caller(ADMIN, admin=True), "Daily")
    until = NOW + dt.timedelta(minutes=10)
    assert again == Refusal(Why.NUDGED_RECENTLY, "Daily", until=until)
    said = wording.refusal(again)
    assert "less than 10 minutes ago" in said
    assert f"<!date^{int(until.timestamp())}^" in said  # shown in the reader's own zone
    assert "08:10 UTC" in wording.refusal_plain(again)

    at(world, until)  # ten minutes on: allowed, and everyone still waiting is nudged again
    third = await reminders.nudge(services, world.caller(OWNER), "Daily")
    assert isinstance(third, Nudged) and third.nudged == 3


async def test_remind_is_for_owners_and_admins_in_one_transaction(world: World) -> None:
    await daily_for_three(world)
    services = world.services
    with transactions(world) as begun:
        refused = await reminders.nudge(services, world.caller(PEER), "Daily")
    assert refused == Refusal(Why.NOT_MANAGER, "Daily")
    assert len(begun) == 1
    foreign = await reminders.nudge(services, world.caller(OWNER, other=True), "Daily")
    assert foreign == Refusal(Why.NO_SUCH_STANDUP, "Daily")
    with transactions(world) as begun:
        done = await reminders.nudge(services, world.caller(ADMIN, admin=True), "Daily")
    assert isinstance(done, Nudged) and done.nudged == 3 and done.nudged_by == ADMIN
    assert len(begun) == 1


async def test_remind_without_an_open_run_or_while_paused(world: World) -> None:
    ids = await daily_for_three(world)
    services = world.services
    await close_runs(world)
    closed = await reminders.nudge(services, world.caller(OWNER), "Daily")
    assert closed == Refusal(Why.NOTHING_OPEN, "Daily")
    assert "no round open" in wording.refusal(closed)
    async with services.db.session() as session:
        await session.execute(update(Run).values(state=RunState.OPEN))
    await standups.set_active(services, world.caller(OWNER), "Daily", active=False)
    assert await reminders.nudge(services, world.caller(OWNER), "Daily") == Refusal(
        Why.PAUSED, "Daily"
    )
    await standups.set_active(services, world.caller(OWNER), "Daily", active=True)
    # Everybody answered or skipped: nobody to nudge, and the ten minutes don't start.
    for user in (OWNER, PEER, STRANGER):
        await checkins.skip(services, checkins.PromptRef(world.workspace_id, user, ids[user]))
    nobody = await reminders.nudge(services, world.caller(OWNER), "Daily")
    assert nobody == Nudged("Daily", 0)
    assert "everyone has answered or skipped" in wording.nudged(nobody)["text"]
    async with services.db.session() as session:
        standup = await standups_db.find_standup_by_name(session, world.workspace_id, "daily")
        assert standup is not None and standup.nudged_at is None


async def test_two_reminds_at_once_nudge_once(world: World) -> None:
    await daily_for_three(world)
    services = world.services
    outcomes = await asyncio.gather(
        reminders.nudge(services, world.caller(OWNER), "Daily"),
        reminders.nudge(services, world.caller(ADMIN, admin=True), "Daily"),
    )
    nudges = [o for o in outcomes if isinstance(o, Nudged)]
    assert [n.nudged for n in nudges] == [3]
    assert [o for o in outcomes if isinstance(o, Refusal)] == [
        Refusal(Why.NUDGED_RECENTLY, "Daily", until=NOW + dt.timedelta(minutes=10))
    ]


async def test_someone_reminded_in_the_last_ten_minutes_is_not_nudged_again(world: World) -> None:
    ids = await daily_for_three(world)
    services = world.services
    async with services.db.session() as session:  # the automatic reminder went out at 07:55
        await session.execute(
            update(Prompt)
            .where(Prompt.id == ids[PEER])
            .values(reminded_at=NOW - dt.timedelta(minutes=5))
        )
    outcome = await reminders.nudge(services, world.caller(OWNER), "Daily")
    assert isinstance(outcome, Nudged)
    assert (outcome.nudged, outcome.just_reminded) == (2, 1)
    assert ids[PEER] not in outcome.prompt_ids
    assert "1 person got a reminder in the last 10 minutes." in wording.nudged(outcome)["text"]


# --- each person's own setting ------------------------------------------------------------------


async def test_reminders_off_and_on_for_oneself_only(world: World) -> None:
    services = world.services
    me = world.caller(PEER)
    assert await reminders.own_reminders(services, me, off=None) == OwnReminders(False)
    assert await reminders.own_reminders(services, me, off=True) == OwnReminders(True, True)
    assert await reminders.own_reminders(services, me, off=True) == OwnReminders(True, False)
    assert await reminders.own_reminders(services, me, off=None) == OwnReminders(True)
    # The same Slack user in another workspace, and other people here, are not affected.
    elsewhere = world.caller(PEER, other=True)
    assert await reminders.own_reminders(services, elsewhere, off=None) == OwnReminders(False)
    assert await reminders.own_reminders(services, world.caller(OWNER), off=None) == OwnReminders(
        False
    )
    assert "*off*" in wording.own_reminders(OwnReminders(True))["text"]
    assert "Nothing changed" in wording.own_reminders(OwnReminders(True, False))["text"]
    assert await reminders.own_reminders(services, me, off=False) == OwnReminders(False, True)
    async with services.db.session() as session:
        member = await members_db.get_member(session, world.workspace_id, PEER)
        assert member is not None and member.reminders_off is False


# --- the automatic reminder's claim -------------------------------------------------------------


async def test_due_reminders_are_claimed_once_by_concurrent_claims(world: World) -> None:
    ids = await daily_for_three(world)
    services = world.services
    async with services.db.session() as session:
        await session.execute(update(Prompt).values(remind_at=NOW - dt.timedelta(seconds=1)))
        await session.execute(  # not due yet
            update(Prompt).where(Prompt.id == ids[OWNER]).values(remind_at=NOW + dt.timedelta(1))
        )

    async def claim() -> list[tuple[int, int]]:
        async with services.db.session() as session:
            return await reminder_rows.claim_due(session, NOW, 1)

    claims = await asyncio.gather(*(claim() for _ in range(4)))
    taken = [pair for claim in claims for pair in claim]
    assert sorted(taken) == sorted(
        [(world.workspace_id, ids[PEER]), (world.workspace_id, ids[STRANGER])]
    )
    for user in (PEER, STRANGER):
        row = await prompt_of(world, ids[user])
        assert (row.reminded_at, row.remind_at) == (NOW, None)
    async with services.db.session() as session:  # nothing left: the idle claim finds nothing
        assert await reminder_rows.claim_due(session, NOW + dt.timedelta(hours=1), 10) == []


# --- late answers -------------------------------------------------------------------------------


async def test_a_late_answer_until_the_next_run_starts(world: World) -> None:
    prompt_id = await started_prompt(world, PEER)
    services = world.services
    ref = checkins.PromptRef(world.workspace_id, PEER, prompt_id)
    await close_runs(world)
    form = await checkins.answer_form(services, ref)
    assert isinstance(form, checkins.AnswerForm)
    late = await checkins.answer(services, ref, ["a", "b", "c"])
    assert isinstance(late, checkins.Answered) and not late.edited
    row = await prompt_of(world, prompt_id)
    assert (row.state, row.late) == (PromptState.ANSWERED, True)
    async with services.db.session() as session:  # the final summary is to be re-rendered
        run = (await session.execute(select(Run))).scalar_one()
        assert run.summary_requested_at == NOW
    edited = await checkins.answer(services, ref, ["a", "b", "d"])
    assert isinstance(edited, checkins.Answered) and edited.edited
    assert (await prompt_of(world, prompt_id)).late is True

    # The next run: created (planned) is not enough, its first prompt sent is.
    at(world, NOW + dt.timedelta(days=1))
    await standups.run_now(services, world.caller(OWNER), "Daily")
    assert isinstance(await checkins.answer(services, ref, ["a", "b", "e"]), checkins.Answered)
    async with services.db.session() as session:
        newer = (
            await session.execute(select(Prompt).where(Prompt.local_date > row.local_date))
        ).scalars()
        next(iter(newer)).sent_at = NOW + dt.timedelta(days=1)
    assert await checkins.answer(services, ref, ["a", "b", "f"]) == Refusal(Why.CHECKIN_CLOSED)
    assert await checkins.answer_form(services, ref) == Refusal(Why.CHECKIN_CLOSED)


async def test_only_a_first_answer_after_the_close_is_late(world: World) -> None:
    ids = await daily_for_three(world)
    services = world.services

    def ref(user: str) -> checkins.PromptRef:
        return checkins.PromptRef(world.workspace_id, user, ids[user])

    assert isinstance(await checkins.answer(services, ref(OWNER), ["a"] * 3), checkins.Answered)
    assert isinstance(await checkins.skip(services, ref(PEER)), checkins.Skipped)
    await close_runs(world)
    # An edit after the close of an answer given in time stays in time.
    assert isinstance(await checkins.answer(services, ref(OWNER), ["b"] * 3), checkins.Answered)
    # Skipped, then answered after the close; never answered, then answered after the close.
    assert isinstance(await checkins.answer(services, ref(PEER), ["c"] * 3), checkins.Answered)
    assert isinstance(await checkins.answer(services, ref(STRANGER), ["d"] * 3), checkins.Answered)
    late = {user: (await prompt_of(world, ids[user])).late for user in ids}
    assert late == {OWNER: False, PEER: True, STRANGER: True}
    # Skipping a closed run is not a thing.
    assert await checkins.skip(services, ref(STRANGER)) == Refusal(Why.NOTHING_TO_SKIP)
