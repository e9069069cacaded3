"""Outgoing rate limits: the token buckets (bot/ratelimit.py) and the Slack client that draws
from them (bot/slack.py).

LocalLimiter and RedisLimiter are "reservation" buckets: reserve() takes a token at once and says
how long to wait before using it. The expected waits are computed exactly from the bucket rules,
with the only slack being the time that passed between the calls (measured, not guessed).
RedisLimiter tests run against the local Redis (127.0.0.1:6379, override with
ASYNCSTAND_TEST_REDIS_URL) and against a redis-server of their own that they kill.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis
import structlog

from bot.metrics import Metrics
from bot.slack.gateway import ShapedWebClient, SlackGateway
from bot.slack.ratelimit import (
    POST_MESSAGE_PER_CHANNEL,
    TIER_2,
    TIER_3,
    TIER_4,
    Limit,
    LocalLimiter,
    RedisLimiter,
    bucket_for,
)
from storage.db import Database
from tests.backends import free_port
from tests.harness import BOT_TOKEN, make_settings
from tests.slack_fake import FakeSlack


class RedisServer:
    """A redis-server of our own on a free port, so a test can take it away."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed")
            pytest.skip("redis-server is not installed")
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        args = [arg for name, value in options.items() for arg in (f"--{name}", value)]
        self._proc = subprocess.Popen(
            [binary, *args, "--dir", str(self._workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.02)

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(5)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.kill()


def _key() -> str:
    return f"rl:test:{uuid.uuid4().hex}"


def _between(value: float, low: float, high: float) -> bool:
    return low - 1e-9 <= value <= high + 1e-9


# --- which bucket a call draws from -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "expected"),
    [
        ("chat.postMessage", {"channel": "C1"}, ("rl:team:chat.postMessage:C1", "per-channel")),
        ("chat.postMessage", {"channel": "D2"}, ("rl:team:chat.postMessage:D2", "per-channel")),
        ("conversations.open", {"users": "U1"}, ("rl:team:conversations.open", TIER_3)),
        ("chat.update", {"channel": "C1"}, ("rl:team:chat.update", TIER_3)),
        ("users.info", {"user": "U1"}, ("rl:team:users.info", TIER_4)),
        ("views.publish", None, ("rl:team:views.publish", TIER_4)),
        ("team.info", None, ("rl:team:team.info", TIER_3)),
    ],
)
def test_bucket_for_keys_by_channel_for_posts_and_by_method_otherwise(
    method: str, params: dict[str, str] | None, expected: tuple[str, object]
) -> None:
    found = bucket_for("team", method, params)
    assert found is not None
    key, limit = found
    assert key == expected[0]
    if expected[1] == "per-channel":
        assert limit == POST_MESSAGE_PER_CHANNEL == Limit(rate=1.0, burst=3.0)
    else:
        assert limit == expected[1]


@pytest.mark.parametrize("method", ["auth.test", "oauth.v2.access", "api.test", "emoji.list"])
def test_bucket_for_leaves_unshaped_methods_alone(method: str) -> None:
    assert bucket_for("team", method, {"channel": "C1"}) is None


def test_buckets_are_per_workspace_and_tiers_are_slacks() -> None:
    assert bucket_for("a", "chat.update", None) != bucket_for("b", "chat.update", None)
    assert bucket_for("a", "chat.postMessage", {"channel": "C1"}) != bucket_for(
        "a", "chat.postMessage", {"channel": "C2"}
    )
    # Slack's tiers: 20, 50 and 100 calls a minute.
    assert (TIER_2.rate * 60, TIER_3.rate * 60, TIER_4.rate * 60) == pytest.approx((20, 50, 100))
    assert (TIER_2.burst, TIER_3.burst, TIER_4.burst) == (20, 50, 100)


# --- LocalLimiter -------------------------------------------------------------------------------


async def test_local_limiter_allows_the_burst_then_spaces_calls_at_the_rate() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=4.0, burst=3.0)
    started = time.monotonic()
    waits = [await limiter.reserve("k", limit) for _ in range(8)]
    elapsed = time.monotonic() - started
    assert waits[:3] == [0.0, 0.0, 0.0]
    # The n-th call past the burst owes n tokens at 4 a second, less what refilled meanwhile.
    for n, wait in enumerate(waits[3:], start=1):
        assert _between(wait, n / 4 - elapsed, n / 4), (n, wait)
    # Steady rate: consecutive reservations are 1/rate apart.
    gaps = [b - a for a, b in itertools.pairwise(waits[3:])]
    assert all(_between(gap, 0.25 - elapsed, 0.25 + elapsed) for gap in gaps), gaps


