"""Socket Mode (SLACK_APP_TOKEN), against the stand-in's apps.connections.open and WebSocket
(tests/fake_slack/socket_mode.py): the whole standup loop with no HTTP request to the app,
acknowledgements (interactive first, events after handling), a failed event redelivered and
acted on once, reconnects after a drop and on disconnect, readiness, the worker role, and a
real `python app.py` at DEBUG that logs neither the app token nor what the envelopes carry."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import home
from tests.app_process import ProcessPool
from tests.backends import free_port
from tests.fake_slack import DEFAULT_APP_TOKEN, Envelope, FakeSlack, SocketRequests
from tests.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_signing import SlackRequests, app_home_opened_event

ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL = "C0STANDUP1"
NAME = "Daily"
ANSWERS = ["shipped socket-answer-text-2718", "more tests", "none"]
PING = 0.2  # SOCKET_MODE_PING_SECONDS: a dead connection is noticed within a few tenths


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ALICE, "alice", tz="Europe/Berlin")
        fake.add_user(BOB, "bob", tz="Europe/Berlin")
        fake.add_channel(CHANNEL, "standup")
        yield fake


async def start_socket_app(database_url: str, slack: FakeSlack, **overrides: Any) -> RunningApp:
    values: dict[str, Any] = {
        "slack_app_token": DEFAULT_APP_TOKEN,
        "socket_mode_ping_seconds": PING,
        **overrides,
    }
    return await start_app(database_url, slack, **values)


@pytest.fixture
async def app(database_url: str, slack: FakeSlack) -> AsyncIterator[RunningApp]:
    running = await start_socket_app(database_url, slack)
    try:
        await slack.wait_for_socket()
        yield running
    finally:
        await running.stop()


async def get(app: RunningApp, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(app.url + path) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def later_today() -> str:
    """A time of day that is not due for hours: prompts come only from `/standup run`."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).strftime("%H:%M")


async def run_standup_loop(requests: SlackRequests, slack: FakeSlack) -> None:
    """create → views.open → submit → /standup run → DM → Answer → modal → submit → reply."""
    status, _ = await requests.command(ALICE, "create")
    assert status == 200
    [create_modal] = await slack.wait_for("views.open")
    status, text = await requests.view_submission(
        ALICE,
        create_modal.body["view"],
        create_form_values(
            name=NAME,
            channel=CHANNEL,
            questions=["What did you do?", "What's next?", "Any blockers?"],
            participants=[ALICE, BOB],
            days=list(range(7)),
            time=later_today(),
            tz_mode="fixed",
            fixed_tz="UTC",
        ),
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for("conversations.join", predicate=lambda c: c.body["channel"] == CHANNEL)

    status, _ = await requests.command(ALICE, f"run {NAME}")
    assert status == 200
    prompts = await slack.wait_for("chat.postMessage", count=2, predicate=is_prompt, timeout=15)
    [summary] = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
    )
    summary_ts = summary.response["ts"]
    alice_dm = next(c for c in prompts if slack.user_for_dm(c.body["channel"]).id == ALICE)
    message = slack.get_message(alice_dm.response["channel"], alice_dm.response["ts"])
    assert message is not None
    button = find_action(message["blocks"], "prompt_answer")

    status, _ = await requests.block_action(
        ALICE,
        "prompt_answer",
        button["value"],
        channel_id=alice_dm.body["channel"],
        message=message,
    )
    assert status == 200
    answer_modal = (await slack.wait_for("views.open", count=2))[-1].body["view"]
    status, text = await requests.view_submission(ALICE, answer_modal, answer_values(ANSWERS))
    assert status == 200 and "errors" not in text, text
    [reply] = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body.get("thread_ts") == summary_ts, timeout=10
    )
    assert ANSWERS[0] in json.dumps(reply.body["blocks"])


def assert_every_envelope_acked_once_where_it_came(slack: FakeSlack) -> None:
    assert slack.socket_protocol_errors == []
    envelopes = list(slack.envelopes.values())
    assert envelopes and all(e.acked for e in envelopes)
    for envelope in envelopes:
        assert envelope.ack.result().connection == envelope.connection
    assert len(slack.socket_acks) == len(envelopes)


