"""bot.rules.signing: outgoing webhook signatures, checked against the spec text with hmac/hashlib
computed here, plus tampering, tolerance edges, rotation and the retry policy."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from bot.rules.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    DISABLE_AFTER_FAILURES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookEvent,
    gives_up,
    new_webhook_secret,
    retry_delay,
    retry_delay_bound,
    should_disable,
    sign,
    signature_headers,
    verify,
)

SECRET = "whsec_k3yForTests"
OLD_SECRET = "whsec_older"
TS = 1_700_000_000
NOW = datetime.fromtimestamp(TS, UTC)
BODY = b'{"event":"answer.submitted","id":"evt_1"}'
# Computed outside Python, from the spec text:
#   printf '%s' 'v1:1700000000:{"event":"answer.submitted","id":"evt_1"}' \
#     | openssl dgst -sha256 -hmac 'whsec_k3yForTests'
KNOWN_HEX = "4aec4cbdafae76afbc689a5341bc22a9421f43a0e0e90e96d5efb7c78561121c"
KNOWN_HEX_OLD = "b6fb8e232037280d53db933c93592ee30dd656127a58e8d8ff5c9082527018c2"


def spec_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The spec, verbatim: HMAC-SHA256 over ``v1:<timestamp>:<body>``, sent as ``v1=<hex>``."""
    message = b"v1:" + str(timestamp).encode() + b":" + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- signing --------------------------------------------------------------------------------


def test_known_answer_matches_the_spec_and_openssl() -> None:
    assert spec_signature(SECRET, TS, BODY) == "v1=" + KNOWN_HEX
    assert sign(SECRET, TS, BODY) == "v1=" + KNOWN_HEX
    assert sign(OLD_SECRET, TS, BODY) == "v1=" + KNOWN_HEX_OLD


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        (SECRET, 0, b""),
        ("whsec_ünïcode", 1, b"{}"),
        (SECRET, 9_999_999_999, b'{"text":"\xc3\xa9 \\n:"}'),
        (SECRET, TS, b"v1:123:colons:in:body"),
    ],
)
def test_sign_agrees_with_the_spec_for_other_inputs(
    secret: str, timestamp: int, body: bytes
) -> None:
    assert sign(secret, timestamp, body) == spec_signature(secret, timestamp, body)


def test_headers_carry_timestamp_and_signature() -> None:
    headers = signature_headers(SECRET, BODY, NOW)
    assert headers == {TIMESTAMP_HEADER: "1700000000", SIGNATURE_HEADER: "v1=" + KNOWN_HEX}
    assert TIMESTAMP_HEADER == "X-AsyncStand-Timestamp"
    assert SIGNATURE_HEADER == "X-AsyncStand-Signature"
    # Sub-second precision is dropped, not rounded up into the future.
    assert signature_headers(SECRET, BODY, NOW + timedelta(milliseconds=999)) == headers


def test_headers_during_rotation_carry_one_value_per_secret() -> None:
    headers = signature_headers([SECRET, OLD_SECRET], BODY, NOW)
    assert headers[SIGNATURE_HEADER] == f"v1={KNOWN_HEX}, v1={KNOWN_HEX_OLD}"
    for secret in (SECRET, OLD_SECRET):
        assert verify(secret, headers, BODY, now=NOW)
    assert not verify("whsec_neither", headers, BODY, now=NOW)