async def test_local_limiter_keys_are_independent() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=1.0, burst=1.0)
    assert await limiter.reserve("a", limit) == 0.0
    assert await limiter.reserve("a", limit) > 0.9
    assert await limiter.reserve("b", limit) == 0.0


async def test_local_limiter_refills_over_time_but_never_beyond_the_burst() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=100.0, burst=2.0)
    assert [await limiter.reserve("k", limit) for _ in range(2)] == [0.0, 0.0]
    await asyncio.sleep(0.1)  # 10 tokens' worth of time, but the bucket holds 2
    started = time.monotonic()
    waits = [await limiter.reserve("k", limit) for _ in range(3)]
    elapsed = time.monotonic() - started
    assert waits[:2] == [0.0, 0.0]
    assert 0.0 < waits[2] <= 0.01 and waits[2] >= 0.01 - elapsed


async def test_local_penalize_blocks_the_bucket_for_the_given_seconds() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=2.0, burst=3.0)
    started = time.monotonic()
    await limiter.penalize("k", limit, 3.0)  # a full bucket: Slack said 429 anyway
    first, second = await limiter.reserve("k", limit), await limiter.reserve("k", limit)
    elapsed = time.monotonic() - started
    # The first user may go once 3 s have passed and one token has refilled.
    assert _between(first, 3.0 + 0.5 - elapsed, 3.5)
    assert _between(second, 4.0 - elapsed, 4.0)
    # A shorter Retry-After never shortens a longer block already in force.
    await limiter.penalize("k", limit, 1.0)
    assert await limiter.reserve("k", limit) >= 4.0
    # Other buckets are not blocked.
    assert await limiter.reserve("other", limit) == 0.0


# --- RedisLimiter ---------------------------------------------------------------------------------


async def test_two_redis_limiters_share_one_bucket(redis_url: str) -> None:
    """Two replicas draw from the same bucket: each one's wait depends on the other's calls."""
    first, second = RedisLimiter(redis_url), RedisLimiter(redis_url)
    key, limit = _key(), Limit(rate=2.0, burst=3.0)
    try:
        started = time.monotonic()
        waits = [
            await first.reserve(key, limit),
            await second.reserve(key, limit),
            await first.reserve(key, limit),
            await second.reserve(key, limit),  # one token past the shared burst
            await first.reserve(key, limit),
            await second.reserve(key, limit),
        ]
        elapsed = time.monotonic() - started
        assert waits[:3] == [0.0, 0.0, 0.0]
        for n, wait in enumerate(waits[3:], start=1):
            assert _between(wait, n / 2 - elapsed, n / 2), (n, waits)
        assert not first.degraded and not second.degraded
    finally:
        await first._redis.delete(key)
        await first.close()
        await second.close()


async def test_a_429_seen_by_one_replica_blocks_the_other(redis_url: str) -> None:
    first, second = RedisLimiter(redis_url), RedisLimiter(redis_url)
    key, limit = _key(), Limit(rate=1.0, burst=3.0)
    try:
        started = time.monotonic()
        await first.penalize(key, limit, 2.0)
        wait = await second.reserve(key, limit)
        elapsed = time.monotonic() - started
        assert _between(wait, 3.0 - elapsed, 3.0)
        # The key expires on its own (no unbounded growth in Redis).
        ttl = await first._redis.ttl(key)
        assert 0 < ttl <= 65  # ceil(burst / rate + penalty) + 60
    finally:
        await first._redis.delete(key)
        await first.close()
        await second.close()


class QuickRetryRedisLimiter(RedisLimiter):
    """Tries Redis again 0.3 s after a failure instead of 30 s, so recovery is testable."""

    RETRY_REDIS_AFTER = 0.3