# --- the loop ---------------------------------------------------------------------------------


async def test_the_standup_loop_runs_over_the_socket_without_any_http_request(
    app: RunningApp, slack: FakeSlack
) -> None:
    requests = SocketRequests(slack)  # sends envelopes; its post() fails the test if called
    await run_standup_loop(requests, slack)

    kinds = [e.type for e in slack.envelopes.values()]
    assert kinds == [
        "slash_commands",
        "interactive",
        "slash_commands",
        "interactive",
        "interactive",
    ]
    assert_every_envelope_acked_once_where_it_came(slack)
    # The app asked for the socket URL on SLACK_API_URL, with the app token as the bearer and
    # only there; every other call used the bot token.
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.ok and opened.headers["Authorization"] == f"Bearer {DEFAULT_APP_TOKEN}"
    assert "token" not in opened.body
    others = [c for c in slack.calls if c.method not in ("apps.connections.open", "response_url")]
    assert others and {c.token for c in others} == {BOT_TOKEN}
    # Not a single HTTP request reached the app, and it has no Slack routes to reach.
    assert "/slack/" not in app.app.metrics.render().decode()
    routes = {resource.canonical for resource in app.app.web.router.resources()}
    assert routes.isdisjoint({"/slack/events", "/slack/install", "/slack/oauth_redirect"})
    for method, path in (("POST", "/slack/events"), ("GET", "/slack/install")):
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, app.url + path) as response,
        ):
            assert response.status == 404


async def test_health_readiness_and_metrics_are_still_served(
    app: RunningApp, slack: FakeSlack
) -> None:
    assert await get(app, "/healthz") == (200, {"status": "ok"})
    status, body = await get(app, "/readyz")
    assert status == 200, body
    assert body["checks"] == {"database": "ok", "slack_socket": "ok"}
    await SocketRequests(slack).command(ALICE, "help")
    status, metrics = await get(app, "/metrics")
    assert status == 200
    assert "asyncstand_slack_socket_connected 1.0" in metrics
    assert "asyncstand_slack_socket_connections_total 1.0" in metrics
    assert (
        'asyncstand_slack_socket_envelopes_total{outcome="acked",type="slash_commands"} 1.0'
        in metrics
    )


# --- acknowledgements -------------------------------------------------------------------------


async def test_events_are_acked_only_after_they_were_handled(
    app: RunningApp, slack: FakeSlack
) -> None:
    slack.method_latency["views.publish"] = 1.0
    requests = SocketRequests(slack)
    status, _ = await requests.event(app_home_opened_event(ALICE), event_id="Ev0SOCKET001")
    assert status == 200
    [published] = slack.calls_to("views.publish")
    ack = slack.socket_acks[-1]
    # The ack went out after views.publish had answered (it takes 1 s), not before.
    assert ack.at >= published.at + 1.0
    assert ack.payload is None


async def test_interactive_requests_are_acked_before_their_work(
    app: RunningApp, slack: FakeSlack
) -> None:
    slack.method_latency["response_url"] = 1.0  # the listing's reply takes a second
    requests = SocketRequests(slack)
    started = time.time()
    status, _ = await requests.command(ALICE, "list")
    acked = time.time()
    assert status == 200
    [reply] = await slack.wait_for("response_url")
    assert acked - started < 1.0
    assert slack.socket_acks[-1].at < reply.at + 1.0  # acked while the reply still travelled


