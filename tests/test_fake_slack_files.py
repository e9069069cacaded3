"""The fake's v2 file upload flow (files.getUploadURLExternal -> POST to the upload URL ->
files.completeUploadExternal), driven the way slack_sdk's files_upload_v2 drives Slack."""

from __future__ import annotations

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
CSV = b"name,answer\nalice,shipped it\n"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ALICE, "alice")
        fake.add_channel(CHANNEL, "standup", bot_is_member=True)
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.api_url, token=TOKEN)


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as exc:
        await call
    return str(exc.value.response["error"])


async def announce(client: AsyncWebClient, length: int, name: str = "a.csv") -> tuple[str, str]:
    """files.getUploadURLExternal: (upload_url, file_id)."""
    resp = await client.files_getUploadURLExternal(filename=name, length=length)
    return resp["upload_url"], resp["file_id"]


async def post_bytes(url: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as resp:
        return resp.status, await resp.text()


async def test_files_upload_v2_shares_the_file_into_the_channel(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    resp = await client.files_upload_v2(
        channel=CHANNEL,
        content=CSV,
        filename="answers.csv",
        title="Answers",
        initial_comment="Today's answers",
    )
    file_id = resp["file"]["id"]
    assert resp["files"] == [{"id": file_id, "title": "Answers"}]
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    upload_url = slack.calls[0].response["upload_url"]
    assert upload_url.startswith(slack.base_url + "/upload/v1/")

    assert slack.file_bytes(file_id) == CSV
    [shared] = slack.files_in(CHANNEL)
    assert (shared.id, shared.name, shared.title, shared.length) == (
        file_id,
        "answers.csv",
        "Answers",
        len(CSV),
    )
    [message] = slack.messages(CHANNEL)
    assert message["text"] == "Today's answers"
    assert message["user"] == slack.bot_user_id
    [attached] = message["files"]
    assert (attached["id"], attached["name"]) == (file_id, "answers.csv")
    assert attached["size"] == len(CSV)
    assert attached["mimetype"] == "text/csv"
    assert shared.shares == {CHANNEL: [message["ts"]]}


async def test_sharing_into_a_dm_and_a_thread(slack: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="Standup")
    await client.files_upload_v2(
        channel=CHANNEL, content=b"one", filename="t.txt", thread_ts=parent["ts"]
    )
    [reply] = slack.thread_replies(CHANNEL, parent["ts"])
    assert reply["files"][0]["name"] == "t.txt"

    url, file_id = await announce(client, 3, "dm.txt")
    assert (await post_bytes(url, data=b"two"))[0] == 200
    await client.files_completeUploadExternal(files=[{"id": file_id}], channels=[ALICE])
    [dm] = slack.messages(ALICE)
    assert dm["files"][0]["title"] == "dm.txt"  # the title defaults to the file name
    assert [f.id for f in slack.files_in(ALICE)] == [file_id]


async def test_upload_url_takes_raw_or_multipart_bytes_of_the_announced_length(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    url, file_id = await announce(client, len(CSV))
    status, text = await post_bytes(url, data=CSV[:-1])
    assert status == 400 and "length_mismatch" in text
    assert slack.uploaded_file(file_id).content is None
    complete = client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=CHANNEL)
    assert await slack_error(complete) == "file_not_found"

    form = aiohttp.FormData()
    form.add_field("file", CSV, filename="a.csv", content_type="text/csv")
    assert await post_bytes(url, data=form) == (200, f"OK - {len(CSV)}")
    assert slack.file_bytes(file_id) == CSV
    uploads = slack.calls_to("file_upload")
    assert [c.status for c in uploads] == [400, 200]

    await client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=CHANNEL)
    again = client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=CHANNEL)
    assert await slack_error(again) == "file_not_found"  # complete works once
    assert (await post_bytes(url, data=CSV))[0] == 404  # and ends the upload URL


async def test_without_a_channel_the_file_stays_private(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    resp = await client.files_upload_v2(content=b"secret", filename="s.txt")
    assert slack.file_bytes(resp["file"]["id"]) == b"secret"
    assert slack.uploaded_file(resp["file"]["id"]).shares == {}
    assert slack.messages(CHANNEL) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"filename": "a.txt", "length": 0}, "missing_argument"),
        ({"filename": "a.txt"}, "invalid_arguments"),
        ({"length": 3}, "invalid_arguments"),
        ({"filename": "a.txt", "length": 3, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
        (
            {"filename": "a.py", "length": 1024 * 1024 + 1, "snippet_type": "python"},
            "snippet_too_large",
        ),
    ],
)
async def test_get_upload_url_errors(
    client: AsyncWebClient, args: dict[str, Any], error: str
) -> None:
    assert await slack_error(client.api_call("files.getUploadURLExternal", params=args)) == error


async def test_complete_upload_errors(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_channel("C0OTHER01", "other")
    url, file_id = await announce(client, 3)
    await post_bytes(url, data=b"abc")
    files: list[dict[str, str | None]] = [{"id": file_id}]

    async def complete(**kwargs: Any) -> str:
        return await slack_error(client.files_completeUploadExternal(files=files, **kwargs))

    assert await complete(channel_id="C0OTHER01") == "not_in_channel"
    assert await complete(channel_id="C0NOPE000") == "channel_not_found"
    assert await complete(channels=["C0NOPE000"]) == "invalid_channel"
    assert await complete(channels=[CHANNEL, ALICE], thread_ts="1.2") == "invalid_arguments"
    assert await complete(channels=[CHANNEL] * 101) == "channels_limit_exceeded"
    assert (
        await slack_error(client.files_completeUploadExternal(files=[{"id": "F0NOPE"}]))
        == "file_not_found"
    )
    assert not slack.uploaded_file(file_id).completed  # nothing above completed it


async def test_files_need_files_write_on_a_scoped_token(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.set_token_scopes(TOKEN, "chat:write")
    with pytest.raises(SlackApiError) as exc:
        await client.files_upload_v2(content=b"x", filename="x.txt", channel=CHANNEL)
    assert exc.value.response["needed"] == "files:write"