async def test_redis_going_away_falls_back_to_local_buckets_and_recovers(
    redis_server: RedisServer,
) -> None:
    redis_server.start()
    limiter = QuickRetryRedisLimiter(redis_server.url)
    observer = redis.from_url(redis_server.url)
    key, limit = _key(), Limit(rate=1.0, burst=2.0)
    try:
        assert await limiter.ping()
        assert [await limiter.reserve(key, limit) for _ in range(3)][:2] == [0.0, 0.0]
        assert await observer.exists(key) == 1  # the bucket lives in Redis

        redis_server.kill()
        with structlog.testing.capture_logs() as logs:
            # No exception: the call is limited by this process's own bucket instead (a fresh
            # one with its whole burst), and Redis is not asked again for a while.
            waits = [await limiter.reserve(key, limit) for _ in range(3)]
            await limiter.penalize(key, limit, 5.0)
            assert await limiter.reserve(key, limit) >= 5.0
        assert waits[:2] == [0.0, 0.0] and _between(waits[2], 0.9, 1.0)
        assert limiter.degraded
        assert not await limiter.ping()
        warnings = [e for e in logs if e["event"] == "redis_rate_limit_unavailable"]
        assert len(warnings) == 1, logs
        assert warnings[0]["log_level"] == "warning"
        assert warnings[0]["fallback"] == "in-process limits"

        redis_server.start()  # back, on the same port, empty
        await observer.aclose()
        observer = redis.from_url(redis_server.url)
        await asyncio.sleep(0.35)
        assert not limiter.degraded
        assert await limiter.reserve(key, limit) == 0.0
        assert await observer.exists(key) == 1  # shared again
    finally:
        await observer.aclose()
        await limiter.close()


async def test_redis_limiter_at_a_closed_port_still_limits_locally() -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0")
    limit = Limit(rate=1.0, burst=1.0)
    try:
        with structlog.testing.capture_logs() as logs:
            assert await limiter.reserve("k", limit) == 0.0
            assert _between(await limiter.reserve("k", limit), 0.9, 1.0)
        assert [e["event"] for e in logs] == ["redis_rate_limit_unavailable"]
        assert not await limiter.ping()
    finally:
        await limiter.close()


# --- the Slack client that draws from the buckets ------------------------------------------------


async def _gateway(slack: FakeSlack) -> tuple[SlackGateway, Database]:
    settings = make_settings("sqlite+aiosqlite:///:memory:", slack)
    db = Database(settings.database_url)  # never connected: the client needs no database
    return SlackGateway(settings, None, db, metrics=Metrics(), limiter=LocalLimiter()), db


async def test_posts_to_one_channel_are_shaped_to_its_rate() -> None:
    async with FakeSlack() as slack:
        slack.add_channel("C0STANDUP1", "standup", bot_is_member=True)
        slack.add_channel("C0OTHER01", "other", bot_is_member=True)
        gateway, db = await _gateway(slack)
        client = gateway.client(BOT_TOKEN)
        try:
            started = time.time()
            await asyncio.gather(
                *(client.chat_postMessage(channel="C0STANDUP1", text=f"m{n}") for n in range(5)),
                client.chat_postMessage(channel="C0OTHER01", text="elsewhere"),
            )
        finally:
            await gateway.close()
            await db.dispose()
        arrivals = sorted(
            c.at - started
            for c in slack.calls_to("chat.postMessage")
            if c.body["channel"] == "C0STANDUP1"
        )
        # A burst of 3, then one a second.
        assert all(a < 0.5 for a in arrivals[:3]), arrivals
        assert arrivals[3] >= 0.85 and arrivals[4] >= 1.85, arrivals
        assert arrivals[4] < 3.5, arrivals  # shaped, not stuck
        [other] = [
            c for c in slack.calls_to("chat.postMessage") if c.body["channel"] != "C0STANDUP1"
        ]
        assert other.at - started < 0.5  # another channel's bucket is not held up
        calls = gateway.metrics.registry.get_sample_value(
            "asyncstand_slack_api_calls_total", {"method": "chat.postMessage", "outcome": "ok"}
        )
        assert calls == 6