async def test_a_failed_event_is_not_acked_and_slacks_redelivery_acts_once(
    app: RunningApp, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_opened = home.opened
    failures = [RuntimeError("the database went away for a moment")]

    async def opened_failing_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_opened(*args, **kwargs)

    monkeypatch.setattr(home, "opened", opened_failing_once)
    slack.socket_redeliver_after = 1.0  # Slack retries an event it got no ack for
    requests = SocketRequests(slack, ack_timeout=0.8)
    status, _ = await requests.event(app_home_opened_event(ALICE), event_id="Ev0SOCKET002")
    assert status == 0  # the handler failed: no ack, so Slack delivers it again
    first = requests.last_envelope
    assert first is not None
    retried = await wait_for_envelope(slack, lambda e: e.retry_attempt == 1)
    await asyncio.wait_for(asyncio.shield(retried.ack), 5)
    assert retried.payload["event_id"] == "Ev0SOCKET002"
    assert len(slack.calls_to("views.publish")) == 1
    # A further redelivery of the handled event is acknowledged and ignored.
    _, again = await slack.socket_request("events_api", retried.payload, retry_attempt=2)
    assert again is not None
    await slack.wait_idle(quiet=0.3)
    assert len(slack.calls_to("views.publish")) == 1
    assert not first.acked
    assert slack.socket_protocol_errors == []


async def wait_for_envelope(slack: FakeSlack, predicate: Any, timeout: float = 5) -> Envelope:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in slack.envelopes.values() if predicate(e)]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no such envelope among {list(slack.envelopes.values())}")


async def test_what_cannot_be_served_is_acked_empty_and_left_alone(
    app: RunningApp, slack: FakeSlack
) -> None:
    _, ack = await slack.socket_request("interactive", {"type": "block_actions", "user": 7})
    assert ack is not None and ack.payload is None
    _, ack = await slack.socket_request(
        "events_api", {"type": "event_callback", "team_id": slack.team_id, "event": {}}
    )
    assert ack is not None and ack.payload is None
    await slack.wait_idle(quiet=0.3)
    assert [c.method for c in slack.calls if c.method != "auth.test"] == ["apps.connections.open"]
    assert slack.socket_protocol_errors == []


# --- the connection ---------------------------------------------------------------------------


async def test_it_reconnects_after_the_connection_drops(app: RunningApp, slack: FakeSlack) -> None:
    requests = SocketRequests(slack)
    slack.method_latency["apps.connections.open"] = 1.0  # reconnecting takes a moment
    dropped = await slack.drop_socket()
    # While it reconnects the process is alive but not ready.
    status, body = await poll(app, "/readyz", lambda s, _: s == 503, timeout=3)
    assert body["checks"]["slack_socket"] == "connecting", body
    assert (await get(app, "/healthz"))[0] == 200
    second = await slack.wait_for_socket(count=2)
    assert not dropped.open and second.ticket != dropped.ticket  # a new URL for a new connection
    await poll(app, "/readyz", lambda s, _: s == 200, timeout=3)
    status, _ = await requests.command(ALICE, "help")
    assert status == 200 and slack.socket_acks[-1].connection == second.number

    # A clean close frame (Slack going away) is followed by a reconnect too.
    slack.method_latency.pop("apps.connections.open")
    await slack.drop_socket(clean=True)
    third = await slack.wait_for_socket(count=3)
    status, _ = await requests.command(ALICE, "help")
    assert status == 200 and slack.socket_acks[-1].connection == third.number
    assert len(slack.calls_to("apps.connections.open")) == 3
    assert slack.socket_protocol_errors == []


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
async def test_a_disconnect_message_makes_it_move_to_a_new_connection(
    app: RunningApp, slack: FakeSlack, reason: str
) -> None:
    old = await slack.socket_disconnect(reason)
    new = await slack.wait_for_socket(count=2)
    assert new.number == old.number + 1
    await wait_until(lambda: not old.open)  # the app closed the old one itself
    status, _ = await SocketRequests(slack).command(ALICE, "help")
    assert status == 200 and slack.socket_acks[-1].connection == new.number
    assert len(slack.open_sockets) == 1
    assert slack.socket_protocol_errors == []


async def test_a_refused_app_token_keeps_the_process_up_and_not_ready(
    database_url: str, slack: FakeSlack
) -> None:
    slack.app_tokens = {"xapp-1-A0OTHER-1-someoneelse"}
    app = await start_socket_app(database_url, slack)
    try:
        await slack.wait_for("apps.connections.open", count=3, timeout=5)
        assert {c.error for c in slack.calls_to("apps.connections.open")} == {"invalid_auth"}
        status, body = await get(app, "/readyz")
        assert status == 503 and body["checks"]["slack_socket"] == "connecting"
        assert (await get(app, "/healthz"))[0] == 200
        # Retried with back-off (0.2, 0.4, 0.8 s…), not in a tight loop.
        await asyncio.sleep(1.0)
        assert len(slack.calls_to("apps.connections.open")) <= 5
    finally:
        await app.stop()


