"""Two replicas of `python app.py` on one Postgres (and Redis), ticking at the same time: each
person who hasn't answered gets the automatic reminder exactly once, from one of them, and
the one who answered gets none.

The processes use the real clock: the standup is due this minute with a one-minute answer
window, so the reminders (halfway through each person's window) fall due within seconds —
at least ten before the run closes (a minute less than 20 seconds from its end is skipped).
Each replica has a bot token of its own, so the stand-in's calls say which one sent what.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt
from tests.backends import postgres_only
from tests.harness import SIGNING_SECRET, answer_values, find_action, is_delivered_prompt
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import SlackRequests
from tests.test_exactly_once import Replicas
from tests.test_replicas import assert_clean, current_minute, eventually, start_all

pytestmark = postgres_only

CHANNEL = "C0STANDUP1"
PEOPLE = [f"U0M{n:06d}" for n in range(12)]
ANSWERER = PEOPLE[1]


def is_reminder(call: Call) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.ok
        and str(call.body.get("channel", "")).startswith("D")
        and "reminder_answer" in json.dumps(call.body.get("blocks"))
    )


def user_of(call: Call) -> str:
    return "U" + str(call.body["channel"])[1:]


async def seed(database_url: str, team_id: str, due: dt.datetime) -> None:
    """A standup "Daily" for PEOPLE, due this minute in UTC, answers collected for a minute."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name="Daily",
                name_key=name_key("Daily"),
                channel_id=CHANNEL,
                questions=["What did you do?", "What's next?", "Any blockers?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=due.strftime("%H:%M"),
                tz_mode="fixed",
                fixed_tz="UTC",
                owner_user_id=PEOPLE[0],
                participant_ids=PEOPLE,
                answer_window_minutes=1,
                now=due - dt.timedelta(seconds=1),
            )
    finally:
        await db.dispose()


async def reminder_columns(database_url: str) -> dict[str, tuple[bool, bool]]:
    """(reminded, still due) per person."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id, Prompt.reminded_at, Prompt.remind_at).join(
                    Member, Member.id == Prompt.member_id
                )
            )
            return {user: (done is not None, due is not None) for user, done, due in rows}
    finally:
        await db.dispose()


async def test_two_replicas_remind_each_non_answerer_exactly_once(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    slack = FakeSlack(token=f"xoxb-seed-{uuid.uuid4().hex}")
    for user in PEOPLE:
        slack.add_user(user, user.lower(), tz="UTC")
    slack.add_channel(CHANNEL, "standup", bot_is_member=True)
    async with slack:
        replicas = Replicas(tmp_path, database_url, redis_url, slack)
        first, second = replicas.launch(), replicas.launch()
        await start_all(first, second)
        now = dt.datetime.now(dt.UTC)
        if now.second >= 40:  # too little of this minute left: the run would close too soon
            await asyncio.sleep(60.2 - now.second - now.microsecond / 1e6)
        await seed(database_url, slack.team_id, current_minute())

        prompts = await slack.wait_for(
            "chat.postMessage", count=len(PEOPLE), predicate=is_delivered_prompt, timeout=30
        )
        # One person answers (through the first replica) before any reminder is due.
        [dm] = [c for c in prompts if user_of(c) == ANSWERER]
        message = {**dm.body, "ts": dm.response["ts"]}
        requests = SlackRequests(first.url, SIGNING_SECRET, team_id=slack.team_id, fake=slack)
        button = find_action(message["blocks"], "prompt_answer")
        await requests.block_action(ANSWERER, "prompt_answer", button["value"], message=message)
        [opened] = await slack.wait_for("views.open")
        status, text = await requests.view_submission(
            ANSWERER, opened.body["view"], answer_values(["done", "more", "none"])
        )
        assert status == 200 and "errors" not in text, text

        waiting = set(PEOPLE) - {ANSWERER}

        def all_reminded() -> bool:
            return {user_of(c) for c in slack.calls if is_reminder(c)} >= waiting

        await eventually(all_reminded, "a reminder for each who waits", 90, (first, second))
        await slack.wait_idle(quiet=1.5)  # three more ticks of each replica

        reminders = [c for c in slack.calls if is_reminder(c)]
        assert Counter(user_of(c) for c in reminders) == dict.fromkeys(waiting, 1)
        senders = Counter(replicas.sender_of(c) for c in reminders)
        assert sum(senders.values()) == len(waiting)
        columns = await reminder_columns(database_url)
        assert {u: c for u, c in columns.items() if u in waiting} == dict.fromkeys(
            waiting, (True, False)
        )
        assert columns[ANSWERER][0] is False

        assert await first.stop() == 0 and await second.stop() == 0
    assert_clean(first)
    assert_clean(second)
