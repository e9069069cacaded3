"""Pages and endpoints (issue 8, item 7), driven over real HTTP on both databases.

- Every response carries security headers (one middleware); the install pages' CSP allows no
  script and exactly their own stylesheet, by the SHA-256 of its text.
- Bolt's OAuth state cookie is SameSite=Lax (and still Secure, HttpOnly, Path=/).
- Expired OAuth states are swept by the scheduler (at most once a minute).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from http.cookies import SimpleCookie

import aiohttp
from multidict import CIMultiDictProxy
from sqlalchemy import select

from bot.views.pages import PAGE_CSP
from handlers.web_policy import API_CSP
from storage.db import Database
from storage.models import OAuthState
from tests.harness import Clock, start_app
from tests.multi_workspace import STATE_COOKIE, add_to_slack_href, open_install_page, start_multi
from tests.slack_fake import FakeSlack

TEAM, INSTALLER = "T0EDGE001", "U0EDGE001"
METRICS_TOKEN = "metrics-" + "0123456789abcdef"

Headers = CIMultiDictProxy[str]


async def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, Headers, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, allow_redirects=False) as response,
    ):
        return response.status, response.headers, await response.text()


def assert_page_headers(headers: Headers, page: str) -> None:
    """Our HTML pages: no script, only their own <style> (by hash), never framed or cached."""
    csp = headers["Content-Security-Policy"]
    assert csp == PAGE_CSP
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"  # so no script-src: no script of any kind
    assert "script-src" not in directives and "unsafe" not in csp
    assert directives["frame-ancestors"] == "'none'"
    [style] = re.findall(r"<style>(.*?)</style>", page, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{digest}'"  # what a browser computes
    assert "style=" not in page and "<script" not in page  # nothing inline the CSP would block
    assert_common_headers(headers)


def assert_common_headers(headers: Headers) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


async def state_rows(database_url: str) -> list[OAuthState]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return list((await session.scalars(select(OAuthState))).all())
    finally:
        await db.dispose()


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 10.0,  # noqa: ASYNC109
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


# --- security headers -------------------------------------------------------------------------


async def test_install_pages_send_security_headers(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            # Landing page.
            status, headers, page = await fetch(app.url + "/slack/install")
            assert status == 200 and "Add to Slack" in page
            assert_page_headers(headers, page)

            # Success page.
            slack.add_user(INSTALLER, "installer", team_id=TEAM)
            slack.add_oauth_code("code-1", team_id=TEAM, installer_user_id=INSTALLER)
            landing = await open_install_page(app)
            status, headers, page = await fetch(
                f"{app.url}/slack/oauth_redirect?code=code-1&state={landing.state}",
                {"Cookie": landing.cookie},
            )
            assert status == 200 and "is installed in" in page
            assert_page_headers(headers, page)

            # Failure page.
            status, headers, page = await fetch(
                f"{app.url}/slack/oauth_redirect?code=code-1&state=forged",
                {"Cookie": f"{STATE_COOKIE}=forged"},
            )
            assert 400 <= status < 500 and "Installation didn't complete" in page
            assert_page_headers(headers, page)
        finally:
            await app.stop()


async def test_every_other_response_is_locked_down_too(database_url: str) -> None:
    """JSON, plain text and error responses: nosniff, no-store, nothing loaded, never framed."""
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack)
        try:
            # The single-workspace "nothing to install" text.
            status, headers, text = await fetch(app.url + "/slack/install")
            assert status == 404 and "runs for one workspace" in text
            assert headers["Content-Security-Policy"] == API_CSP
            assert_common_headers(headers)
            for path, expected in [("/healthz", 200), ("/metrics", 200), ("/no/such/route", 404)]:
                status, headers, _ = await fetch(app.url + path)
                assert status == expected, path
                assert headers["Content-Security-Policy"] == API_CSP, path
                assert_common_headers(headers)
            async with (
                aiohttp.ClientSession() as session,
                session.post(app.url + "/slack/events", data=b"x") as response,
            ):
                assert response.status == 401
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Cache-Control"] == "no-store"
        finally:
            await app.stop()


# --- the state cookie -------------------------------------------------------------------------


async def test_oauth_state_cookie_is_samesite_lax(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(app.url + "/slack/install") as response,
            ):
                set_cookies = response.headers.getall("Set-Cookie")
                page = await response.text()
            [issued] = [c for c in set_cookies if c.startswith(STATE_COOKIE + "=")]
            cookie = SimpleCookie(issued)[STATE_COOKIE]
            assert cookie["samesite"] == "Lax"
            assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
            assert cookie.value in add_to_slack_href(page)

        finally:
            await app.stop()


# --- expired states are swept -----------------------------------------------------------------


async def test_scheduler_sweeps_expired_oauth_states_at_most_once_a_minute(
    database_url: str,
) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack, clock=clock)
        try:
            first = await open_install_page(app)
            [row] = await state_rows(database_url)
            assert row.state == first.state

            # Eleven minutes on, nobody opens the install page again: the scheduler drops it.
            clock.advance(minutes=11)

            async def swept() -> bool:
                return await state_rows(database_url) == []

            await eventually(swept, "the expired state to be swept")

            # A live state stays; an expired one waits for the next sweep, a minute later.
            live = await open_install_page(app)
            db = Database(database_url)
            try:
                async with db.session() as session:
                    now = clock()
                    session.add(
                        OAuthState(
                            state="expired-" + secrets.token_hex(8),
                            expires_at=now - dt.timedelta(seconds=1),
                            created_at=now - dt.timedelta(minutes=10),
                        )
                    )
            finally:
                await db.dispose()
            await asyncio.sleep(2.0)  # four ticks of 0.5 s
            assert len(await state_rows(database_url)) == 2, "swept more often than once a minute"
            clock.advance(seconds=61)

            async def only_live_left() -> bool:
                return [r.state for r in await state_rows(database_url)] == [live.state]

            await eventually(only_live_left, "the next sweep a minute later")
        finally:
            await app.stop()
