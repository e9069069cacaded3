"""Sharing a file into a DM with Slack's external upload flow: files.getUploadURLExternal, the
bytes POSTed to the URL it returns, then files.completeUploadExternal into the conversation.

The two Web API calls go through the workspace's shaped client (SLACK_API_URL, rate limits,
retries); the bytes go over the app's pooled HTTP session, streamed from the file.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.gateway import SlackGateway, open_dm

# Bytes may take longer than a Web API call; Slack answers the upload with 200 once stored.
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=300)


class UploadFailed(Exception):
    """The upload URL did not take the bytes (anything but HTTP 200)."""


async def share_file_in_dm(
    gateway: SlackGateway,
    client: AsyncWebClient,
    user_id: str,
    path: Path,
    length: int,
    *,
    filename: str,
    title: str,
    comment: str,
) -> str:
    """Upload the file at `path` (`length` bytes) and share it in the bot's DM with `user_id`,
    with `comment` as its message. Returns the file's id. Raises SlackApiError or UploadFailed."""
    channel = await open_dm(client, user_id)
    announced = await client.files_getUploadURLExternal(filename=filename, length=length)
    upload_url, file_id = str(announced["upload_url"]), str(announced["file_id"])
    with path.open("rb") as handle:
        async with gateway.http_session().post(
            upload_url, data=handle, timeout=UPLOAD_TIMEOUT
        ) as response:
            if response.status != 200:
                raise UploadFailed(f"upload_status_{response.status}")
    await client.files_completeUploadExternal(
        files=[{"id": file_id, "title": title}], channel_id=channel, initial_comment=comment
    )
    return file_id
