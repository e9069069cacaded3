"""Pages and endpoints (issue 8, item 7), driven over real HTTP on both databases.

- Every response carries security headers (one middleware); the install pages' CSP allows no
  script and exactly their own stylesheet, by the SHA-256 of its text.
- Bolt's OAuth state cookie is SameSite=Lax (and still Secure, HttpOnly, Path=/).
- GET /slack/install cannot fill the database: expired states are swept by the scheduler (at
  most once a minute) and the page is rate-limited per client address (shared through Redis).
- /metrics can require a bearer token (METRICS_TOKEN) and/or move to its own port (METRICS_PORT).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
import structlog
from multidict import CIMultiDictProxy
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot import logging as bot_logging
from bot.logging import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.ratelimit import Limit, LocalLimiter, RedisLimiter
from bot.views.pages import PAGE_CSP
from handlers.web_policy import API_CSP, bearer_matches, client_address, install_bucket
from storage.db import Database
from storage.models import OAuthState
from tests.backends import free_port
from tests.harness import SIGNING_SECRET, Clock, start_app
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


def _settings(**values: object) -> Settings:
    return load_settings(
        slack_signing_secret=SIGNING_SECRET, slack_bot_token="xoxb-1", _env_file=None, **values
    )


def _problem(**values: object) -> str:
    with pytest.raises(SettingsError) as info:
        _settings(**values)
    [problem] = info.value.problems
    return problem


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


# --- rate limit on GET /slack/install ---------------------------------------------------------


async def test_install_page_is_rate_limited_per_client_address(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack, install_rate_per_minute=3)
        try:
            for _ in range(3):
                status, _, _ = await fetch(app.url + "/slack/install")
                assert status == 200
            status, headers, page = await fetch(app.url + "/slack/install")
            assert status == 429
            retry_after = int(headers["Retry-After"])
            assert 1 <= retry_after <= 20  # one token every 20 s at 3 a minute
            assert "Too many requests" in page and f"{retry_after} second" in page
            assert_page_headers(headers, page)
            # Without TRUST_PROXY_HEADERS, X-Forwarded-For is the client's say-so: ignored.
            status, _, _ = await fetch(
                app.url + "/slack/install", {"X-Forwarded-For": "203.0.113.9"}
            )
            assert status == 429
            # Refused requests stored nothing, and don't push the wait further out.
            assert len(await state_rows(database_url)) == 3
            status, headers, _ = await fetch(app.url + "/slack/install")
            assert status == 429 and int(headers["Retry-After"]) <= retry_after
            # Other endpoints are not limited.
            status, _, _ = await fetch(app.url + "/healthz")
            assert status == 200
        finally:
            await app.stop()


async def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(
            database_url, slack, install_rate_per_minute=2, trust_proxy_headers=True
        )

        async def status_for(forwarded_for: str) -> int:
            status, _, _ = await fetch(
                app.url + "/slack/install", {"X-Forwarded-For": forwarded_for}
            )
            return status

        try:
            assert [await status_for("198.51.100.7") for _ in range(3)] == [200, 200, 429]
            assert await status_for("198.51.100.8") == 200  # another client
            # Our proxy appends the address it saw: an entry the client prepends changes nothing.
            assert await status_for("198.51.100.99, 198.51.100.7") == 429
            # IPv6 is limited per /64.
            assert await status_for("2001:db8:1:2::1") == 200
            assert await status_for("2001:db8:1:2::ffff") == 200
            assert await status_for("2001:db8:1:2:abcd::1") == 429
            assert await status_for("2001:db8:1:3::1") == 200
        finally:
            await app.stop()


async def test_install_rate_limit_is_shared_through_redis(
    database_url: str, redis_url: str
) -> None:
    address = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"  # fresh per run
    async with FakeSlack() as slack:
        overrides: dict[str, Any] = {
            "install_rate_per_minute": 2,
            "trust_proxy_headers": True,
            "redis_url": redis_url,
            "role": "web",
        }
        first = await start_multi(database_url, slack, **overrides)
        second = await start_multi(database_url, slack, **overrides)
        try:
            statuses = []
            for app in (first, second, second):
                status, _, _ = await fetch(app.url + "/slack/install", {"X-Forwarded-For": address})
                statuses.append(status)
            assert statuses == [200, 200, 429]
        finally:
            await first.stop()
            await second.stop()


async def test_admission_never_runs_into_debt() -> None:
    """admit() refuses without taking a token: hammering does not lengthen the wait."""
    limiter, limit = LocalLimiter(), Limit(rate=10.0, burst=2.0)
    assert [await limiter.admit("k", limit) for _ in range(2)] == [0.0, 0.0]
    waits = [await limiter.admit("k", limit) for _ in range(50)]
    assert all(0.0 < w <= 0.1 for w in waits)
    await asyncio.sleep(0.12)
    assert await limiter.admit("k", limit) == 0.0
    assert await limiter.admit("other", limit) == 0.0


async def test_redis_admission_matches_the_local_one(redis_url: str) -> None:
    first, second = RedisLimiter(redis_url), RedisLimiter(redis_url)
    key, limit = f"test:admit:{uuid.uuid4().hex}", Limit(rate=10.0, burst=2.0)
    try:
        assert [await first.admit(key, limit), await second.admit(key, limit)] == [0.0, 0.0]
        waits = [await (first, second)[n % 2].admit(key, limit) for n in range(20)]
        assert all(0.0 < w <= 0.1 for w in waits), waits
        await asyncio.sleep(0.12)
        assert await second.admit(key, limit) == 0.0
        assert 0 < await first._redis.ttl(key) <= 61
        assert not first.degraded
    finally:
        await first._redis.delete(key)
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("peer", "forwarded", "trust", "expected"),
    [
        ("192.0.2.1", [], False, "192.0.2.1"),
        ("192.0.2.1", ["198.51.100.7"], False, "192.0.2.1"),
        ("192.0.2.1", ["198.51.100.7"], True, "198.51.100.7"),
        ("192.0.2.1", ["10.0.0.1, 198.51.100.7"], True, "198.51.100.7"),
        ("192.0.2.1", ["10.0.0.1", "198.51.100.7"], True, "198.51.100.7"),
        ("192.0.2.1", ["198.51.100.7:4711"], True, "198.51.100.7"),
        ("192.0.2.1", ["[2001:db8::1]:4711"], True, "2001:db8::1"),
        ("192.0.2.1", ["not an address"], True, "192.0.2.1"),
        ("192.0.2.1", [" , "], True, "192.0.2.1"),
        ("::ffff:192.0.2.1", [], False, "192.0.2.1"),
        (None, [], False, "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], trust: bool, expected: str) -> None:
    assert client_address(peer, forwarded, trust_proxy=trust) == expected


def test_install_bucket_groups_ipv6_by_64() -> None:
    assert install_bucket("192.0.2.1") == "rl:install:192.0.2.1"
    assert install_bucket("2001:db8:1:2::1") == install_bucket("2001:db8:1:2:ffff::9")
    assert install_bucket("2001:db8:1:2::1") == "rl:install:2001:db8:1:2::/64"
    assert install_bucket("2001:db8:1:3::1") != install_bucket("2001:db8:1:2::1")
    assert install_bucket("unknown") == "rl:install:unknown"


def test_install_limit_settings() -> None:
    settings = _settings()
    assert settings.trust_proxy_headers is False
    assert settings.install_rate_per_minute == 20
    assert _settings(trust_proxy_headers="true").trust_proxy_headers is True
    assert _problem(install_rate_per_minute=0).startswith("INSTALL_RATE_PER_MINUTE: ")


# --- /metrics ---------------------------------------------------------------------------------


def test_bearer_matches() -> None:
    assert bearer_matches(f"Bearer {METRICS_TOKEN}", METRICS_TOKEN)
    assert bearer_matches(f"bearer  {METRICS_TOKEN} ", METRICS_TOKEN)
    for header in (
        None,
        "",
        METRICS_TOKEN,
        f"Basic {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN}x",
        "Bearer ",
        f"Bearer {METRICS_TOKEN[:-1]}é",
    ):
        assert not bearer_matches(header, METRICS_TOKEN), header


async def scrape(url: str, token: str | None) -> tuple[int, Headers, str]:
    return await fetch(url, {"Authorization": f"Bearer {token}"} if token else None)


async def test_metrics_token_is_required_when_set(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, metrics_token=METRICS_TOKEN)
        try:
            for token in (None, "wrong-token-0123456789", METRICS_TOKEN + "x"):
                status, headers, text = await scrape(app.url + "/metrics", token)
                assert status == 401, token
                assert headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
                assert METRICS_TOKEN not in text and "asyncstand_" not in text
            status, _, text = await fetch(
                app.url + "/metrics", {"Authorization": f"Basic {METRICS_TOKEN}"}
            )
            assert status == 401
            status, headers, text = await scrape(app.url + "/metrics", METRICS_TOKEN)
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            names = {family.name for family in text_string_to_metric_families(text)}
            assert "asyncstand_http_requests" in names
            assert (await fetch(app.url + "/healthz"))[0] == 200  # health stays open
        finally:
            await app.stop()


async def test_metrics_port_serves_metrics_apart(database_url: str) -> None:
    port = free_port()
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, metrics_port=port, metrics_token=METRICS_TOKEN)
        metrics_url = f"http://127.0.0.1:{port}"
        try:
            status, _, _ = await scrape(app.url + "/metrics", METRICS_TOKEN)
            assert status == 404  # not on the main port any more
            assert (await fetch(app.url + "/healthz"))[0] == 200
            assert (await scrape(metrics_url + "/metrics", None))[0] == 401
            status, headers, text = await scrape(metrics_url + "/metrics", METRICS_TOKEN)
            assert status == 200 and "asyncstand_http_requests" in text
            assert headers["X-Content-Type-Options"] == "nosniff"
            # Only /metrics lives there.
            for path in ("/healthz", "/slack/events", "/slack/install"):
                assert (await fetch(metrics_url + path))[0] == 404, path
        finally:
            await app.stop()
        # Stopped with the app.
        with pytest.raises(aiohttp.ClientConnectionError):
            await fetch(metrics_url + "/metrics")


def test_metrics_settings() -> None:
    settings = _settings()
    assert settings.metrics_token is None and settings.metrics_port is None
    assert _settings(metrics_port="").metrics_port is None
    assert METRICS_TOKEN in _settings(metrics_token=METRICS_TOKEN).secret_values
    assert _problem(metrics_token="short").startswith(
        "METRICS_TOKEN: METRICS_TOKEN must be at least 16 printable ASCII characters"
    )
    assert "secrets.token_urlsafe" in _problem(metrics_token="has a space in it, 0123456789")
    assert _problem(metrics_token="changeme").startswith("METRICS_TOKEN: ")
    assert _problem(metrics_port=3000) == (
        "METRICS_PORT (3000) must differ from PORT: it serves /metrics on a port of its own "
        "(leave it unset to serve /metrics on PORT)"
    )
    assert _problem(metrics_port=70000).startswith("METRICS_PORT: ")


@contextmanager
def app_logs(secrets: list[str]) -> Iterator[io.StringIO]:
    """The app's own logging (JSON, DEBUG, configured secrets masked) into a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config(), bot_logging._EXACT_SECRETS[:])
    levels = {n: logging.getLogger(n).level for n in ("aiohttp.access", "apscheduler")}
    buffer = io.StringIO()
    try:
        configure_logging("DEBUG", "json", secrets=secrets)
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        yield buffer
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        structlog.configure(**saved[2])
        bot_logging._EXACT_SECRETS[:] = saved[3]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_metrics_token_is_never_logged(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack, metrics_token=METRICS_TOKEN)
        with app_logs(app.app.settings.secret_values) as logs:
            try:
                for token in (METRICS_TOKEN, METRICS_TOKEN + "x", None):
                    await scrape(app.url + "/metrics", token)
                # Whatever logs it — a header dump, an error — it comes out masked.
                structlog.get_logger("asyncstand.test").warning(
                    "header_seen", authorization=f"Bearer {METRICS_TOKEN}", note=METRICS_TOKEN
                )
                logging.getLogger("aiohttp.server").warning("saw %s", METRICS_TOKEN)
            finally:
                await app.stop()
        text = logs.getvalue()
        assert "header_seen" in text and "saw [REDACTED]" in text
        assert METRICS_TOKEN not in text
