"""When things go wrong around the app: Slack rate-limits or errors, connections drop, Slack
redelivers an event to another replica, Redis disappears, Postgres drops every connection.
In each case every prompt is delivered exactly once and nobody has to step in.

The app runs for real (`start_app`, real HTTP, real database on both backends) with an injected
`Clock`; Slack is the stand-in, reached directly or through a TCP proxy that can hang up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp
import structlog
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Member, Prompt
from tests.backends import free_port, postgres_admin, postgres_only
from tests.harness import Clock, RunningApp, is_delivered_prompt, start_app
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import app_home_opened_event

CHANNEL = "C0STANDUP1"
ALICE = "U0ALICE01"  # Europe/Berlin: 09:00 there is 08:00 UTC in January
BOB = "U0BOB0001"  # Europe/London: 09:00 there is 09:00 UTC in January
LONDONERS = [f"U0LON{n:04d}" for n in range(8)]
DAY = dt.date(2026, 1, 14)  # a Wednesday


def utc(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=dt.UTC)


def set_clock(clock: Clock, instant: dt.datetime) -> None:
    clock.offset = instant - dt.datetime.now(dt.UTC)


# --- set-up and inspection ------------------------------------------------------------------------


async def seed_standup(
    database_url: str,
    team_id: str,
    *,
    participants: list[str],
    name: str = "Daily",
    local_time: str = "09:00",
    fixed_tz: str | None = None,
) -> None:
    """Migrate, then store a standup (every day, created the night before) as /standup create
    would; the owner is the first participant."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, team_id)
            await standups_db.create_standup(
                session,
                workspace.id,
                name=name,
                name_key=name_key(name),
                channel_id=CHANNEL,
                questions=["What did you do?", "Any blockers?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=local_time,
                tz_mode="fixed" if fixed_tz else "participant",
                fixed_tz=fixed_tz,
                owner_user_id=participants[0],
                participant_ids=participants,
                now=utc(0) - dt.timedelta(hours=6),
            )
    finally:
        await db.dispose()


async def prompt_rows(database_url: str) -> dict[str, list[Prompt]]:
    """Every prompt row, by Slack user id."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id, Prompt)
                .join(Member, Member.id == Prompt.member_id)
                .order_by(Prompt.id)
            )
            found: dict[str, list[Prompt]] = {}
            for user, prompt in rows:
                found.setdefault(user, []).append(prompt)
            return found
    finally:
        await db.dispose()


def prompted(slack: FakeSlack) -> Counter[str]:
    """How many prompt DMs each user received."""
    return Counter("U" + c.body["channel"][1:] for c in slack.calls if is_delivered_prompt(c))


def summary_posts(slack: FakeSlack) -> list[Call]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == CHANNEL and not c.body.get("thread_ts")
    ]


async def eventually(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - polling helper
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def metric(app: RunningApp, name: str, **labels: str) -> float:
    """One sample from the app's /metrics, as a scraper sees it (0 when absent)."""
    status, text = await get(app.url + "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def alice_prompted_first(slack: FakeSlack, clock: Clock, app: RunningApp) -> None:
    """08:00 UTC: Alice (Berlin) gets her prompt and the run's summary is posted; the London
    participants are due at 09:00 UTC."""
    set_clock(clock, utc(8, 0, 2))
    await slack.wait_for("chat.postMessage", predicate=is_delivered_prompt)
    await slack.wait_idle(quiet=0.3)
    assert prompted(slack) == {ALICE: 1}
    assert len(summary_posts(slack)) == 1


# --- Slack says 429 / 5xx / hangs up --------------------------------------------------------------


async def test_429_storm_on_open_and_post_delivers_every_prompt_exactly_once(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        for n, user in enumerate(LONDONERS):
            slack.add_user(user, f"londoner{n}", tz="Europe/London")
        await seed_standup(database_url, slack.team_id, participants=[ALICE, *LONDONERS])
        clock = Clock()
        set_clock(clock, utc(7, 59))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await alice_prompted_first(slack, clock, app)
            # Twelve 429s in a row on each of the two calls a prompt needs, for eight people.
            slack.fail_next("conversations.open", status=429, retry_after=1, times=12)
            slack.fail_next("chat.postMessage", status=429, retry_after=1, times=12)
            set_clock(clock, utc(9, 0, 2))
            await slack.wait_for(
                "chat.postMessage", count=9, predicate=is_delivered_prompt, timeout=20
            )
            await slack.wait_idle(quiet=0.5)

            assert prompted(slack) == {ALICE: 1, **dict.fromkeys(LONDONERS, 1)}
            limited = Counter(c.method for c in slack.calls if c.status == 429)
            assert limited == {"conversations.open": 12, "chat.postMessage": 12}
            for method in ("conversations.open", "chat.postMessage"):
                assert await metric(app, "asyncstand_slack_api_429_total", method=method) == 12
        finally:
            await app.stop()
        rows = await prompt_rows(database_url)
        # Retried inside the client (honouring Retry-After), so each prompt was claimed once.
        assert {user: [(p.state, p.attempts) for p in ps] for user, ps in rows.items()} == {
            user: [("sent", 1)] for user in [ALICE, *LONDONERS]
        }


async def test_429s_outlasting_the_client_retries_are_retried_by_the_scheduler(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/London")
        await seed_standup(database_url, slack.team_id, participants=[ALICE, BOB])
        clock = Clock()
        set_clock(clock, utc(7, 59))
        app = await start_app(database_url, slack, clock=clock)
        try:
            await alice_prompted_first(slack, clock, app)
            # Eight 429s: the client gives up after five retries (six answers) ...
            slack.fail_next("chat.postMessage", status=429, retry_after=0, times=8)
            set_clock(clock, utc(9, 0, 2))

            async def given_up() -> bool:
                [bob] = (await prompt_rows(database_url)).get(BOB, [None])
                return bob is not None and (bob.state, bob.error) == ("pending", "ratelimited")

            await eventually(given_up, "Bob's prompt to be put back for a retry")
            assert sum(c.status == 429 for c in slack.calls) == 6
            assert prompted(slack) == {ALICE: 1}
            # ... and the scheduler tries again after its back-off (5 s after the attempt).
            clock.advance(seconds=6)
            await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
            await slack.wait_idle(quiet=0.5)
            assert prompted(slack) == {ALICE: 1, BOB: 1}
            assert sum(c.status == 429 for c in slack.calls) == 8
            assert await metric(app, "asyncstand_prompts_total", outcome="retried") == 1
        finally:
            await app.stop()
        [bob] = (await prompt_rows(database_url))[BOB]
        assert (bob.state, bob.attempts, bob.error) == ("sent", 2, None)


class HangingUpProxy:
    """A TCP proxy in front of the Slack stand-in that hangs up on chosen Web API calls after
    reading the request (the client sees the server disconnect without an answer)."""

    def __init__(self, slack: FakeSlack) -> None:
        self._target_port = slack.port
        self._drops: Counter[str] = Counter()
        self.dropped: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def drop(self, method: str, times: int = 1) -> None:
        self._drops[method] += times

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode()
        method = path.split("?", 1)[0].rsplit("/", 1)[-1]
        if self._drops[method] > 0:
            self._drops[method] -= 1
            self.dropped.append(method)
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        # One request per connection, so every request passes the drop check above (the app
        # keeps connections alive): the upstream closes after its response, and so do we.
        lines = [
            line for line in head[:-4].split(b"\r\n") if not line.lower().startswith(b"connection:")
        ]
        up_writer.write(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_server_errors_and_dropped_connections_are_retried_without_duplicates(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/London")
        await seed_standup(database_url, slack.team_id, participants=[ALICE, BOB])
        proxy = HangingUpProxy(slack)
        await proxy.start()
        clock = Clock()
        set_clock(clock, utc(7, 59))
        app = await start_app(database_url, slack, clock=clock, slack_api_url=proxy.api_url)
        try:
            await alice_prompted_first(slack, clock, app)
            proxy.drop("conversations.open")  # the connection goes away mid-request
            slack.fail_next("chat.postMessage", status=503)
            slack.fail_next("chat.update", status=500)  # the summary refresh after the send
            set_clock(clock, utc(9, 0, 2))
            await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
            await slack.wait_for("chat.update", predicate=lambda c: c.ok)
            await slack.wait_idle(quiet=0.5)
        finally:
            await app.stop()
            await proxy.stop()
        assert proxy.dropped == ["conversations.open"]
        assert prompted(slack) == {ALICE: 1, BOB: 1}
        bob_dm = "D" + BOB[1:]
        posts = [
            c.status for c in slack.calls_to("chat.postMessage") if c.body["channel"] == bob_dm
        ]
        assert posts == [503, 200]
        assert [c.status for c in slack.calls_to("chat.update")] == [200, 500, 200]
        [bob] = (await prompt_rows(database_url))[BOB]
        assert (bob.state, bob.attempts, bob.error) == ("sent", 1, None)


# --- Slack redelivers an event ------------------------------------------------------------------


async def test_a_redelivered_event_acts_once_even_on_another_replica(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        first = await start_app(database_url, slack)
        second = await start_app(database_url, slack)
        try:
            await slack.wait_for("auth.test", count=2)
            event = app_home_opened_event(ALICE)
            # Slack's retry (it did not see our 200 in time) lands on the other replica while
            # the original is still being handled.
            results = await asyncio.gather(
                first.requests.event(event, event_id="Ev0HOME0001"),
                second.requests.event(event, event_id="Ev0HOME0001", retry_num=1),
            )
            assert [status for status, _ in results] == [200, 200]
            await slack.wait_for("views.publish")
            status, _ = await first.requests.event(event, event_id="Ev0HOME0001", retry_num=2)
            assert status == 200
            await slack.wait_idle(quiet=0.5)
            assert len(slack.calls_to("views.publish")) == 1

            # A new event (a new id) is acted on, whichever replica gets it.
            status, _ = await second.requests.event(
                app_home_opened_event(ALICE), event_id="Ev0HOME0002"
            )
            assert status == 200
            await slack.wait_for("views.publish", count=2)
            await slack.wait_idle(quiet=0.5)
            assert len(slack.calls_to("views.publish")) == 2
        finally:
            await first.stop()
            await second.stop()


# --- Redis goes away ------------------------------------------------------------------------------


async def test_unreachable_redis_limits_locally_and_readyz_says_so(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        await seed_standup(database_url, slack.team_id, participants=[ALICE])
        clock = Clock()
        set_clock(clock, utc(8, 0, 2))
        closed_port = free_port()  # nothing listens there
        with structlog.testing.capture_logs() as logs:
            app = await start_app(
                database_url, slack, clock=clock, redis_url=f"redis://127.0.0.1:{closed_port}/0"
            )
            try:
                await slack.wait_for("chat.postMessage", predicate=is_delivered_prompt)
                await slack.wait_idle(quiet=0.3)
                assert prompted(slack) == {ALICE: 1}
                assert len(summary_posts(slack)) == 1

                status, text = await get(app.url + "/readyz")
                assert status == 503
                assert json.loads(text) == {
                    "status": "not ready",
                    "checks": {"database": "ok", "redis": "unavailable"},
                }
                status, text = await get(app.url + "/healthz")
                assert (status, json.loads(text)) == (200, {"status": "ok"})
            finally:
                await app.stop()
        warnings = [e for e in logs if e["event"] == "redis_rate_limit_unavailable"]
        assert warnings and warnings[0]["log_level"] == "warning"
        assert len(warnings) == 1  # not once per call: Redis is left alone for a while
        errors = [e for e in logs if e["log_level"] in ("error", "critical")]
        assert not errors, errors
    [alice] = (await prompt_rows(database_url))[ALICE]
    assert alice.state == "sent"


# --- Postgres drops every connection --------------------------------------------------------------


async def _terminate_connections(database_url: str) -> int:
    """What a Postgres restart does to the app: every connection to its database is cut."""
    admin = await postgres_admin()
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            make_url(database_url).database,
        )
    finally:
        await admin.close()
    return sum(1 for row in rows if row["done"])


@postgres_only
async def test_app_carries_on_after_postgres_drops_its_connections(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_channel(CHANNEL, "standup", bot_is_member=True)
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/London")
        await seed_standup(database_url, slack.team_id, participants=[ALICE], fixed_tz="UTC")
        await seed_standup(
            database_url,
            slack.team_id,
            participants=[ALICE, BOB],
            name="Retro",
            local_time="17:00",
            fixed_tz="UTC",
        )
        clock = Clock()
        set_clock(clock, utc(9, 0, 2))
        # One tick at start, then only when a command wakes the scheduler: the first database
        # use after the connections are cut is under the test's control.
        app = await start_app(database_url, slack, clock=clock, scheduler_tick_seconds=60)
        try:
            await slack.wait_for("chat.postMessage", predicate=is_delivered_prompt)

            async def alice_recorded() -> bool:
                rows = await prompt_rows(database_url)
                return [p.state for p in rows.get(ALICE, [])] == ["sent"]

            await eventually(alice_recorded, "Alice's prompt to be recorded as sent")
            await slack.wait_idle(quiet=0.3)
            assert await _terminate_connections(database_url) >= 1
            slack.clear()

            with structlog.testing.capture_logs() as logs:
                # The first request after the cut needs the database (find the standup, check
                # the owner, create today's prompts) and wakes the scheduler, which sends them.
                status, _ = await app.requests.command(ALICE, "run Retro")
                assert status == 200
                [reply] = await slack.wait_for("response_url")
                assert "Started *Retro*: 2 participant(s)" in json.dumps(reply.body)
                await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
                status, text = await get(app.url + "/readyz")
                assert status == 200, text
            errors = [e for e in logs if e["log_level"] in ("error", "critical")]
            assert not errors, errors
            await slack.wait_idle(quiet=0.3)
            assert prompted(slack) == {ALICE: 1, BOB: 1}
        finally:
            await app.stop()
