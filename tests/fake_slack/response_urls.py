"""response_url endpoints (``/response/{tag}``) bound to a channel and message: replace,
delete, or post in_channel; recorded as method ``"response_url"``."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from tests.blockkit_limits import validate_message_blocks, validate_message_text
from tests.fake_slack.server import FakeSlackServer
from tests.fake_slack.state import JSON, Call, err, truthy


class ResponseUrls(FakeSlackServer):
    def _add_routes(self, router: web.UrlDispatcher) -> None:
        super()._add_routes(router)
        router.add_route("POST", "/response/{tag}", self._handle_response_url)

    def response_url(
        self, tag: str, *, channel: str | None = None, message_ts: str | None = None
    ) -> str:
        """URL of a response_url endpoint; POSTs are recorded as method "response_url".
        Bound to ``channel``/``message_ts``, replace_original/delete_original edit that
        stored message and response_type=in_channel posts to ``channel``."""
        self._response_urls[tag] = (channel, message_ts)
        return f"{self.base_url}/response/{tag}"

    def response_url_posts(self, tag: str | None = None) -> list[Call]:
        return [
            c for c in self.calls_to("response_url") if tag is None or c.body.get("_tag") == tag
        ]

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        tag = request.match_info["tag"]
        arrived = time.time()
        params, parse_error = await self._read_params(request)
        payload_field = params.get("payload")
        if isinstance(payload_field, str):
            try:
                decoded = json.loads(payload_field)
                if isinstance(decoded, dict):
                    params = decoded
            except ValueError:
                parse_error = "invalid_payload"
        await self._delay("response_url")
        body = {**params, "_tag": tag}
        self._response_url_uses[tag] = self._response_url_uses.get(tag, 0) + 1

        status, error, errors = 200, None, []
        fault = self._take_fault("response_url")
        if fault is not None:
            status, error = fault.status, fault.error
        elif self._response_url_uses[tag] > self.response_url_max_uses:
            status, error = 404, "used_url"
        elif parse_error is not None:
            status, error = 400, parse_error
        elif not truthy(params.get("delete_original")):
            text, blocks = params.get("text"), params.get("blocks")
            if not text and not blocks and not params.get("attachments"):
                status, error = 400, "no_text"
            elif blocks is not None and (errors := validate_message_blocks(blocks)):
                status, error = 400, "invalid_blocks"
            elif validate_message_text(text):
                status, error = 400, "msg_too_long"
        if error is None:
            self._apply_response_url(tag, params)
        response: JSON = {"ok": True} if error is None else err(error)
        if errors:
            response["errors"] = errors
        self._record(request, "response_url", body, None, arrived, status, response)
        return web.Response(status=status, text=error or "ok", content_type="text/plain")

    def _apply_response_url(self, tag: str, params: dict[str, Any]) -> None:
        channel_id, message_ts = self._response_urls.get(tag, (None, None))
        if channel_id is None:
            return
        key = self._channel_key(channel_id)
        if message_ts is not None and truthy(params.get("delete_original")):
            msg = self._find_message(key, message_ts)
            if msg is not None:
                msg["_deleted"] = True
            return
        if message_ts is not None and truthy(params.get("replace_original")):
            msg = self._find_message(key, message_ts)
            if msg is not None:  # a response_url replacement replaces the whole message
                for field_name in ("blocks", "attachments"):
                    if params.get(field_name) is None:
                        msg.pop(field_name, None)
                self._edit_message(key, msg, params)
            return
        if params.get("response_type") == "in_channel":
            msg = {
                "type": "message",
                "text": params.get("text", ""),
                "ts": self._next_ts(),
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
            }
            if params.get("blocks") is not None:
                msg["blocks"] = params["blocks"]
            if params.get("thread_ts"):
                msg["thread_ts"] = params["thread_ts"]
            self._store_message(key, msg)
