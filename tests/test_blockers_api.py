"""Open blockers through the REST API (`GET /api/v1/standups/{id}/blockers`, checked against the
OpenAPI document) and on the standup's web page, over real HTTP on both databases: whoever may
see the standup sees them; a private channel's standup is 404 to others; text is escaped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.db import Database
from storage.models import Blocker, Member, Standup
from tests.api_client import Shapes, call, token_for, workspace_ready
from tests.harness import Clock
from tests.slack_fake import FakeSlack
from tests.web_client import seed_standup, sign_in, start_single

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
EVIL = "<script>alert('pwned')</script> & <b>bold</b>"
SHAPES = Shapes()


async def add_blocker(
    database_url: str, standup_id: int, user: str, text: str, opened_on: dt.date, **extra: object
) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            standup = await session.get(Standup, standup_id)
            assert standup is not None
            member_id = await session.scalar(
                select(Member.id).where(
                    Member.workspace_id == standup.workspace_id, Member.slack_user_id == user
                )
            )
            assert member_id is not None
            session.add(
                Blocker(
                    workspace_id=standup.workspace_id,
                    standup_id=standup_id,
                    member_id=member_id,
                    text=text,
                    opened_on=opened_on,
                    **extra,
                )
            )
    finally:
        await db.dispose()


async def test_open_blockers_in_the_api_and_on_the_web_page(database_url: str) -> None:
    today = dt.datetime.now(dt.UTC).date()
    async with FakeSlack() as slack:
        for user in (ALICE, BOB, CAROL):
            slack.add_user(user, user.lower(), tz="UTC")
        app = await start_single(database_url, slack, clock=Clock(), role="web")
        try:
            await workspace_ready(app, slack.team_id)
            daily = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE, BOB],
            )
            leads = await seed_standup(
                database_url,
                slack.team_id,
                name="Leads",
                channel="G0LEADS01",
                owner=ALICE,
                participants=[ALICE],
                channel_private=True,
            )
            await add_blocker(
                database_url,
                daily,
                BOB,
                EVIL,
                today - dt.timedelta(days=3),
                still_blocked_on=today - dt.timedelta(days=1),
            )
            await add_blocker(database_url, daily, ALICE, "Fresh", today)
            await add_blocker(
                database_url,
                daily,
                ALICE,
                "Done",
                today - dt.timedelta(days=5),
                resolved_at=dt.datetime.now(dt.UTC),
            )
            await add_blocker(database_url, leads, ALICE, "Leads only", today)

            carol = await token_for(app, CAROL, "read", slack.team_id)
            reply = await call(app, "GET", f"/standups/{daily}/blockers", carol)
            assert reply.status == 200, reply.text
            SHAPES.check("BlockerList", reply.json)
            assert reply.json["standup_id"] == daily
            assert [
                (b["user_id"], b["text"], b["age"], b["still_blocked_on"])
                for b in reply.json["blockers"]
            ] == [
                (BOB, EVIL, "for 3 days", (today - dt.timedelta(days=1)).isoformat()),
                (ALICE, "Fresh", "since today", None),
            ]
            for standup_id in (leads, 987654):
                missing = await call(app, "GET", f"/standups/{standup_id}/blockers", carol)
                assert missing.status == 404, missing.text
                assert missing.content_type == "application/problem+json"
            alice = await token_for(app, ALICE, "read", slack.team_id)
            mine = await call(app, "GET", f"/standups/{leads}/blockers", alice)
            assert [b["text"] for b in mine.json["blockers"]] == ["Leads only"]

            browser = await sign_in(app, slack, CAROL)
            page = await browser.get(f"/app/standups/{daily}")
            assert page.status == 200
            assert "Open blockers" in page.visible_text
            text = page.visible_text
            assert f"{BOB} : {EVIL} — for 3 days; still blocked on" in text
            assert "<script>alert" not in page.text
            assert "u0alice01 : Fresh — since today" in page.visible_text
            assert "Done" not in page.visible_text and "No open blockers" not in page.visible_text
        finally:
            await app.stop()
