"""The dashboard in a real browser (issue 11's acceptance): headless Chromium signs in with
Slack — the test plays Slack's authorize page, see tests/cdp.py — reads a run, is refused
another workspace's standup, and an owner edits the schedule; the scheduler then prompts at the
new time. Screenshots go to artifacts/screenshots/ (kept by CI as artefacts).

Also checked in the browser: nothing the page does trips its CSP (no console errors), an answer
that is markup stays text (no script runs), and the pages fit a phone's width.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import select

from app import create_app
from scheduler.worker import Worker
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt, Standup
from tests.backends import free_port
from tests.cdp import SlackAuthorize, chromium, require_chromium
from tests.harness import Clock, RunningApp
from tests.multi_workspace import install_workspace
from tests.slack_fake import FakeSlack
from tests.test_pages_chromium import png_facts
from tests.web_client import seed_run, seed_standup, start_multi_web, start_single

ALICE, OWEN, CAROL = "U0ALICE01", "U0OWEN001", "U0CAROL01"
TEAM_B, TEAM_C = "T0TEAMBBB", "T0TEAMCCC"
# An answer that is markup: it must show as text and never run.
EVIL = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> ok'


def slack_consent(slack: FakeSlack, user_id: str, team_id: str | None = None) -> SlackAuthorize:
    """Slack's authorize page, for the browser: `user_id` approves, Slack sends the browser
    back to the app's redirect URL with a code bound to the nonce and redirect URL it got."""
    codes = iter(range(1, 1000))

    async def authorize(url: str) -> str:
        assert url.startswith("https://slack.com/openid/connect/authorize?"), url
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert params["scope"] == "openid profile"
        code = f"browser-{user_id}-{next(codes)}"
        slack.add_openid_code(
            code,
            user_id,
            team_id,
            nonce=params["nonce"],
            redirect_uri=params["redirect_uri"],
            scope=params["scope"],
        )
        return params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})

    return authorize


