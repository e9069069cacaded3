"""Bad bytes are refused, not crashed on (issue 8, item 5), over real HTTP on both databases.

POST /slack/events checks the signature over the raw bytes before anything decodes them:
unsigned → 401, whatever the bytes, charset or timestamp header. Signed but undecodable or
malformed bodies → 400 with the reason, at once: never a 503, a traceback in the log, a
"something went wrong" reply or a 3 s wait. The pure rules are in tests/test_slack_request.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from structlog.testing import capture_logs

from tests.harness import SIGNING_SECRET, RunningApp, start_app
from tests.multi_workspace import open_install_page, start_multi
from tests.slack_fake import FakeSlack
from tests.slack_signing import sign

USER = "U0ALICE01"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        slack.add_user(USER, "alice", tz="Europe/Berlin")
        running = await start_app(database_url, slack)
        try:
            yield running
        finally:
            await running.stop()


async def post(
    app: RunningApp,
    raw: bytes,
    content_type: str = FORM,
    *,
    signed: bool = True,
    timestamp: str | None = "now",
) -> tuple[int, dict[str, Any], float]:
    """POST raw bytes to /slack/events: (status, JSON answer, seconds it took)."""
    headers = {"Content-Type": content_type}
    if timestamp is not None:
        timestamp = str(int(time.time())) if timestamp == "now" else timestamp
        headers["X-Slack-Request-Timestamp"] = timestamp
    sign_ts = timestamp if timestamp is not None and timestamp.isascii() else "0"
    headers["X-Slack-Signature"] = (
        sign(SIGNING_SECRET, sign_ts, raw) if signed else sign("not-our-secret", sign_ts, raw)
    )
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.post(app.url + "/slack/events", data=raw, headers=headers) as response,
    ):
        text = await response.text()
    elapsed = time.perf_counter() - started
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {"text": text}
    return response.status, answer, elapsed


def payload(app: RunningApp, **fields: Any) -> bytes:
    """An interaction payload form; fields set to None are left out."""
    body: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": app.slack.team_id},
        "user": {"id": USER},
        "actions": [{"action_id": "prompt_answer", "value": "1"}],
        **fields,
    }
    return urlencode(
        {"payload": json.dumps({k: v for k, v in body.items() if v is not None})}
    ).encode()


def command(app: RunningApp, **fields: str | None) -> bytes:
    body: dict[str, str | None] = {
        "team_id": app.slack.team_id,
        "user_id": USER,
        "command": "/standup",
        "text": "help",
        **fields,
    }
    return urlencode({k: v for k, v in body.items() if v is not None}).encode()


BAD_UTF8 = b"command=%2Fstandup&text=\xff\xfe"


def assert_nothing_crashed(logs: Sequence[Mapping[str, Any]]) -> None:
    failures = [e for e in logs if e.get("log_level") in ("error", "critical", "exception")]
    assert failures == [], failures


async def test_unsigned_bytes_of_any_kind_get_401(app: RunningApp) -> None:
    cases: list[tuple[bytes, str, str | None]] = [
        (BAD_UTF8, FORM, "now"),
        (b"command=%2Fstandup", FORM + "; charset=x-unknown", "now"),
        (b"\x00\xff{", "application/json", "now"),
        (command(app), FORM, "abc"),
        (command(app), FORM, None),
    ]
    with capture_logs() as logs:
        for raw, content_type, timestamp in cases:
            status, answer, _ = await post(
                app, raw, content_type, signed=False, timestamp=timestamp
            )
            assert status == 401, (raw, content_type, timestamp, answer)
    assert_nothing_crashed(logs)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (None, "missing X-Slack-Request-Timestamp header"),
        ("abc", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("17e8", "X-Slack-Request-Timestamp is not a Unix time in seconds"),
        ("1" * 40, "X-Slack-Request-Timestamp is not a Unix time in seconds"),
    ],
)
async def test_missing_or_non_numeric_timestamp_is_401_even_when_signed_for_it(
    app: RunningApp, timestamp: str | None, reason: str
) -> None:
    with capture_logs() as logs:
        status, answer, _ = await post(app, command(app), timestamp=timestamp)
    assert (status, answer) == (401, {"error": reason})
    assert_nothing_crashed(logs)
    assert app.slack.calls_to("response_url") == []


async def test_signed_undecodable_bodies_get_400_with_the_reason(app: RunningApp) -> None:
    cases = [
        (BAD_UTF8, FORM, "body is not valid UTF-8 (byte 24)"),
        (b'{"type": "\xc3"}', "application/json", "body is not valid UTF-8 (byte 10)"),
        (command(app), FORM + "; charset=x-unknown", "unknown charset 'x-unknown'"),
        (
            command(app),
            FORM + "; charset=utf-16",
            "unsupported charset 'utf-16': Slack sends UTF-8",
        ),
        (b"command=%2Fstandup&text=%FF", FORM, "a form field is not valid UTF-8"),
    ]
    with capture_logs() as logs:
        for raw, content_type, reason in cases:
            status, answer, _ = await post(app, raw, content_type)
            assert (status, answer) == (400, {"error": reason}), raw
    assert_nothing_crashed(logs)


async def test_signed_malformed_payloads_get_400_at_once(app: RunningApp) -> None:
    team = app.slack.team_id
    cases: list[tuple[bytes, str, str]] = [
        (b"foo=bar", FORM, "form has neither payload nor command"),
        (urlencode({"payload": "{nope"}).encode(), FORM, "payload is not valid JSON"),
        (urlencode({"payload": "[1, 2]"}).encode(), FORM, "payload must be a JSON object"),
        (payload(app, type="view_submission", view=[1, 2]), FORM, "view must be an object"),
        (payload(app, user=None), FORM, "payload has no user"),
        (payload(app, team=None), FORM, "payload has no team"),
        (payload(app, actions=[]), FORM, "block_actions payload has no actions with an action_id"),
        (command(app, team_id=None), FORM, "slash command has no team_id"),
        (b"[1, 2, 3]", "application/json", "body must be a JSON object"),
        (b'"event"', "application/json", "body must be a JSON object"),
        (
            json.dumps(
                {"type": "event_callback", "event_id": "Ev1", "event": {"type": "x"}}
            ).encode(),
            "application/json",
            "body names no team (team_id)",
        ),
        (
            json.dumps(
                {"type": "event_callback", "team_id": team, "event_id": "E", "event": []}
            ).encode(),
            "application/json",
            "event must be an object",
        ),
    ]
    with capture_logs() as logs:
        for raw, content_type, reason in cases:
            status, answer, elapsed = await post(app, raw, content_type)
            assert (status, answer) == (400, {"error": reason}), raw
            assert elapsed < 1.0, (raw, elapsed)
    assert_nothing_crashed(logs)
    await app.slack.wait_idle(quiet=0.3)
    assert app.slack.calls_to("response_url") == []
    assert app.slack.calls_to("views.open") == []


async def test_a_command_mentioning_payload_is_handled(app: RunningApp) -> None:
    """Bolt alone reads any form containing the word "payload" as an empty body (404)."""
    status, _ = await app.requests.command(USER, "run payload")
    assert status == 200
    [reply] = await app.slack.wait_for("response_url")
    assert "There is no standup called *payload*" in reply.body["text"]


async def test_normal_traffic_still_works(app: RunningApp) -> None:
    status, text = await app.requests.command(USER, "help")
    assert status == 200 and "AsyncStand commands" in text
    status, text = await app.requests.url_verification("challenge-1")
    assert (status, json.loads(text)) == (200, {"challenge": "challenge-1"})


async def test_install_page_never_decodes_a_body(database_url: str) -> None:
    """GET /slack/install with bytes no charset can read: the page, not a 503."""
    async with FakeSlack() as slack:
        multi = await start_multi(database_url, slack)
        try:
            with capture_logs() as logs:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(
                        multi.url + "/slack/install",
                        data=b"\xff\xfe\x00",
                        headers={"Content-Type": "text/plain; charset=x-unknown"},
                    ) as response,
                ):
                    assert response.status == 200
                    assert "Add to Slack" in await response.text()
            assert_nothing_crashed(logs)
            assert (await open_install_page(multi)).status == 200
        finally:
            await multi.stop()