async def test_a_worker_opens_no_socket(database_url: str, slack: FakeSlack) -> None:
    app = await start_socket_app(database_url, slack, role="worker")
    try:
        assert app.app.socket is None and not app.app.settings.socket_mode
        assert (await get(app, "/readyz"))[1]["checks"] == {"database": "ok"}
        await asyncio.sleep(0.5)
        slack.assert_not_called("apps.connections.open")
        routes = {resource.canonical for resource in app.app.web.router.resources()}
        assert routes == {"/healthz", "/readyz", "/metrics"}
    finally:
        await app.stop()


async def test_without_an_app_token_slack_posts_to_slack_events(
    database_url: str, slack: FakeSlack
) -> None:
    app = await start_app(database_url, slack)
    try:
        assert app.app.socket is None
        status, _ = await app.requests.command(ALICE, "help")
        assert status == 200
        slack.assert_not_called("apps.connections.open")
        assert "slack_socket" not in (await get(app, "/readyz"))[1]["checks"]
    finally:
        await app.stop()


# --- a real process ---------------------------------------------------------------------------


async def test_python_app_py_in_socket_mode_logs_no_token_ticket_or_answer(
    tmp_path: Path, database_url: str, slack: FakeSlack
) -> None:
    pool = ProcessPool(tmp_path, "socket")
    env = {
        **pool.base_env(),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
        "SOCKET_MODE_PING_SECONDS": str(PING),
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
        "SCHEDULER_TICK_SECONDS": "0.5",
        "PORT": str(free_port()),
    }
    process = pool.new(env, ("--role", "web"))
    try:
        await process.start()
        await process.wait_healthy(30)
        await slack.wait_for_socket(timeout=15)
        requests = SocketRequests(slack)
        # A web process has no scheduler: run the loop's prompts from a worker next to it.
        worker = pool.new({**env, "PORT": str(free_port())}, ("--role", "worker"))
        await worker.start()
        await worker.wait_healthy(30)
        await run_standup_loop(requests, slack)
        await slack.socket_disconnect("refresh_requested")
        await slack.wait_for_socket(count=2)
        assert (await requests.command(ALICE, "help"))[0] == 200
        await slack.wait_idle(quiet=0.5)
        assert await worker.stop() == 0
        assert await process.stop() == 0
    finally:
        await pool.kill_all()

    assert_every_envelope_acked_once_where_it_came(slack)
    assert len(slack.calls_to("apps.connections.open")) == 2  # the worker opened none
    tickets = [c.ticket for c in slack.socket_connections]
    output = process.stdout + process.stderr + worker.stdout + worker.stderr
    for secret in (*ANSWERS[:2], DEFAULT_APP_TOKEN.split("-", 1)[1], *tickets):
        assert secret not in output, f"{secret!r} was logged"
    events = [line.get("event") for line in process.log_lines()]
    connected = [line for line in process.log_lines() if line["event"] == "socket_mode_connected"]
    assert [line["reconnect"] for line in connected] == [False, True]
    assert "socket_mode_reconnecting" in events
    assert "slack_app_token_unused" in [line.get("event") for line in worker.log_lines()]
    frames = [
        str(line["event"])
        for line in process.log_lines()
        if str(line.get("logger", "")).startswith("slack_sdk.socket_mode")
    ]
    assert any(f.startswith("Received message (type: TEXT, data withheld)") for f in frames)
    assert any(f == "Sending a message (withheld)" for f in frames)


# --- helpers ----------------------------------------------------------------------------------


async def poll(
    app: RunningApp,
    path: str,
    done: Any,
    timeout: float = 5,  # noqa: ASYNC109
) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await get(app, path)
        if done(status, body):
            return status, body
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} still answers {status} {body}")
        await asyncio.sleep(0.02)


async def wait_until(condition: Any, timeout: float = 5) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
