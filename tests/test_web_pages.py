"""The pages under /app/ over real HTTP, signed in with Slack, on both databases (issue 11).

- A participant sees their standup's runs and every answer (escaped), page by page; another
  workspace's ids — and a private standup they are not part of — are a 404, on every route.
- Create and edit go through the Slack form's use cases: the same validation, the same
  permissions (owners and admins), errors shown next to their fields.
- An owner's schedule edit on the web moves the next prompt (the scheduler, injected clock).
- My settings and the audit log show what is stored, to whom it may be shown.
- Every page has the strict CSP and no inline script; nothing a request does makes a 500.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from app import create_app
from bot import dashboard
from bot.rules.questions import texts_of
from bot.rules.websec import encode_cursor
from handlers.web.render import APP_CSP
from scheduler.worker import Worker
from storage import members
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import AwayPeriod, Member, Prompt, Standup, Workspace
from tests.harness import Clock
from tests.multi_workspace import install_workspace
from tests.slack_fake import FakeSlack
from tests.web_client import (
    Browser,
    Page,
    seed_run,
    seed_standup,
    sign_in,
    start_multi_web,
    start_single,
)

ALICE, BOB, OWEN, ADA = "U0ALICE01", "U0BOB0001", "U0OWEN001", "U0ADMIN01"
TEAM_B, TEAM_C = "T0TEAMBBB", "T0TEAMCCC"
CAROL = "U0CAROL01"  # in team C
EVIL = "<script>alert('pwned')</script> & <b>bold</b>"


def assert_locked_down(page: Page) -> None:
    """Our CSP, no inline script or style, never framed or cached."""
    assert page.headers["Content-Security-Policy"] == APP_CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert all(re.search(r'\bsrc="/static/app\.js\?v=[0-9a-f]+"', tag) for tag in scripts)
    assert "<style" not in page.text and " style=" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text), "no inline event handlers"


async def standup_row(database_url: str, standup_id: int) -> Standup:
    db = Database(database_url)
    try:
        async with db.session() as session:
            row = await session.get(Standup, standup_id)
            assert row is not None
            return row
    finally:
        await db.dispose()


def form_of(values: dict[str, Any]) -> list[tuple[str, str]]:
    """A standup form as the browser posts it (days repeated)."""
    fields: list[tuple[str, str]] = []
    for key, value in values.items():
        if isinstance(value, list):
            fields += [(key, str(v)) for v in value]
        else:
            fields.append((key, str(value)))
    return fields


def filled(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Daily",
        "channel": "C0DAILY01",
        "questions": "What did you do?\nAny blockers?",
        "participant_source": "people",
        "participants": f"{ALICE}, {BOB}",
        "days": [0, 1, 2, 3, 4, 5, 6],
        "time": "09:00",
        "tz_mode": "fixed",
        "tz": "UTC",
        "repeat": "weekly",
    }
    values.update(changes)
    return values


# --- a participant, and another workspace ---------------------------------------------------------


async def test_a_participant_sees_their_runs_and_answers_and_nothing_of_another_workspace(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        app = await start_multi_web(database_url, slack, role="web")
        try:
            slack.add_user(ALICE, "alice", team_id=TEAM_B, tz="Europe/Berlin")
            slack.add_user(OWEN, "owen", team_id=TEAM_B)
            slack.add_user(ADA, "ada", team_id=TEAM_B, is_admin=True)
            slack.add_user(CAROL, "carol", team_id=TEAM_C)
            for team, installer, bot in ((TEAM_B, OWEN, "U0BOTB001"), (TEAM_C, CAROL, "U0BOTC001")):
                await install_workspace(
                    app, slack, team_id=team, team_name=team, installer=installer, bot_user_id=bot
                )
            daily = await seed_standup(
                database_url,
                TEAM_B,
                name="Daily",
                channel="C0DAILY01",
                owner=OWEN,
                participants=[ALICE, OWEN],
            )
            hidden = await seed_standup(
                database_url,
                TEAM_B,
                name="Leads only",
                channel="G0LEADS01",
                owner=OWEN,
                participants=[OWEN],
                channel_private=True,
            )
            secret = await seed_standup(
                database_url,
                TEAM_C,
                name="Secret C",
                channel="C0SECRET1",
                owner=CAROL,
                participants=[CAROL],
            )
            today = dt.datetime.now(dt.UTC).date()
            await seed_run(database_url, TEAM_B, daily, today, answers={ALICE: [EVIL, "none"]})
            for days_ago in range(1, 10):
                await seed_run(
                    database_url,
                    TEAM_B,
                    daily,
                    today - dt.timedelta(days=days_ago),
                    answers={OWEN: [f"shipped thing {days_ago}", "no"]},
                    closed=True,
                    participation=True,
                )
            await seed_run(
                database_url, TEAM_C, secret, today, answers={CAROL: ["C-only answer", "x"]}
            )

            alice = await sign_in(app, slack, ALICE, TEAM_B)

            # The list: her workspace's visible standups only.
            page = await alice.get("/app/")
            assert page.status == 200
            assert_locked_down(page)
            assert "Daily" in page.visible_text
            assert "Secret C" not in page.text and "Leads only" not in page.text
            assert "1 of 2 answered" in page.visible_text and "you: answered" in page.visible_text

            # Her standup: today's run live, every answer, escaped.
            page = await alice.get(f"/app/standups/{daily}")
            assert page.status == 200
            assert_locked_down(page)
            assert EVIL in page.visible_text  # shown as text…
            assert "<script>alert" not in page.text and "<b>bold" not in page.text  # …never markup
            assert (
                "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;b&gt;" in page.text
            )
            assert "Today’s run" in page.visible_text and 'data-live="60"' in page.text
            assert "1 answered · 1 waiting" in page.visible_text
            assert "No mood questions yet" in page.visible_text
            assert "No open blockers." in page.visible_text
            assert "9 of 18 expected check-ins answered (50%)" in page.visible_text
            assert 'id="edit-standup"' not in page.text  # a participant does not manage it

            # Past runs, seven a page, newest first, with a cursor to the rest.
            shown = re.findall(r"shipped thing (\d)", page.visible_text)
            assert shown == ["1", "2", "3", "4", "5", "6", "7"]
            older = re.search(r'id="older-runs" href="([^"]+)"', page.text)
            assert older is not None
            page = await alice.get(older.group(1).replace("&amp;", "&"))
            assert page.status == 200
            assert re.findall(r"shipped thing (\d)", page.visible_text) == ["8", "9"]
            assert 'id="older-runs"' not in page.text and "Newest runs" in page.visible_text

            # Another workspace's standup, and a private one she is not part of: 404 on every
            # route, the same page as for an id that never existed, nothing of it shown.
            csrf = page.csrf
            for standup_id in (secret, hidden, 987654):
                for path in ("", "/edit", "/history"):
                    got = await alice.get(f"/app/standups/{standup_id}{path}")
                    assert got.status == 404, (standup_id, path)
                    assert got.h1 == "Not found"
                    assert "Secret C" not in got.text and "Leads only" not in got.text
                posted = await alice.post(
                    f"/app/standups/{standup_id}/edit",
                    form_of({**filled(name="Hijacked"), "csrf": csrf}),
                )
                assert posted.status == 404
            assert (await standup_row(database_url, secret)).name == "Secret C"

            # Ids that are not ids, and page links that are not positions.
            for path in ("/app/standups/abc", "/app/standups/99999999999999999999", "/app/x"):
                assert (await alice.get(path)).status == 404, path
            for cursor in ("garbage!", encode_cursor({"d": 5, "i": "x"}), "e30"):
                got = await alice.get(f"/app/standups/{daily}?after={cursor}")
                assert got.status == 400 and "doesn't exist" in got.visible_text

            # A workspace admin sees the private standup of their own workspace — only theirs.
            ada = await sign_in(app, slack, ADA, TEAM_B)
            assert (await ada.get(f"/app/standups/{hidden}")).status == 200
            assert (await ada.get(f"/app/standups/{secret}")).status == 404
        finally:
            await app.stop()


# --- headers and failures -------------------------------------------------------------------------


async def test_pages_are_locked_down_and_never_answer_500(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(database_url, slack, role="web")
        try:
            standup_id = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE],
            )
            anonymous = Browser(app.url)
            page = await anonymous.get(f"/app/standups/{standup_id}")
            assert page.status == 401 and "Sign in with Slack" in page.visible_text
            assert f"/login?next=%2Fapp%2Fstandups%2F{standup_id}" in page.text
            assert_locked_down(page)

            alice = await sign_in(app, slack, ALICE)
            for path in (
                "/app/",
                f"/app/standups/{standup_id}",
                f"/app/standups/{standup_id}/edit",
                f"/app/standups/{standup_id}/history",
                "/app/standups/new",
                "/app/settings",
                "/app/audit",
                "/app/no/such/page",
            ):
                page = await alice.get(path)
                assert page.status in (200, 404), path
                assert_locked_down(page)

            css = await alice.get("/static/app.css")
            assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")

            # A form whose bytes are not UTF-8 (and misses most fields): refused, not a crash.
            token = (await alice.get("/app/")).csrf
            page = await alice.post(
                f"/app/standups/{standup_id}/edit",
                b"csrf=" + token.encode() + b"&name=%FF%FE\xff",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert page.status == 400
            assert (await standup_row(database_url, standup_id)).name == "Daily"

            # Something breaks inside: a friendly page, logged, not a bare 500.
            async def broken(*_: Any, **__: Any) -> Any:
                raise RuntimeError("database on fire")

            monkeypatch.setattr(dashboard, "standup_list", broken)
            with structlog.testing.capture_logs() as logs:
                page = await alice.get("/app/")
            assert page.status == 503 and page.h1 == "Something went wrong"
            assert page.headers["Content-Type"].startswith("text/html")
            assert "database on fire" not in page.text
            assert any(e["event"] == "web_page_failed" for e in logs)
        finally:
            await app.stop()


# --- create and edit ------------------------------------------------------------------------------


async def test_create_on_the_web_with_the_slack_forms_validation(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOB, "bob")
        slack.add_channel("C0NEWCHAN", "general")
        app = await start_single(database_url, slack, role="web")
        try:
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get("/app/standups/new")
            assert page.status == 200 and page.h1 == "New standup"
            assert 'value="09:30"' in page.text and f'value="{ALICE}"' in page.text
            token = page.csrf

            # What the Slack form refuses, the web refuses, in the same words, under its field.
            page = await alice.post(
                "/app/standups/new",
                form_of({**filled(name="", time="", days=[], channel="#random"), "csrf": token}),
            )
            assert page.status == 400
            assert 'id="error-channel"' in page.text and "channel's id" in page.text
            page = await alice.post(
                "/app/standups/new", form_of({**filled(name="", time="", days=[]), "csrf": token})
            )
            assert page.status == 400
            errors = dict(re.findall(r'<p class="error" id="error-(\w+)">([^<]+)</p>', page.text))
            assert errors == {
                "name": "Give the standup a name.",
                "days": "Pick at least one day.",
                "time": "Pick a time for the prompt.",
            }
            assert 'aria-invalid="true" aria-describedby="error-name"' in page.text
            assert 'value="C0DAILY01"' in page.text  # what was typed stays

            page = await alice.post(
                "/app/standups/new",
                form_of(
                    {
                        **filled(name="Web daily", channel="<#C0NEWCHAN|general>"),
                        "participants": f"<@{ALICE}>, {BOB}",
                        "csrf": token,
                    }
                ),
            )
            assert page.status == 303, page.visible_text[:500]
            match = re.fullmatch(r"/app/standups/(\d+)\?done=created", page.location)
            assert match
            page = await alice.get(page.location)
            assert "Created." in page.visible_text and page.h1 == "Web daily"
            row = await standup_row(database_url, int(match.group(1)))
            assert (row.name, row.channel_id, row.owner_user_id) == (
                "Web daily",
                "C0NEWCHAN",
                ALICE,
            )
            # Like the Slack form: the creator is told in a DM, the channel is joined.
            dms = [
                c
                for c in slack.calls_to("chat.postMessage")
                if c.body.get("channel") == "D" + ALICE[1:] and "Web daily" in c.body["text"]
            ]
            assert len(dms) == 1
            assert slack.calls_to("conversations.join")
        finally:
            await app.stop()


async def test_only_owners_and_admins_edit_with_the_same_validation(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOB, "bob")
        app = await start_single(database_url, slack, role="web")
        try:
            standup_id = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE, BOB],
            )
            edit = f"/app/standups/{standup_id}/edit"

            # A participant who does not own it: told why, nothing changes.
            bob = await sign_in(app, slack, BOB)
            page = await bob.get(edit)
            assert page.status == 403
            assert "Only the owners of Daily or a workspace admin can do that." in page.visible_text
            token = (await bob.get("/app/")).csrf
            page = await bob.post(edit, form_of({**filled(time="11:00"), "csrf": token}))
            assert page.status == 403
            assert (await standup_row(database_url, standup_id)).local_time == "09:00"

            # The owner: the form prefilled, errors under their fields, then saved.
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get(edit)
            assert page.status == 200 and page.h1 == "Edit Daily"
            assert 'name="time" type="time" required value="09:00"' in page.text
            assert f'value="{ALICE}, {BOB}"' in page.text
            token = page.csrf

            page = await alice.post(edit, form_of({**filled(time="25:00"), "csrf": token}))
            assert page.status == 400
            assert (
                '<p class="error" id="error-time">Use a 24-hour time such as 09:30.</p>'
                in page.text
            )
            page = await alice.post(
                edit, form_of({**filled(), "participants": "alice, bob", "csrf": token})
            )
            assert page.status == 400 and "isn't a Slack user id" in page.visible_text
            page = await alice.post(edit, form_of({**filled(tz="Mars/Olympus"), "csrf": token}))
            assert page.status == 400 and "isn't a time zone we know" in page.visible_text
            assert (await standup_row(database_url, standup_id)).local_time == "09:00"

            page = await alice.post(
                edit,
                form_of(
                    {**filled(time="10:30", questions="Done?\nNext?\nBlocked?"), "csrf": token}
                ),
            )
            assert page.status == 303 and page.location == f"/app/standups/{standup_id}?done=saved"
            row = await standup_row(database_url, standup_id)
            assert (row.local_time, texts_of(row.questions)) == (
                "10:30",
                ["Done?", "Next?", "Blocked?"],
            )
            page = await alice.get(page.location)
            assert "Saved." in page.visible_text and "at 10:30" in page.visible_text

            # Audited like a Slack edit, and the owner reads it on the standup's history.
            page = await alice.get(f"/app/standups/{standup_id}/history")
            assert page.status == 200 and page.h1 == "History of Daily"
            assert "time: 09:00 → 10:30" in page.visible_text
            assert (await bob.get(f"/app/standups/{standup_id}/history")).status == 403
        finally:
            await app.stop()


def _escalation_shown(page: Page) -> str:
    found = re.search(r'<input id="blocker_escalation_days"[^>]* value="([^"]*)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_escalate_blockers_after_is_edited_on_the_web(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOB, "bob")
        app = await start_single(database_url, slack, role="web")
        try:
            standup_id = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE, BOB],
            )
            edit = f"/app/standups/{standup_id}/edit"
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get(edit)
            assert "Escalate blockers after (working days)" in page.visible_text
            assert 'name="blocker_escalation_days" type="number" min="0" max="30"' in page.text
            assert _escalation_shown(page) == "2"  # what is stored (the default), prefilled
            token = page.csrf

            for bad in ("31", "-1", "1.5", "x"):
                page = await alice.post(
                    edit, form_of({**filled(blocker_escalation_days=bad), "csrf": token})
                )
                assert page.status == 400, bad
                assert '<p class="error" id="error-blocker_escalation_days">' in page.text, bad
                assert "whole number of working days from 0 to 30" in page.visible_text, bad
                assert (await standup_row(database_url, standup_id)).blocker_escalation_days == 2

            page = await alice.post(
                edit, form_of({**filled(blocker_escalation_days="7"), "csrf": token})
            )
            assert page.status == 303, page.visible_text
            assert (await standup_row(database_url, standup_id)).blocker_escalation_days == 7
            page = await alice.get(edit)
            assert _escalation_shown(page) == "7"

            # An unrelated edit keeps it: the form sends back what it showed.
            page = await alice.post(
                edit, form_of({**filled(time="10:00", blocker_escalation_days="7"), "csrf": token})
            )
            assert page.status == 303
            row = await standup_row(database_url, standup_id)
            assert (row.local_time, row.blocker_escalation_days) == ("10:00", 7)
        finally:
            await app.stop()


# --- the acceptance: an edit on the web, and the next prompt follows it ---------------------------

DAY = dt.date(2026, 1, 14)


def utc(hour: int, minute: int = 0, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


async def test_an_owners_schedule_edit_on_the_web_moves_the_next_prompt(database_url: str) -> None:
    clock = Clock()
    clock.offset = utc(7) - dt.datetime.now(dt.UTC)
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="America/New_York")
        slack.add_channel("C0DAILY01", "daily", bot_is_member=True)
        app = await start_single(database_url, slack, role="web", clock=clock)
        worker_app = create_app(app.app.settings, clock=clock)
        worker = Worker(worker_app.services)
        try:
            standup_id = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE, BOB],
                local_time="09:00",
                fixed_tz="UTC",
                schedule_from=utc(0),
            )
            await upgrade_to_head(worker_app.services.db.engine)
            await worker.tick()  # 07:00: nothing due yet; 09:00 is planned later

            alice = await sign_in(app, slack, ALICE)
            page = await alice.get(f"/app/standups/{standup_id}")
            assert "Wed 14 Jan, 10:00" in page.visible_text  # 09:00 UTC, on Alice's Berlin clock

            page = await alice.get(f"/app/standups/{standup_id}/edit")
            saved = await alice.post(
                f"/app/standups/{standup_id}/edit",
                form_of({**filled(time="07:45"), "csrf": page.csrf}),
            )
            assert saved.status == 303
            page = await alice.get(saved.location)
            assert "Wed 14 Jan, 08:45" in page.visible_text  # the next run, in her zone

            clock.offset = utc(7, 40) - dt.datetime.now(dt.UTC)
            await worker.tick()
            clock.offset = utc(7, 45, 5) - dt.datetime.now(dt.UTC)
            await worker.tick()
            clock.offset = utc(9, 0, 5) - dt.datetime.now(dt.UTC)
            await worker.tick()  # the old time: nothing more

            db = Database(database_url)
            try:
                async with db.session() as session:
                    due = (
                        await session.execute(
                            select(Member.slack_user_id, Prompt.due_at, Prompt.state).join(
                                Member, Member.id == Prompt.member_id
                            )
                        )
                    ).all()
            finally:
                await db.dispose()
            assert sorted((u, d) for u, d, _ in due) == [(ALICE, utc(7, 45)), (BOB, utc(7, 45))]
            assert {s for _, _, s in due} == {"sent"}
            prompted = [
                c
                for c in slack.calls_to("chat.postMessage")
                if c.ok
                and str(c.body.get("channel", "")).startswith("D")
                and "prompt_answer" in str(c.body.get("blocks"))
            ]
            assert len(prompted) == 2
        finally:
            await worker_app.services.slack.close()
            await worker_app.services.db.dispose()
            await app.stop()


# --- my settings and the audit log ----------------------------------------------------------------


async def test_my_settings_and_the_audit_log(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(ADA, "ada", is_admin=True)
        app = await start_single(database_url, slack, role="web")
        try:
            standup_id = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=ALICE,
                participants=[ALICE],
            )
            alice = await sign_in(app, slack, ALICE)
            today = dt.datetime.now(dt.UTC).date()
            db = Database(database_url)
            try:
                async with db.session() as session:
                    workspace = (
                        await session.scalars(
                            select(Workspace).where(Workspace.team_id == slack.team_id)
                        )
                    ).one()
                    member = (await members.ensure_members(session, workspace.id, [ALICE]))[ALICE]
                    member.reminders_off = True
                    session.add_all(
                        [
                            AwayPeriod(
                                workspace_id=workspace.id,
                                member_id=member.id,
                                starts_on=today + dt.timedelta(days=3),
                                ends_on=today + dt.timedelta(days=5),
                            ),
                            AwayPeriod(  # over: not shown
                                workspace_id=workspace.id,
                                member_id=member.id,
                                starts_on=today - dt.timedelta(days=9),
                                ends_on=today - dt.timedelta(days=7),
                            ),
                        ]
                    )
            finally:
                await db.dispose()

            page = await alice.get("/app/settings")
            assert page.status == 200
            starts = today + dt.timedelta(days=3)
            assert f"{starts.day} {starts:%b %Y}" in page.visible_text
            assert page.visible_text.count(" – ") == 1
            assert "Off: you get no automatic reminders." in page.visible_text
            assert "Europe/Berlin" in page.visible_text

            # Not an admin: no workspace-wide log, but the standups she owns.
            page = await alice.get("/app/audit")
            assert page.status == 200
            assert "Only workspace admins can see the workspace's history" in page.visible_text
            assert f'href="/app/standups/{standup_id}/history"' in page.text

            # An admin: the workspace's changes, newest first.
            ada = await sign_in(app, slack, ADA)
            edit = await ada.get(f"/app/standups/{standup_id}/edit")
            assert edit.status == 200  # admins manage every standup
            await ada.post(
                f"/app/standups/{standup_id}/edit",
                form_of({**filled(name="Daily sync", participants=ALICE), "csrf": edit.csrf}),
            )
            page = await ada.get("/app/audit")
            assert page.status == 200 and "Only workspace admins" not in page.visible_text
            assert "edit" in page.visible_text and "name: Daily → Daily sync" in page.visible_text
        finally:
            await app.stop()
