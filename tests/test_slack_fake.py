"""Tests of the Slack stand-ins themselves: FakeSlack, sign()/SlackRequests, Block Kit limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.blockkit_limits import validate_message_blocks, validate_view
from tests.slack_fake import FakeSlack
from tests.slack_signing import SlackRequests, app_home_opened_event, sign

TOKEN = "xoxb-test-token"

# Slack's documented request-signing example, copied from
# /work/shared/slack-reference/signing_example.json, whose origin is
# slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py @ ae87985e
# (citing https://docs.slack.dev/authentication/verifying-requests-from-slack/).
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SIGNING_TIMESTAMP = "1531420618"
SIGNING_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
    "%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNING_EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(title: str, *, with_input: bool = False, submit: str | None = "Save") -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "standup_answer",
        "title": {"type": "plain_text", "text": title},
        "blocks": [section("hello")],
    }
    if with_input:
        view["blocks"].append(
            {
                "type": "input",
                "block_id": "yesterday",
                "label": {"type": "plain_text", "text": "Yesterday"},
                "element": {"type": "plain_text_input", "action_id": "answer"},
            }
        )
    if submit is not None:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user("U0ALICE01", "alice", tz="Europe/Berlin")
        fake.add_channel("C0STANDUP", "standup", bot_is_member=True)
        fake.add_channel("C0OTHER01", "other")
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.api_url, token=TOKEN)


# --------------------------------------------------------------------------- signing


def test_sign_reproduces_slacks_documented_example() -> None:
    assert sign(SIGNING_SECRET, SIGNING_TIMESTAMP, SIGNING_BODY) == SIGNING_EXPECTED
    assert sign(SIGNING_SECRET, int(SIGNING_TIMESTAMP), SIGNING_BODY.encode()) == SIGNING_EXPECTED


def test_sign_rejects_tampered_body() -> None:
    assert sign(SIGNING_SECRET, SIGNING_TIMESTAMP, SIGNING_BODY + "------") != SIGNING_EXPECTED
    assert sign(SIGNING_SECRET, "1531420619", SIGNING_BODY) != SIGNING_EXPECTED


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny app endpoint that checks the signature and records what arrived."""
    received: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        ts = request.headers["X-Slack-Request-Timestamp"]
        valid = sign("shh", ts, raw) == request.headers["X-Slack-Signature"]
        received.append(
            {"raw": raw, "headers": dict(request.headers), "valid": valid, "path": request.path}
        )
        return web.Response(status=200 if valid else 401, text="ack" if valid else "bad")

    app = web.Application()
    app.router.add_post("/slack/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        await runner.cleanup()


async def test_slack_requests_command_is_signed_form(
    slack: FakeSlack, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    base, received = receiver
    reqs = SlackRequests(base, "shh", fake=slack)
    status, text = await reqs.command("U0ALICE01", "skip today", channel_id="C0STANDUP")
    assert (status, text) == (200, "ack")
    form = {k: v[0] for k, v in parse_qs(received[0]["raw"].decode(), True).items()}
    assert received[0]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["command"] == "/standup"
    assert form["text"] == "skip today"
    assert form["user_name"] == "alice"
    assert form["channel_name"] == "standup"
    assert form["team_id"] == "T0TEAM001"
    assert form["trigger_id"] in slack.triggers
    assert form["response_url"].startswith(slack.base_url + "/response/")
    assert list(form)[:3] == ["token", "team_id", "team_domain"]

    status, _ = await reqs.command("U0ALICE01", "x", signature="v0=deadbeef")
    assert status == 401
    status, _ = await reqs.command("U0ALICE01", "x", timestamp=1531420618)
    assert status == 200  # still correctly signed; staleness is the app's check


async def test_slack_requests_interactive_and_event_shapes(
    slack: FakeSlack, client: AsyncWebClient, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    base, received = receiver
    reqs = SlackRequests(base, "shh", fake=slack)
    button = {
        "type": "actions",
        "block_id": "prompt",
        "elements": [
            {
                "type": "button",
                "action_id": "open_answer",
                "text": {"type": "plain_text", "text": "Answer"},
                "value": "s1",
            }
        ],
    }
    posted = await client.chat_postMessage(channel="U0ALICE01", text="Standup!", blocks=[button])
    await reqs.block_action("U0ALICE01", "open_answer", "s1")
    payload = json.loads(parse_qs(received[-1]["raw"].decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "D0ALICE01",
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["actions"][0]["block_id"] == "prompt"
    assert payload["actions"][0]["value"] == "s1"
    assert payload["user"] == {
        "id": "U0ALICE01",
        "username": "alice",
        "name": "alice",
        "team_id": "T0TEAM001",
    }
    # the trigger is live: the app can open a modal with it
    opened = await client.views_open(trigger_id=payload["trigger_id"], view=modal("Standup"))
    assert opened["view"]["callback_id"] == "standup_answer"

    values = {"yesterday": {"answer": {"type": "plain_text_input", "value": "shipped"}}}
    await reqs.view_submission("U0ALICE01", modal("Standup"), values)
    payload = json.loads(parse_qs(received[-1]["raw"].decode())["payload"][0])
    assert payload["type"] == "view_submission"
    assert payload["view"]["id"] == opened["view"]["id"]
    assert payload["view"]["state"]["values"] == values

    await reqs.event(app_home_opened_event("U0ALICE01"), event_id="Ev1", retry_num=1)
    envelope = json.loads(received[-1]["raw"])
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == "Ev1"
    assert envelope["event"]["type"] == "app_home_opened"
    assert received[-1]["headers"]["X-Slack-Retry-Num"] == "1"
    assert received[-1]["headers"]["Content-Type"] == "application/json"

    status, _ = await reqs.url_verification("challenge-me")
    assert status == 200
    assert json.loads(received[-1]["raw"])["challenge"] == "challenge-me"
    assert all(r["valid"] for r in received)


# --------------------------------------------------------------------------- Web API


async def test_chat_post_message_and_update(slack: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.chat_postMessage(channel="C0STANDUP", text="hi", blocks=[section("hi")])
    assert resp["ok"] and resp["channel"] == "C0STANDUP"
    ts = resp["ts"]
    assert resp["message"]["blocks"] == [section("hi")]
    reply = await client.chat_postMessage(channel="C0STANDUP", text="answer", thread_ts=ts)
    assert reply["ts"] > ts

    [call] = await slack.wait_for("chat.postMessage", predicate=lambda c: "thread_ts" not in c.body)
    assert call.token == TOKEN
    assert call.body["blocks"] == [section("hi")]
    assert [m["text"] for m in slack.messages("C0STANDUP")] == ["hi"]
    assert [m["text"] for m in slack.thread_replies("C0STANDUP", ts)] == ["answer"]

    updated = await client.chat_update(channel="C0STANDUP", ts=ts, text="edited")
    assert updated["ok"] and updated["ts"] == ts
    assert slack.messages("C0STANDUP")[0]["text"] == "edited"
    assert [v["text"] for v in slack.message_versions("C0STANDUP", ts)] == ["hi", "edited"]

    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="C0STANDUP", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"


@pytest.mark.parametrize(
    ("channel", "error"),
    [("C0OTHER01", "not_in_channel"), ("C0NOPE000", "channel_not_found")],
)
async def test_chat_post_message_channel_errors(
    client: AsyncWebClient, channel: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel=channel, text="hi")
    assert exc.value.response.status_code == 200
    assert exc.value.response["error"] == error


async def test_join_then_post_and_archived(slack: FakeSlack, client: AsyncWebClient) -> None:
    await client.conversations_join(channel="C0OTHER01")
    assert (await client.chat_postMessage(channel="C0OTHER01", text="hi"))["ok"]
    slack.add_channel("C0SECRET1", "secret", is_private=True)
    with pytest.raises(SlackApiError) as exc:
        await client.conversations_join(channel="C0SECRET1")
    assert exc.value.response["error"] == "method_not_supported_for_channel_type"
    slack.archive_channel("C0OTHER01")
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0OTHER01", text="hi")
    assert exc.value.response["error"] == "is_archived"


async def test_users_info_and_conversations_open(slack: FakeSlack, client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U0ALICE01"))["user"]
    expected = datetime.now(ZoneInfo("Europe/Berlin")).utcoffset()
    assert expected is not None
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] == int(expected.total_seconds())
    assert user["profile"]["display_name"] == "alice"
    assert user["is_bot"] is False and user["deleted"] is False
    with pytest.raises(SlackApiError) as exc:
        await client.users_info(user="U0NOBODY1")
    assert exc.value.response["error"] == "user_not_found"

    opened = await client.conversations_open(users="U0ALICE01")
    assert opened["channel"]["id"] == "D0ALICE01"
    assert (await client.chat_postMessage(channel="D0ALICE01", text="dm"))["ok"]
    assert [m["text"] for m in slack.messages("U0ALICE01")] == ["dm"]


async def test_views_open_trigger_lifetime(slack: FakeSlack, client: AsyncWebClient) -> None:
    fresh = slack.issue_trigger_id("U0ALICE01")
    resp = await client.views_open(trigger_id=fresh, view=modal("Standup"))
    assert resp["view"]["id"] in slack.views

    old = slack.issue_trigger_id("U0ALICE01")
    slack.triggers[old].issued_at -= 3.5  # issued more than 3 s ago
    with pytest.raises(SlackApiError) as exc:
        await client.views_open(trigger_id=old, view=modal("Standup"))
    assert exc.value.response["error"] == "expired_trigger_id"

    with pytest.raises(SlackApiError) as exc:
        await client.views_open(trigger_id="123.456.unknown", view=modal("Standup"))
    assert exc.value.response["error"] == "invalid_trigger_id"


# --------------------------------------------------------------------------- Block Kit limits


async def test_message_block_count_limit(client: AsyncWebClient) -> None:
    assert (
        await client.chat_postMessage(channel="C0STANDUP", text="x", blocks=[section("a")] * 50)
    )["ok"]
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0STANDUP", text="x", blocks=[section("a")] * 51)
    assert exc.value.response["error"] == "invalid_blocks"
    assert any("[json-pointer:/blocks]" in e for e in exc.value.response["errors"])


async def test_section_text_limit(client: AsyncWebClient) -> None:
    assert (
        await client.chat_postMessage(channel="C0STANDUP", text="x", blocks=[section("a" * 3000)])
    )["ok"]
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(
            channel="C0STANDUP", text="x", blocks=[section("ok"), section("a" * 3001)]
        )
    assert exc.value.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    ]


async def test_modal_title_limit(slack: FakeSlack, client: AsyncWebClient) -> None:
    ok = await client.views_open(trigger_id=slack.issue_trigger_id(), view=modal("t" * 24))
    assert ok["ok"]
    with pytest.raises(SlackApiError) as exc:
        await client.views_open(trigger_id=slack.issue_trigger_id(), view=modal("t" * 25))
    assert exc.value.response["error"] == "invalid_arguments"
    messages = exc.value.response["response_metadata"]["messages"]
    assert any("[json-pointer:/view/title/text]" in m for m in messages)


def test_validators_directly() -> None:
    assert validate_message_blocks([section("fine")]) == []
    assert validate_message_blocks([{"type": "bogus"}]) == [
        "unsupported type: bogus [json-pointer:/blocks/0/type]"
    ]
    assert validate_message_blocks([{"type": "section"}])  # needs text or fields
    assert validate_view(modal("Standup", with_input=True)) == []
    assert validate_view(modal("Standup", with_input=True, submit=None)) == [
        "submit is required when an input block is present [json-pointer:/view/submit]"
    ]
    too_many_fields = {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": "f"}] * 11,
    }
    assert validate_message_blocks([too_many_fields]) == [
        "must be no more than 10 items [json-pointer:/blocks/0/fields]"
    ]


# --------------------------------------------------------------------------- faults and auth


async def test_rate_limit_injection(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as exc:
        await client.chat_postMessage(channel="C0STANDUP", text="hi")
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "7"
    assert exc.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C0STANDUP", text="hi"))["ok"]

    slack.fail_next("users.info", status=503)
    with pytest.raises(SlackApiError) as exc:
        await client.users_info(user="U0ALICE01")
    assert exc.value.response.status_code == 503


async def test_auth_errors(slack: FakeSlack) -> None:
    bad = AsyncWebClient(base_url=slack.api_url, token="xoxb-wrong")
    with pytest.raises(SlackApiError) as exc:
        await bad.auth_test()
    assert exc.value.response["error"] == "invalid_auth"

    good = AsyncWebClient(base_url=slack.api_url, token=TOKEN)
    who = await good.auth_test()
    assert (who["user_id"], who["team_id"], who["bot_id"]) == (
        "U0BOT0001",
        "T0TEAM001",
        "B0BOT0001",
    )
    slack.revoke_token(TOKEN)
    with pytest.raises(SlackApiError) as exc:
        await good.auth_test()
    assert exc.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as exc:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert exc.value.response["error"] == "not_authed"


async def test_form_bodies_unknown_method_and_wait_for(slack: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        form = {
            "token": TOKEN,
            "channel": "C0STANDUP",
            "text": "form",
            "blocks": json.dumps([section("from a form")]),
        }
        async with session.post(slack.api_url + "chat.postMessage", data=form) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
            assert (await resp.json())["ok"] is True
        async with session.post(slack.api_url + "nope.nothing", data={"token": TOKEN}) as resp:
            assert resp.status == 200
            assert (await resp.json())["error"] == "unknown_method"
    call = slack.calls_to("chat.postMessage")[0]
    assert call.token == TOKEN and "token" not in call.body
    assert call.body["blocks"] == [section("from a form")]
    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        await slack.wait_for("chat.postMessage", count=2, timeout=0.1)
    slack.clear()
    assert slack.calls == []


async def test_response_url(slack: FakeSlack) -> None:
    url = slack.response_url("cmd-1")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "done", "response_type": "ephemeral"}) as r:
            assert (r.status, await r.text()) == (200, "ok")
        async with session.post(url, json={"text": "x", "blocks": [section("")]}) as r:
            assert r.status == 400
    first, second = slack.response_url_posts("cmd-1")
    assert first.body == {"text": "done", "response_type": "ephemeral", "_tag": "cmd-1"}
    assert first.ok and not second.ok


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_v2_access_and_rotation(slack: FakeSlack) -> None:
    slack.add_oauth_code(
        "code-1",
        team_id="T0OTHER01",
        team_name="Other",
        bot_token="xoxe.xoxb-other",
        installer_user_id="U0INSTALL",
        refresh_token="xoxe-1-r1",
        expires_in=43200,
    )
    anon = AsyncWebClient(base_url=slack.api_url)
    resp = await anon.oauth_v2_access(
        client_id=slack.client_id or "", client_secret=slack.client_secret or "", code="code-1"
    )
    assert resp["access_token"] == "xoxe.xoxb-other"
    assert resp["team"] == {"id": "T0OTHER01", "name": "Other"}
    assert resp["authed_user"]["id"] == "U0INSTALL"
    assert resp["token_type"] == "bot" and resp["refresh_token"] == "xoxe-1-r1"
    who = await AsyncWebClient(base_url=slack.api_url, token="xoxe.xoxb-other").auth_test()
    assert who["team_id"] == "T0OTHER01"

    with pytest.raises(SlackApiError) as exc:
        await anon.oauth_v2_access(
            client_id="1111.2222", client_secret="fake-client-secret", code="code-1"
        )
    assert exc.value.response["error"] == "invalid_code"

    creds = {"client_id": "1111.2222", "client_secret": "fake-client-secret"}
    rotated = await anon.oauth_v2_access(
        **creds, grant_type="refresh_token", refresh_token="xoxe-1-r1"
    )
    assert rotated["access_token"] != "xoxe.xoxb-other"
    with pytest.raises(SlackApiError) as exc:
        await anon.oauth_v2_access(**creds, grant_type="refresh_token", refresh_token="xoxe-1-r1")
    assert exc.value.response["error"] == "invalid_refresh_token"
