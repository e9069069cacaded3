"""The scheduler and attendance (issue 9), with the injected clock on both databases: someone
out of office or on a public holiday of their own calendar receives nothing that day and is
listed as away while everyone else is prompted; an away period set after planning still stops
the DM; a skipped day produces no run; a day when nobody was asked posts no summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from storage import standups as standups_db
from storage.db import Database
from storage.models import AwayPeriod, Member, SkippedDay, Standup
from tests.harness import Clock
from tests.slack_fake import FakeSlack
from tests.test_scheduler import (
    BERLIN,
    CHANNEL,
    DAY,
    KOLKATA,
    LONDON,
    NEW_YORK,
    prompt_rows,
    prompted,
    runs,
    seed_standup,
    summary_posts,
    tick_at,
    utc,
    worker_for,
)


async def _write(database_url: str, *rows: Any, **updates: Any) -> None:
    """Add rows and/or run `(statement, ...)` updates on the test database."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            for row in rows:
                session.add(row)
            for statement in updates.values():
                await session.execute(statement)
    finally:
        await db.dispose()


async def _member_id(database_url: str, slack_user_id: str) -> tuple[int, int]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            member = (
                await session.execute(select(Member).where(Member.slack_user_id == slack_user_id))
            ).scalar_one()
            return member.workspace_id, member.id
    finally:
        await db.dispose()


async def _away(database_url: str, user: str, start: dt.date, end: dt.date) -> None:
    workspace_id, member_id = await _member_id(database_url, user)
    await _write(
        database_url,
        AwayPeriod(workspace_id=workspace_id, member_id=member_id, starts_on=start, ends_on=end),
    )


def _summary_sections(slack: FakeSlack) -> dict[str, str]:
    """The channel summary as it stands now: its sections by title ("Away", "Didn't answer"…)."""
    [post] = summary_posts(slack)
    message = slack.get_message(CHANNEL, post.response["ts"])
    assert message is not None
    sections: dict[str, str] = {}
    for block in message["blocks"]:
        if block["type"] == "section":
            text = block["text"]["text"]
            title = text.split("*")[1] if text.startswith("*") else text
            sections[title.split(" (")[0]] = text
    return sections


