"""bot.rules.websec: sessions, CSRF, Sign in with Slack (id_tokens built here, good and broken),
security headers, idempotency fingerprints and pagination cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.rules.websec import (
    MAX_CURSOR_LENGTH,
    PRIVATE_PAGE_HEADERS,
    SECURITY_HEADERS,
    SLACK_TEAM_ID_CLAIM,
    SLACK_USER_ID_CLAIM,
    authorize_url,
    check_id_token,
    csrf_ok,
    csrf_token,
    decode_cursor,
    encode_cursor,
    id_token_claims,
    new_session_id,
    nonce_ok,
    request_fingerprint,
    session_digest,
)

CLIENT_ID = "2141029472.691202649728"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXP = int(NOW.timestamp()) + 3600
SECRET = b"k" * 32


# --- sessions and CSRF ----------------------------------------------------------------------


def test_session_ids_are_long_random_and_stored_hashed() -> None:
    ids = {new_session_id() for _ in range(100)}
    assert len(ids) == 100
    for sid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", sid)
        assert session_digest(sid) == hashlib.sha256(sid.encode()).hexdigest()
        assert sid not in session_digest(sid)


def test_csrf_token_is_an_hmac_bound_to_the_session() -> None:
    sid = new_session_id()
    token = csrf_token(SECRET, sid)
    assert token == csrf_token(SECRET, sid)  # stateless: same session, same token
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    expected = hmac.new(SECRET, b"asyncstand-csrf-v1\x00" + sid.encode(), hashlib.sha256)
    assert base64.urlsafe_b64decode(token + "=") == expected.digest()
    assert csrf_ok(SECRET, sid, token)
    assert not csrf_ok(SECRET, new_session_id(), token)  # another session
    assert not csrf_ok(b"j" * 32, sid, token)  # another server key
    assert csrf_token(SECRET, sid) != csrf_token(SECRET, sid + "x")


@pytest.mark.parametrize("bad", [None, "", "x", "é" * 43, "\x00" * 43, "A" * 43, "a" * 10_000])
def test_csrf_rejects_garbage_without_raising(bad: str | None) -> None:
    assert not csrf_ok(SECRET, "session", bad)


def test_csrf_rejects_tampered_tokens() -> None:
    token = csrf_token(SECRET, "session")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not csrf_ok(SECRET, "session", flipped)
    assert not csrf_ok(SECRET, "session", token + "A")
    assert not csrf_ok(SECRET, "session", token[:-1])
    assert not csrf_ok(SECRET, "", token)


def test_csrf_refuses_a_weak_server_secret() -> None:
    with pytest.raises(ValueError):
        csrf_token(b"short", "session")
    with pytest.raises(ValueError):
        csrf_token(SECRET, "")


# --- Sign in with Slack ---------------------------------------------------------------------


def test_authorize_url() -> None:
    url = authorize_url(CLIENT_ID, "https://stand.example/auth/callback", "st&ate", NONCE)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "slack.com",
        "/openid/connect/authorize",
    )
    assert parse_qs(parts.query, strict_parsing=True) == {
        "response_type": ["code"],
        "scope": ["openid profile"],
        "client_id": [CLIENT_ID],
        "state": ["st&ate"],
        "nonce": [NONCE],
        "redirect_uri": ["https://stand.example/auth/callback"],
    }
    assert "scope=openid%20profile" in url
    assert "redirect_uri=https%3A%2F%2Fstand.example%2Fauth%2Fcallback" in url
    with_team = authorize_url(CLIENT_ID, "https://stand.example/cb", "s", "n", team="T0TEAM")
    assert parse_qs(urlsplit(with_team).query)["team"] == ["T0TEAM"]
    with pytest.raises(ValueError):
        authorize_url(CLIENT_ID, "https://stand.example/cb", "", NONCE)
    with pytest.raises(ValueError):
        authorize_url(CLIENT_ID, "https://stand.example/cb", "s", "")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: Any, header: Any = None, signature: str = "c2lnbmF0dXJl") -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": "abc"} if header is None else header
    return ".".join(
        [b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), signature]
    )


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": "https://slack.com",
        "sub": "U0ALICE01",
        "aud": CLIENT_ID,
        "exp": EXP,
        "iat": EXP - 3600,
        "auth_time": EXP - 3600,
        "nonce": NONCE,
        SLACK_USER_ID_CLAIM: "U0ALICE01",
        SLACK_TEAM_ID_CLAIM: "T0TEAM",
        "name": "Alice Ünicode",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_id_token_claims_decodes_the_payload() -> None:
    payload = claims()
    assert id_token_claims(jwt(payload)) == payload


def test_id_token_claims_handles_every_padding_length() -> None:
    for n in range(6):
        payload = claims(name="x" * n)
        assert id_token_claims(jwt(payload))["name"] == "x" * n


GOOD_HEADER = b64url(b'{"alg":"RS256"}')
GOOD_PAYLOAD = b64url(b'{"sub":"U1"}')


def with_payload(raw: bytes) -> str:
    return f"{GOOD_HEADER}.{b64url(raw)}.sig"


def with_header(raw: bytes) -> str:
    return f"{b64url(raw)}.{GOOD_PAYLOAD}.sig"


MALFORMED = [
    "",
    "not a jwt",
    "a.b",
    "a.b.c.d",
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}",
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}.sig.extra",
    f"{GOOD_HEADER}..sig",  # empty payload
    f".{GOOD_PAYLOAD}.sig",  # empty header
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}.",  # empty signature
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}.si+g",  # not base64url
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}=.sig",  # padding is not part of JWT encoding
    f"{GOOD_HEADER}.{GOOD_PAYLOAD[:-1]}!.sig",
    f"{GOOD_HEADER}.{b64url(b'{}')[:1]}.sig",  # impossible base64 length
    f"{GOOD_HEADER}.{GOOD_PAYLOAD}.sig\n",
    f"{GOOD_HEADER} .{GOOD_PAYLOAD}.sig",
    with_payload(b"not json"),
    with_payload(b"[1, 2]"),  # JSON, but not an object
    with_payload(b'"text"'),
    with_payload(b'{"sub": NaN}'),
    with_payload(b'{"exp": Infinity}'),
    with_payload(b'{"aud": "x", "aud": "y"}'),  # duplicate claim
    with_payload(b"\xff\xfe"),  # not UTF-8
    with_payload(b"[" * 100_000),  # too long
    with_payload(b"[" * 5_000),  # unbalanced
    with_payload(b"[" * 3_000 + b"]" * 3_000),  # balanced, but deep enough for RecursionError
    with_header(b"not json"),
    with_header(b"[]"),
    with_header(b"{}"),  # no alg
    with_header(b'{"alg":"none"}'),
    with_header(b'{"alg":"NONE"}'),
    with_header(b'{"alg":5}'),
]


@pytest.mark.parametrize("token", MALFORMED)
def test_malformed_id_tokens_raise_value_error(token: str) -> None:
    with pytest.raises(ValueError):
        id_token_claims(token)
    assert check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW) == (
        "The sign-in response from Slack was malformed."
    )


def test_non_string_id_token_raises_value_error() -> None:
    with pytest.raises(ValueError):
        id_token_claims(None)  # type: ignore[arg-type]


def test_a_valid_id_token_passes() -> None:
    token = jwt(claims())
    assert check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW) is None
    assert (
        check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW, team_id="T0TEAM") is None
    )


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (claims(iss="https://evil.example"), "not issued by Slack"),
        (claims(iss=None), "not issued by Slack"),
        (claims(aud="someone-else"), "different app"),
        (claims(aud=None), "different app"),
        (claims(aud=[]), "different app"),
        (claims(aud=["someone-else"]), "different app"),
        (claims(aud=[CLIENT_ID, "someone-else"]), "different app"),  # no azp
        (claims(aud=[CLIENT_ID, "x"], azp="x"), "different app"),
        (claims(aud=5), "different app"),
        (claims(exp=None), "no valid expiry"),
        (claims(exp="2099-01-01"), "no valid expiry"),
        (claims(exp=True), "no valid expiry"),
        (claims(exp=int(NOW.timestamp())), "expired"),  # exactly now: expired
        (claims(exp=int(NOW.timestamp()) - 1), "expired"),
        (claims(nonce="another"), "nonce"),
        (claims(nonce=None), "nonce"),
        (claims(nonce=NONCE.upper()), "nonce"),
        (claims(nonce=7), "nonce"),
        (claims(nonce="ñonce"), "nonce"),
        (claims(sub=None), "who signed in"),
        (claims(sub=""), "who signed in"),
        (claims(**{SLACK_USER_ID_CLAIM: None}), "who signed in"),
    ],
)
def test_id_token_claim_checks(payload: dict[str, Any], words: str) -> None:
    reason = check_id_token(jwt(payload), client_id=CLIENT_ID, nonce=NONCE, now=NOW)
    assert reason is not None and words in reason, reason


def test_id_token_audience_list_forms_that_are_fine() -> None:
    for aud, extra in (([CLIENT_ID], {}), ([CLIENT_ID, "x"], {"azp": CLIENT_ID})):
        token = jwt(claims(aud=aud, **extra))
        assert check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW) is None


def test_id_token_expiry_edge_and_float_exp() -> None:
    token = jwt(claims(exp=int(NOW.timestamp()) + 1))
    assert check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW) is None
    later = NOW + timedelta(seconds=1)
    assert "expired" in (check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=later) or "")
    float_exp = jwt(claims(exp=NOW.timestamp() + 0.5))
    assert check_id_token(float_exp, client_id=CLIENT_ID, nonce=NONCE, now=NOW) is None


def test_id_token_with_an_infinite_expiry_is_refused() -> None:
    payload = json.dumps(claims()).replace(str(EXP), "1e400").encode()  # parses as inf
    token = f"{GOOD_HEADER}.{b64url(payload)}.sig"
    assert id_token_claims(token)["exp"] == float("inf")
    reason = check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW)
    assert reason is not None and "no valid expiry" in reason


def test_id_token_wrong_workspace() -> None:
    token = jwt(claims())
    reason = check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=NOW, team_id="T0OTHER")
    assert reason is not None and "different Slack workspace" in reason


def test_id_token_checks_need_an_aware_clock_and_real_expectations() -> None:
    token = jwt(claims())
    with pytest.raises(ValueError):
        check_id_token(token, client_id=CLIENT_ID, nonce=NONCE, now=datetime(2024, 5, 1))
    assert check_id_token(jwt(claims(aud="")), client_id="", nonce=NONCE, now=NOW) is not None
    assert check_id_token(jwt(claims(nonce="")), client_id=CLIENT_ID, nonce="", now=NOW)


def test_nonce_ok() -> None:
    assert nonce_ok({"nonce": NONCE}, NONCE)
    assert not nonce_ok({"nonce": NONCE}, NONCE + "x")
    assert not nonce_ok({"nonce": ""}, "")
    assert not nonce_ok({}, NONCE)
    assert not nonce_ok({"nonce": None}, NONCE)
    assert not nonce_ok({"nonce": "é"}, "é")  # non-ASCII never matches (and never raises)
    assert not nonce_ok({"nonce": ["n"]}, "n")


# --- headers --------------------------------------------------------------------------------


def test_security_headers() -> None:
    csp = {
        d.split(" ", 1)[0]: d.split(" ", 1)[1]
        for d in SECURITY_HEADERS["Content-Security-Policy"].split("; ")
    }
    assert csp == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
    }
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert SECURITY_HEADERS["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert "Cache-Control" not in SECURITY_HEADERS
    assert PRIVATE_PAGE_HEADERS == {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def test_security_headers_cannot_be_changed_by_accident() -> None:
    with pytest.raises(TypeError):
        SECURITY_HEADERS["X-Frame-Options"] = "SAMEORIGIN"  # type: ignore[index]
    with pytest.raises(TypeError):
        PRIVATE_PAGE_HEADERS["Cache-Control"] = "public"  # type: ignore[index]
    extended = dict(SECURITY_HEADERS)
    extended["Strict-Transport-Security"] = "max-age=31536000"
    assert "Strict-Transport-Security" not in SECURITY_HEADERS


# --- idempotency ----------------------------------------------------------------------------


def test_request_fingerprint() -> None:
    fp = request_fingerprint("POST", "/api/v1/standups", b'{"name":"Daily"}')
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert fp == request_fingerprint("POST", "/api/v1/standups", b'{"name":"Daily"}')
    others = {
        request_fingerprint("PUT", "/api/v1/standups", b'{"name":"Daily"}'),
        request_fingerprint("POST", "/api/v1/standups/", b'{"name":"Daily"}'),
        request_fingerprint("POST", "/api/v1/standups?x=1", b'{"name":"Daily"}'),
        request_fingerprint("POST", "/api/v1/standups", b'{"name":"Weekly"}'),
        request_fingerprint("POST", "/api/v1/standups", b""),
    }
    assert fp not in others and len(others) == 5


def test_request_fingerprint_has_no_boundary_ambiguity() -> None:
    # Moving bytes between path and body must never give the same fingerprint.
    assert request_fingerprint("POST", "/a", b"b") != request_fingerprint("POST", "/ab", b"")
    assert request_fingerprint("POST", '/a"]', b"") != request_fingerprint("POST", "/a", b'"]')
    assert request_fingerprint("PO", "ST/a", b"") != request_fingerprint("POST", "/a", b"")
    assert request_fingerprint("POST", "/a\n", b"x") != request_fingerprint("POST", "/a", b"\nx")


# --- cursors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"id": 42},
        {"created_at": "2024-05-01T12:00:00+00:00", "id": 7},
        {"name": "Ünïcode ☃", "id": -(2**63)},
        {"id": 2**63 - 1},
        {"s": ""},
        {},
    ],
)
def test_cursor_round_trip(values: dict[str, str | int]) -> None:
    text = encode_cursor(values)
    assert re.fullmatch(r"[A-Za-z0-9_-]*", text)
    assert len(text) <= MAX_CURSOR_LENGTH
    assert decode_cursor(text) == values


def test_cursor_is_deterministic() -> None:
    assert encode_cursor({"a": 1, "b": "x"}) == encode_cursor({"b": "x", "a": 1})


@pytest.mark.parametrize(
    "values",
    [
        {"id": True},
        {"id": 1.5},
        {"id": None},
        {"id": [1]},
        {"id": {"x": 1}},
        {"id": 2**63},
        {"k" + str(i): i for i in range(9)},
        {"s": "x" * MAX_CURSOR_LENGTH},
    ],
)
def test_encode_cursor_refuses_what_decode_would_not_return(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        encode_cursor(values)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "!!!",
        "a",  # impossible base64 length
        "eyJpZCI6IDF9=",  # padded
        "eyJpZCI6IDF9\n",
        "eyJpZC+6IDF9",  # standard, not URL-safe, alphabet
        "x" * (MAX_CURSOR_LENGTH + 1),
        b64url(b"not json"),
        b64url(b"[1, 2]"),
        b64url(b"42"),
        b64url(b'"str"'),
        b64url(b'{"id": 1.5}'),
        b64url(b'{"id": 1e3}'),
        b64url(b'{"id": NaN}'),
        b64url(b'{"id": Infinity}'),
        b64url(b'{"id": true}'),
        b64url(b'{"id": null}'),
        b64url(b'{"id": [1]}'),
        b64url(b'{"id": {"a": 1}}'),
        b64url(b'{"id": 1, "id": 2}'),
        b64url(b'{"id": 9223372036854775808}'),
        b64url(b'{"id": ' + b"9" * 300 + b"}"),
        b64url(b"\xff\xfe\x00"),
        b64url(b"[" * 300),
        b64url(b'{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}'),
    ],
)
def test_decode_cursor_returns_none_for_garbage(text: str | None) -> None:
    assert decode_cursor(text) is None


def test_decode_cursor_never_raises_on_random_input() -> None:
    rng = random.Random(99)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/!é\x00"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        result = decode_cursor(text)
        assert result is None or isinstance(result, dict)
