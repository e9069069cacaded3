"""What an operator watches: /healthz (the process is up), /readyz (its database and Redis are
reachable) and /metrics (Prometheus text: prompts, scheduler lag, Slack API calls, requests).

The app runs for real on both database backends; metrics are read the way Prometheus reads them
(GET /metrics, parsed with prometheus_client's parser), before and after a standup run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from tests.harness import Clock, RunningApp, is_delivered_prompt, start_app
from tests.slack_fake import FakeSlack

CHANNEL = "C0STANDUP1"
ALICE, BOB = "U0ALICE01", "U0BOB0001"
GHOST = "U0GHOST01"  # a participant Slack does not know: their prompt fails
DAY = dt.date(2026, 1, 14)
DUE = dt.datetime(2026, 1, 14, 9, 0, tzinfo=dt.UTC)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def scrape(app: RunningApp) -> tuple[Samples, dict[str, str]]:
    """Every sample of /metrics by (name, labels), and each family's type."""
    status, content_type, text = await get(app.url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = float(sample.value)
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def seed_standup(database_url: str, team_id: str, participants: list[str]) -> None:
    """A standup at 09:00 UTC every day (fixed zone), created the night before."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name="Daily",
                name_key=name_key("Daily"),
                channel_id=CHANNEL,
                questions=["What did you do?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time="09:00",
                tz_mode="fixed",
                fixed_tz="UTC",
                owner_user_id=participants[0],
                participant_ids=participants,
                now=DUE - dt.timedelta(hours=12),
            )
    finally:
        await db.dispose()


# --- /metrics ---------------------------------------------------------------------------------


async def test_metrics_count_prompts_lag_slack_calls_and_requests(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/London")
        await seed_standup(database_url, slack.team_id, [ALICE, BOB, GHOST])
        clock = Clock(offset=DUE - dt.timedelta(minutes=1) - dt.datetime.now(dt.UTC))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await slack.wait_for("auth.test")
            await slack.wait_for("users.info", count=3)  # planned, nothing due yet
            await slack.wait_idle(quiet=0.3)
            before, types = await scrape(app)

            slack.fail_next("chat.postMessage", status=429, retry_after=1)
            clock.offset = DUE + dt.timedelta(seconds=2) - dt.datetime.now(dt.UTC)
            await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
            status, _ = await app.requests.command(ALICE, "list")
            assert status == 200
            await slack.wait_for("response_url")
            await slack.wait_idle(quiet=0.5)
            after, types = await scrape(app)
        finally:
            await app.stop()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert types["asyncstand_prompts_due"] == "counter"
    assert types["asyncstand_prompts"] == "counter"
    assert types["asyncstand_scheduler_lag_seconds"] == "histogram"
    assert types["asyncstand_slack_api_calls"] == "counter"
    assert types["asyncstand_slack_api_seconds"] == "histogram"
    assert types["asyncstand_slack_api_429"] == "counter"
    assert types["asyncstand_http_request_seconds"] == "histogram"
    assert types["asyncstand_http_requests"] == "counter"

    # Prompts: three fell due, two went out, the unknown participant's failed.
    assert moved("asyncstand_prompts_due_total") == 3
    assert moved("asyncstand_prompts_total", outcome="sent") == 2
    assert moved("asyncstand_prompts_total", outcome="failed") == 1
    # Scheduler lag: both sent prompts were 2-3 s late (the clock jumped to 09:00:02).
    assert moved("asyncstand_scheduler_lag_seconds_count") == 2
    assert 4.0 <= moved("asyncstand_scheduler_lag_seconds_sum") < 8.0
    assert moved("asyncstand_scheduler_lag_seconds_bucket", le="2.0") == 0
    assert moved("asyncstand_scheduler_lag_seconds_bucket", le="5.0") == 2

    # Slack API calls by method and outcome, their latency, and 429s. Posts: the summary, two
    # prompts and the owner's notice about the unknown participant (each DM opened first).
    assert moved("asyncstand_slack_api_calls_total", method="chat.postMessage", outcome="ok") == 4
    assert (
        moved(
            "asyncstand_slack_api_calls_total",
            method="conversations.open",
            outcome="user_not_found",
        )
        == 1
    )
    assert moved("asyncstand_slack_api_calls_total", method="conversations.open", outcome="ok") == 3
    assert moved("asyncstand_slack_api_seconds_count", method="chat.postMessage") == 4
    assert moved("asyncstand_slack_api_seconds_sum", method="chat.postMessage") > 0
    # The 429 (on the first post, the channel summary) was retried inside the same call.
    assert moved("asyncstand_slack_api_429_total", method="chat.postMessage") == 1
    assert value(after, "asyncstand_slack_api_429_total", method="conversations.open") == 0

    # Inbound requests by route.
    assert moved("asyncstand_http_requests_total", route="/slack/events", status="200") == 1
    assert moved("asyncstand_http_request_seconds_count", route="/slack/events") == 1
    assert moved("asyncstand_http_request_seconds_sum", route="/slack/events") > 0
    # The first scrape itself was counted under its own route.
    assert value(after, "asyncstand_http_requests_total", route="/metrics", status="200") >= 1


async def test_each_app_has_its_own_metrics(database_url: str) -> None:
    """Two apps in one process (tests, or an embedding) don't add up each other's numbers."""
    async with FakeSlack() as slack:
        first = await start_app(database_url, slack)
        second = await start_app(database_url, slack)
        try:
            for _ in range(3):
                assert (await get(first.url + "/healthz"))[0] == 200
            healthz = {"route": "/healthz", "status": "200"}
            samples, _ = await scrape(second)
            assert value(samples, "asyncstand_http_requests_total", **healthz) == 0
            samples, _ = await scrape(first)
            assert value(samples, "asyncstand_http_requests_total", **healthz) == 3
        finally:
            await first.stop()
            await second.stop()


# --- /healthz and /readyz ---------------------------------------------------------------------


async def test_readyz_checks_the_database_and_redis(database_url: str, redis_url: str) -> None:
    async with FakeSlack() as slack:
        with_redis = await start_app(database_url, slack, redis_url=redis_url)
        without = await start_app(database_url, slack)
        try:
            status, _, text = await get(with_redis.url + "/readyz")
            assert (status, json.loads(text)) == (
                200,
                {"status": "ready", "checks": {"database": "ok", "redis": "ok"}},
            )
            status, _, text = await get(without.url + "/readyz")
            assert (status, json.loads(text)) == (
                200,
                {"status": "ready", "checks": {"database": "ok"}},
            )
            for app in (with_redis, without):
                status, _, text = await get(app.url + "/healthz")
                assert (status, json.loads(text)) == (200, {"status": "ok"})
        finally:
            await with_redis.stop()
            await without.stop()


def _unreachable(database_url: str, tmp_path: Path) -> str:
    """The same kind of database, but one that cannot be opened."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'asyncstand.db'}"
    return url.set(database=f"{url.database or ''}_missing").render_as_string(hide_password=False)


async def test_readyz_fails_while_the_database_is_unreachable_and_healthz_does_not(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        app = await start_app(
            _unreachable(database_url, tmp_path), slack, auto_migrate=False, role="web"
        )
        try:
            status, _, text = await get(app.url + "/readyz")
            body = json.loads(text)
            assert status == 503 and body["status"] == "not ready"
            assert body["checks"]["database"].startswith("unavailable (")
            status, _, text = await get(app.url + "/healthz")
            assert (status, json.loads(text)) == (200, {"status": "ok"})
            samples, _ = await scrape(app)
            readyz = {"route": "/readyz", "status": "503"}
            assert value(samples, "asyncstand_http_requests_total", **readyz) == 1
        finally:
            await app.stop()