def test_naive_clock_and_bad_inputs_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        signature_headers(SECRET, BODY, datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        sign("", TS, BODY)
    with pytest.raises(ValueError):
        sign(SECRET, -1, BODY)
    with pytest.raises(ValueError):
        signature_headers([], BODY, NOW)


def test_new_secrets_are_prefixed_random_and_url_safe() -> None:
    made = {new_webhook_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret), secret


# --- verifying ------------------------------------------------------------------------------


def test_verify_accepts_the_genuine_request_in_every_calling_style() -> None:
    sig = "v1=" + KNOWN_HEX
    assert verify(SECRET, TS, BODY, sig, now=NOW)
    assert verify(SECRET, "1700000000", BODY, sig, now=NOW)
    assert verify(SECRET, {TIMESTAMP_HEADER: "1700000000", SIGNATURE_HEADER: sig}, BODY, now=NOW)
    lower = {"x-asyncstand-timestamp": "1700000000", "x-asyncstand-signature": sig}
    assert verify(SECRET, lower, BODY, now=NOW)
    # An explicit signature wins over the header's.
    assert verify(SECRET, {TIMESTAMP_HEADER: "1700000000"}, BODY, sig, now=NOW)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body"),
    [
        (SECRET, TS, BODY + b" "),  # tampered body
        (SECRET, TS, BODY.replace(b"evt_1", b"evt_2")),
        (SECRET, TS + 1, BODY),  # tampered timestamp
        (SECRET, TS - 1, BODY),
        ("whsec_k3yForTestz", TS, BODY),  # wrong secret
        (SECRET.upper(), TS, BODY),
    ],
)
def test_any_tampering_fails(secret: str, timestamp: int, body: bytes) -> None:
    assert not verify(secret, timestamp, body, "v1=" + KNOWN_HEX, now=NOW)


def test_tolerance_edges_past_and_future() -> None:
    sig = "v1=" + KNOWN_HEX
    assert DEFAULT_TOLERANCE_SECONDS == 300
    assert verify(SECRET, TS, BODY, sig, now=at(TS + 300))
    assert not verify(SECRET, TS, BODY, sig, now=at(TS + 301))
    assert verify(SECRET, TS, BODY, sig, now=at(TS - 300))  # sender's clock a bit ahead
    assert not verify(SECRET, TS, BODY, sig, now=at(TS - 301))
    assert verify(SECRET, TS, BODY, sig, now=at(TS + 60), tolerance=60)
    assert not verify(SECRET, TS, BODY, sig, now=at(TS + 61), tolerance=60)
    # A replay of an old, genuinely signed request fails once it is stale.
    assert not verify(SECRET, TS, BODY, sig, now=NOW + timedelta(days=1))


@pytest.mark.parametrize(
    "header",
    [
        f"v1={KNOWN_HEX_OLD}, v1={KNOWN_HEX}",
        f"v1={KNOWN_HEX_OLD},v1={KNOWN_HEX}",
        f"v1={KNOWN_HEX_OLD} v1={KNOWN_HEX}",
        f"  v1={KNOWN_HEX}  ",
        f"v2=abc, v1={KNOWN_HEX}",  # unknown versions are skipped
        f"v0={KNOWN_HEX}, v1={KNOWN_HEX}",
    ],
)
def test_several_values_are_accepted_for_rotation(header: str) -> None:
    assert verify(SECRET, TS, BODY, header, now=NOW)


def test_a_receiver_may_hold_several_secrets() -> None:
    assert verify(["whsec_new", SECRET], TS, BODY, "v1=" + KNOWN_HEX, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        KNOWN_HEX,  # no version
        f"v0={KNOWN_HEX}",  # wrong version
        f"V1={KNOWN_HEX}",
        f"v1={KNOWN_HEX.upper()}",  # we send lowercase hex; don't be lenient
        f"v1={KNOWN_HEX[:-1]}",
        f"v1={KNOWN_HEX}0",
        f"v1=={KNOWN_HEX}",
        f"v1={KNOWN_HEX};",
        "v1=" + "é" * 64,  # non-ASCII must not make compare_digest raise
        f"{'v1=' + '0' * 64 + ','}" * 20 + f"v1={KNOWN_HEX}",  # real one beyond the cap
        "v1=" + "a" * 5000,
    ],
)
def test_malformed_signatures_fail_without_raising(header: str | None) -> None:
    assert not verify(SECRET, TS, BODY, header, now=NOW)