async def test_an_away_participant_gets_nothing_that_day_and_shows_as_away(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        for user, tz in (
            (BERLIN, "Europe/Berlin"),
            (LONDON, "Europe/London"),
            (NEW_YORK, "America/New_York"),
        ):
            slack.add_user(user, user.lower(), tz=tz)
        await seed_standup(
            database_url, slack, participants=[BERLIN, LONDON, NEW_YORK], schedule_from=utc(DAY, 0)
        )
        await _away(database_url, LONDON, DAY - dt.timedelta(days=2), DAY)
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            for hour in (8, 9, 14):  # 09:00 in Berlin, London, New York
                await tick_at(worker, clock, utc(DAY, hour, 0, 5))
                await tick_at(worker, clock, utc(DAY, hour, 1))
            assert prompted(slack) == [BERLIN, NEW_YORK]
            live = _summary_sections(slack)
            assert live["Away"] == f"*Away*: <@{LONDON}>"
            assert LONDON not in live["Waiting on"]
            assert live["Answered"].startswith("*Answered (0/2)*")

            await tick_at(worker, clock, utc(DAY, 18, 0, 5))  # closes 4 h after New York
            assert [r.state for r in await runs(database_url)] == ["closed"]
            final = _summary_sections(slack)
            assert final["Away"] == f"*Away*: <@{LONDON}>"
            assert LONDON not in final["Didn't answer"]
            assert BERLIN in final["Didn't answer"] and NEW_YORK in final["Didn't answer"]

            # The day after, London is back and asked as usual.
            await tick_at(worker, clock, utc(DAY + dt.timedelta(days=1), 9, 0, 5))
            assert prompted(slack)[2:] == [BERLIN, LONDON]

        rows = await prompt_rows(database_url)
        assert rows[(LONDON, DAY)].state == "away" and rows[(LONDON, DAY)].sent_at is None
        assert rows[(LONDON, DAY + dt.timedelta(days=1))].state == "sent"


async def test_away_set_after_planning_still_stops_the_dm(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        slack.add_user(LONDON, "london", tz="Europe/London")
        await seed_standup(
            database_url,
            slack,
            participants=[BERLIN, LONDON],
            schedule_from=utc(DAY, 0),
            fixed_tz="Europe/Berlin",
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 7, 55))  # both prompts planned for 08:00
            assert {p.state for p in (await prompt_rows(database_url)).values()} == {"pending"}
            # London's own date at 08:00 UTC is DAY: a period set now applies at send time.
            await _away(database_url, LONDON, DAY, DAY)
            await tick_at(worker, clock, utc(DAY, 8, 0, 5))
            assert prompted(slack) == [BERLIN]
            rows = await prompt_rows(database_url)
            assert (rows[(BERLIN, DAY)].state, rows[(LONDON, DAY)].state) == ("sent", "away")
            await tick_at(worker, clock, utc(DAY, 8, 1))
            assert _summary_sections(slack)["Away"] == f"*Away*: <@{LONDON}>"


@pytest.mark.parametrize(
    ("day", "holiday"),
    [(dt.date(2027, 1, 26), "Republic Day"), (dt.date(2027, 11, 1), "Karnataka Rajyotsava")],
)
async def test_a_participant_on_a_holiday_of_their_own_calendar_is_not_asked(
    database_url: str, day: dt.date, holiday: str
) -> None:
    """The standup follows Germany's holidays; a participant in Bangalore follows IN-KA."""
    async with FakeSlack() as slack:
        slack.add_user(KOLKATA, "bangalore", tz="Asia/Kolkata")
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        await seed_standup(
            database_url, slack, participants=[BERLIN, KOLKATA], schedule_from=utc(day, 0)
        )
        await _write(
            database_url,
            standup=update(Standup).values(holiday_calendar="DE"),
            member=update(Member)
            .where(Member.slack_user_id == KOLKATA)
            .values(holiday_calendar="IN-KA"),
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(day, 3, 30, 5))  # 09:00 in Bangalore
            assert prompted(slack) == []
            await tick_at(worker, clock, utc(day, 8, 0, 5))  # 09:00 in Berlin (winter time)
            assert prompted(slack) == [BERLIN]
            assert _summary_sections(slack)["Away"] == f"*Away*: <@{KOLKATA}>"
            await tick_at(worker, clock, utc(day, 13))
            assert [r.state for r in await runs(database_url)] == ["closed"]
            final = _summary_sections(slack)
            assert final["Away"] == f"*Away*: <@{KOLKATA}>"
            assert KOLKATA not in final.get("Didn't answer", "")
        rows = await prompt_rows(database_url)
        assert rows[(KOLKATA, day)].state == "holiday"
        assert rows[(BERLIN, day)].state == "sent"  # asked, never answered
        assert holiday  # the day's name, for whoever reads a failure


async def test_a_skipped_day_produces_no_run(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        slack.add_user(NEW_YORK, "ny", tz="America/New_York")
        await seed_standup(
            database_url, slack, participants=[BERLIN, NEW_YORK], schedule_from=utc(DAY, 0)
        )
        workspace_id, _ = await _member_id(database_url, BERLIN)
        db = Database(database_url)
        try:
            async with db.session() as session:
                standup_id = (await session.execute(select(Standup.id))).scalar_one()
        finally:
            await db.dispose()
        await _write(
            database_url,
            SkippedDay(standup_id=standup_id, local_date=DAY, workspace_id=workspace_id),
        )
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            for hour in range(0, 24):
                await tick_at(worker, clock, utc(DAY, hour, 0, 5))
            assert prompted(slack) == []
            assert await runs(database_url) == []
            assert summary_posts(slack) == []
            await tick_at(worker, clock, utc(DAY + dt.timedelta(days=1), 8, 0, 5))
            assert prompted(slack) == [BERLIN]
        assert [r.local_date for r in await runs(database_url)] == [DAY + dt.timedelta(days=1)]


async def test_a_day_when_everyone_is_away_posts_no_summary(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(BERLIN, "berlin", tz="Europe/Berlin")
        slack.add_user(LONDON, "london", tz="Europe/London")
        await seed_standup(
            database_url, slack, participants=[BERLIN, LONDON], schedule_from=utc(DAY, 0)
        )
        await _away(database_url, BERLIN, DAY, DAY)
        await _away(database_url, LONDON, DAY, DAY + dt.timedelta(days=3))
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            for hour in (8, 9, 13, 14):
                await tick_at(worker, clock, utc(DAY, hour, 0, 5))
            await tick_at(worker, clock, utc(DAY, 14, 0, 30))  # past the sweep's delay
            assert [r.state for r in await runs(database_url)] == ["closed"]
            assert prompted(slack) == []
            assert summary_posts(slack) == []
            assert not slack.calls_to("chat.update")


async def test_someone_removed_while_away_is_no_longer_listed_as_away(database_url: str) -> None:
    """London is away today (set aside when the day was planned), then taken out of the
    standup: the set-aside check-in goes with them, so the summary does not list them."""
    async with FakeSlack() as slack:
        for user in (BERLIN, LONDON):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        await seed_standup(
            database_url, slack, participants=[BERLIN, LONDON], schedule_from=utc(DAY, 0)
        )
        await _away(database_url, LONDON, DAY, DAY)
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 7, 55))  # planned: London set aside as away
            assert (await prompt_rows(database_url))[(LONDON, DAY)].state == "away"
            async with worker.services.db.session() as session:
                standup = (await session.execute(select(Standup))).scalar_one()
                await standups_db.replace_participants(
                    session, standup.workspace_id, standup, [BERLIN], utc(DAY, 7, 56)
                )
            await tick_at(worker, clock, utc(DAY, 8, 0, 5))  # 09:00 in Berlin
            assert prompted(slack) == [BERLIN]
            assert (LONDON, DAY) not in await prompt_rows(database_url)
            assert "Away" not in _summary_sections(slack)
