"""handlers.slack_request, the gate in front of Bolt: signature over the raw bytes first (401),
then strict decoding and parsing (400), then the payload's shape (400). Pure: no app, no I/O.
The same rules over real HTTP are in tests/test_bad_requests.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.slack_request import (
    FORM,
    JSON,
    MAX_FORM_FIELDS,
    Refused,
    SlackRequest,
    check_shape,
    decode_body,
    parse_body,
    read_request,
    verify_signature,
)
from tests.slack_signing import sign

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example
NOW = 1_531_420_618
TEAM, USER = "T0TEAM001", "U0ALICE01"


def signed(raw: bytes, content_type: str | None = FORM, **kw: Any) -> SlackRequest | Refused:
    timestamp = str(kw.pop("timestamp", NOW))
    return read_request(
        SECRET,
        timestamp=timestamp,
        signature=kw.pop("signature", sign(SECRET, timestamp, raw)),
        content_type=content_type,
        raw=raw,
        now=kw.pop("now", NOW),
    )


def command_fields(**changes: str | None) -> dict[str, str]:
    fields: dict[str, str | None] = {
        "token": "t",
        "team_id": TEAM,
        "user_id": USER,
        "command": "/standup",
        "text": "help",
        "response_url": "https://hooks.slack.com/commands/1",
        "trigger_id": "1.2.3",
        **changes,
    }
    return {k: v for k, v in fields.items() if v is not None}


def block_actions(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "x"},
        "user": {"id": USER, "team_id": TEAM},
        "actions": [{"action_id": "prompt_answer", "block_id": "b", "value": "1"}],
        "container": {"type": "message"},
        "channel": {"id": "D0ALICE01"},
        "message": {"type": "message", "ts": "1.2", "text": "hi"},
        **changes,
    }
    return {k: v for k, v in payload.items() if v is not None}


def view_submission(**view_changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": "V1",
        "team_id": TEAM,
        "callback_id": "standup_create",
        "private_metadata": "",
        "state": {"values": {}},
        **view_changes,
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM},
        "user": {"id": USER},
        "view": {k: v for k, v in view.items() if v is not None},
    }


def event(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": "Ev1",
        "event": {"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"},
        "authorizations": [{"team_id": TEAM, "user_id": "U0BOT", "is_bot": True}],
        **changes,
    }
    return {k: v for k, v in body.items() if v is not None}


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def payload_form(payload: object) -> bytes:
    return form({"payload": json.dumps(payload)})


# --- signature --------------------------------------------------------------------------------


def test_slack_documented_example_verifies() -> None:
    body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fwebhook-collect&text="
    good = sign(SECRET, NOW, body)
    assert verify_signature(SECRET, str(NOW), good, body, NOW) is None
    assert verify_signature(SECRET, str(NOW), good, body + b"x", NOW) == Refused(
        401, "invalid request signature"
    )


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (None, "missing X-Slack-Request-Timestamp header"),
        ("", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("abc", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("1531420618.5", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("+1531420618", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        (" 1531420618", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("1_531_420_618", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("١٥٣١٤٢٠٦١٨", "X-Slack-Request-Timestamp is not a Unix time in seconds"),  # Arabic digits
        ("9" * 400, "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        (str(NOW - 301), "request timestamp is more than five minutes from now"),
        (str(NOW + 301), "request timestamp is more than five minutes from now"),
    ],
)
def test_timestamp_must_be_plain_digits_within_five_minutes(
    timestamp: str | None, reason: str
) -> None:
    body = b"command=%2Fstandup"
    ascii_ts = timestamp if timestamp and timestamp.isascii() else "0"
    signature = sign(SECRET, ascii_ts, body)  # correctly signed for that timestamp
    assert verify_signature(SECRET, timestamp, signature, body, NOW) == Refused(401, reason)


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamp_at_the_edge_of_the_window_is_accepted(skew: int) -> None:
    body = b"command=%2Fstandup"
    ts = str(NOW + skew)
    assert verify_signature(SECRET, ts, sign(SECRET, ts, body), body, NOW) is None


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing X-Slack-Signature header"),
        ("", "invalid request signature"),
        ("v0=" + "0" * 64, "invalid request signature"),
        ("v1=" + sign(SECRET, NOW, b"x")[3:], "invalid request signature"),
        (sign(SECRET, NOW, b"x").upper(), "invalid request signature"),
        ("v0=" + "é" * 64, "invalid request signature"),  # non-ASCII: no TypeError
        (sign("another-secret", NOW, b"x"), "invalid request signature"),
    ],
)
def test_bad_signatures_are_refused(signature: str | None, reason: str) -> None:
    assert verify_signature(SECRET, str(NOW), signature, b"x", NOW) == Refused(401, reason)


def test_signature_is_checked_before_the_body_is_decoded() -> None:
    """Unsigned garbage is 401, whatever its bytes or charset; only signed garbage is 400."""
    raw = b"text=\xff\xfe&command=%2Fstandup"
    for content_type in (FORM, FORM + "; charset=x-unknown", JSON):
        unsigned = signed(raw, content_type, signature="v0=" + "0" * 64)
        assert unsigned == Refused(401, "invalid request signature")
    assert signed(raw) == Refused(400, "body is not valid UTF-8 (byte 5)")


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw", "expected"),
    [
        (FORM, b"a=1", "a=1"),
        (None, b"a=1", "a=1"),
        (FORM + "; charset=utf-8", "a=é".encode(), "a=é"),
        (FORM + '; charset="UTF-8"', "a=é".encode(), "a=é"),
        (FORM + "; charset=utf8", "a=é".encode(), "a=é"),
        (FORM + "; charset=us-ascii", b"a=1", "a=1"),
        (FORM + "; charset=x-unknown", b"a=1", Refused(400, "unknown charset 'x-unknown'")),
        (FORM + "; charset=", b"a=1", Refused(400, "unknown charset ''")),
        (
            FORM + "; charset=latin-1",
            b"a=1",
            Refused(400, "unsupported charset 'latin-1': Slack sends UTF-8"),
        ),
        (
            FORM + "; charset=utf-16",
            b"a=1",
            Refused(400, "unsupported charset 'utf-16': Slack sends UTF-8"),
        ),
        (
            FORM + "; charset=us-ascii",
            "a=é".encode(),
            Refused(400, "body is not valid ASCII (byte 2)"),
        ),
        (JSON, b'{"a": "\xc3"}', Refused(400, "body is not valid UTF-8 (byte 7)")),
        (JSON, b"\xed\xa0\x80", Refused(400, "body is not valid UTF-8 (byte 0)")),  # a surrogate
    ],
)
def test_decoding_is_strict(content_type: str | None, raw: bytes, expected: str | Refused) -> None:
    assert decode_body(raw, content_type) == expected


def test_a_huge_charset_name_is_not_echoed_whole() -> None:
    refused = decode_body(b"a=1", FORM + "; charset=" + "x" * 10_000)
    assert isinstance(refused, Refused) and refused.status == 400 and len(refused.reason) < 80


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "content_type", "reason"),
    [
        ("", FORM, "empty body"),
        ("foo=bar", FORM, "form has neither payload nor command"),
        ("payload=%7Bnope", FORM, "payload is not valid JSON"),
        ("payload=%5B1%2C2%5D", FORM, "payload must be a JSON object"),
        ("payload=null", FORM, "payload must be a JSON object"),
        ("payload=%7B%7D&command=%2Fstandup", FORM, "form has both payload and command"),
        ("command=%2Fa&command=%2Fb", FORM, "form field 'command' is repeated"),
        ("text=%FF&command=%2Fstandup", FORM, "a form field is not valid UTF-8"),
        ("&".join(["a=1"] * (MAX_FORM_FIELDS + 1)), FORM, "form has more than 100 fields"),
        ("[1, 2]", JSON, "body must be a JSON object"),
        ('"x"', JSON, "body must be a JSON object"),
        ("{x", JSON, "body is not valid JSON"),
        ("{x", FORM, "body is not valid JSON"),  # Bolt reads a body starting with { as JSON
        ("[" * 100_000, JSON, "body is not valid JSON"),  # RecursionError, not a crash
        ("payload=" + "%5B" * 100_000, FORM, "payload is not valid JSON"),
    ],
)
def test_malformed_bodies(text: str, content_type: str, reason: str) -> None:
    assert parse_body(text, content_type) == Refused(400, reason)


def test_a_command_mentioning_payload_is_still_a_command() -> None:
    """Bolt's own parser returns {} for a form whose text merely contains "payload"."""
    text = urlencode(command_fields(text="run payload"))
    assert parse_body(text, FORM) == (command_fields(text="run payload"), FORM)


def test_json_media_type_is_case_insensitive() -> None:
    assert parse_body(' {"type": "x"}', "Application/JSON; charset=utf-8") == ({"type": "x"}, JSON)


# --- shape ------------------------------------------------------------------------------------


GOOD: list[tuple[str, dict[str, Any], str]] = [
    ("command", command_fields(), FORM),
    ("block_actions", block_actions(), FORM),
    ("view_submission", view_submission(), FORM),
    ("view_closed", {**view_submission(), "type": "view_closed"}, FORM),
    ("event", event(), JSON),
    ("url_verification", {"type": "url_verification", "challenge": "c", "token": "t"}, JSON),
    ("ssl_check", {"ssl_check": "1", "token": "t"}, FORM),
    # An org-wide (Enterprise Grid) install: Slack sends team: null and the org instead.
    ("grid", block_actions(team=None, enterprise={"id": "E0GRID001"}), FORM),
    ("grid user", block_actions(team=None, user={"id": USER, "team_id": TEAM}), FORM),
    ("shared channel event", event(team_id=None), JSON),  # authorizations name the team
    ("message_changed", event(event={"type": "message", "message": {"user": USER}}), JSON),
]


@pytest.mark.parametrize(("body", "media_type"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_well_formed_bodies_pass(body: dict[str, Any], media_type: str) -> None:
    assert check_shape(body, media_type) is None


BAD: list[tuple[dict[str, Any], str, str]] = [
    (command_fields(team_id=None), FORM, "slash command has no team_id"),
    (command_fields(team_id=""), FORM, "slash command has no team_id"),
    (command_fields(user_id=None), FORM, "slash command has no user_id"),
    (command_fields(command="standup"), FORM, "command must start with /"),
    (block_actions(user=None), FORM, "payload has no user"),
    (block_actions(user={"name": "x"}), FORM, "payload has no user"),
    (block_actions(user=5), FORM, "user must be an object or a string"),
    (block_actions(user={"id": 5}), FORM, "user.id must be a string"),
    (block_actions(team=None, user={"id": USER}), FORM, "payload has no team"),
    (block_actions(team=["T1"]), FORM, "team must be an object or a string"),
    (block_actions(actions=[]), FORM, "block_actions payload has no actions with an action_id"),
    (
        block_actions(actions=[{"value": "1"}]),
        FORM,
        "block_actions payload has no actions with an action_id",
    ),
    (block_actions(actions={"action_id": "x"}), FORM, "actions must be a list of objects"),
    (block_actions(actions=["x"]), FORM, "actions must be a list of objects"),
    (block_actions(channel=7), FORM, "channel must be an object or a string"),
    (block_actions(message="hi"), FORM, "message must be an object"),
    (block_actions(type=None), FORM, "payload has no type"),
    (block_actions(type=3), FORM, "type must be a string"),
    (block_actions(response_urls={}), FORM, "response_urls must be a list of objects"),
    ({**view_submission(), "view": [1, 2]}, FORM, "view must be an object"),
    ({**view_submission(), "view": None}, FORM, "view_submission payload has no view object"),
    (view_submission(callback_id=None), FORM, "view_submission view has no id or callback_id"),
    (view_submission(id=None), FORM, "view_submission view has no id or callback_id"),
    (view_submission(state=None), FORM, "view_submission view has no state.values object"),
    (
        view_submission(state={"values": []}),
        FORM,
        "view_submission view has no state.values object",
    ),
    (view_submission(state=[]), FORM, "view.state must be an object"),
    (view_submission(private_metadata=1), FORM, "view.private_metadata must be a string"),
    (
        {"type": "shortcut", "team": {"id": TEAM}, "user": {"id": USER}},
        FORM,
        "shortcut payload has no callback_id",
    ),
    (
        {"type": "block_suggestion", "team": {"id": TEAM}, "user": {"id": USER}},
        FORM,
        "block_suggestion payload has no action_id",
    ),
    (event(team_id=None, authorizations=None), JSON, "body names no team (team_id)"),
    (event(event=None), JSON, "event_callback has no event with a type"),
    (event(event={"user": USER}), JSON, "event_callback has no event with a type"),
    (event(event=[1]), JSON, "event must be an object"),
    (event(event={"type": "message", "user": 5}), JSON, "event.user must be an object or a string"),
    (
        event(event={"type": "message", "message": {"user": 5}}),
        JSON,
        "event.message.user must be an object or a string",
    ),
    (event(event_id=None), JSON, "event_callback has no event_id"),
    (event(authorizations=[None]), JSON, "authorizations must be a list of objects"),
    (event(authorizations=[{"team_id": 5}]), JSON, "authorizations[0].team_id must be a string"),
    ({"type": "url_verification"}, JSON, "url_verification has no challenge"),
    ({"team_id": TEAM}, JSON, "body has no type"),
    ({"command": "/standup", "type": "event_callback"}, JSON, "slash command has no user_id"),
]


@pytest.mark.parametrize(("body", "media_type", "reason"), BAD, ids=[b[2] for b in BAD])
def test_malformed_payloads_are_named(body: dict[str, Any], media_type: str, reason: str) -> None:
    assert check_shape(body, media_type) == reason


def test_read_request_returns_what_bolt_gets() -> None:
    raw = form(command_fields(text="run payload"))
    checked = signed(raw, FORM + "; charset=utf-8")
    assert checked == SlackRequest(raw.decode(), command_fields(text="run payload"), FORM)
    assert signed(payload_form({"type": "block_actions"})) == Refused(400, "payload has no user")
    assert signed(payload_form(block_actions())) == SlackRequest(
        payload_form(block_actions()).decode(), block_actions(), FORM
    )


# --- never raises -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
slack_keys = st.sampled_from(
    [
        "type",
        "team",
        "user",
        "view",
        "actions",
        "event",
        "authorizations",
        "team_id",
        "command",
        "enterprise",
        "channel",
        "message",
        "state",
        "callback_id",
        "action_id",
        "response_urls",
    ]
)
payloads = st.dictionaries(slack_keys | st.text(max_size=5), json_values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(body=payloads, media_type=st.sampled_from([FORM, JSON]))
def test_check_shape_never_raises(body: dict[str, Any], media_type: str) -> None:
    result = check_shape(body, media_type)
    assert result is None or isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.binary(max_size=200) | payloads.map(lambda p: payload_form(p)),
    content_type=st.none()
    | st.sampled_from([FORM, JSON, FORM + "; charset=x-unknown"])
    | st.text(max_size=30),
    timestamp=st.none() | st.text(max_size=12) | st.just(str(NOW)),
    sign_it=st.booleans(),
)
def test_read_request_never_raises(
    raw: bytes, content_type: str | None, timestamp: str | None, sign_it: bool
) -> None:
    sign_it = sign_it and timestamp is not None and timestamp.isascii()
    signature = sign(SECRET, timestamp or "", raw) if sign_it else "v0=bad"
    result = read_request(
        SECRET,
        timestamp=timestamp,
        signature=signature,
        content_type=content_type,
        raw=raw,
        now=NOW,
    )
    if isinstance(result, Refused):
        assert result.status in (400, 401) and result.reason
        if not sign_it:
            assert result.status == 401  # nothing unsigned ever gets past the signature
    else:
        assert sign_it and isinstance(result.body, dict)
