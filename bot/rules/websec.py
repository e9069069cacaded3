"""Security helpers for the web dashboard and REST API: sessions, CSRF, Sign in with Slack
(OpenID Connect), response headers, idempotency keys and pagination cursors (pure: no I/O).

Why: each of these is small but easy to get subtly wrong (a non-constant-time compare, a cursor
parser that raises a 500 on garbage, an id_token whose audience nobody checks), so they live
here once, with tests, instead of being re-invented in each handler.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode

__all__ = [
    "MAX_CURSOR_LENGTH",
    "MAX_ID_TOKEN_LENGTH",
    "OIDC_SCOPE",
    "PRIVATE_PAGE_HEADERS",
    "SECURITY_HEADERS",
    "SLACK_AUTHORIZE_URL",
    "SLACK_ISSUER",
    "SLACK_TEAM_ID_CLAIM",
    "SLACK_USER_ID_CLAIM",
    "authorize_url",
    "check_id_token",
    "csrf_ok",
    "csrf_token",
    "decode_cursor",
    "encode_cursor",
    "id_token_claims",
    "new_session_id",
    "nonce_ok",
    "request_fingerprint",
    "session_digest",
]

# --- Sessions -------------------------------------------------------------------------------


def new_session_id() -> str:
    """An opaque session id for the cookie: 32 random bytes, URL-safe base64."""
    return secrets.token_urlsafe(32)


def session_digest(session_id: str) -> str:
    """SHA-256 hex of a session id: store this, never the id, so a database leak (or a backup)
    does not hand out live sessions. The id is random and high-entropy, so no salt is needed."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


# --- CSRF -----------------------------------------------------------------------------------

_MIN_CSRF_SECRET_BYTES = 32
_MAX_CSRF_TOKEN_LENGTH = 128
_CSRF_CONTEXT = b"asyncstand-csrf-v1\x00"


