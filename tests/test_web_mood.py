"""The mood chart on a standup's page: the daily average of the mood recorded at run close
(participation.mood), over the participation period, on both databases; and its geometry."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from bot.rules.questions import parse_question_lines, to_json
from handlers.web import charts
from storage.db import Database
from storage.models import Member, Participation, Standup
from tests.slack_fake import FakeSlack
from tests.web_client import seed_run, seed_standup, sign_in, start_single

ALICE, BOB = "U0ALICE01", "U0BOB0001"


def test_the_mood_line_keeps_to_its_period_and_labels_each_day() -> None:
    end = dt.date(2026, 1, 30)
    chart = charts.mood_chart(
        [(end, 5.0), (dt.date(2026, 1, 1), 1.0), (dt.date(2025, 12, 1), 3.0)], end, 30
    )
    assert chart is not None
    # Earliest day at the left edge and lowest, the last at the right and highest; the day
    # before the period is left out.
    assert chart.points == "34.0,136.0 594.0,10.0"
    assert [d.label for d in chart.dots] == ["2026-01-01: 1.0 of 5", "2026-01-30: 5.0 of 5"]
    assert chart.summary == "Average mood 3.0 of 5 over 2 days with answers"
    assert chart.x_ticks[0].text == "1 Jan" and chart.x_ticks[0].x == charts.LEFT
    assert charts.mood_chart([(dt.date(2025, 12, 1), 3.0)], end, 30) is None


async def set_questions(database_url: str, standup_id: int, lines: str) -> None:
    questions, problem = parse_question_lines(lines)
    assert problem is None
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.execute(
                update(Standup).where(Standup.id == standup_id).values(questions=to_json(questions))
            )
    finally:
        await db.dispose()


async def set_moods(database_url: str, run_id: int, moods: dict[str, int]) -> None:
    """What the run's close records from each person's mood answer."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            for user_id, mood in moods.items():
                member = select(Member.id).where(Member.slack_user_id == user_id)
                await session.execute(
                    update(Participation)
                    .where(Participation.run_id == run_id, Participation.member_id.in_(member))
                    .values(mood=mood)
                )
    finally:
        await db.dispose()


async def test_the_standup_page_charts_the_daily_average_mood(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOB, "bob")
        app = await start_single(database_url, slack)
        try:
            daily = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE, BOB],
            )
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get(f"/app/standups/{daily}")
            assert "No mood questions yet" in page.visible_text
            assert 'id="mood-desc"' not in page.text

            await set_questions(database_url, daily, "What did you do?\nHow do you feel? [mood]")
            page = await alice.get(f"/app/standups/{daily}")
            assert "No mood answers recorded in the last 30 days" in page.visible_text

            today = dt.datetime.now(dt.UTC).date()
            first, second = today - dt.timedelta(days=3), today - dt.timedelta(days=1)
            for day, moods in ((first, {ALICE: 4, BOB: 1}), (second, {ALICE: 5})):
                run_id = await seed_run(
                    database_url,
                    slack.team_id,
                    daily,
                    day,
                    answers={u: ["Work", str(m)] for u, m in moods.items()},
                    closed=True,
                    participation=True,
                )
                await set_moods(database_url, run_id, moods)

            page = await alice.get(f"/app/standups/{daily}")
            assert page.status == 200
            mood_section = page.text[page.text.index('id="mood"') :]
            mood_section = mood_section[: mood_section.index("</section>")]
            dots = re.findall(r"<circle class=\"dot\"[^>]*><title>([^<]+)</title>", mood_section)
            assert dots == [f"{first.isoformat()}: 2.5 of 5", f"{second.isoformat()}: 5.0 of 5"]
            assert "Average mood 3.8 of 5 over 2 days with answers" in page.visible_text
            assert f"{first.day} {first:%b %Y}" in page.visible_text  # the table
        finally:
            await app.stop()
