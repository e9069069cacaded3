"""conversations.*: info, join, open (DMs and group DMs), members, list, history, replies."""

from __future__ import annotations

import base64
import binascii
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import (
    JSON,
    ApiRequest,
    FakeChannel,
    FakeUser,
    Handler,
    as_list,
    err,
    truthy,
)


def _int_param(value: Any, *, default: int) -> int | None:
    """An integer argument (``default`` when absent), None when it is not one."""
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        return None


def _ts_param(value: Any, *, default: Decimal) -> Decimal | None:
    """A message timestamp argument such as ``1700000000.000100``; None when malformed."""
    if value is None or value == "":
        return default
    try:
        ts = Decimal(str(value))
    except InvalidOperation:
        return None
    return ts if ts.is_finite() and ts >= 0 else None


def _encode_cursor(prefix: str, value: str) -> str:
    """An opaque cursor the way Slack makes them (base64 of e.g. ``next_ts:1512085861000543``)."""
    return base64.b64encode(f"{prefix}{value}".encode()).decode()


def _decode_cursor(cursor: Any, prefix: str) -> str | None:
    try:
        text = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return text[len(prefix) :] if text.startswith(prefix) and len(text) > len(prefix) else None


def _with_metadata(msg: JSON, include_all: bool) -> JSON:
    """Without ``include_all_metadata`` Slack returns a message's metadata event_type only."""
    metadata = msg.get("metadata")
    if isinstance(metadata, dict) and not include_all:
        msg["metadata"] = {"event_type": metadata.get("event_type")}
    return msg


class ConversationsMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
        }

    def _channel_obj(self, channel: FakeChannel, req: ApiRequest | None = None) -> JSON:
        bot = req.team.bot_user_id if req is not None else self.bot_user_id
        obj: JSON = {
            "id": channel.id,
            "created": channel.created,
            "is_archived": channel.is_archived,
            "is_org_shared": False,
            "context_team_id": self.team_id,
        }
        if channel.is_im:
            obj.update(
                {
                    "is_im": True,
                    "user": channel.user,
                    "is_user_deleted": bool(
                        channel.user in self.users and self.users[channel.user].deleted
                    ),
                    "priority": 0,
                }
            )
            return obj
        obj.update(
            {
                "name": channel.name,
                "name_normalized": channel.name,
                "is_channel": not channel.is_private and not channel.is_mpim,
                "is_group": channel.is_private and not channel.is_mpim,
                "is_im": False,
                "is_mpim": channel.is_mpim,
                "is_private": channel.is_private,
                "is_general": channel.name == "general",
                "is_shared": False,
                "is_ext_shared": False,
                "is_member": bot in channel.members,
                "creator": "U0CREATOR",
                "topic": {"value": channel.topic, "creator": "", "last_set": 0},
                "purpose": {"value": channel.purpose, "creator": "", "last_set": 0},
                "num_members": len(channel.members),
            }
        )
        return obj

    def _scoped_channel(self, req: ApiRequest, action: str) -> FakeChannel | JSON:
        """The ``channel`` argument's conversation, if the token may ``action`` ("read" or
        "history") that kind of conversation; else channel_not_found or missing_scope."""
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        return self._require_scope(req, self._conversation_scope(channel, action)) or channel

    def _conversations_info(self, req: ApiRequest) -> JSON:
        channel = self._scoped_channel(req, "read")
        if isinstance(channel, dict):
            return channel
        return {"ok": True, "channel": self._channel_obj(channel, req)}

    def _conversations_join(self, req: ApiRequest) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        if channel.is_im or channel.is_mpim or channel.is_private:
            return err("method_not_supported_for_channel_type")
        if channel.is_archived:
            return err("is_archived")
        bot = self._bot_user(req)
        already = bot in channel.members
        channel.members.add(bot)
        result: JSON = {"ok": True, "channel": self._channel_obj(channel, req)}
        if already:
            result["warning"] = "already_in_channel"
            result["response_metadata"] = {"warnings": ["already_in_channel"]}
        return result

    def _conversations_open(self, req: ApiRequest) -> JSON:
        p = req.params
        return_im = truthy(p.get("return_im"))
        if p.get("channel") and not p.get("users"):
            channel = self.channels.get(str(p["channel"]))
            if channel is None or not (channel.is_im or channel.is_mpim):
                return err("channel_not_found")
            body: JSON = {"id": channel.id} if not return_im else self._channel_obj(channel, req)
            return {"ok": True, "no_op": True, "already_open": True, "channel": body}
        user_ids = as_list(p.get("users"))
        if not user_ids:
            return err("users_list_not_supplied")
        problem = self._require_scope(req, "im:write" if len(user_ids) == 1 else "mpim:write")
        if problem is not None:
            return problem
        if len(user_ids) > 8:
            return err("too_many_users")
        users: list[FakeUser] = []
        for uid in user_ids:
            user = self.users.get(uid)
            if user is None:
                return err("user_not_found")
            if user.deleted:
                return err("user_disabled")
            users.append(user)
        if len(users) == 1:
            if users[0].is_bot:
                return err("cannot_dm_bot")
            channel, existed = self._open_dm(users[0])
        else:
            digest = hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()
            mpim_id = "G" + digest[:9].upper()
            existed = mpim_id in self.channels
            if not existed:
                self.channels[mpim_id] = FakeChannel(
                    id=mpim_id,
                    name="mpdm-" + "--".join(u.name for u in users) + "-1",
                    is_private=True,
                    is_mpim=True,
                    members={*user_ids, self._bot_user(req)},
                )
                self._messages.setdefault(mpim_id, [])
            channel = self.channels[mpim_id]
        result: JSON = {
            "ok": True,
            "channel": {"id": channel.id} if not return_im else self._channel_obj(channel, req),
        }
        if existed:
            result["no_op"] = True
            result["already_open"] = True
        return result

    def _conversations_members(self, req: ApiRequest) -> JSON:
        """Member IDs, sorted, ``limit`` (default 100, at most 1000) at a time; follow
        ``response_metadata.next_cursor`` until it is empty."""
        p = req.params
        channel = self._scoped_channel(req, "read")
        if isinstance(channel, dict):
            return channel
        limit = _int_param(p.get("limit"), default=100)
        if limit is None or not 1 <= limit <= 1000:
            return err("invalid_limit")
        members = sorted(channel.members)
        start = 0
        if p.get("cursor"):
            after = _decode_cursor(p["cursor"], "user:")
            if after is None:
                return err("invalid_cursor")
            start = next((i for i, m in enumerate(members) if m >= after), len(members))
        page = members[start : start + limit]
        rest = members[start + limit :]
        return {
            "ok": True,
            "members": page,
            "response_metadata": {"next_cursor": _encode_cursor("user:", rest[0]) if rest else ""},
        }

    def _conversations_list(self, req: ApiRequest) -> JSON:
        types = set(as_list(req.params.get("types")) or ["public_channel"])
        exclude_archived = truthy(req.params.get("exclude_archived"))
        out = []
        for channel in self.channels.values():
            kind = (
                "im"
                if channel.is_im
                else "mpim"
                if channel.is_mpim
                else "private_channel"
                if channel.is_private
                else "public_channel"
            )
            if kind in types and not (exclude_archived and channel.is_archived):
                out.append(self._channel_obj(channel, req))
        return {"ok": True, "channels": out, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, req: ApiRequest) -> JSON:
        """Top-level messages (and thread broadcasts), newest first, between ``oldest`` and
        ``latest`` (exclusive unless ``inclusive``), ``limit`` (default 100, at most 999) a
        page with cursor pagination; metadata comes whole only with
        ``include_all_metadata``, otherwise just its ``event_type`` (as Slack does)."""
        p = req.params
        channel = self._scoped_channel(req, "history")
        if isinstance(channel, dict):
            return channel
        if (
            req.token not in self.user_tokens
            and not channel.is_im
            and self._bot_user(req) not in channel.members
        ):
            return err("not_in_channel")
        oldest = _ts_param(p.get("oldest"), default=Decimal(0))
        if oldest is None:
            return err("invalid_ts_oldest")
        latest = _ts_param(p.get("latest"), default=Decimal("Infinity"))
        if latest is None:
            return err("invalid_ts_latest")
        limit = _int_param(p.get("limit"), default=100)
        if limit is None or limit < 0:
            return err("invalid_limit")
        limit = min(limit or 100, 999)
        inclusive = truthy(p.get("inclusive"))
        msgs = [
            m
            for m in reversed(self.messages(channel.id))
            if (oldest <= Decimal(m["ts"]) if inclusive else oldest < Decimal(m["ts"]))
            and (Decimal(m["ts"]) <= latest if inclusive else Decimal(m["ts"]) < latest)
        ]
        if p.get("cursor"):
            cursor_ts = _decode_cursor(p["cursor"], "next_ts:")
            if cursor_ts is None or not cursor_ts.isdigit() or len(cursor_ts) <= 6:
                return err("invalid_cursor")
            upto = Decimal(f"{cursor_ts[:-6]}.{cursor_ts[-6:]}")
            msgs = [m for m in msgs if Decimal(m["ts"]) <= upto]
        page, rest = msgs[:limit], msgs[limit:]
        include_all = truthy(p.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [_with_metadata(self._public(m), include_all) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
            "response_metadata": {
                "next_cursor": (
                    _encode_cursor("next_ts:", rest[0]["ts"].replace(".", "")) if rest else ""
                )
            },
        }

    def _conversations_replies(self, req: ApiRequest) -> JSON:
        channel = self._scoped_channel(req, "history")
        if isinstance(channel, dict):
            return channel
        ts = req.params.get("ts")
        parent = self._find_message(channel.id, ts)
        if parent is None or parent.get("_deleted"):
            return err("thread_not_found")
        thread_ts = parent.get("thread_ts") or parent["ts"]
        include_all = truthy(req.params.get("include_all_metadata"))
        msgs = [_with_metadata(self._public(parent), include_all)] + [
            _with_metadata(self._public(m), include_all)
            for m in self.thread_replies(channel.id, thread_ts)
        ]
        return {
            "ok": True,
            "messages": msgs,
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }
