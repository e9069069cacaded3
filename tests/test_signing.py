"""Request signing: Slack's documented example, then the running app over real HTTP — only
requests signed with our secret within five minutes of now get past /slack/events."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import Clock as SdkClock
from slack_sdk.signature import SignatureVerifier

from tests.harness import SIGNING_SECRET, RunningApp, start_app
from tests.slack_fake import FakeSlack
from tests.slack_signing import app_home_opened_event, sign

# Slack's published example (docs.slack.dev/authentication/verifying-requests-from-slack/), as
# copied in /work/shared/slack-reference/signing_example.json from slackapi/python-slack-sdk
# tests/slack_sdk/signature/test_signature_verifier.py @ ae87985e2c3811ead978f31ea5a1e4a7ca5c3515.
EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EXAMPLE_TIMESTAMP = "1531420618"
EXAMPLE_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
    "%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

USER = "U0ALICE01"
HELP_MARKER = "AsyncStand commands"  # the text of the `/standup help` reply


class FixedClock(SdkClock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


# --- the documented example -------------------------------------------------------------------


def test_slack_documented_example_signs_as_published() -> None:
    assert sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY) == EXAMPLE_SIGNATURE
    assert sign(EXAMPLE_SECRET, int(EXAMPLE_TIMESTAMP), EXAMPLE_BODY.encode()) == EXAMPLE_SIGNATURE
    assert sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY + "------") != EXAMPLE_SIGNATURE
    assert sign("another-secret", EXAMPLE_TIMESTAMP, EXAMPLE_BODY) != EXAMPLE_SIGNATURE


def test_slack_sdk_verifier_agrees_with_the_example() -> None:
    headers = {"X-Slack-Request-Timestamp": EXAMPLE_TIMESTAMP, "X-Slack-Signature": ""}
    at_the_time = SignatureVerifier(EXAMPLE_SECRET, clock=FixedClock(int(EXAMPLE_TIMESTAMP) + 10))
    ours = sign(EXAMPLE_SECRET, EXAMPLE_TIMESTAMP, EXAMPLE_BODY)
    assert at_the_time.is_valid_request(EXAMPLE_BODY, {**headers, "X-Slack-Signature": ours})
    assert at_the_time.generate_signature(timestamp=EXAMPLE_TIMESTAMP, body=EXAMPLE_BODY) == ours
    assert not at_the_time.is_valid_request(
        EXAMPLE_BODY + "------", {**headers, "X-Slack-Signature": ours}
    )
    much_later = SignatureVerifier(EXAMPLE_SECRET, clock=FixedClock(int(EXAMPLE_TIMESTAMP) + 301))
    assert not much_later.is_valid_request(EXAMPLE_BODY, {**headers, "X-Slack-Signature": ours})


# --- the running app --------------------------------------------------------------------------


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        slack.add_user(USER, "alice", tz="Europe/Berlin")
        running = await start_app(database_url, slack)
        try:
            yield running
        finally:
            await running.stop()


def _help_body(app: RunningApp) -> str:
    """A `/standup help` slash-command body, as Slack would send it."""
    return urlencode(
        {
            "token": "verification_token",
            "team_id": app.slack.team_id,
            "team_domain": "asyncstand-test",
            "channel_id": "C0GENERAL1",
            "channel_name": "general",
            "user_id": USER,
            "user_name": "alice",
            "command": "/standup",
            "text": "help",
            "api_app_id": "A0APP0001",
            "response_url": app.slack.response_url("signing"),
            "trigger_id": app.slack.issue_trigger_id(USER),
        }
    )


FORM = "application/x-www-form-urlencoded"


async def test_correctly_signed_command_is_handled(app: RunningApp) -> None:
    status, text = await app.requests.command(USER, "help")
    assert status == 200 and HELP_MARKER in text


async def test_unsigned_and_badly_signed_requests_are_rejected(app: RunningApp) -> None:
    req = app.requests
    now = str(int(time.time()))
    body = _help_body(app)

    # No signature headers at all.
    status, text = await req.post(
        body, FORM, headers={"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None}
    )
    assert status == 401 and HELP_MARKER not in text
    # A timestamp but no signature.
    status, text = await req.post(body, FORM, headers={"X-Slack-Signature": None})
    assert status == 401 and HELP_MARKER not in text
    # Wrong digest; wrong version prefix; signed with another app's secret.
    for signature in (
        "v0=" + "0" * 64,
        sign(SIGNING_SECRET, now, body).replace("v0=", "v1="),
        sign("someone-elses-secret", now, body),
    ):
        status, text = await req.post(body, FORM, timestamp=now, signature=signature)
        assert status == 401 and HELP_MARKER not in text, signature
    # Signed, then tampered with in transit (the user id changed).
    signature = sign(SIGNING_SECRET, now, body)
    tampered = body.replace(USER, "U0MALLORY")
    assert tampered != body
    status, text = await req.post(tampered, FORM, timestamp=now, signature=signature)
    assert status == 401 and HELP_MARKER not in text
    # Same signature over the untouched body is fine (so the above failed for the tampering).
    status, text = await req.post(body, FORM, timestamp=now, signature=signature)
    assert status == 200 and HELP_MARKER in text


@pytest.mark.parametrize(
    ("skew_seconds", "accepted"),
    [(-6 * 60, False), (-4 * 60, True), (4 * 60, True), (6 * 60, False)],
    ids=["6-min-old", "4-min-old", "4-min-ahead", "6-min-ahead"],
)
async def test_timestamp_must_be_within_five_minutes(
    app: RunningApp, skew_seconds: int, accepted: bool
) -> None:
    timestamp = int(time.time()) + skew_seconds
    # Correctly signed for that timestamp: only its age decides.
    status, text = await app.requests.command(USER, "help", timestamp=timestamp)
    if accepted:
        assert status == 200 and HELP_MARKER in text
    else:
        assert status == 401 and HELP_MARKER not in text


async def test_replayed_old_request_is_rejected_and_not_acted_on(app: RunningApp) -> None:
    """A captured `/standup list` replayed 6 minutes later does nothing."""
    old = int(time.time()) - 6 * 60
    status, _ = await app.requests.command(USER, "list", timestamp=old)
    assert status == 401
    status, _ = await app.requests.command(USER, "list")
    assert status == 200
    await app.slack.wait_for("response_url")
    await app.slack.wait_idle()
    assert len(app.slack.calls_to("response_url")) == 1, (
        "only the fresh request may reach the handler"
    )


async def test_url_verification_challenge_is_echoed(app: RunningApp) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    status, text = await app.requests.url_verification(challenge)
    assert status == 200
    assert json.loads(text) == {"challenge": challenge}
    # Even the handshake must be signed.
    status, text = await app.requests.url_verification(challenge, signature="v0=" + "1" * 64)
    assert status == 401 and challenge not in text


async def test_signed_event_retry_is_acknowledged_and_handled(app: RunningApp) -> None:
    # Slack redelivers with X-Slack-Retry-Num when it did not get our 200 in time; a retry of
    # an event we never saw must still be acted on.
    status, _ = await app.requests.event(
        app_home_opened_event(USER), retry_num=1, retry_reason="http_timeout"
    )
    assert status == 200
    assert app.requests.last_headers["X-Slack-Retry-Num"] == "1"
    [published] = await app.slack.wait_for("views.publish")
    assert published.body["user_id"] == USER
    assert app.slack.home_view(USER) is not None


async def test_unsigned_event_is_not_acted_on(app: RunningApp) -> None:
    status, _ = await app.requests.event(app_home_opened_event(USER), signature="v0=bad")
    assert status == 401
    status, _ = await app.requests.event(app_home_opened_event(USER))
    assert status == 200
    await app.slack.wait_for("views.publish")
    await app.slack.wait_idle()
    assert len(app.slack.calls_to("views.publish")) == 1
