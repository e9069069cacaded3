"""My settings on the web over real HTTP, on both databases: out of office, reminders and the
holiday calendar go through the same use cases as Slack and the API; bad input is shown next
to its field and changes nothing; a form without the session's CSRF token is refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storage.db import Database
from storage.models import AuditEntry, AwayPeriod, Member
from tests.slack_fake import FakeSlack
from tests.web_client import Browser, sign_in, start_single

ALICE = "U0ALICE01"


async def stored(database_url: str) -> tuple[list[tuple[dt.date, dt.date]], Member, int]:
    """Alice's away periods, her member row, and how many "ooo" audit entries there are."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            member = (
                await session.scalars(select(Member).where(Member.slack_user_id == ALICE))
            ).one()
            periods = await session.execute(
                select(AwayPeriod.starts_on, AwayPeriod.ends_on)
                .where(AwayPeriod.member_id == member.id)
                .order_by(AwayPeriod.starts_on)
            )
            audited = await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ooo")
            )
            return [(s, e) for s, e in periods], member, int(audited or 0)
    finally:
        await db.dispose()


async def post_form(browser: Browser, path: str, **fields: str) -> tuple[int, str, str]:
    """Post a settings form as the page does (with its CSRF token)."""
    page = await browser.get("/app/settings")
    reply = await browser.post(path, {"csrf": page.csrf, **fields})
    return reply.status, reply.location, reply.visible_text


async def test_out_of_office_reminders_and_holidays_on_the_settings_page(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        app = await start_single(database_url, slack, role="web")
        try:
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get("/app/settings")
            assert page.status == 200
            assert "You are not marked as away." in page.visible_text
            assert "coming soon" not in page.visible_text
            today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()  # her own calendar
            start, end = today + dt.timedelta(days=2), today + dt.timedelta(days=6)

            # Without the CSRF token: refused, nothing stored.
            refused = await alice.post(
                "/app/settings/away", {"start": start.isoformat(), "end": end.isoformat()}
            )
            assert refused.status == 403 and "Form expired" in refused.visible_text
            for path in ("/app/settings/away/clear", "/app/settings/reminders"):
                assert (await alice.post(path, {"reminders": "off"})).status == 403

            status, location, _ = await post_form(
                alice, "/app/settings/away", start=start.isoformat(), end=end.isoformat()
            )
            assert (status, location) == (303, "/app/settings?done=away#out-of-office")
            periods, _, audited = await stored(database_url)
            assert periods == [(start, end)] and audited == 1
            page = await alice.get("/app/settings?done=away")
            assert "Saved: you are marked away for those dates." in page.visible_text
            assert (
                f"{start.day} {start:%b %Y} – {end:%a} {end.day} {end:%b %Y}" in page.visible_text
            )

            # Bad dates: the field says why, 400 not 500, and the stored period stays.
            for fields, field, says in (
                ({"start": "next monday", "end": end.isoformat()}, "start", "YYYY-MM-DD"),
                ({"start": start.isoformat(), "end": "2026-02-30"}, "end", "YYYY-MM-DD"),
                ({"start": end.isoformat(), "end": start.isoformat()}, "end", "before it starts"),
                ({"start": "2020-01-01", "end": "2020-01-03"}, "end", "already over"),
                (
                    {
                        "start": start.isoformat(),
                        "end": (start + dt.timedelta(days=400)).isoformat(),
                    },
                    "end",
                    "the most is",
                ),
            ):
                settings = await alice.get("/app/settings")
                reply = await alice.post("/app/settings/away", {"csrf": settings.csrf, **fields})
                assert reply.status == 400, fields
                assert f'id="error-{field}"' in reply.text and says in reply.visible_text
                assert "Nothing was changed." in reply.visible_text
                assert f'value="{fields["start"]}"' in reply.text  # what was typed is kept
            periods, _, audited = await stored(database_url)
            assert periods == [(start, end)] and audited == 1

            # A new period replaces the one not over yet.
            later = end + dt.timedelta(days=10)
            status, _, _ = await post_form(
                alice, "/app/settings/away", start=later.isoformat(), end=later.isoformat()
            )
            assert status == 303
            assert (await stored(database_url))[0] == [(later, later)]

            status, location, _ = await post_form(alice, "/app/settings/away/clear")
            assert (status, location) == (303, "/app/settings?done=back#out-of-office")
            periods, _, audited = await stored(database_url)
            assert periods == [] and audited == 3
            page = await alice.get("/app/settings?done=back")
            assert "You are not marked as away." in page.visible_text
            assert "no longer marked away" in page.visible_text

            # Reminders off and on again.
            status, location, _ = await post_form(alice, "/app/settings/reminders", reminders="off")
            assert (status, location) == (303, "/app/settings?done=reminders-off#reminders")
            assert (await stored(database_url))[1].reminders_off is True
            page = await alice.get("/app/settings")
            assert "Off: you get no automatic reminders." in page.visible_text
            assert "Turn reminders on" in page.visible_text
            status, _, text = await post_form(alice, "/app/settings/reminders", reminders="maybe")
            assert status == 400 and "Choose on or off." in text
            assert (await stored(database_url))[1].reminders_off is True
            await post_form(alice, "/app/settings/reminders", reminders="on")
            assert (await stored(database_url))[1].reminders_off is False

            # The holiday calendar: a bad code is explained, a good one stored, empty = none.
            status, _, text = await post_form(alice, "/app/settings/holidays", holidays="XX-NOPE")
            assert status == 400 and "two-letter country code" in text
            assert (await stored(database_url))[1].holiday_calendar is None
            status, location, _ = await post_form(
                alice, "/app/settings/holidays", holidays=" de-by "
            )
            assert (status, location) == (303, "/app/settings?done=holidays#holidays")
            assert (await stored(database_url))[1].holiday_calendar == "DE-BY"
            page = await alice.get("/app/settings")
            assert "You follow the public holidays of DE-BY" in page.visible_text
            await post_form(alice, "/app/settings/holidays", holidays="")
            assert (await stored(database_url))[1].holiday_calendar is None
        finally:
            await app.stop()
