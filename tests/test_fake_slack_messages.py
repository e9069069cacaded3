"""The fake's message metadata, conversations.history / .members pagination, per-token scopes
and user deactivation behave the way Slack documents (platform_notes.md §2 and §7)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import FakeSlack

TOKEN = "xoxb-test-token"
CHANNEL = "C0STANDUP"
ALICE = "U0ALICE01"
EVENT = {"event_type": "standup_answered", "event_payload": {"run": 7, "user": ALICE}}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ALICE, "alice")
        fake.add_channel(CHANNEL, "standup", bot_is_member=True, members=[ALICE])
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.api_url, token=TOKEN)


async def slack_error(call: Any) -> dict[str, Any]:
    """The body of the Slack error a Web API call raised."""
    with pytest.raises(SlackApiError) as exc:
        await call
    data = exc.value.response.data
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- message metadata


async def test_metadata_is_stored_and_history_shows_its_payload_only_on_request(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="answered", metadata=EVENT)
    assert posted["message"]["metadata"] == EVENT
    stored = slack.get_message(CHANNEL, posted["ts"])
    assert stored is not None and stored["metadata"] == EVENT

    plain = await client.conversations_history(channel=CHANNEL)
    assert plain["messages"][0]["metadata"] == {"event_type": "standup_answered"}
    full = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == EVENT

    await client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=posted["ts"])
    thread = await client.conversations_replies(
        channel=CHANNEL, ts=posted["ts"], include_all_metadata=True
    )
    assert [m.get("metadata") for m in thread["messages"]] == [EVENT, None]
    thread = await client.conversations_replies(channel=CHANNEL, ts=posted["ts"])
    assert thread["messages"][0]["metadata"] == {"event_type": "standup_answered"}


async def test_metadata_as_a_json_string_in_a_form_body(slack: FakeSlack) -> None:
    form = {"token": TOKEN, "channel": CHANNEL, "text": "x", "metadata": json.dumps(EVENT)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(slack.api_url + "chat.postMessage", data=form) as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True
    assert slack.messages(CHANNEL)[0]["metadata"] == EVENT


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("not json", "invalid_metadata_format"),
        ("{broken", "invalid_metadata_format"),
        ([EVENT], "invalid_metadata_format"),
        ({"event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": "has spaces", "event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": "x" * 51, "event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": 7, "event_payload": {}}, "invalid_metadata_schema"),
        ({"event_type": "standup_answered"}, "invalid_metadata_schema"),
        ({"event_type": "standup_answered", "event_payload": "{}"}, "invalid_metadata_schema"),
        ({}, "invalid_metadata_schema"),
    ],
)
async def test_invalid_metadata_is_rejected(
    slack: FakeSlack, client: AsyncWebClient, metadata: Any, error: str
) -> None:
    response = await slack_error(
        client.api_call(
            "chat.postMessage", json={"channel": CHANNEL, "text": "x", "metadata": metadata}
        )
    )
    assert response["error"] == error
    assert slack.messages(CHANNEL) == []


async def test_chat_update_keeps_replaces_or_removes_metadata(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    ts = (await client.chat_postMessage(channel=CHANNEL, text="v1", metadata=EVENT))["ts"]

    await client.chat_update(channel=CHANNEL, ts=ts, text="v2")  # left out: kept
    assert (slack.get_message(CHANNEL, ts) or {})["metadata"] == EVENT

    other = {"event_type": "standup_edited", "event_payload": {"run": 8}}
    await client.chat_update(channel=CHANNEL, ts=ts, text="v3", metadata=other)
    assert (slack.get_message(CHANNEL, ts) or {})["metadata"] == other

    await client.api_call(
        "chat.update", json={"channel": CHANNEL, "ts": ts, "text": "v4", "metadata": {}}
    )
    assert "metadata" not in (slack.get_message(CHANNEL, ts) or {})

    response = await slack_error(
        client.api_call(
            "chat.update", json={"channel": CHANNEL, "ts": ts, "text": "v5", "metadata": "?"}
        )
    )
    assert response["error"] == "invalid_metadata_format"
    assert (slack.get_message(CHANNEL, ts) or {})["text"] == "v4"


# --------------------------------------------------------------------------- conversations.history


async def post_texts(client: AsyncWebClient, *texts: str) -> list[str]:
    return [(await client.chat_postMessage(channel=CHANNEL, text=t))["ts"] for t in texts]


async def test_history_pages_newest_first_with_cursors(client: AsyncWebClient) -> None:
    await post_texts(client, "m1", "m2", "m3", "m4", "m5")

    first = await client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m5", "m4"]
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode().startswith("next_ts:")

    pages = [
        [m["text"] for m in page["messages"]]
        async for page in await client.conversations_history(channel=CHANNEL, limit=2)
    ]
    assert pages == [["m5", "m4"], ["m3", "m2"], ["m1"]]

    last = await client.conversations_history(channel=CHANNEL, limit=5)
    assert last["has_more"] is False and last["response_metadata"]["next_cursor"] == ""


async def test_history_time_window(client: AsyncWebClient) -> None:
    ts = await post_texts(client, "m1", "m2", "m3", "m4")

    def texts(response: Any) -> list[str]:
        return [m["text"] for m in response["messages"]]

    window = await client.conversations_history(channel=CHANNEL, oldest=ts[0], latest=ts[3])
    assert texts(window) == ["m3", "m2"]
    window = await client.conversations_history(
        channel=CHANNEL, oldest=ts[0], latest=ts[3], inclusive=True
    )
    assert texts(window) == ["m4", "m3", "m2", "m1"]
    assert texts(await client.conversations_history(channel=CHANNEL, oldest=ts[2])) == ["m4"]

    paged = await client.conversations_history(channel=CHANNEL, latest=ts[3], limit=1)
    follow = await client.conversations_history(
        channel=CHANNEL, latest=ts[3], limit=1, cursor=paged["response_metadata"]["next_cursor"]
    )
    assert (texts(paged), texts(follow)) == (["m3"], ["m2"])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"oldest": "yesterday"}, "invalid_ts_oldest"),
        ({"latest": "-1"}, "invalid_ts_latest"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": base64.b64encode(b"user:U0ALICE01").decode()}, "invalid_cursor"),
        ({"limit": "many"}, "invalid_limit"),
        ({"channel": "C0NOPE000"}, "channel_not_found"),
    ],
)
async def test_history_argument_errors(
    client: AsyncWebClient, args: dict[str, str], error: str
) -> None:
    params = {"channel": CHANNEL, **args}
    response = await slack_error(
        client.api_call("conversations.history", http_verb="GET", params=params)
    )
    assert response["error"] == error


async def test_history_of_a_channel_the_bot_is_not_in(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_channel("C0OTHER01", "other")
    response = await slack_error(client.conversations_history(channel="C0OTHER01"))
    assert response["error"] == "not_in_channel"


# --------------------------------------------------------------------------- scopes


async def test_tokens_without_scopes_are_not_checked(client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=ALICE, text="dm")
    assert (await client.conversations_history(channel=ALICE))["messages"][0]["text"] == "dm"


async def test_scoped_token_needs_the_scope_of_the_conversation_type(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel=ALICE, text="dm")
    slack.add_channel("C0PRIVATE", "private", is_private=True, bot_is_member=True)
    slack.set_token_scopes(TOKEN, "chat:write,channels:history,channels:read")

    response = await slack_error(client.conversations_history(channel=ALICE))
    assert response == {
        "ok": False,
        "error": "missing_scope",
        "needed": "im:history",
        "provided": "channels:history,channels:read,chat:write",
    }
    response = await slack_error(client.conversations_history(channel="C0PRIVATE"))
    assert response["needed"] == "groups:history"
    response = await slack_error(client.conversations_members(channel="C0PRIVATE"))
    assert response["needed"] == "groups:read"
    assert (await client.conversations_history(channel=CHANNEL))["ok"]

    slack.set_token_scopes(TOKEN, ["im:history"])
    assert (await client.conversations_history(channel=ALICE))["messages"][0]["text"] == "dm"
    response = await slack_error(client.chat_postMessage(channel=CHANNEL, text="hi"))
    assert (response["error"], response["needed"]) == ("missing_scope", "chat:write")
    who = await client.auth_test()
    assert who.headers["x-oauth-scopes"] == "im:history"

    slack.set_token_scopes(TOKEN, None)
    assert (await client.chat_postMessage(channel=CHANNEL, text="hi"))["ok"]


async def test_add_token_with_scopes(slack: FakeSlack) -> None:
    slack.add_token("xoxb-narrow", scopes="users:read")
    narrow = AsyncWebClient(base_url=slack.api_url, token="xoxb-narrow")
    assert (await narrow.users_info(user=ALICE))["user"]["id"] == ALICE
    response = await slack_error(narrow.conversations_open(users=ALICE))
    assert (response["error"], response["needed"]) == ("missing_scope", "im:write")


# --------------------------------------------------------------------------- conversations.members


async def test_members_pages_through_cursors(slack: FakeSlack, client: AsyncWebClient) -> None:
    people = [f"U0PERSON{i}" for i in range(5)]
    slack.add_channel("C0BIG0001", "big", members=people)

    first = await client.conversations_members(channel="C0BIG0001", limit=2)
    assert first["members"] == people[:2]
    assert base64.b64decode(first["response_metadata"]["next_cursor"]) == b"user:U0PERSON2"

    pages = [
        page["members"]
        async for page in await client.conversations_members(channel="C0BIG0001", limit=2)
    ]
    assert pages == [people[:2], people[2:4], people[4:]]
    everyone = await client.conversations_members(channel="C0BIG0001")
    assert everyone["members"] == people
    assert everyone["response_metadata"]["next_cursor"] == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"limit": "0"}, "invalid_limit"),
        ({"limit": "1001"}, "invalid_limit"),
        ({"cursor": "%%%"}, "invalid_cursor"),
        ({"channel": "C0NOPE000"}, "channel_not_found"),
    ],
)
async def test_members_argument_errors(
    client: AsyncWebClient, args: dict[str, str], error: str
) -> None:
    params = {"channel": CHANNEL, **args}
    response = await slack_error(
        client.api_call("conversations.members", http_verb="GET", params=params)
    )
    assert response["error"] == error


async def test_deactivated_user(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.deactivate_user(ALICE)
    assert (await client.users_info(user=ALICE))["user"]["deleted"] is True
    response = await slack_error(client.conversations_open(users=ALICE))
    assert response["error"] == "user_disabled"
    members = await client.conversations_members(channel=CHANNEL)
    assert ALICE in members["members"]  # still listed, as far as Slack's docs tell

    slack.deactivate_user(ALICE, leave_channels=True)
    members = await client.conversations_members(channel=CHANNEL)
    assert members["members"] == [slack.bot_user_id]