def csrf_token(secret: bytes, session_id: str) -> str:
    """The CSRF token for a session: HMAC-SHA256(secret, session id), URL-safe base64.

    Bound to the session, so a token from one session is useless in another, and stateless
    (nothing to store). ``secret`` is a server-side key of at least 32 bytes; a shorter one is a
    configuration mistake and raises ValueError."""
    if len(secret) < _MIN_CSRF_SECRET_BYTES:
        raise ValueError(f"The CSRF secret must be at least {_MIN_CSRF_SECRET_BYTES} bytes.")
    if not session_id:
        raise ValueError("A CSRF token needs a session id.")
    mac = hmac.new(secret, _CSRF_CONTEXT + session_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_ok(secret: bytes, session_id: str, token: str | None) -> bool:
    """Whether ``token`` (from the form or header) is this session's CSRF token; constant-time."""
    if (
        not session_id
        or not isinstance(token, str)
        or not token.isascii()
        or not 0 < len(token) <= _MAX_CSRF_TOKEN_LENGTH
    ):
        return False
    expected = csrf_token(secret, session_id).encode("ascii")
    return hmac.compare_digest(expected, token.encode("ascii"))


# --- Sign in with Slack (OpenID Connect) ----------------------------------------------------

SLACK_AUTHORIZE_URL = "https://slack.com/openid/connect/authorize"
SLACK_ISSUER = "https://slack.com"
SLACK_TEAM_ID_CLAIM = "https://slack.com/team_id"
SLACK_USER_ID_CLAIM = "https://slack.com/user_id"
OIDC_SCOPE = "openid profile"
MAX_ID_TOKEN_LENGTH = 16 * 1024
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")


def authorize_url(
    client_id: str, redirect_uri: str, state: str, nonce: str, team: str | None = None
) -> str:
    """Where to send the browser to start Sign in with Slack (authorization-code flow).

    ``state`` (CSRF for the callback: keep it in a short-lived cookie and compare on return) and
    ``nonce`` (checked in the id_token) should each be fresh ``secrets.token_urlsafe(32)``
    values. ``team`` is a workspace id hint that skips Slack's workspace picker."""
    for name, value in (
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("nonce", nonce),
    ):
        if not value:
            raise ValueError(f"authorize_url needs a non-empty {name}.")
    params = {
        "response_type": "code",
        "scope": OIDC_SCOPE,
        "client_id": client_id,
        "state": state,
        "nonce": nonce,
        "redirect_uri": redirect_uri,
    }
    if team:
        params["team"] = team
    query = urlencode(params, safe="", quote_via=quote)
    return f"{SLACK_AUTHORIZE_URL}?{query}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _strict_json(raw: bytes) -> Any:
    """JSON that refuses duplicate keys and NaN/Infinity (raises ValueError or RecursionError)."""
    return json.loads(
        raw.decode("utf-8"),
        object_pairs_hook=_no_duplicate_keys,
        parse_constant=_reject_constant,
    )


def _b64url_decode(segment: str) -> bytes:
    """Unpadded base64url, strictly: ``urlsafe_b64decode`` alone silently skips bad characters."""
    if not _B64URL_RE.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_object_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = _strict_json(_b64url_decode(segment))
    except (ValueError, binascii.Error, RecursionError) as exc:  # UnicodeDecodeError: ValueError
        raise ValueError(f"The id_token {what} is not base64url-encoded JSON.") from exc
    if not isinstance(value, dict):
        raise ValueError(f"The id_token {what} is not a JSON object.")
    return value


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims (payload) of a JWT id_token, decoded WITHOUT checking its signature.

    Raises ValueError if the token is not three base64url segments whose first two are JSON
    objects, or if its header says ``"alg": "none"``.

    Why no signature check: Slack's JWKS (https://slack.com/openid/connect/keys) is not reachable
    from our deployment, and we do not need it: OpenID Connect Core 1.0 §3.1.3.7 (6) lets a
    client that receives the id_token *directly from the token endpoint over TLS* rely on TLS
    server authentication instead of the signature. That holds only for the id_token in the
    response our server gets from ``openid.connect.token`` (https://slack.com/api/...) — so
    NEVER pass this function a token that came through the browser (a query string, form field,
    cookie or header): anyone can forge one. The claims still have to be checked; use
    :func:`check_id_token`.
    """
    if not isinstance(id_token, str) or not 0 < len(id_token) <= MAX_ID_TOKEN_LENGTH:
        raise ValueError("The id_token is missing or too long.")
    segments = id_token.split(".")
    if len(segments) != 3:
        raise ValueError("The id_token is not a JWT (header.payload.signature).")
    header_segment, payload_segment, signature_segment = segments
    header = _json_object_segment(header_segment, "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise ValueError("The id_token header has no usable signing algorithm.")
    if not _B64URL_RE.fullmatch(signature_segment):
        raise ValueError("The id_token signature is not base64url.")
    return _json_object_segment(payload_segment, "payload")


def nonce_ok(claims: Mapping[str, Any], expected_nonce: str) -> bool:
    """Whether the id_token's ``nonce`` claim is the one we sent; constant-time."""
    got = claims.get("nonce")
    if not expected_nonce or not isinstance(got, str) or not got.isascii():
        return False
    if not expected_nonce.isascii():
        return False
    return hmac.compare_digest(expected_nonce.encode("ascii"), got.encode("ascii"))


def _epoch_seconds(now: datetime) -> float:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("Pass an aware datetime (UTC), not a naive one.")
    return now.timestamp()


def check_id_token(
    id_token: str,
    *,
    client_id: str,
    nonce: str,
    now: datetime,
    issuer: str = SLACK_ISSUER,
    team_id: str | None = None,
) -> str | None:
    """Why this id_token (from our own ``openid.connect.token`` call) must be refused, or None.

    Checks: well-formed (see :func:`id_token_claims`), ``iss`` is Slack, ``aud`` is our
    ``client_id`` (a list must contain it, and name us in ``azp`` if it holds anyone else),
    ``exp`` is still in the future at ``now``, ``nonce`` is the one we sent, ``sub`` and the
    Slack user id are present, and — if ``team_id`` is given — the workspace is that one.
    """
    try:
        claims = id_token_claims(id_token)
    except ValueError:
        return "The sign-in response from Slack was malformed."
    if claims.get("iss") != issuer:
        return "The sign-in token was not issued by Slack."
    aud = claims.get("aud")
    if isinstance(aud, list):
        if client_id not in aud or (len(aud) > 1 and claims.get("azp") != client_id):
            return "The sign-in token was issued for a different app."
    elif aud != client_id or not client_id:
        return "The sign-in token was issued for a different app."
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not math.isfinite(exp):
        return "The sign-in token has no valid expiry time."
    if _epoch_seconds(now) >= exp:
        return "The sign-in token has expired. Please sign in again."
    if not nonce_ok(claims, nonce):
        return "The sign-in attempt could not be matched (nonce mismatch). Please sign in again."
    sub, user_id = claims.get("sub"), claims.get(SLACK_USER_ID_CLAIM)
    if not isinstance(sub, str) or not sub or not isinstance(user_id, str) or not user_id:
        return "The sign-in token does not say who signed in."
    if team_id is not None and claims.get(SLACK_TEAM_ID_CLAIM) != team_id:
        return "You signed in to a different Slack workspace."
    return None


# --- Response headers -----------------------------------------------------------------------

_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
)
"""Headers for every page and API response (read-only; copy with ``dict(...)`` to extend)."""

PRIVATE_PAGE_HEADERS: Mapping[str, str] = MappingProxyType(
    {**SECURITY_HEADERS, "Cache-Control": "no-store"}
)
""":data:`SECURITY_HEADERS` plus ``Cache-Control: no-store``, for anything behind a sign-in
(so a shared computer's back button or an intermediate cache never shows someone's data)."""


# --- Idempotency ----------------------------------------------------------------------------


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 hex identifying a request, stored next to its Idempotency-Key.

    If the same key arrives with a different fingerprint, answer 422 rather than replaying the
    stored response. ``path`` should include the query string. Method and path are encoded as a
    JSON array before the body, so no two different (method, path, body) share an input."""
    head = json.dumps([method, path], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(head.encode("ascii") + b"\n" + body).hexdigest()


# --- Cursor pagination ----------------------------------------------------------------------

MAX_CURSOR_LENGTH = 512
"""Longest encoded cursor accepted (and produced)."""
_MAX_CURSOR_KEYS = 8
_CURSOR_INT_LIMIT = 2**63  # values must fit a signed 64-bit column


def _cursor_value_ok(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_CURSOR_INT_LIMIT <= value < _CURSOR_INT_LIMIT
    return isinstance(value, str)


def encode_cursor(values: Mapping[str, str | int]) -> str:
    """An opaque ``next`` cursor: the keyset position as compact JSON, base64url, unpadded.

    Cursors are not signed: a client can edit one, so it must only ever say *where* to continue,
    never *what* the caller may see — the query behind it re-applies every access filter.
    Raises ValueError for values :func:`decode_cursor` would not give back."""
    if len(values) > _MAX_CURSOR_KEYS:
        raise ValueError(f"A cursor holds at most {_MAX_CURSOR_KEYS} values.")
    for key, value in values.items():
        if not isinstance(key, str) or not _cursor_value_ok(value):
            raise ValueError(f"Cursor value {key!r} must be a str or a 64-bit int.")
    raw = json.dumps(dict(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    text = base64.urlsafe_b64encode(raw.encode("utf-8")).rstrip(b"=").decode("ascii")
    if len(text) > MAX_CURSOR_LENGTH:
        raise ValueError("That cursor would be too long.")
    return text


def decode_cursor(text: str | None) -> dict[str, str | int] | None:
    """The values in a cursor from :func:`encode_cursor`, or None for anything else.

    Never raises: a bad cursor from a client is a 400, not a 500."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_CURSOR_LENGTH:
        return None
    try:
        value = json.loads(
            _b64url_decode(text).decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_reject_constant,
            parse_float=_reject_constant,
        )
    except (ValueError, binascii.Error, RecursionError):
        return None
    if not isinstance(value, dict) or len(value) > _MAX_CURSOR_KEYS:
        return None
    result: dict[str, str | int] = {}
    for key, item in value.items():
        if not _cursor_value_ok(item):
            return None
        result[key] = item
    return result