async def test_429_retry_after_is_honoured_and_shared_with_other_callers() -> None:
    """Slack says 429 + Retry-After: 2. The call is retried after the whole 2 s, and another call
    to the same bucket made meanwhile waits it out too; other buckets carry on."""
    async with FakeSlack() as slack:
        slack.add_channel("C0STANDUP1", "standup", bot_is_member=True)
        slack.add_channel("C0OTHER01", "other", bot_is_member=True)
        gateway, db = await _gateway(slack)
        client = gateway.client(BOT_TOKEN)
        slack.fail_next("chat.postMessage", status=429, retry_after=2)
        try:
            first = asyncio.create_task(client.chat_postMessage(channel="C0STANDUP1", text="1"))
            [limited] = await slack.wait_for("chat.postMessage")
            assert limited.status == 429
            await asyncio.sleep(0.05)  # the handler has told the bucket by now
            second = asyncio.create_task(client.chat_postMessage(channel="C0STANDUP1", text="2"))
            third = await client.chat_postMessage(channel="C0OTHER01", text="3")
            assert third["ok"]
            assert (await first)["ok"] and (await second)["ok"]
        finally:
            await gateway.close()
            await db.dispose()
        posts = {c.body["text"]: c for c in slack.calls_to("chat.postMessage") if c.ok}
        assert posts["1"].at - limited.at >= 2.0
        assert posts["2"].at - limited.at >= 2.0
        assert posts["3"].at - limited.at < 1.0
        registry = gateway.metrics.registry
        assert (
            registry.get_sample_value(
                "asyncstand_slack_api_429_total", {"method": "chat.postMessage"}
            )
            == 1
        )


# --- backlog: a peek for fair fan-out (bot.delivery) ---------------------------------------------


async def test_backlog_tells_the_wait_without_taking_a_token() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=1.0, burst=2.0)
    assert await limiter.backlog("k", limit) == 0.0
    assert [await limiter.reserve("k", limit) for _ in range(2)] == [0.0, 0.0]
    started = time.monotonic()
    peeks = [await limiter.backlog("k", limit) for _ in range(3)]
    elapsed = time.monotonic() - started
    # Peeking takes nothing: every peek sees the same wait for the next token.
    assert all(_between(p, 1.0 - 2 * elapsed - 0.01, 1.0) for p in peeks), peeks
    await limiter.penalize("k", limit, 5.0)  # a 429's Retry-After
    assert _between(await limiter.backlog("k", limit), 5.0, 6.0)


async def test_redis_backlog_is_shared_between_replicas(redis_url: str) -> None:
    first, second = RedisLimiter(redis_url), RedisLimiter(redis_url)
    key, limit = _key(), Limit(rate=1.0, burst=3.0)
    try:
        assert await second.backlog(key, limit) == 0.0
        await first.penalize(key, limit, 4.0)
        assert _between(await second.backlog(key, limit), 4.0, 5.0)
        assert _between(await second.backlog(key, limit), 4.0, 5.0)  # nothing was taken
    finally:
        await first._redis.delete(key)
        await first.close()
        await second.close()


async def test_a_429_makes_the_workspace_clients_backlog_its_retry_after() -> None:
    """bot.delivery leaves a workspace out of a fan-out claim while its client's backlog (the
    workspace-wide bucket of conversations.open) says a 429 is being waited out."""
    async with FakeSlack() as slack:
        slack.add_user("U0ANA0001", "ana")
        gateway, db = await _gateway(slack)
        client = gateway.client(BOT_TOKEN)
        assert isinstance(client, ShapedWebClient)
        slack.fail_next("conversations.open", status=429, retry_after=3)
        try:
            opening = asyncio.create_task(client.conversations_open(users="U0ANA0001"))
            await slack.wait_for("conversations.open")
            await asyncio.sleep(0.05)  # the retry handler has told the bucket by now
            # Retry-After, then one token's refill (50 a minute) before the next call.
            assert _between(await client.backlog("conversations.open"), 2.9, 3.0 + 60 / 50)
            assert await client.backlog("users.info") == 0.0  # other buckets are free
            assert (await opening)["ok"]
        finally:
            await gateway.close()
            await db.dispose()