async def test_a_participant_signs_in_reads_a_run_and_cannot_see_another_workspace(
    database_url: str, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    base = f"http://localhost:{port}"
    backend = database_url.split("+", 1)[0]
    async with FakeSlack() as slack:
        app = await start_multi_web(
            database_url, slack, role="web", public_url=base, listen_port=port
        )
        try:
            slack.add_user(ALICE, "alice", team_id=TEAM_B, tz="Europe/Berlin", real_name="Alice")
            slack.add_user(OWEN, "owen", team_id=TEAM_B, tz="America/New_York")
            slack.add_user(CAROL, "carol", team_id=TEAM_C)
            for team, installer, bot in ((TEAM_B, OWEN, "U0BOTB001"), (TEAM_C, CAROL, "U0BOTC001")):
                await install_workspace(
                    app,
                    slack,
                    team_id=team,
                    team_name=f"Team {team[-1]}",
                    installer=installer,
                    bot_user_id=bot,
                )
            daily = await seed_standup(
                database_url,
                TEAM_B,
                name="Backend daily",
                channel="C0DAILY01",
                owner=OWEN,
                participants=[ALICE, OWEN],
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
            await seed_run(
                database_url,
                TEAM_B,
                daily,
                today,
                answers={ALICE: [f"Reviewed the API. {EVIL}", "Waiting on staging access"]},
            )
            for days_ago in range(1, 12):
                await seed_run(
                    database_url,
                    TEAM_B,
                    daily,
                    today - dt.timedelta(days=days_ago),
                    answers={ALICE: [f"Day {days_ago}: shipped", "none"]}
                    | ({OWEN: ["Planning", "none"]} if days_ago % 3 else {}),
                    closed=True,
                    participation=True,
                )
            await seed_run(database_url, TEAM_C, secret, today, answers={CAROL: ["C only", "x"]})

            async with chromium(tmp_path / "profile") as browser:
                tab = await browser.new_tab(slack_consent(slack, ALICE, TEAM_B))

                # Not signed in: the sign-in page, then Sign in with Slack, back where she was.
                await tab.goto(f"{base}/app/standups/{daily}")
                assert await tab.text("h1") == "Sign in"
                await tab.screenshot(f"01-sign-in-{backend}", height=500)
                await tab.click_and_wait("#sign-in")
                assert await tab.url() == f"{base}/app/standups/{daily}"

                # Her standup's run and answers; markup in an answer is text, and never runs.
                assert await tab.text("h1") == "Backend daily"
                today_text = await tab.text("#today")
                assert "Reviewed the API." in today_text and "<script>" in today_text
                assert "Waiting on staging access" in today_text
                assert await tab.evaluate("window.pwned === undefined")
                assert await tab.evaluate("document.querySelectorAll('#today img').length") == 0
                past = await tab.text("#past")
                assert "Day 1: shipped" in past and "Day 7: shipped" in past
                assert "Day 8: shipped" not in past
                assert "Participation, last 30 days" in await tab.text("body")
                assert (
                    await tab.evaluate("document.querySelectorAll('svg.chart rect').length") == 11
                )
                shot = await tab.screenshot(f"02-standup-run-{backend}", width=1024, height=1500)
                width, height, distinct = png_facts(shot.read_bytes())
                assert (width, height) == (1024, 1500) and distinct > 16

                # Older runs, one page further.
                await tab.click_and_wait("#older-runs")
                assert "Day 8: shipped" in await tab.text("#past")

                # On a phone: nothing wider than the screen.
                await tab.goto(f"{base}/app/standups/{daily}")
                await tab.screenshot(f"03-standup-phone-{backend}", width=390, height=1400)
                assert await tab.evaluate("document.documentElement.scrollWidth") <= 390

                await tab.goto(f"{base}/app/")
                assert "Backend daily" in await tab.text("#standups")
                assert "Secret C" not in await tab.text("body")
                await tab.screenshot(f"04-standups-{backend}", height=600)

                # Another workspace's standup: a plain 404, nothing of it shown.
                await tab.goto(f"{base}/app/standups/{secret}")
                assert await tab.text("h1") == "Not found"
                assert "Secret C" not in await tab.text("body")
                await tab.screenshot(f"05-other-workspace-{backend}", height=500)

                assert browser.console_errors == []
        finally:
            await app.stop()


DAY = dt.date(2026, 1, 14)


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=dt.UTC)


def set_clock(clock: Clock, instant: dt.datetime) -> None:
    clock.offset = instant - dt.datetime.now(dt.UTC)


async def test_an_owner_edits_the_schedule_in_chromium_and_the_next_prompt_follows(
    database_url: str, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    base = f"http://localhost:{port}"
    backend = database_url.split("+", 1)[0]
    clock = Clock()
    set_clock(clock, at(7))
    async with FakeSlack() as slack:
        slack.add_user(OWEN, "owen", tz="Europe/Berlin", real_name="Owen")
        slack.add_user(ALICE, "alice", tz="America/New_York")
        slack.add_channel("C0DAILY01", "daily", bot_is_member=True)
        app: RunningApp = await start_single(
            database_url, slack, role="web", clock=clock, public_url=base, listen_port=port
        )
        worker_app = create_app(app.app.settings, clock=clock)
        worker = Worker(worker_app.services)
        try:
            daily = await seed_standup(
                database_url,
                slack.team_id,
                name="Daily",
                channel="C0DAILY01",
                owner=OWEN,
                participants=[OWEN, ALICE],
                local_time="09:00",
                fixed_tz="UTC",
                schedule_from=at(0),
            )
            await upgrade_to_head(worker_app.services.db.engine)
            await worker.tick()

            async with chromium(tmp_path / "profile") as browser:
                tab = await browser.new_tab(slack_consent(slack, OWEN))
                await tab.goto(f"{base}/login")
                assert await tab.url() == f"{base}/app/"
                await tab.click_and_wait(f'a[href="/app/standups/{daily}"]')
                assert "10:00" in await tab.text("#next-run")  # 09:00 UTC on Owen's Berlin clock
                await tab.click_and_wait("#edit-standup")
                assert await tab.text("h1") == "Edit Daily"
                assert await tab.evaluate("document.getElementById('time').value") == "09:00"
                await tab.screenshot(f"06-edit-form-{backend}", height=1500)

                # A mistake first: the same message as in Slack, under the field.
                await tab.fill("#time", "")
                await tab.click_and_wait("#save")
                assert await tab.text("#error-time") == "Pick a time for the prompt."
                await tab.screenshot(f"07-edit-error-{backend}", height=1500)

                await tab.fill("#time", "07:45")
                await tab.click_and_wait("#save")
                assert await tab.url() == f"{base}/app/standups/{daily}?done=saved"
                assert "Saved." in await tab.text("#notice")
                assert "07:45" in await tab.text("#schedule")
                assert "08:45" in await tab.text("#next-run")  # in Owen's zone
                await tab.screenshot(f"08-edit-saved-{backend}", height=900)
                assert browser.console_errors == []

            db = Database(database_url)
            try:
                async with db.session() as session:
                    row = await session.get(Standup, daily)
                    assert row is not None and row.local_time == "07:45"
            finally:
                await db.dispose()

            # The scheduler follows the new time: prompts at 07:45, none at the old 09:00.
            for instant in (at(7, 40), at(7, 45, 5), at(9, 0, 5)):
                set_clock(clock, instant)
                await worker.tick()
            db = Database(database_url)
            try:
                async with db.session() as session:
                    planned = (
                        await session.execute(
                            select(Member.slack_user_id, Prompt.due_at, Prompt.state).join(
                                Member, Member.id == Prompt.member_id
                            )
                        )
                    ).all()
            finally:
                await db.dispose()
            assert sorted((u, d, s) for u, d, s in planned) == [
                (ALICE, at(7, 45), "sent"),
                (OWEN, at(7, 45), "sent"),
            ]
        finally:
            await worker_app.services.slack.close()
            await worker_app.services.db.dispose()
            await app.stop()
