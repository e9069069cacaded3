"""Sign in with Slack and web sessions (issue 11), over real HTTP against the Slack stand-in,
on both databases.

- GET /login sends the browser to Slack's authorize URL (scopes ``openid profile``, our client
  id, ``<PUBLIC_URL>/login/callback``) with a fresh state and nonce; both are kept server-side
  (the state as a digest), single use, ten minutes, and the state is bound to the browser.
- The callback exchanges the code through SLACK_API_URL, checks the id_token (nonce, audience,
  expiry) and the identity, and lets in only members of a workspace that has the app.
- Sessions: an opaque cookie (Secure, HttpOnly, SameSite=Lax, ``__Host-``), only its digest
  stored, a new id at each sign-in, idle and absolute expiry, ended by logout (CSRF-checked)
  and by the workspace's uninstall; the scheduler sweeps what can no longer be used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from app import create_app
from bot.web_sessions import safe_return_to
from scheduler.worker import Worker
from storage.db import Database
from storage.models import LoginState, Standup, WebSession
from tests.harness import Clock, start_app
from tests.multi_workspace import CLIENT_ID, install_workspace, requests_for
from tests.slack_fake import FakeSlack
from tests.slack_signing import app_uninstalled_event
from tests.web_client import (
    CALLBACK,
    Browser,
    approve,
    callback,
    seed_standup,
    sign_in,
    start_login,
    start_multi_web,
    start_single,
)

ALICE, BOB, MALLORY = "U0ALICE01", "U0BOB0001", "U0MALLORY"
TEAM_B, TEAM_NOAPP = "T0TEAMBBB", "T0NOAPP01"
SESSION, LOGIN = "__Host-asyncstand_session", "__Host-asyncstand_login"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def set_cookies(headers_values: list[str]) -> dict[str, SimpleCookie]:
    found: dict[str, SimpleCookie] = {}
    for raw in headers_values:
        cookie = SimpleCookie(raw)
        for name in cookie:
            found[name] = cookie
    return found


async def signed_in(browser: Browser) -> bool:
    page = await browser.get("/app/")
    assert page.status in (200, 401), page.status
    return page.status == 200


# --- the happy path -------------------------------------------------------------------------------


async def test_sign_in_with_slack_opens_a_server_side_session(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", real_name="Alice Liddell", tz="Europe/Berlin")
        app = await start_single(database_url, slack, role="web")
        try:
            browser = Browser(app.url)
            authorize = await start_login(browser, "/login?next=/app/settings")
            assert authorize.url.startswith("https://slack.com/openid/connect/authorize?")
            assert {k: v for k, v in authorize.params.items() if k not in ("state", "nonce")} == {
                "response_type": "code",
                "scope": "openid profile",
                "client_id": CLIENT_ID,
                "redirect_uri": CALLBACK,
            }
            state, nonce = authorize.state, authorize.nonce
            assert len(state) >= 40 and len(nonce) >= 40 and state != nonce

            # The state is bound to this browser by a short-lived cookie…
            assert browser.cookies == {LOGIN: state}
            # …and kept server-side as a digest only, with its nonce, for ten minutes.
            [stored] = await login_states(database_url)
            assert stored.state_digest == digest(state) and stored.nonce == nonce
            assert stored.expires_at - stored.created_at == dt.timedelta(minutes=10)

            # Slack's consent screen says yes; Slack sends the browser back.
            code = approve(slack, authorize, ALICE)
            done = await callback(browser, code=code, state=state)
            assert done.status == 303 and done.location == "/app/settings"
            issued = set_cookies(done.headers.getall("Set-Cookie"))
            session_cookie = issued[SESSION][SESSION]
            assert session_cookie["secure"] and session_cookie["httponly"]
            assert session_cookie["samesite"] == "Lax" and session_cookie["path"] == "/"
            assert int(session_cookie["max-age"]) == 7 * 24 * 3600  # SESSION_MAX_HOURS
            assert issued[LOGIN][LOGIN]["max-age"] == "0"  # the state cookie is spent
            assert set(browser.cookies) == {SESSION}

            # Both calls went to SLACK_API_URL (the stand-in), the userInfo one with the user
            # token the exchange handed out.
            [exchange] = slack.calls_to("openid.connect.token")
            assert exchange.body["code"] == code and exchange.body["redirect_uri"] == CALLBACK
            [info] = slack.calls_to("openid.connect.userInfo")
            assert info.ok and (info.token or "").startswith("xoxp-")

            # Only the session id's digest is stored; the state is gone (single use).
            [row] = await web_sessions(database_url)
            assert row.id_digest == digest(session_cookie.value) and row.slack_user_id == ALICE
            assert await login_states(database_url) == []

            page = await browser.get("/app/settings")
            assert page.status == 200 and "alice" in page.visible_text

            # The same callback again (a replay, or the back button): refused, no new session.
            again = await callback(Browser(app.url, {LOGIN: state}), code=code, state=state)
            assert again.status == 400 and "expired" in again.visible_text
            assert SESSION not in set_cookies(again.headers.getall("Set-Cookie"))
            assert len(await web_sessions(database_url)) == 1
        finally:
            await app.stop()


async def test_cookie_flags_in_local_development(database_url: str) -> None:
    """PUBLIC_URL http://localhost: no TLS, so the cookies drop Secure (and the __Host- name)."""
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(
            database_url, slack, role="web", public_url="http://localhost:3000"
        )
        try:
            browser = Browser(app.url)
            authorize = await start_login(browser)
            assert authorize.params["redirect_uri"] == "http://localhost:3000/login/callback"
            done = await callback(
                browser, code=approve(slack, authorize, ALICE), state=authorize.state
            )
            assert done.status == 303
            cookie = set_cookies(done.headers.getall("Set-Cookie"))["asyncstand_session"]
            morsel = cookie["asyncstand_session"]
            assert not morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Lax"
            assert (await browser.get("/app/")).status == 200
        finally:
            await app.stop()


