"""conversations.*: info, join, open (DMs and group DMs), members, list, history, replies."""

from __future__ import annotations

import hashlib

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

    def _conversations_info(self, req: ApiRequest) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
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
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        return {
            "ok": True,
            "members": sorted(channel.members),
            "response_metadata": {"next_cursor": ""},
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
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        msgs = [self._public(m) for m in reversed(self.messages(channel.id))]
        limit = int(req.params.get("limit") or 100)
        return {
            "ok": True,
            "messages": msgs[:limit],
            "has_more": len(msgs) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, req: ApiRequest) -> JSON:
        channel = self._resolve_channel(req.params.get("channel"))
        if channel is None:
            return err("channel_not_found")
        ts = req.params.get("ts")
        parent = self._find_message(channel.id, ts)
        if parent is None or parent.get("_deleted"):
            return err("thread_not_found")
        thread_ts = parent.get("thread_ts") or parent["ts"]
        msgs = [self._public(parent)] + [
            self._public(m) for m in self.thread_replies(channel.id, thread_ts)
        ]
        return {
            "ok": True,
            "messages": msgs,
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }
