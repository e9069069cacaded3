"""The stand-in's Socket Mode against the protocol notes (platform_notes.md section 5): how
apps.connections.open takes its token, the hello, what an acknowledgement may be, single-use
URLs, redelivery of unacknowledged events; and slack_sdk's own client talking to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import DEFAULT_APP_TOKEN, FakeSlack

JSON = dict[str, Any]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def open_connection(
    slack: FakeSlack,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
) -> JSON:
    sent = {"Authorization": f"Bearer {DEFAULT_APP_TOKEN}"} if headers is None else headers
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, slack.api_url + "apps.connections.open", headers=sent, data=data
        ) as response,
    ):
        assert response.status == 200
        body: JSON = await response.json()
        return body


async def test_apps_connections_open_takes_the_app_token_as_a_bearer_only(
    slack: FakeSlack,
) -> None:
    ok = await open_connection(slack)
    assert ok["ok"] is True and ok["url"].startswith(f"ws://127.0.0.1:{slack.port}/link/?ticket=")
    assert (await open_connection(slack, method="GET"))["error"] == "insecure_request"
    assert (await open_connection(slack, headers={}))["error"] == "missing_args"
    as_field = await open_connection(slack, headers={}, data={"token": DEFAULT_APP_TOKEN})
    assert as_field["error"] == "missing_args"
    bot = await open_connection(slack, headers={"Authorization": "Bearer xoxb-test-token"})
    assert bot["error"] == "not_allowed_token_type"
    other = await open_connection(slack, headers={"Authorization": "Bearer xapp-1-A0X-1-nope"})
    assert other["error"] == "invalid_auth"
    assert [c.ok for c in slack.calls_to("apps.connections.open")] == [True] + [False] * 5


async def test_a_connection_says_hello_and_its_url_works_once(slack: FakeSlack) -> None:
    url = (await open_connection(slack))["url"]
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello"
            assert hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": slack.app_id}
            assert {"host", "build_number", "approximate_connection_time"} <= set(
                hello["debug_info"]
            )
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url)
            assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url.replace("ticket=", "ticket=x"))


async def test_acknowledgements_are_checked(slack: FakeSlack) -> None:
    url = (await open_connection(slack))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)  # hello
        await slack.wait_for_socket()

        click = await slack.send_envelope("interactive", {"type": "block_actions"})
        frame = await ws.receive_json(timeout=5)
        assert frame == {
            "envelope_id": click.envelope_id,
            "payload": {"type": "block_actions"},
            "type": "interactive",
            "accepts_response_payload": False,
        }
        await ws.send_json({"envelope_id": click.envelope_id, "payload": {"text": "no"}})
        await ws.send_json({"envelope_id": click.envelope_id})
        await ws.send_json({"envelope_id": "nope"})
        await ws.send_str("not json")

        command = await slack.send_envelope("slash_commands", {"command": "/standup"})
        assert (await ws.receive_json(timeout=5))["accepts_response_payload"] is True
        await ws.send_json({"envelope_id": command.envelope_id, "payload": {"text": "hi"}})
        ack = await asyncio.wait_for(command.ack, 5)
        assert ack.payload == {"text": "hi"} and ack.connection == 1

        event = await slack.send_envelope("events_api", {"type": "event_callback"})
        frame = await ws.receive_json(timeout=5)
        assert frame["accepts_response_payload"] is False
        assert (frame["retry_attempt"], frame["retry_reason"]) == (0, "")
        await ws.send_json({"envelope_id": event.envelope_id})
        assert (await asyncio.wait_for(event.ack, 5)).payload is None

    problems = slack.socket_protocol_errors
    assert len(problems) == 4, problems
    assert "accepts no response payload" in problems[0]
    assert "second ack" in problems[1]
    assert "unknown envelope nope" in problems[2]
    assert "not JSON" in problems[3]


async def test_an_unacknowledged_event_is_delivered_again(slack: FakeSlack) -> None:
    slack.socket_redeliver_after = 0.2
    url = (await open_connection(slack))["url"]
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)
        await slack.wait_for_socket()
        first = await slack.send_envelope("events_api", {"event_id": "Ev1"})
        frames = [await ws.receive_json(timeout=5) for _ in range(2)]
        assert [f["retry_attempt"] for f in frames] == [0, 1]
        assert frames[1]["retry_reason"] == "timeout"
        assert frames[1]["payload"] == {"event_id": "Ev1"}
        assert frames[1]["envelope_id"] != first.envelope_id
        await ws.send_json({"envelope_id": frames[1]["envelope_id"]})
        await asyncio.sleep(0.5)
        assert ws.closed is False
        # Acknowledged: no third delivery.
        with pytest.raises(TimeoutError):
            await ws.receive_json(timeout=0.3)


async def test_slack_sdks_own_client_connects_acks_and_refreshes(slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def listener(client: Any, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ok"})
        )

    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN,
        web_client=AsyncWebClient(base_url=slack.api_url),
        ping_interval=0.2,
    )
    client.socket_mode_request_listeners.append(listener)
    try:
        await client.connect()  # type: ignore[no-untyped-call]
        await slack.wait_for_socket()
        _, ack = await slack.socket_request("slash_commands", {"command": "/standup"})
        assert ack is not None and ack.payload == {"text": "ok"}
        assert received[0].payload == {"command": "/standup"}

        await slack.socket_disconnect("refresh_requested")
        second = await slack.wait_for_socket(count=2)
        _, ack = await slack.socket_request("slash_commands", {"command": "/standup"})
        assert ack is not None and ack.connection == second.number
        assert len(slack.calls_to("apps.connections.open")) == 2
    finally:
        await client.close()  # type: ignore[no-untyped-call]
    assert slack.socket_protocol_errors == []
    assert [a.payload for a in slack.socket_acks] == [{"text": "ok"}] * 2
