"""chat.*: postMessage, update, delete, postEphemeral, getPermalink, scheduleMessage,
deleteScheduledMessage; message content is checked against Block Kit limits."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from tests.blockkit_limits import validate_message_blocks, validate_message_text
from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, FakeChannel, Handler, err, truthy

# What the fake accepts as a metadata event_type (see ChatMethods._check_metadata).
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_]{1,50}")


class ChatMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.scheduleMessage": self._chat_schedule_message,
            "chat.deleteScheduledMessage": self._chat_delete_scheduled_message,
        }

    def _check_message_content(self, p: dict[str, Any], *, require: bool = True) -> JSON | None:
        text, blocks = p.get("text"), p.get("blocks")
        if isinstance(blocks, str):
            return err("invalid_blocks_format")
        if require and not text and not blocks and not p.get("attachments"):
            return err("no_text")
        if text is not None and not isinstance(text, str):
            p["text"] = str(text)
        if validate_message_text(p.get("text")):
            return err("msg_too_long")
        if blocks is not None:
            errors = validate_message_blocks(blocks)
            if errors:
                return err(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        return None

    @staticmethod
    def _check_metadata(p: dict[str, Any], *, update: bool) -> JSON | None:
        """Slack's message metadata rules: ``metadata`` is ``{"event_type": str,
        "event_payload": {...}}``, as an object or a JSON string. Not an object (or not JSON):
        ``invalid_metadata_format``; an object of another shape: ``invalid_metadata_schema``.
        chat.update takes ``{}`` to remove the metadata (leaving it out keeps it). Slack's
        docs call event_type a human-readable alphanumeric string (snake_case in every
        example) and let a manifest subscribe to at most 50 characters of it; the fake
        accepts ``[A-Za-z0-9_]{1,50}``. Validated values are stored back into ``p``."""
        value = p.get("metadata")
        if value is None or value == "":
            p.pop("metadata", None)
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return err("invalid_metadata_format")
        if not isinstance(value, dict):
            return err("invalid_metadata_format")
        if update and value == {}:
            p["metadata"] = {}
            return None
        event_type, payload = value.get("event_type"), value.get("event_payload")
        if (
            not isinstance(event_type, str)
            or not _EVENT_TYPE.fullmatch(event_type)
            or not isinstance(payload, dict)
        ):
            return err("invalid_metadata_schema")
        p["metadata"] = {"event_type": event_type, "event_payload": payload}
        return None

    def _postable_channel(self, req: ApiRequest, ref: Any) -> FakeChannel | JSON:
        channel = self._resolve_channel(ref)
        if channel is None:
            return err("channel_not_found")
        if channel.is_archived:
            return err("is_archived")
        if not channel.is_im and self._bot_user(req) not in channel.members:
            return err("not_in_channel")
        return channel

    def _chat_post_message(self, req: ApiRequest) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        problem = self._check_message_content(p) or self._check_metadata(p, update=False)
        if problem is not None:
            return problem
        msg: JSON = {
            "type": "message",
            "text": p.get("text", ""),
            "ts": self._next_ts(),
            "user": self._bot_user(req),
            "bot_id": req.team.bot_id,
            "app_id": self.app_id,
            "team": req.team.id,
        }
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:
                msg[key] = copy.deepcopy(p[key])
        thread_ts = p.get("thread_ts")
        if thread_ts:
            msg["thread_ts"] = str(thread_ts)
            if truthy(p.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
        self._store_message(channel.id, msg)
        return {"ok": True, "channel": channel.id, "ts": msg["ts"], "message": self._public(msg)}

    def _own_message(self, p: dict[str, Any], not_ours: str) -> tuple[FakeChannel, JSON] | JSON:
        """The live bot message at ``channel``/``ts``, or Slack's error: channel_not_found,
        message_not_found, or ``not_ours`` for someone else's message."""
        channel = self._resolve_channel(p.get("channel"))
        if channel is None:
            return err("channel_not_found")
        msg = self._find_message(channel.id, p.get("ts"))
        if msg is None or msg.get("_deleted"):
            return err("message_not_found")
        if msg.get("bot_id") is None:
            return err(not_ours)
        return channel, msg

    def _chat_update(self, req: ApiRequest) -> JSON:
        p = req.params
        found = self._own_message(p, "cant_update_message")
        if isinstance(found, dict):
            return found
        channel, msg = found
        problem = self._check_message_content(p) or self._check_metadata(p, update=True)
        if problem is not None:
            return problem
        self._edit_message(channel.id, msg, p)
        return {
            "ok": True,
            "channel": channel.id,
            "ts": msg["ts"],
            "text": msg.get("text", ""),
            "message": self._public(msg),
        }

    def _chat_delete(self, req: ApiRequest) -> JSON:
        found = self._own_message(req.params, "cant_delete_message")
        if isinstance(found, dict):
            return found
        channel, msg = found
        msg["_deleted"] = True
        return {"ok": True, "channel": channel.id, "ts": msg["ts"]}

    def _chat_post_ephemeral(self, req: ApiRequest) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        user = self.users.get(str(p.get("user", "")))
        if user is None or (
            not channel.is_im
            and channel.members - {self._bot_user(req)}
            and user.id not in channel.members
        ):
            return err("user_not_in_channel")
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        message_ts = self._next_ts()
        entry: JSON = {
            "channel": channel.id,
            "user": user.id,
            "text": p.get("text", ""),
            "message_ts": message_ts,
        }
        for key in ("blocks", "attachments", "thread_ts"):
            if p.get(key) is not None:
                entry[key] = copy.deepcopy(p[key])
        self.ephemeral_messages.append(entry)
        return {"ok": True, "message_ts": message_ts}

    def _chat_get_permalink(self, req: ApiRequest) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        ts = req.params.get("message_ts")
        if self._find_message(channel.id, ts) is None:
            return err("message_not_found")
        return {
            "ok": True,
            "channel": channel.id,
            "permalink": f"https://{req.team.domain}.slack.com/archives/{channel.id}/p"
            + str(ts).replace(".", ""),
        }

    def _chat_schedule_message(self, req: ApiRequest) -> JSON:
        p = req.params
        channel = self._postable_channel(req, p.get("channel"))
        if isinstance(channel, dict):
            return channel
        try:
            post_at = int(float(p.get("post_at", "")))
        except (TypeError, ValueError):
            return err("invalid_time")
        now = self.clock()
        if post_at <= now:
            return err("time_in_past")
        if post_at > now + 120 * 86_400:
            return err("time_too_far")
        problem = self._check_message_content(p)
        if problem is not None:
            return problem
        scheduled_id = f"Q{next(self._ids):010d}"
        message: JSON = {
            "type": "delayed_message",
            "text": p.get("text", ""),
            "bot_id": req.team.bot_id,
            "user": self._bot_user(req),
        }
        if p.get("blocks") is not None:
            message["blocks"] = copy.deepcopy(p["blocks"])
        self.scheduled_messages.append(
            {
                "id": scheduled_id,
                "channel": channel.id,
                "post_at": post_at,
                **message,
                **({"thread_ts": p["thread_ts"]} if p.get("thread_ts") else {}),
            }
        )
        return {
            "ok": True,
            "channel": channel.id,
            "scheduled_message_id": scheduled_id,
            "post_at": str(post_at),
            "message": message,
        }

    def _chat_delete_scheduled_message(self, req: ApiRequest) -> JSON:
        sid = req.params.get("scheduled_message_id")
        for i, entry in enumerate(self.scheduled_messages):
            if entry["id"] == sid:
                del self.scheduled_messages[i]
                return {"ok": True}
        return err("invalid_scheduled_message_id")
