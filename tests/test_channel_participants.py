"""Participants from a channel, use case by use case, on both databases: the sync after the
form, join and leave events, the limit (owners told once), the reconcile across replicas, the
planner waiting for unknown profiles, and a 1,000-person channel in a fixed number of statements.

The domain is called directly; Slack is the stand-in over HTTP (conversations.members, users.info,
the owners' DMs).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select

from app import create_app
from bot import planning, roster, standups
from bot.outcomes import Created, EditForm, FieldErrors, History, Owners, RunStarted
from bot.people import Caller
from bot.rules.form import FormField
from bot.rules.permissions import Actor
from bot.rules.roster import RECONCILE_EVERY, phase_of
from bot.rules.validation import StandupDraft
from bot.runtime import Services
from bot.standups import OwnerChange
from storage import members as members_db
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt, PromptState, Standup
from tests.harness import make_settings
from tests.slack_fake import FakeSlack

CHANNEL, OTHER_CHANNEL = "C0TEAM0001", "C0OTHER001"
OWNER, PEER, NEWBIE, COOWNER = "U0OWNER01", "U0PEER001", "U0NEWBIE1", "U0COOWNER"
KNOWN_BOT, UNKNOWN_BOT, GONE = "U0KNOWNBT", "U0UNKNBOT", "U0GONE001"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # a Tuesday, 13:00 in Berlin


@dataclass
class Now:
    """A clock the test moves by hand."""

    at: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.at


@dataclass
class World:
    services: Services
    slack: FakeSlack
    workspace_id: int
    clock: Now

    @property
    def client(self) -> Any:
        return self.services.slack.client(self.services.settings.slack_bot_token)

    def caller(self, user_id: str = OWNER) -> Caller:
        return Caller.known(self.workspace_id, Actor(user_id, is_admin=False))

    async def participants(self, standup_id: int) -> set[str]:
        async with self.services.db.session() as session:
            people = await standups_db.standup_participants(session, self.workspace_id, standup_id)
        return {m.slack_user_id for m in people}

    async def member(self, user_id: str) -> Member:
        async with self.services.db.session() as session:
            found = await members_db.get_member(session, self.workspace_id, user_id)
        assert found is not None
        return found

    def dms_to(self, user_id: str) -> list[str]:
        return [
            json.dumps(c.body.get("blocks")) + str(c.body.get("text"))
            for c in self.slack.calls_to("chat.postMessage")
            if c.ok and c.body.get("channel") == "D" + user_id[1:]
        ]


@asynccontextmanager
async def world_for(database_url: str, **overrides: Any) -> AsyncIterator[World]:
    async with FakeSlack() as slack:
        for user in (OWNER, PEER, NEWBIE, COOWNER):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        slack.add_user(KNOWN_BOT, "knownbot", is_bot=True)
        slack.add_user(UNKNOWN_BOT, "unknownbot", is_bot=True)
        slack.add_user(GONE, "gone", deleted=True)
        slack.add_channel(
            CHANNEL,
            "team",
            bot_is_member=True,
            members=[OWNER, PEER, NEWBIE, KNOWN_BOT, UNKNOWN_BOT, GONE, "USLACKBOT"],
        )
        slack.add_channel(OTHER_CHANNEL, "other", bot_is_member=True, members=[OWNER])
        clock = Now()
        app = create_app(make_settings(database_url, slack, **overrides), clock=clock)
        services = app.services
        await upgrade_to_head(services.db.engine)
        async with services.db.session() as session:
            workspace_id = (await workspaces_db.ensure_workspace(session, slack.team_id)).id
            # What earlier look-ups cached: the owner, a bot and a deactivated account.
            cached = ((OWNER, False, False), (KNOWN_BOT, True, False), (GONE, False, True))
            for user, is_bot, deleted in cached:
                await members_db.update_member_profile(
                    session,
                    workspace_id,
                    user,
                    name=user,
                    tz="Europe/Berlin",
                    is_bot=is_bot,
                    deleted=deleted,
                    now=NOW,
                )
        try:
            yield World(services, slack, workspace_id, clock)
        finally:
            await services.slack.close()
            await services.db.dispose()


def draft(
    name: str = "Daily",
    *,
    source: str = "channel",
    people: tuple[str, ...] = (COOWNER,),
    channel: str = CHANNEL,
    fixed_tz: str | None = None,
) -> StandupDraft:
    return StandupDraft(
        name=name,
        channel_id=channel,
        questions=["Yesterday?", "Today?"],
        participant_ids=list(people),
        weekdays=frozenset(range(7)),
        local_time="09:00",
        tz_mode="fixed" if fixed_tz else "participant",
        fixed_tz=fixed_tz,
        participant_source=source,
    )


async def create(world: World, *args: Any, **kwargs: Any) -> int:
    outcome = await standups.create(
        world.services, world.client, world.caller(), draft(*args, **kwargs)
    )
    assert isinstance(outcome, Created), outcome
    return outcome.standup_id


async def sync(world: World, standup_id: int) -> roster.Synced:
    synced = await roster.sync_standup(
        world.services,
        world.client,
        world.workspace_id,
        standup_id,
        bot_user_id=world.slack.bot_user_id,
    )
    assert synced is not None
    return synced


async def prompt_states(world: World, standup_id: int) -> dict[str, PromptState]:
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(Member.slack_user_id, Prompt.state)
            .join(Member, Member.id == Prompt.member_id)
            .where(Prompt.standup_id == standup_id)
        )
        return {user: state for user, state in rows}


# --- the sync ---------------------------------------------------------------------------------


async def test_everyone_in_the_channel_takes_part_except_us_bots_and_deactivated_accounts(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world)  # the picker's content (COOWNER) is ignored
        assert await world.participants(standup_id) == set()
        assert world.slack.calls_to("users.info") == []  # no look-up of the picker's people

        synced = await sync(world, standup_id)
        # Slackbot, AsyncStand, the cached bot and the deactivated account are left out; the
        # bot whose profile is not known yet is taken for now.
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE, UNKNOWN_BOT}
        assert (synced.participants, synced.added, synced.removed) == (4, 4, 0)
        assert (await world.member(world.slack.bot_user_id)).is_bot

        # The planner learns who the newcomers are before anyone is prompted ...
        await planning.plan_workspace(world.services, world.workspace_id, NOW)
        assert (await world.member(UNKNOWN_BOT)).is_bot
        assert not (await world.member(NEWBIE)).is_bot
        # ... and the next sync drops the bot.
        synced = await sync(world, standup_id)
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE}
        assert (synced.added, synced.removed) == (0, 1)


async def test_people_who_leave_are_removed_with_their_unsent_prompts(database_url: str) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world)
        await sync(world, standup_id)
        await planning.plan_workspace(world.services, world.workspace_id, NOW)  # profiles
        started = await standups.run_now(world.services, world.caller(), "Daily")
        assert isinstance(started, RunStarted)
        assert started.prompts_created == 3  # OWNER, PEER, NEWBIE — never the bot
        async with world.services.db.session() as session:  # OWNER's prompt went out
            owner = await members_db.get_member(session, world.workspace_id, OWNER)
            assert owner is not None
            prompt = (
                await session.execute(select(Prompt).where(Prompt.member_id == owner.id))
            ).scalar_one()
            prompt.state = PromptState.SENT

        world.slack.remove_member(CHANNEL, PEER)
        world.slack.remove_member(CHANNEL, OWNER)
        world.slack.add_member(CHANNEL, COOWNER)
        synced = await sync(world, standup_id)
        assert (synced.added, synced.removed) == (1, 3)  # the bot went too (known by now)
        assert await world.participants(standup_id) == {NEWBIE, COOWNER}
        # PEER's unsent prompt is gone; OWNER's, already in their DM, stays.
        assert await prompt_states(world, standup_id) == {
            OWNER: PromptState.SENT,
            NEWBIE: PromptState.PENDING,
        }


async def test_a_standup_of_chosen_people_is_never_synced(database_url: str) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world, source="people", people=(OWNER, PEER))
        assert (
            await roster.sync_standup(world.services, world.client, world.workspace_id, standup_id)
            is None
        )
        await roster.member_changed(
            world.services, world.client, world.workspace_id, CHANNEL, NEWBIE, joined=True
        )
        assert await world.participants(standup_id) == {OWNER, PEER}
        world.slack.assert_not_called("conversations.members")


async def test_switching_back_to_chosen_people_keeps_the_participants(database_url: str) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world)
        await sync(world, standup_id)
        await planning.plan_workspace(world.services, world.workspace_id, NOW)
        await sync(world, standup_id)  # the bot is known and gone by now
        form = await standups.edit_form(world.services, world.caller(), "Daily")
        assert isinstance(form, EditForm)
        assert form.participant_source == "channel"
        assert sorted(form.participant_ids) == sorted([OWNER, PEER, NEWBIE])

        # The form goes back with the picker as it was shown, and "People I choose".
        edited = await standups.edit(
            world.services,
            world.client,
            world.caller(),
            standup_id,
            draft(source="people", people=tuple(form.participant_ids)),
        )
        assert not isinstance(edited, FieldErrors), edited
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE}
        # From now on the channel is not followed.
        world.slack.add_member(CHANNEL, COOWNER)
        await roster.member_changed(
            world.services, world.client, world.workspace_id, CHANNEL, COOWNER, joined=True
        )
        assert (
            await roster.sync_standup(world.services, world.client, world.workspace_id, standup_id)
            is None
        )
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE}


async def test_switching_to_the_channel_keeps_the_participants_until_the_sync(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world, source="people", people=(COOWNER,))
        edited = await standups.edit(
            world.services, world.client, world.caller(), standup_id, draft(people=())
        )
        assert not isinstance(edited, FieldErrors), edited
        assert await world.participants(standup_id) == {COOWNER}
        await sync(world, standup_id)
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE, UNKNOWN_BOT}


async def test_a_channel_too_big_for_the_picker_asks_for_people_when_switching_back(
    database_url: str,
) -> None:
    async with world_for(database_url, max_participants_per_standup=2) as world:
        standup_id = await create(world)
        await sync(world, standup_id)  # 4 people: more than the picker's 2
        form = await standups.edit_form(world.services, world.caller(), "Daily")
        assert isinstance(form, EditForm) and form.participant_ids == []
        edited = await standups.edit(
            world.services,
            world.client,
            world.caller(),
            standup_id,
            draft(source="people", people=()),
        )
        assert isinstance(edited, FieldErrors)
        assert edited.errors[FormField.PARTICIPANTS] == (
            "Everyone in the channel is 4 people, more than the 2 you can choose here: pick "
            "the people who take part, or keep everyone in the channel."
        )
        assert len(await world.participants(standup_id)) == 4


# --- the limit --------------------------------------------------------------------------------


async def test_over_the_limit_nobody_is_added_and_the_owners_are_told_once(
    database_url: str,
) -> None:
    async with world_for(database_url, max_channel_participants=3) as world:
        world.slack.remove_member(CHANNEL, UNKNOWN_BOT)
        standup_id = await create(world)
        await standups.owners(world.services, world.caller(), "Daily", OwnerChange(True, COOWNER))
        assert (await sync(world, standup_id)).participants == 3  # OWNER, PEER, NEWBIE

        # Two more join: 5 > 3. Nobody is added; both owners hear it, once.
        world.slack.add_member(CHANNEL, COOWNER)
        world.slack.add_user("U0EXTRA01", "extra")
        world.slack.add_member(CHANNEL, "U0EXTRA01")
        synced = await sync(world, standup_id)
        assert synced.refused and (synced.added, synced.participants) == (0, 3)
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE}
        [to_owner] = world.dms_to(OWNER)
        [_] = world.dms_to(COOWNER)
        assert "5 people who could take part" in to_owner
        assert "at most 3 (MAX_CHANNEL_PARTICIPANTS)" in to_owner
        assert "keeps its 3 participant(s)" in to_owner

        # Again (the reconcile, an event): not told twice; a joiner is not slipped in either.
        await sync(world, standup_id)
        world.slack.add_user("U0EXTRA02", "extra2")
        world.slack.add_member(CHANNEL, "U0EXTRA02")
        await roster.member_changed(
            world.services,
            world.client,
            world.workspace_id,
            CHANNEL,
            "U0EXTRA02",
            joined=True,
            bot_user_id=world.slack.bot_user_id,
        )
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE}
        assert len(world.dms_to(OWNER)) == 1

        # Someone who leaves is removed all the same.
        world.slack.remove_member(CHANNEL, PEER)
        synced = await sync(world, standup_id)
        assert synced.refused and await world.participants(standup_id) == {OWNER, NEWBIE}

        # Back within the limit: everyone is in, and the history says so.
        for user in ("U0EXTRA01", "U0EXTRA02"):
            world.slack.remove_member(CHANNEL, user)
        synced = await sync(world, standup_id)
        assert not synced.refused
        assert await world.participants(standup_id) == {OWNER, NEWBIE, COOWNER}
        history = await standups.history(world.services, world.caller(), "Daily")
        assert isinstance(history, History)
        actions = [c.action for c in history.changes]
        assert actions[:2] == ["channel_within_limit", "channel_over_limit"]
        assert history.changes[1].after == {"channel": 5, "limit": 3}

        # Over it again later: told again.
        world.slack.add_member(CHANNEL, "U0EXTRA01")
        world.slack.add_member(CHANNEL, PEER)
        assert (await sync(world, standup_id)).refused
        assert len(world.dms_to(OWNER)) == 2


async def test_a_thousand_person_channel_works_and_one_more_is_refused(database_url: str) -> None:
    async with world_for(database_url) as world:
        people = [f"U1{i:07d}" for i in range(1000)]
        world.slack.add_channel("C0BIG00001", "big", bot_is_member=True, members=people)
        standup_id = await create(world, channel="C0BIG00001")
        synced = await sync(world, standup_id)
        assert (synced.participants, synced.refused) == (1000, False)
        # 1,000 people and AsyncStand, 200 a page.
        assert len(world.slack.calls_to("conversations.members")) == 6
        assert {
            str(c.body.get("limit")) for c in world.slack.calls_to("conversations.members")
        } == {"200"}

        world.slack.add_member("C0BIG00001", "U2EXTRA01")
        synced = await sync(world, standup_id)
        assert (synced.participants, synced.refused) == (1000, True)
        assert len(world.dms_to(OWNER)) == 1


async def test_paging_stops_past_twice_the_limit(database_url: str) -> None:
    async with world_for(database_url, max_channel_participants=800) as world:
        people = [f"U1{i:07d}" for i in range(50_000)]
        world.slack.add_channel("C0HUGE0001", "huge", bot_is_member=True, members=people)
        standup_id = await create(world, channel="C0HUGE0001")
        synced = await sync(world, standup_id)
        assert synced.refused and synced.participants == 0
        # 1,800 read: past 2 × 800, the channel is over the limit whatever its bots.
        assert len(world.slack.calls_to("conversations.members")) == 9
        assert "over 1800 members" in world.dms_to(OWNER)[0]


# --- statements -------------------------------------------------------------------------------


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """Every SQL statement run while the block runs."""
    seen: list[str] = []

    def on_execute(*args: Any) -> None:
        seen.append(str(args[2]))

    engine = world.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def test_a_sync_takes_the_same_statements_for_ten_people_or_a_thousand(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        counts: dict[int, tuple[int, int]] = {}
        for size in (10, 1000):
            channel = f"C0SIZE{size:04d}"
            people = [f"U{size:04d}{i:05d}" for i in range(size)]
            world.slack.add_channel(channel, channel.lower(), bot_is_member=True, members=people)
            standup_id = await create(world, f"Size {size}", channel=channel)
            with statements(world) as first:
                assert (await sync(world, standup_id)).added == size
            # Half leave, as many new people join.
            for user in people[: size // 2]:
                world.slack.remove_member(channel, user)
            for i in range(size // 2):
                world.slack.add_member(channel, f"U{size:04d}N{i:04d}")
            with statements(world) as second:
                synced = await sync(world, standup_id)
            assert (synced.added, synced.removed) == (size // 2, size // 2)
            counts[size] = (len(first), len(second))
        assert counts[10] == counts[1000], counts
        assert counts[1000][0] <= 12 and counts[1000][1] <= 12, counts


# --- App Home: who needs theirs drawn again ------------------------------------------------------


async def open_homes(world: World, *users: str) -> None:
    """These people have opened App Home (so it is kept up to date) and it is fresh now."""
    async with world.services.db.session() as session:
        found = await members_db.ensure_members(session, world.workspace_id, users)
        for member in found.values():
            member.home_opened_at, member.home_stale_at = NOW, None


async def stale_homes(world: World) -> set[str]:
    async with world.services.db.session() as session:
        rows = await session.execute(
            select(Member.slack_user_id).where(
                Member.workspace_id == world.workspace_id, Member.home_stale_at.is_not(None)
            )
        )
        return set(rows.scalars())


async def test_a_sync_marks_the_homes_of_who_joined_or_left_and_of_the_owners(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        world.slack.remove_member(CHANNEL, UNKNOWN_BOT)
        standup_id = await create(world)
        await standups.owners(world.services, world.caller(), "Daily", OwnerChange(True, COOWNER))
        await sync(world, standup_id)  # OWNER, PEER, NEWBIE
        await open_homes(world, OWNER, PEER, NEWBIE, COOWNER)

        # Nothing changed: nobody's home is out of date.
        assert (await sync(world, standup_id)).added == 0
        assert await stale_homes(world) == set()

        # PEER leaves, EXTRA (who never opened App Home) joins: PEER's home and both owners'.
        world.slack.remove_member(CHANNEL, PEER)
        world.slack.add_user("U0EXTRA01", "extra")
        world.slack.add_member(CHANNEL, "U0EXTRA01")
        synced = await sync(world, standup_id)
        assert (synced.added, synced.removed) == (1, 1)
        assert await stale_homes(world) == {PEER, OWNER, COOWNER}

        # The same through a join event: the one who joined, and the owners.
        await open_homes(world, OWNER, PEER, COOWNER)
        changed = await roster.member_changed(
            world.services,
            world.client,
            world.workspace_id,
            CHANNEL,
            PEER,
            joined=True,
            bot_user_id=world.slack.bot_user_id,
        )
        assert [(c.added, c.removed) for c in changed] == [(1, 0)]
        assert await stale_homes(world) == {PEER, OWNER, COOWNER}


async def test_adding_or_removing_an_owner_marks_that_persons_home(database_url: str) -> None:
    async with world_for(database_url) as world:
        await create(world, source="people", people=(OWNER, PEER))
        await open_homes(world, OWNER, PEER, COOWNER)

        async def change(add: bool, user: str) -> bool | None:
            done = await standups.owners(
                world.services, world.caller(), "Daily", OwnerChange(add, user)
            )
            assert isinstance(done, Owners), done
            return done.changed

        assert await change(True, COOWNER)
        assert await stale_homes(world) == {COOWNER}
        await open_homes(world, COOWNER)
        assert not await change(True, COOWNER)  # already an owner: nothing changes
        assert await stale_homes(world) == set()
        assert await change(False, COOWNER)
        assert await stale_homes(world) == {COOWNER}

        # Someone who never opened App Home is not marked.
        await open_homes(world, COOWNER)
        assert await change(True, NEWBIE)
        assert await stale_homes(world) == set()


# --- events -----------------------------------------------------------------------------------


async def test_join_and_leave_events_follow_every_standup_of_the_channel(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        world.slack.remove_member(CHANNEL, UNKNOWN_BOT)
        first = await create(world, "First")
        second = await create(world, "Second")
        chosen = await create(world, "Chosen", source="people", people=(OWNER,))
        elsewhere = await create(world, "Elsewhere", channel=OTHER_CHANNEL)
        for standup_id in (first, second, elsewhere):
            await sync(world, standup_id)
        world.slack.clear()

        async def event(user: str, joined: bool) -> list[roster.Synced]:
            return await roster.member_changed(
                world.services,
                world.client,
                world.workspace_id,
                CHANNEL,
                user,
                joined=joined,
                bot_user_id=world.slack.bot_user_id,
            )

        assert len(await event(COOWNER, True)) == 2
        for standup_id in (first, second):
            assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE, COOWNER}
        assert await world.participants(chosen) == {OWNER}
        assert await world.participants(elsewhere) == {OWNER}
        world.slack.assert_not_called("conversations.members")  # the event says it all

        # A known bot or deactivated account joining changes nothing.
        await event(KNOWN_BOT, True)
        await event(GONE, True)
        assert await world.participants(first) == {OWNER, PEER, NEWBIE, COOWNER}

        await event(PEER, False)
        for standup_id in (first, second):
            assert await world.participants(standup_id) == {OWNER, NEWBIE, COOWNER}

        # AsyncStand itself invited (to a private channel, say): the channel is read whole.
        world.slack.add_member(CHANNEL, COOWNER)
        world.slack.add_member(CHANNEL, PEER)
        await event(world.slack.bot_user_id, True)
        assert len(world.slack.calls_to("conversations.members")) == 1
        assert await world.participants(first) == {OWNER, PEER, NEWBIE, COOWNER}
        # ... and removed from it: what it can no longer see stays as it was.
        assert await event(world.slack.bot_user_id, False) == []


async def test_a_channel_slack_will_not_list_keeps_its_participants(database_url: str) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world)
        await sync(world, standup_id)
        world.slack.fail_next("conversations.members", "not_in_channel", status=200)
        assert (
            await roster.sync_standup(world.services, world.client, world.workspace_id, standup_id)
            is None
        )
        assert await world.participants(standup_id) == {OWNER, PEER, NEWBIE, UNKNOWN_BOT}


# --- the planner waits for profiles -------------------------------------------------------------


async def test_nobody_is_prompted_before_slack_says_who_they_are(database_url: str) -> None:
    async with world_for(database_url) as world:
        # A fixed zone: without the wait, a bot taken from the channel would be prompted.
        standup_id = await create(world, fixed_tz="Europe/Berlin")
        await sync(world, standup_id)
        at_nine = dt.datetime(2026, 12, 2, 8, 0, 5, tzinfo=dt.UTC)  # 09:00 in Berlin
        async with world.services.db.session() as session:
            standup = await standups_db.get_standup(session, world.workspace_id, standup_id)
            assert standup is not None
            await planning.plan_standup(
                session,
                world.workspace_id,
                standup,
                now=at_nine,
                grace=world.services.grace,
                close_after=world.services.close_after,
            )
            assert standup.planned_until is None  # planned again once they are known
        assert set(await prompt_states(world, standup_id)) == {OWNER}

        started = await standups.run_now(world.services, world.caller(), "Daily")
        assert isinstance(started, RunStarted) and started.waiting == 3

        await planning.plan_workspace(world.services, world.workspace_id, at_nine)
        assert set(await prompt_states(world, standup_id)) == {OWNER, PEER, NEWBIE}


# --- the reconcile ----------------------------------------------------------------------------


async def test_the_reconcile_fixes_drift_once_per_period_across_replicas(
    database_url: str,
) -> None:
    async with world_for(database_url) as world:
        standup_id = await create(world)
        await sync(world, standup_id)
        world.slack.add_member(CHANNEL, COOWNER)  # no event came
        world.slack.remove_member(CHANNEL, PEER)
        world.slack.clear()

        replica_a, replica_b = roster.Reconciler(world.services), roster.Reconciler(world.services)
        # Until the standup's moment nothing is due (it was synced when it was made): no Slack
        # call, and one query a minute at most.
        next_moment = NOW + dt.timedelta(seconds=phase_of(standup_id))  # NOW starts a period
        assert next_moment - NOW > dt.timedelta(minutes=30)
        for minutes in (0, 0.5, 1, 2, 30):
            assert await replica_a.step(NOW + dt.timedelta(minutes=minutes)) == 0
        assert await replica_b.step(NOW) == 0
        world.slack.assert_not_called("conversations.members")

        # Then it is read again, by one replica.
        later = next_moment + dt.timedelta(seconds=30)
        assert await replica_b.step(later) + await replica_a.step(later) == 1
        assert len(world.slack.calls_to("conversations.members")) == 1
        assert await world.participants(standup_id) == {OWNER, NEWBIE, COOWNER, UNKNOWN_BOT}

        # A whole period later, once more.
        world.slack.clear()
        world.slack.add_member(CHANNEL, PEER)
        much_later = later + RECONCILE_EVERY
        assert await replica_a.step(much_later) + await replica_b.step(much_later) == 1
        assert len(world.slack.calls_to("conversations.members")) == 1
        assert PEER in await world.participants(standup_id)

        # A replica starting looks one period back: a moment it finds done is not redone.
        assert await roster.Reconciler(world.services).step(much_later) == 0
        # One that missed a moment (nothing ran then) catches up.
        world.slack.clear()
        restart = much_later + RECONCILE_EVERY + dt.timedelta(hours=1)
        assert await roster.Reconciler(world.services).step(restart) == 1


async def test_the_reconcile_skips_paused_standups_and_chosen_people(database_url: str) -> None:
    async with world_for(database_url) as world:
        paused = await create(world, "Paused")
        await standups.set_active(world.services, world.caller(), "Paused", active=False)
        await create(world, "Chosen", source="people", people=(OWNER,))
        assert await roster.Reconciler(world.services).step(NOW) == 0
        world.slack.assert_not_called("conversations.members")
        assert await world.participants(paused) == set()


def test_only_people_from_a_channel_wait_for_their_profile() -> None:
    unknown = Member(id=1, workspace_id=1, tz=None, is_bot=False, deleted=False)
    known = Member(id=2, workspace_id=1, tz=None, is_bot=False, deleted=False)
    known.profile_refreshed_at = NOW
    bot = Member(id=3, workspace_id=1, tz="UTC", is_bot=True, deleted=False)
    for source, waits in (("channel", True), ("people", False)):
        standup = Standup(id=1, workspace_id=1, participant_source=source)
        assert planning.may_prompt(standup, unknown) is not waits
        assert planning.may_prompt(standup, known)
        assert not planning.may_prompt(standup, bot)
