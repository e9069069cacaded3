"""Outgoing webhook signatures and the delivery retry policy (pure: no I/O, no clock of its own).

Why: receivers of our webhooks must be able to tell that a request really came from AsyncStand,
that the body was not altered, and that it is not an old request being replayed. The scheme is
the one in the spec: the JSON body is signed with HMAC-SHA256 over ``v1:<timestamp>:<body>``;
the request carries ``X-AsyncStand-Timestamp: <unix seconds>`` and
``X-AsyncStand-Signature: v1=<hex>``. The secret is shown to the user once, at creation.

* The HMAC key is the UTF-8 encoding of the whole secret string exactly as shown to the user,
  ``whsec_`` prefix included, so receivers never have to strip or decode anything.
* The timestamp in the signed text is the decimal integer, exactly as sent in the header.
* While a secret is being rotated we sign with the old and the new secret and send both values,
  separated by a comma and a space (``v1=<hex>, v1=<hex>``); a receiver holding either secret
  accepts. Values with an unknown version (``v2=...``) are ignored, so a future scheme can be
  sent alongside this one.

Retries: a failed delivery is retried after :func:`retry_delay` (exponential back-off with full
jitter) until :func:`gives_up` says 24 hours have passed since the first attempt; an endpoint is
disabled after :data:`DISABLE_AFTER_FAILURES` consecutive failed deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DISABLE_AFTER_FAILURES",
    "GIVE_UP_AFTER",
    "RETRY_BASE_DELAY",
    "RETRY_MAX_DELAY",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "SIGNATURE_VERSION",
    "TIMESTAMP_HEADER",
    "WebhookEvent",
    "gives_up",
    "new_webhook_secret",
    "retry_delay",
    "retry_delay_bound",
    "should_disable",
    "sign",
    "signature_headers",
    "verify",
]

SIGNATURE_VERSION = "v1"
TIMESTAMP_HEADER = "X-AsyncStand-Timestamp"
SIGNATURE_HEADER = "X-AsyncStand-Signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300
"""A signed request is accepted if its timestamp is at most this far in the past or future."""

RETRY_BASE_DELAY = timedelta(seconds=30)
RETRY_MAX_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
DISABLE_AFTER_FAILURES = 15
"""Disable an endpoint after this many *deliveries* in a row failed (each one after all its
retries, i.e. once :func:`gives_up` said so). Any successful delivery resets the count."""

# Bounds on what we are willing to parse from a (possibly hostile) request.
_MAX_SIGNATURE_HEADER = 1024
_MAX_SIGNATURE_VALUES = 8
_MAX_SECRETS = 8
# ASCII digits only: int() would also accept "١٢", " 1" and "1_0".
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_HEX_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SEPARATORS_RE = re.compile(r"[,\s]+")


class WebhookEvent(StrEnum):
    """The event names sent in outgoing webhooks."""

    ANSWER_SUBMITTED = "answer.submitted"
    ANSWER_UPDATED = "answer.updated"
    RUN_CLOSED = "run.closed"
    BLOCKER_OPENED = "blocker.opened"
    BLOCKER_RESOLVED = "blocker.resolved"


def new_webhook_secret() -> str:
    """A fresh signing secret: ``whsec_`` + 32 random bytes, URL-safe base64 (43 characters).

    Show it to the user once; store it encrypted (we need the plaintext to sign, so a hash will
    not do)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{SIGNATURE_VERSION}:{timestamp}:".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``v1:<timestamp>:<body>``."""
    if not secret:
        raise ValueError("The webhook secret must not be empty.")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("The timestamp must be a non-negative whole number of seconds.")
    return f"{SIGNATURE_VERSION}={_mac(secret, timestamp, body)}"


def _unix_seconds(now: datetime) -> int:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("Pass an aware datetime (UTC), not a naive one.")
    return int(now.timestamp())


def _secrets(secret: str | Sequence[str]) -> list[str]:
    found = [secret] if isinstance(secret, str) else list(secret)
    if not found or len(found) > _MAX_SECRETS or not all(found):
        raise ValueError("Pass one to eight non-empty webhook secrets.")
    return found


