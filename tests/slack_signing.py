"""Build inbound requests exactly as Slack sends them (signed) and POST them to the app.

``sign()`` implements Slack's v0 request signature (docs.slack.dev/authentication/
verifying-requests-from-slack): ``"v0=" + hex(HMAC-SHA256(secret, "v0:{ts}:{raw body}"))``.

Payload shapes follow the real payloads captured in bolt-python's tests
(/work/shared/slack-reference/payloads/bolt-python*/): slash-command form bodies,
``payload=<urlencoded JSON>`` interactive bodies, Events API ``event_callback`` envelopes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

if TYPE_CHECKING:
    from tests.slack_fake import FakeSlack

__all__ = [
    "SlackRequests",
    "app_home_opened_event",
    "app_uninstalled_event",
    "member_joined_channel_event",
    "member_left_channel_event",
    "message_event",
    "sign",
    "tokens_revoked_event",
]

JSON = dict[str, Any]

_event_ts = itertools.count(1)


def sign(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Slack's request signature: ``v0=<hex hmac-sha256 of b"v0:{timestamp}:{body}">``."""
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    basestring = b"v0:" + str(timestamp).encode("ascii") + b":" + raw
    digest = hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def _next_event_ts() -> str:
    return f"{int(time.time())}.{next(_event_ts):06d}"


# ---------------------------------------------------------------------- event builders
def message_event(
    user_id: str,
    text: str,
    channel: str,
    *,
    channel_type: str = "im",
    ts: str | None = None,
    thread_ts: str | None = None,
    **extra: Any,
) -> JSON:
    """A ``message`` event (``message.im`` by default) as in the Events API."""
    ts = ts or _next_event_ts()
    event: JSON = {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


def app_home_opened_event(user_id: str, channel: str | None = None, tab: str = "home") -> JSON:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel or "D" + user_id[1:],
        "tab": tab,
        "event_ts": _next_event_ts(),
    }


def member_joined_channel_event(
    user_id: str, channel: str, *, channel_type: str = "C", team: str = "T0TEAM001"
) -> JSON:
    return {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel,
        "channel_type": channel_type,
        "team": team,
        "event_ts": _next_event_ts(),
    }


def member_left_channel_event(
    user_id: str, channel: str, *, channel_type: str = "C", team: str = "T0TEAM001"
) -> JSON:
    return {
        "type": "member_left_channel",
        "user": user_id,
        "channel": channel,
        "channel_type": channel_type,
        "team": team,
        "event_ts": _next_event_ts(),
    }


def app_uninstalled_event() -> JSON:
    return {"type": "app_uninstalled", "event_ts": _next_event_ts()}


def tokens_revoked_event(
    bot: tuple[str, ...] = ("U0BOT0001",), oauth: tuple[str, ...] = ()
) -> JSON:
    return {
        "type": "tokens_revoked",
        "tokens": {"oauth": list(oauth), "bot": list(bot)},
        "event_ts": _next_event_ts(),
    }


def _find_element(blocks: Any, action_id: str) -> tuple[str | None, JSON | None]:
    """(block_id, element) of the first element with ``action_id`` in ``blocks``."""
    if not isinstance(blocks, list):
        return None, None
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates: list[Any] = []
        if isinstance(block.get("elements"), list):
            candidates.extend(block["elements"])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


