"""What may reach Bolt from POST /slack/events, decided before anything decodes the body (pure).

In order: the signature over the raw bytes (HMAC-SHA256 of ``v0:<timestamp>:<raw body>`` with
the signing secret, compared in constant time, timestamp within five minutes) — else 401; then
strict decoding (the declared charset, UTF-8 by default) — else 400; then the payload's shape:
what Bolt's routing and our listeners index into must be there with the right types — else 400.
Each refusal carries a short reason for the caller. Nothing here raises on hostile input.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "FORM",
    "JSON",
    "MAX_SKEW_SECONDS",
    "Refused",
    "SlackRequest",
    "check_shape",
    "decode_body",
    "parse_body",
    "read_request",
    "verify_signature",
]

MAX_SKEW_SECONDS = 5 * 60
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FORM_FIELDS = 100  # a slash command has about 15

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_CHARSETS = {"utf-8", "ascii"}  # codec names (codecs.lookup) Slack's bodies can be read with


@dataclass(frozen=True)
class Refused:
    """Not for Bolt: answer ``status`` (401 unsigned, 400 malformed) with ``reason``."""

    status: int
    reason: str


@dataclass(frozen=True)
class SlackRequest:
    """A signed, decoded, well-shaped request: its text (which Bolt verifies again), the body
    as Bolt must see it, and the media type that body was read as."""

    text: str
    body: dict[str, Any]
    media_type: str


def _unauthorized(reason: str) -> Refused:
    return Refused(401, reason)


def _malformed(reason: str) -> Refused:
    return Refused(400, reason)


def _shown(value: str, limit: int = 40) -> str:
    """Client input quoted in a reason, cut short."""
    return repr(value[:limit] + ("…" if len(value) > limit else ""))


# --- 1. signature -----------------------------------------------------------------------------


def verify_signature(
    secret: str, timestamp: str | None, signature: str | None, raw: bytes, now: float
) -> Refused | None:
    """None if ``raw`` was signed with ``secret`` at ``timestamp``, within five minutes of
    ``now``; else why not (401). Works on the bytes as received: nothing is decoded first."""
    if timestamp is None:
        return _unauthorized("missing X-Slack-Request-Timestamp header")
    if not _TIMESTAMP.fullmatch(timestamp):
        return _unauthorized("X-Slack-Request-Timestamp is not a Unix time in seconds")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return _unauthorized("request timestamp is more than five minutes from now")
    if signature is None:
        return _unauthorized("missing X-Slack-Signature header")
    if not _SIGNATURE.fullmatch(signature):
        return _unauthorized("invalid request signature")
    base = b"v0:" + timestamp.encode("ascii") + b":" + raw
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        return _unauthorized("invalid request signature")
    return None


# --- 2. decoding ------------------------------------------------------------------------------


def _media_and_charset(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    media, _, rest = content_type.partition(";")
    charset = None
    for parameter in rest.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').strip()
    return media.strip().lower(), charset


def decode_body(raw: bytes, content_type: str | None) -> str | Refused:
    """The body as text, read strictly with the declared charset (UTF-8 when none is given)."""
    _, charset = _media_and_charset(content_type)
    codec = "utf-8"
    if charset is not None:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            return _malformed(f"unknown charset {_shown(charset)}")
        if codec not in _CHARSETS:
            return _malformed(f"unsupported charset {_shown(charset)}: Slack sends UTF-8")
    try:
        return raw.decode(codec, errors="strict")
    except UnicodeDecodeError as exc:
        return _malformed(f"body is not valid {codec.upper()} (byte {exc.start})")


# --- 3. parsing -------------------------------------------------------------------------------


def _json_object(text: str, what: str) -> dict[str, Any] | Refused:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return _malformed(f"{what} is not valid JSON")
    if not isinstance(value, dict):
        return _malformed(f"{what} must be a JSON object")
    return value


def parse_body(text: str, content_type: str | None) -> tuple[dict[str, Any], str] | Refused:
    """(body, media type), read the way Bolt decides between JSON and a form — a JSON content
    type or a body starting with ``{`` — but strictly: a form must carry ``payload`` (JSON
    object) or ``command``, never repeats a field, and decodes its %-escapes as UTF-8."""
    media, _ = _media_and_charset(content_type)
    if media == JSON or text.startswith("{"):
        body = _json_object(text, "body")
        return body if isinstance(body, Refused) else (body, JSON)
    if not text:
        return _malformed("empty body")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        return _malformed("a form field is not valid UTF-8")
    except ValueError:
        return _malformed(f"form has more than {MAX_FORM_FIELDS} fields")
    fields = dict(pairs)
    if len(fields) != len(pairs):
        repeated = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        return _malformed(f"form field {_shown(repeated)} is repeated")
    if "payload" in fields:
        if "command" in fields:
            return _malformed("form has both payload and command")
        payload = _json_object(fields["payload"], "payload")
        return payload if isinstance(payload, Refused) else (payload, FORM)
    if "command" in fields or fields.get("ssl_check") == "1":
        return fields, FORM
    return _malformed("form has neither payload nor command")


# --- 4. shape ---------------------------------------------------------------------------------

# Where Bolt's context extraction and routing look, and what each must be when present.
_ID_HOLDERS = ("team", "user", "enterprise", "channel")  # a string id, or an object with one
_OBJECTS = (
    "view",
    "message",
    "previous_message",
    "container",
    "state",
    "item",
    "event",
    "assistant_thread",
)
_LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")
_STRINGS = (
    "type",
    "team_id",
    "user_id",
    "channel_id",
    "enterprise_id",
    "app_installed_team_id",
    "callback_id",
    "action_id",
    "block_id",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "event_id",
    "challenge",
    "private_metadata",
    "thread_ts",
)
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "view")
_INTERACTIONS_BY_CALLBACK = {
    "shortcut",
    "message_action",
    "interactive_message",
    "dialog_submission",
    "dialog_cancellation",
    "dialog_suggestion",
}


def _nonempty_str(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _types_ok(obj: Mapping[str, Any], where: str, depth: int = 0) -> str | None:
    for key in _ID_HOLDERS:
        value = obj.get(key)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict):
            return f"{where}{key} must be an object or a string"
        for id_key in ("id", "team_id", "enterprise_id"):
            if value.get(id_key) is not None and not isinstance(value[id_key], str):
                return f"{where}{key}.{id_key} must be a string"
    for key in _OBJECTS:
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            return f"{where}{key} must be an object"
    for key in _LISTS_OF_OBJECTS:
        value = obj.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return f"{where}{key} must be a list of objects"
    for key in _STRINGS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return f"{where}{key} must be a string"
    if depth < 3:
        for key in _NESTED:
            if isinstance(obj.get(key), dict):
                problem = _types_ok(obj[key], f"{where}{key}.", depth + 1)
                if problem:
                    return problem
        for position, item in enumerate(obj.get("authorizations") or []):
            problem = _types_ok(item, f"{where}authorizations[{position}].", depth + 1)
            if problem:
                return problem
    return None


def _holder_id(value: object, key: str = "id") -> object:
    return value if isinstance(value, str) else value.get(key) if isinstance(value, dict) else None


def _workspace_known(body: Mapping[str, Any]) -> bool:
    """Some team or Enterprise Grid org id to serve the request for (Bolt's places for it)."""
    view = body.get("view")
    view = view if isinstance(view, dict) else {}
    authorizations = body.get("authorizations")
    first_authorization = authorizations[0] if authorizations else {}
    candidates = (
        _holder_id(body.get("team")),
        body.get("team_id"),
        _holder_id(body.get("user"), "team_id"),
        view.get("team_id"),
        view.get("app_installed_team_id"),
        first_authorization.get("team_id"),
        _holder_id(body.get("enterprise")),
        body.get("enterprise_id"),
        first_authorization.get("enterprise_id"),
    )
    return any(_nonempty_str(candidate) for candidate in candidates)


def _command_shape(body: Mapping[str, Any]) -> str | None:
    if not str(body.get("command", "")).startswith("/"):
        return "command must start with /"
    if not _nonempty_str(body.get("user_id")):
        return "slash command has no user_id"
    if not _nonempty_str(body.get("team_id")):
        return "slash command has no team_id"
    return None


def _event_shape(body: Mapping[str, Any]) -> str | None:
    kind = body.get("type")
    if not _nonempty_str(kind):
        return "body has no type"
    if kind == "url_verification":
        return None if _nonempty_str(body.get("challenge")) else "url_verification has no challenge"
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _nonempty_str(event.get("type")):
            return "event_callback has no event with a type"
        if not _nonempty_str(body.get("event_id")):
            return "event_callback has no event_id"
    if not _workspace_known(body):
        return "body names no team (team_id)"
    return None


def _interaction_shape(body: Mapping[str, Any]) -> str | None:
    kind = body.get("type")
    if not _nonempty_str(kind):
        return "payload has no type"
    if not _nonempty_str(_holder_id(body.get("user"))):
        return "payload has no user"
    if not _workspace_known(body):
        return "payload has no team"
    if kind == "block_actions":
        actions = body.get("actions")
        if not actions or not all(_nonempty_str(a.get("action_id")) for a in actions):
            return "block_actions payload has no actions with an action_id"
    elif kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict):
            return f"{kind} payload has no view object"
        if not (_nonempty_str(view.get("id")) and isinstance(view.get("callback_id"), str)):
            return f"{kind} view has no id or callback_id"
        state = view.get("state")
        if kind == "view_submission" and not (
            isinstance(state, dict) and isinstance(state.get("values"), dict)
        ):
            return "view_submission view has no state.values object"
    elif kind == "block_suggestion":
        if not _nonempty_str(body.get("action_id")):
            return "block_suggestion payload has no action_id"
    elif kind in _INTERACTIONS_BY_CALLBACK and not isinstance(body.get("callback_id"), str):
        return f"{kind} payload has no callback_id"
    return None


def check_shape(body: Mapping[str, Any], media_type: str) -> str | None:
    """Why this body cannot be served (400), or None. Checks only what routing and context
    need — a slash command, an interaction payload or an Events API body — never the values."""
    problem = _types_ok(body, "")
    if problem:
        return problem
    if "command" in body:  # whatever else it is, Bolt routes it as a slash command
        return _command_shape(body)
    if media_type == JSON:
        return _event_shape(body)
    if body.get("ssl_check") == "1":
        return None
    return _interaction_shape(body)


# --- all of it --------------------------------------------------------------------------------


def read_request(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    content_type: str | None,
    raw: bytes,
    now: float,
) -> SlackRequest | Refused:
    """Verify, decode, parse and check a POST to /slack/events, in that order."""
    refused = verify_signature(secret, timestamp, signature, raw, now)
    if refused is not None:
        return refused
    text = decode_body(raw, content_type)
    if isinstance(text, Refused):
        return text
    parsed = parse_body(text, content_type)
    if isinstance(parsed, Refused):
        return parsed
    body, media_type = parsed
    problem = check_shape(body, media_type)
    if problem is not None:
        return _malformed(problem)
    return SlackRequest(text, body, media_type)