# --- what is refused ------------------------------------------------------------------------------


async def test_forged_replayed_foreign_and_expired_states_are_refused(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(database_url, slack, role="web", clock=clock)
        try:
            # A state we never issued.
            browser = Browser(app.url)
            authorize = await start_login(browser)
            page = await callback(browser, code=approve(slack, authorize, ALICE), state="x" * 43)
            assert page.status == 400 and "expired" in page.visible_text

            # A real state, but brought back to another browser (login CSRF): refused, and
            # spent, so the browser that started it cannot finish either.
            authorize = await start_login(browser)
            code = approve(slack, authorize, ALICE)
            page = await callback(Browser(app.url), code=code, state=authorize.state)
            assert page.status == 400
            page = await callback(browser, code=code, state=authorize.state)
            assert page.status == 400

            # The state from the right browser, eleven minutes later.
            authorize = await start_login(browser)
            clock.advance(minutes=11)
            page = await callback(
                browser, code=approve(slack, authorize, ALICE), state=authorize.state
            )
            assert page.status == 400 and "expired" in page.visible_text
            clock.advance(minutes=-11)

            # Cancelled on Slack's consent screen.
            authorize = await start_login(browser)
            page = await callback(browser, error="access_denied", state=authorize.state)
            assert page.status == 400 and "cancelled" in page.visible_text

            # No code at all.
            authorize = await start_login(browser)
            page = await callback(browser, state=authorize.state)
            assert page.status == 400

            assert await web_sessions(database_url) == []
            assert not slack.calls_to("openid.connect.token")[1:]  # at most the one below
            assert SESSION not in browser.cookies
        finally:
            await app.stop()


async def test_a_token_for_another_nonce_or_redirect_url_is_refused(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(database_url, slack, role="web")
        try:
            browser = Browser(app.url)
            # The id_token carries another attempt's nonce (a replayed token).
            authorize = await start_login(browser)
            code = approve(slack, authorize, ALICE, nonce="some-other-attempts-nonce")
            page = await callback(browser, code=code, state=authorize.state)
            assert page.status == 400 and "nonce" in page.visible_text

            # The code was issued for another redirect URL: Slack refuses the exchange.
            authorize = await start_login(browser)
            code = approve(slack, authorize, ALICE, redirect_uri="https://evil.example.com/cb")
            page = await callback(browser, code=code, state=authorize.state)
            assert page.status == 400 and "bad_redirect_uri" in page.visible_text

            # (A token for another app — its audience — is refused by check_id_token: see
            # tests/test_websec.py.)
            assert await web_sessions(database_url) == []
        finally:
            await app.stop()


async def test_only_members_of_a_workspace_with_the_app_get_in(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi_web(database_url, slack, role="web")
        try:
            slack.add_user(ALICE, "alice", team_id=TEAM_B)
            await install_workspace(
                app,
                slack,
                team_id=TEAM_B,
                team_name="Team B",
                installer=ALICE,
                bot_user_id="U0BOTBBB1",
            )
            assert await signed_in(await sign_in(app, slack, ALICE, TEAM_B))

            # Someone from a workspace that never installed AsyncStand.
            slack.add_user(MALLORY, "mallory", team_id=TEAM_NOAPP)
            browser = Browser(app.url)
            authorize = await start_login(browser)
            page = await callback(
                browser, code=approve(slack, authorize, MALLORY), state=authorize.state
            )
            assert page.status == 403 and "isn't installed" in page.visible_text

            # A deactivated member of the workspace that has it, and a bot.
            slack.add_user(BOB, "bob", team_id=TEAM_B, deleted=True)
            slack.add_user("U0SOMEBOT", "somebot", team_id=TEAM_B, is_bot=True)
            for user in (BOB, "U0SOMEBOT"):
                authorize = await start_login(browser)
                page = await callback(
                    browser, code=approve(slack, authorize, user), state=authorize.state
                )
                assert page.status == 403 and "active member" in page.visible_text
            assert SESSION not in browser.cookies
            assert len(await web_sessions(database_url)) == 1  # Alice's
        finally:
            await app.stop()


async def test_single_workspace_lets_in_only_its_own_workspace(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(MALLORY, "mallory", team_id=TEAM_NOAPP)
        app = await start_single(database_url, slack, role="web")
        try:
            browser = Browser(app.url)
            authorize = await start_login(browser)
            page = await callback(
                browser, code=approve(slack, authorize, MALLORY), state=authorize.state
            )
            assert page.status == 403 and "isn't installed" in page.visible_text
            assert await web_sessions(database_url) == []
        finally:
            await app.stop()


async def test_sign_in_needs_client_credentials_and_a_public_url(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, role="web")  # bot token only
        try:
            page = await Browser(app.url).get("/login")
            assert page.status == 503 and "SLACK_CLIENT_ID" in page.visible_text
            assert not page.location
        finally:
            await app.stop()
        app = await start_single(database_url, slack, role="web", public_url=None)
        try:
            page = await Browser(app.url).get("/login")
            assert page.status == 503 and "PUBLIC_URL" in page.visible_text
            page = await Browser(app.url).get("/app/")
            assert page.status == 401 and "Sign in with Slack" in page.visible_text
        finally:
            await app.stop()
        assert await login_states(database_url) == []


async def test_sign_in_attempts_are_rate_limited_per_address(database_url: str) -> None:
    """Each /login stores an attempt: like the install page, INSTALL_RATE_PER_MINUTE each."""
    async with FakeSlack() as slack:
        app = await start_single(database_url, slack, role="web", install_rate_per_minute=3)
        try:
            for _ in range(3):
                await start_login(Browser(app.url))
            page = await Browser(app.url).get("/login")
            assert page.status == 429 and int(page.headers["Retry-After"]) >= 1
            assert "too often" in page.visible_text
            assert len(await login_states(database_url)) == 3
        finally:
            await app.stop()


@pytest.mark.parametrize(
    ("wanted", "returned"),
    [
        ("/app/standups/12", "/app/standups/12"),
        ("/app/standups/12?after=abc_-", "/app/standups/12?after=abc_-"),
        ("https://evil.example.com/app/", "/app/"),
        ("//evil.example.com/app/", "/app/"),
        ("/app//evil.example.com", "/app/"),
        ("/app/../slack/install", "/app/"),
        ("/\\evil.example.com", "/app/"),
        ("/login", "/app/"),
        (None, "/app/"),
    ],
)
def test_after_signing_in_only_our_own_pages(wanted: str | None, returned: str) -> None:
    assert safe_return_to(wanted) == returned


# --- sessions -------------------------------------------------------------------------------------


async def test_logout_needs_the_csrf_token_and_ends_the_session(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOB, "bob")
        app = await start_single(database_url, slack, role="web")
        try:
            alice = await sign_in(app, slack, ALICE)
            bob = await sign_in(app, slack, BOB)
            # No token, and Bob's token in Alice's session: refused, still signed in.
            assert (await alice.post("/logout", {})).status == 403
            bobs_token = (await bob.get("/app/")).csrf
            assert (await alice.post("/logout", {"csrf": bobs_token})).status == 403
            assert await signed_in(alice)

            old_cookies = dict(alice.cookies)
            token = (await alice.get("/app/")).csrf
            page = await alice.post("/logout", {"csrf": token})
            assert page.status == 200 and page.h1 == "Signed out"
            assert SESSION not in alice.cookies
            # The old cookie is worthless now (it was ended server-side, not just forgotten).
            assert not await signed_in(Browser(app.url, old_cookies))
            assert await signed_in(bob)
        finally:
            await app.stop()


async def test_state_changing_forms_are_refused_without_the_csrf_token(database_url: str) -> None:
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
            alice = await sign_in(app, slack, ALICE)
            form = {
                "name": "Renamed",
                "channel": "C0DAILY01",
                "questions": "Q?",
                "participants": ALICE,
                "days": "0",
                "time": "11:00",
            }
            for path in (f"/app/standups/{standup_id}/edit", "/app/standups/new"):
                page = await alice.post(path, form)
                assert page.status == 403 and "expired" in page.visible_text, path
                page = await alice.post(path, {**form, "csrf": "forged-token"})
                assert page.status == 403, path
            db = Database(database_url)
            try:
                async with db.session() as session:
                    names = list((await session.scalars(select(Standup.name))).all())
            finally:
                await db.dispose()
            assert names == ["Daily"]
        finally:
            await app.stop()


async def test_sessions_end_when_idle_and_at_their_absolute_expiry(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(
            database_url,
            slack,
            role="web",
            clock=clock,
            session_idle_minutes=10,
            session_max_hours=1,
        )
        try:
            # Idle: ten minutes without a request ends it.
            browser = await sign_in(app, slack, ALICE)
            clock.advance(minutes=9)
            assert await signed_in(browser)  # and this request resets the idle clock
            clock.advance(minutes=9)
            assert await signed_in(browser)
            clock.advance(minutes=11)
            assert not await signed_in(browser)

            # Absolute: however busy, one hour after signing in it ends.
            clock.offset = dt.timedelta(0)
            browser = await sign_in(app, slack, ALICE)
            for _ in range(7):
                clock.advance(minutes=8)
                assert await signed_in(browser)  # 56 minutes
            clock.advance(minutes=5)
            assert not await signed_in(browser)  # 61 minutes
        finally:
            await app.stop()


async def test_signing_in_again_gets_a_new_session_id(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(database_url, slack, role="web")
        try:
            browser = await sign_in(app, slack, ALICE)
            first = dict(browser.cookies)
            authorize = await start_login(browser)  # the browser still sends its session
            page = await callback(
                browser, code=approve(slack, authorize, ALICE), state=authorize.state
            )
            assert page.status == 303
            assert browser.cookies[SESSION] != first[SESSION]
            assert await signed_in(browser)
            assert not await signed_in(Browser(app.url, first))  # the old id was ended
        finally:
            await app.stop()


async def test_uninstall_ends_every_session_of_that_workspace(database_url: str) -> None:
    team_c = "T0TEAMCCC"
    async with FakeSlack() as slack:
        app = await start_multi_web(database_url, slack, role="web")
        try:
            slack.add_user(ALICE, "alice", team_id=TEAM_B)
            slack.add_user(BOB, "bob", team_id=team_c)
            await install_workspace(
                app, slack, team_id=TEAM_B, team_name="B", installer=ALICE, bot_user_id="U0BOTB001"
            )
            await install_workspace(
                app, slack, team_id=team_c, team_name="C", installer=BOB, bot_user_id="U0BOTC001"
            )
            alice = await sign_in(app, slack, ALICE, TEAM_B)
            alice_again = await sign_in(app, slack, ALICE, TEAM_B)  # a second browser
            bob = await sign_in(app, slack, BOB, team_c)

            status, text = await requests_for(app, TEAM_B).event(
                app_uninstalled_event(), event_id="Ev0UNINSTB"
            )
            assert status == 200, text
            assert not await signed_in(alice) and not await signed_in(alice_again)
            assert await signed_in(bob)
            # And nobody signs in to it again while it is uninstalled.
            browser = Browser(app.url)
            authorize = await start_login(browser)
            page = await callback(
                browser, code=approve(slack, authorize, ALICE, TEAM_B), state=authorize.state
            )
            assert page.status == 403
        finally:
            await app.stop()


async def test_housekeeping_sweeps_expired_states_and_dead_sessions(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice")
        app = await start_single(database_url, slack, role="web", clock=clock)
        try:
            live = await sign_in(app, slack, ALICE)
            ended = await sign_in(app, slack, ALICE)
            await ended.post("/logout", {"csrf": (await ended.get("/app/")).csrf})
            await start_login(Browser(app.url))  # a sign-in never finished
            assert len(await web_sessions(database_url)) == 2
            assert len(await login_states(database_url)) == 1

            worker_app = create_app(app.app.settings, clock=clock)
            worker = Worker(worker_app.services)
            try:
                clock.advance(minutes=11)
                await worker._housekeeping()
            finally:
                await worker_app.services.db.dispose()
            assert await login_states(database_url) == []
            [kept] = await web_sessions(database_url)
            assert kept.id_digest == digest(live.cookies[SESSION])
            assert await signed_in(live)
        finally:
            await app.stop()


# --- helpers --------------------------------------------------------------------------------------


async def login_states(database_url: str) -> list[LoginState]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return list((await session.scalars(select(LoginState))).all())
    finally:
        await db.dispose()


async def web_sessions(database_url: str) -> list[WebSession]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return list((await session.scalars(select(WebSession))).all())
    finally:
        await db.dispose()
