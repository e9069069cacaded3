"""My tokens and my settings in a real browser: headless Chromium signs in with Slack, creates
an API token on the tokens page and sees it exactly once, then sets an out-of-office period on
the settings page. Screenshots go where tests/cdp.py keeps them (CI artefacts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.models import AwayPeriod
from tests.api_client import call
from tests.backends import free_port
from tests.cdp import chromium, require_chromium
from tests.slack_fake import FakeSlack
from tests.test_web_chromium import slack_consent
from tests.web_client import start_single

ALICE = "U0ALICE01"


async def test_create_a_token_and_set_out_of_office_in_chromium(
    database_url: str, tmp_path: Path
) -> None:
    require_chromium()
    port = free_port()
    base = f"http://localhost:{port}"
    backend = database_url.split("+", 1)[0]
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Asia/Kolkata", real_name="Alice")
        app = await start_single(database_url, slack, public_url=base, listen_port=port)
        try:
            async with chromium(tmp_path / "profile") as browser:
                tab = await browser.new_tab(slack_consent(slack, ALICE))
                await tab.goto(f"{base}/login")
                assert await tab.url() == f"{base}/app/"

                # The tokens page, from the navigation.
                await tab.click_and_wait('nav a[href="/app/tokens"]')
                assert await tab.text("h1") == "My API tokens"
                await tab.fill("#token-name", "Reporting script")
                await tab.click_and_wait("#create-token")
                token = await tab.evaluate("document.getElementById('token-value').value")
                assert isinstance(token, str) and token.startswith("ast_")
                assert "shown only this once" in await tab.text("#new-token")
                await tab.screenshot(f"09-token-created-{backend}", height=900)
                me = await call(app, "GET", "/me", token)
                assert me.status == 200 and me.json["user_id"] == ALICE

                # Shown once: the list has its name and scope, never the token again.
                await tab.goto(f"{base}/app/tokens")
                listed = await tab.text("#tokens")
                assert "Reporting script" in listed and "read" in listed
                assert token not in await tab.evaluate("document.documentElement.outerHTML")

                # Out of office on the settings page.
                await tab.click_and_wait('nav a[href="/app/settings"]')
                today = dt.datetime.now(ZoneInfo("Asia/Kolkata")).date()
                start, end = today + dt.timedelta(days=7), today + dt.timedelta(days=11)
                await tab.fill("#away-start", start.isoformat())
                await tab.fill("#away-end", end.isoformat())
                await tab.click_and_wait("#set-away")
                assert await tab.url() == f"{base}/app/settings?done=away#out-of-office"
                assert "marked away" in await tab.text("#notice")
                assert f"{start.day} {start:%b %Y}" in await tab.text("#away-periods")
                await tab.screenshot(f"10-settings-away-{backend}", height=1100)

                # A mistake: said under the field, and the period stays.
                await tab.fill("#away-start", end.isoformat())
                await tab.fill("#away-end", start.isoformat())
                await tab.click_and_wait("#set-away")
                assert "before it starts" in await tab.text("#error-end")
                await tab.screenshot(f"11-settings-error-{backend}", width=390, height=1400)
                assert browser.console_errors == []

            db = Database(database_url)
            try:
                async with db.session() as session:
                    periods = (
                        await session.execute(select(AwayPeriod.starts_on, AwayPeriod.ends_on))
                    ).all()
                assert [tuple(p) for p in periods] == [(start, end)]
            finally:
                await db.dispose()
        finally:
            await app.stop()