@pytest.mark.parametrize(
    "timestamp",
    [
        None,
        "",
        " 1700000000",
        "1700000000 ",
        "+1700000000",
        "1_700_000_000",
        "١٧٠٠٠٠٠٠٠٠",
        "1e9",
        -1,
    ],
)
def test_malformed_timestamps_fail(timestamp: str | int | None) -> None:
    headers = {SIGNATURE_HEADER: "v1=" + KNOWN_HEX}
    if timestamp is not None:
        headers[TIMESTAMP_HEADER] = str(timestamp)
        assert not verify(SECRET, timestamp, BODY, "v1=" + KNOWN_HEX, now=NOW)
    assert not verify(SECRET, headers, BODY, now=NOW)


def test_verify_reads_aiohttp_style_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict(signature_headers(SECRET, BODY, NOW)))
    assert verify(SECRET, headers, BODY, now=NOW)
    assert not verify(SECRET, headers, BODY + b"x", now=NOW)


def test_missing_headers_fail() -> None:
    assert not verify(SECRET, {}, BODY, now=NOW)
    assert not verify(SECRET, {TIMESTAMP_HEADER: "1700000000"}, BODY, now=NOW)


def test_round_trip_with_the_real_clock() -> None:
    now = datetime.now(UTC)
    body = b'{"event":"run.closed"}'
    secret = new_webhook_secret()
    headers = signature_headers(secret, body, now)
    assert verify(secret, headers, body, now=now)
    assert not verify(new_webhook_secret(), headers, body, now=now)


# --- events ---------------------------------------------------------------------------------


def test_event_names() -> None:
    assert [str(e) for e in WebhookEvent] == [
        "answer.submitted",
        "answer.updated",
        "run.closed",
        "blocker.opened",
        "blocker.resolved",
    ]
    assert WebhookEvent("blocker.opened") is WebhookEvent.BLOCKER_OPENED
    assert f"{WebhookEvent.RUN_CLOSED}" == "run.closed"


# --- retry policy ---------------------------------------------------------------------------


def test_retry_bounds_double_from_30_seconds_and_cap_at_an_hour() -> None:
    seconds = [retry_delay_bound(n).total_seconds() for n in range(1, 11)]
    assert seconds == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert retry_delay_bound(10_000) == timedelta(hours=1)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            retry_delay_bound(bad)
        with pytest.raises(ValueError):
            retry_delay(bad)


def test_retry_delay_is_full_jitter_within_the_bound() -> None:
    rng = random.Random(1234)
    for attempt in (1, 2, 5, 8, 50):
        bound = retry_delay_bound(attempt)
        draws = [retry_delay(attempt, rng=rng) for _ in range(300)]
        assert all(timedelta(0) <= d <= bound for d in draws)
        # Full jitter spreads over the whole range, not just near the top.
        assert min(draws) < bound * 0.2 and max(draws) > bound * 0.8
    assert timedelta(0) <= retry_delay(3) <= timedelta(minutes=2)  # module RNG


def test_retry_delay_is_reproducible_with_a_seeded_rng() -> None:
    a = [retry_delay(4, rng=random.Random(7)) for _ in range(3)]
    b = [retry_delay(4, rng=random.Random(7)) for _ in range(3)]
    assert a == b


def test_gives_up_after_24_hours() -> None:
    first = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert not gives_up(first, first)
    assert not gives_up(first, first + timedelta(hours=23, minutes=59, seconds=59))
    assert gives_up(first, first + timedelta(hours=24))
    assert gives_up(first, first + timedelta(days=3))


def test_disable_after_consecutive_failures() -> None:
    assert DISABLE_AFTER_FAILURES == 15
    assert not should_disable(0)
    assert not should_disable(DISABLE_AFTER_FAILURES - 1)
    assert should_disable(DISABLE_AFTER_FAILURES)
    assert should_disable(DISABLE_AFTER_FAILURES + 3)