def signature_headers(secret: str | Sequence[str], body: bytes, now: datetime) -> dict[str, str]:
    """The two headers to send with ``body``.

    Pass several secrets (newest first) while rotating: one ``v1=`` value is sent per secret."""
    timestamp = _unix_seconds(now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: ", ".join(sign(s, timestamp, body) for s in _secrets(secret)),
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts as well as multidicts."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _parse_timestamp(value: int | str | None) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _TIMESTAMP_RE.fullmatch(value):
        return int(value)
    return None


def _candidate_macs(signature: str | None) -> list[bytes]:
    """The hex digests of every ``v1=`` value in a signature header; others are skipped."""
    if not isinstance(signature, str) or len(signature) > _MAX_SIGNATURE_HEADER:
        return []
    found: list[bytes] = []
    for item in _SEPARATORS_RE.split(signature.strip()):
        version, sep, value = item.partition("=")
        if sep and version == SIGNATURE_VERSION and _HEX_SHA256_RE.fullmatch(value):
            found.append(value.encode("ascii"))
            if len(found) == _MAX_SIGNATURE_VALUES:
                break
    return found


def verify(
    secret: str | Sequence[str],
    headers_or_timestamp: Mapping[str, str] | int | str,
    body: bytes,
    signature: str | None = None,
    *,
    now: datetime,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``body`` carries a valid, fresh signature made with (one of) ``secret``.

    ``headers_or_timestamp`` is either the request headers (any case; the signature is then read
    from them unless ``signature`` is given) or the timestamp header's value. The timestamp must
    be within ``tolerance`` seconds of ``now`` either way (stale requests and ones from the
    future are refused). Digests are compared in constant time. Never raises on hostile input.
    """
    if isinstance(headers_or_timestamp, Mapping):
        raw_timestamp: int | str | None = _header(headers_or_timestamp, TIMESTAMP_HEADER)
        if signature is None:
            signature = _header(headers_or_timestamp, SIGNATURE_HEADER)
    else:
        raw_timestamp = headers_or_timestamp
    timestamp = _parse_timestamp(raw_timestamp)
    if timestamp is None or abs(_unix_seconds(now) - timestamp) > tolerance:
        return False
    candidates = _candidate_macs(signature)
    if not candidates:
        return False
    expected = [_mac(s, timestamp, body).encode("ascii") for s in _secrets(secret)]
    matched = False
    for want in expected:
        for got in candidates:
            # Bytes, not str: compare_digest raises TypeError on non-ASCII str input.
            matched |= hmac.compare_digest(want, got)
    return matched


def retry_delay_bound(attempt: int) -> timedelta:
    """The upper bound of the wait before retry number ``attempt`` (1 = first retry).

    30 s, 60 s, 2 min, 4 min, 8 min, 16 min, 32 min, then 1 h for every later retry."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise ValueError("Retry attempts are numbered from 1.")
    factor = 2 ** min(attempt - 1, 16)  # past the cap anyway; don't build huge ints
    delay: timedelta = min(RETRY_BASE_DELAY * factor, RETRY_MAX_DELAY)
    return delay


def retry_delay(attempt: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait before retry number ``attempt`` (1 = the retry after the first failure).

    Full jitter: uniformly random between 0 and :func:`retry_delay_bound` (inclusive), so a burst
    of failures against one endpoint does not come back as a synchronised burst of retries.
    Pass ``rng`` for reproducible values in tests. Whole milliseconds."""
    bound_ms = int(retry_delay_bound(attempt) / timedelta(milliseconds=1))
    randint = rng.randint if rng is not None else random.randint
    draw = randint(0, bound_ms)
    return timedelta(milliseconds=draw)


def gives_up(first_attempt_at: datetime, now: datetime) -> bool:
    """Whether to stop retrying a delivery: 24 hours or more since its first attempt."""
    return now - first_attempt_at >= GIVE_UP_AFTER


def should_disable(consecutive_failed_deliveries: int) -> bool:
    """Whether an endpoint with this many failed deliveries in a row should be disabled."""
    return consecutive_failed_deliveries >= DISABLE_AFTER_FAILURES