class SlackRequests:
    """Signed requests to ``{base_url}/slack/events``; every method returns ``(status, text)``.

    Pass ``fake=FakeSlack`` to get live trigger_ids (``fake.issue_trigger_id()``), response_urls
    served by the fake, user/channel names from its registry, and messages looked up from its
    store. Every sending method accepts ``timestamp=``, ``signature=`` (for negative tests) and
    ``headers=`` (extra headers; a ``None`` value removes that header).
    After each send, ``last_body``/``last_headers``/``last_payload``/``last_trigger_id``/
    ``last_response_url`` describe what was sent.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        team_id: str = "T0TEAM001",
        api_url: str = "https://slack.com/api/",
        *,
        fake: FakeSlack | None = None,
        path: str = "/slack/events",
        team_domain: str = "asyncstand-test",
        api_app_id: str = "A0APP0001",
        verification_token: str = "verification_token",
        bot_user_id: str | None = None,
        enterprise_id: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.fake = fake
        self.api_url = (
            fake.api_url
            if fake is not None and api_url.startswith("https://slack.com")
            else api_url
        )
        self.path = path
        self.team_domain = team_domain
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.bot_user_id = bot_user_id or (fake.bot_user_id if fake is not None else "U0BOT0001")
        self.enterprise_id = enterprise_id
        self.timeout = timeout
        self._seq = itertools.count(1)

        self.last_body: bytes = b""
        self.last_headers: dict[str, str] = {}
        self.last_payload: JSON = {}
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path}"

    # ------------------------------------------------------------------ low level
    async def post(
        self,
        body: bytes | str,
        content_type: str,
        *,
        timestamp: str | int | None = None,
        signature: str | None = None,
        headers: Mapping[str, str | None] | None = None,
    ) -> tuple[int, str]:
        """POST a raw body, signed with the signing secret unless ``signature`` is given."""
        raw = body if isinstance(body, bytes) else body.encode("utf-8")
        ts = str(int(time.time())) if timestamp is None else str(timestamp)
        sent: dict[str, str] = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature
            if signature is not None
            else sign(self.signing_secret, ts, raw),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        for key, value in (headers or {}).items():
            existing = next((k for k in sent if k.lower() == key.lower()), key)
            sent.pop(existing, None)
            if value is not None:
                sent[key] = value
        self.last_body, self.last_headers = raw, sent
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.url, data=raw, headers=sent) as resp,
        ):
            return resp.status, await resp.text()

    async def _post_form(self, fields: Mapping[str, Any], **kw: Any) -> tuple[int, str]:
        body = urlencode({k: "" if v is None else v for k, v in fields.items()})
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def _post_payload(self, payload: JSON, **kw: Any) -> tuple[int, str]:
        self.last_payload = payload
        return await self._post_form({"payload": json.dumps(payload)}, **kw)

    async def _post_json(self, payload: JSON, **kw: Any) -> tuple[int, str]:
        self.last_payload = payload
        return await self.post(json.dumps(payload), "application/json", **kw)

    # ------------------------------------------------------------------ helpers
    def _trigger(self, trigger_id: str | None, user_id: str, view_id: str | None = None) -> str:
        if trigger_id is None:
            if self.fake is not None:
                trigger_id = self.fake.issue_trigger_id(user_id, view_id)
            else:
                n = next(self._seq)
                trigger_id = f"{n}.{9876543210 + n}.{secrets.token_hex(16)}"
        self.last_trigger_id = trigger_id
        return trigger_id

    def _response_url(
        self,
        response_url: str | None,
        kind: str,
        channel: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        if response_url is None:
            n = next(self._seq)
            tag = f"{kind}-{n}"
            if self.fake is not None:
                response_url = self.fake.response_url(tag, channel=channel, message_ts=message_ts)
            elif not self.api_url.startswith("https://slack.com"):
                root = self.api_url.rstrip("/")
                root = root[: -len("/api")] if root.endswith("/api") else root
                response_url = f"{root}/response/{tag}"
            else:
                response_url = (
                    f"https://hooks.slack.com/{kind}/{self.team_id}/{n}/{secrets.token_hex(12)}"
                )
        self.last_response_url = response_url
        return response_url

    def _user_name(self, user_id: str) -> str:
        if self.fake is not None and user_id in self.fake.users:
            return self.fake.users[user_id].name
        return user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if self.fake is not None and channel_id in self.fake.channels:
            channel = self.fake.channels[channel_id]
            if not channel.is_im:
                return channel.name
        if channel_id.startswith("D"):
            return "directmessage"
        if channel_id.startswith("G"):
            return "privategroup"
        return channel_id.lower()

    def _team(self) -> JSON:
        team: JSON = {"id": self.team_id, "domain": self.team_domain}
        if self.enterprise_id:
            team["enterprise_id"] = self.enterprise_id
        return team

    def _user(self, user_id: str) -> JSON:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _find_view(self, view: JSON) -> JSON | None:
        if self.fake is None:
            return None
        for stored in reversed(list(self.fake.views.values())):
            if stored.get("type") == view.get("type", "modal") and stored.get(
                "callback_id", ""
            ) == view.get("callback_id", ""):
                return stored
        return None

    def _full_view(self, view: JSON, values: JSON | None = None) -> JSON:
        full = copy.deepcopy(view)
        stored = self._find_view(view) if "id" not in full else None
        view_id = full.get("id") or (stored["id"] if stored else f"V{next(self._seq):08d}")
        defaults: JSON = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "hash": stored["hash"] if stored else f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.api_app_id,
            "external_id": "",
            "app_installed_team_id": self.team_id,
            "bot_id": self.fake.bot_id if self.fake is not None else "B0BOT0001",
        }
        for key, value in defaults.items():
            full.setdefault(key, value)
        full["state"] = {"values": copy.deepcopy(values) if values is not None else {}}
        return full

    # ------------------------------------------------------------------ Slack requests
    async def command(
        self,
        user_id: str,
        text: str,
        command: str = "/standup",
        channel_id: str = "C0GENERAL1",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> tuple[int, str]:
        """A slash command (form body with Slack's fields, in Slack's order)."""
        fields: JSON = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
        }
        if self.enterprise_id:
            fields["enterprise_id"] = self.enterprise_id
        fields.update(
            {
                "channel_id": channel_id,
                "channel_name": self._channel_name(channel_id),
                "user_id": user_id,
                "user_name": self._user_name(user_id),
                "command": command,
                "text": text,
                "api_app_id": self.api_app_id,
                "is_enterprise_install": "false",
                "response_url": self._response_url(response_url, "commands", channel_id),
                "trigger_id": self._trigger(trigger_id, user_id),
            }
        )
        self.last_payload = dict(fields)
        return await self._post_form(fields, **kw)

    async def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str | None,
        *,
        block_id: str = "b",
        container: JSON | None = None,
        message: JSON | None = None,
        channel_id: str | None = None,
        view: JSON | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        action_type: str = "button",
        action: JSON | None = None,
        **kw: Any,
    ) -> tuple[int, str]:
        """A ``block_actions`` interaction (a button click by default).

        Message surface (default): ``channel_id`` defaults to the user's DM ("D" + id[1:]);
        ``message`` defaults to the newest message in the fake's store that contains
        ``action_id`` (else a minimal bot message). View surface: pass ``view`` (e.g.
        ``fake.views[id]``). ``action`` adds/overrides fields of the action dict (e.g.
        ``{"selected_option": {...}}``)."""
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
        }
        found_block_id: str | None = None
        element: JSON | None = None
        view_id: str | None = None
        if view is not None:
            full_view = self._full_view(view, (view.get("state") or {}).get("values"))
            view_id = full_view["id"]
            found_block_id, element = _find_element(full_view.get("blocks"), action_id)
            payload["container"] = container or {"type": "view", "view_id": view_id}
        else:
            channel_id = channel_id or "D" + user_id[1:]
            if message is None and self.fake is not None:
                for candidate in reversed(self.fake.all_messages(channel_id)):
                    if _find_element(candidate.get("blocks"), action_id)[1] is not None:
                        message = candidate
                        break
            if message is None:
                message = {
                    "type": "message",
                    "user": self.bot_user_id,
                    "ts": f"{int(time.time())}.{next(self._seq):06d}",
                    "text": "",
                    "blocks": [],
                }
            found_block_id, element = _find_element(message.get("blocks"), action_id)
            payload["container"] = container or {
                "type": "message",
                "message_ts": message.get("ts"),
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
        payload["trigger_id"] = self._trigger(trigger_id, user_id, view_id)
        payload["team"] = self._team()
        payload["enterprise"] = None
        payload["is_enterprise_install"] = False
        if view is not None:
            payload["view"] = full_view
        else:
            assert channel_id is not None and message is not None
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            payload["message"] = message
            payload["state"] = {"values": {}}
            payload["response_url"] = self._response_url(
                response_url, "actions", channel_id, message.get("ts")
            )
        act: JSON = {
            "action_id": action_id,
            "block_id": block_id if block_id != "b" or found_block_id is None else found_block_id,
            "type": action_type,
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            act["value"] = value
        if element is not None and isinstance(element.get("text"), dict):
            act["text"] = element["text"]
        if action:
            act.update(action)
        payload["actions"] = [act]
        return await self._post_payload(payload, **kw)

    async def view_submission(
        self,
        user_id: str,
        view: JSON,
        values: JSON,
        *,
        trigger_id: str | None = None,
        response_urls: list[JSON] | None = None,
        **kw: Any,
    ) -> tuple[int, str]:
        """A ``view_submission``. ``view`` is the view as sent to views.open (or the stored
        ``fake.views[id]``); ``values`` is ``{block_id: {action_id: {"type": ..., "value": ...}}}``.
        Without an ``id`` the newest fake view with the same callback_id supplies id/hash."""
        full_view = self._full_view(view, values)
        payload: JSON = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger(trigger_id, user_id, full_view["id"]),
            "view": full_view,
            "response_urls": response_urls or [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._post_payload(payload, **kw)

    async def view_closed(
        self, user_id: str, view: JSON, *, is_cleared: bool = False, **kw: Any
    ) -> tuple[int, str]:
        payload: JSON = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": self._full_view(view),
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self._post_payload(payload, **kw)

    async def event(
        self,
        event: JSON,
        event_id: str | None = None,
        retry_num: int | None = None,
        *,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
        authorizations: list[JSON] | None = None,
        headers: Mapping[str, str | None] | None = None,
        **kw: Any,
    ) -> tuple[int, str]:
        """An Events API ``event_callback`` envelope (JSON). ``retry_num`` adds
        ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` like Slack's redeliveries; reuse an
        ``event_id`` to simulate a duplicate delivery."""
        envelope: JSON = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._seq):08d}{secrets.token_hex(2).upper()}",
            "event_time": event_time if event_time is not None else int(time.time()),
            "authorizations": authorizations
            if authorizations is not None
            else [
                {
                    "enterprise_id": self.enterprise_id,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(12)}",
        }
        if self.enterprise_id:
            envelope["enterprise_id"] = self.enterprise_id
        extra: dict[str, str | None] = {}
        if retry_num is not None:
            extra["X-Slack-Retry-Num"] = str(retry_num)
            extra["X-Slack-Retry-Reason"] = retry_reason
        extra.update(headers or {})
        return await self._post_json(envelope, headers=extra, **kw)

    async def url_verification(self, challenge: str, **kw: Any) -> tuple[int, str]:
        payload: JSON = {
            "token": self.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        return await self._post_json(payload, **kw)
