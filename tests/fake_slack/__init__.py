"""The Slack stand-in: an aiohttp server standing in for the Slack Web API at the HTTP boundary.

Point the app (``SLACK_API_URL``) or ``slack_sdk``'s ``AsyncWebClient(base_url=...)`` at
``slack.api_url``. Every request is recorded with its decoded body; state (users, channels,
messages, views, OAuth grants) answers the way Slack does: HTTP 200 +
``{"ok": false, "error": ...}`` for API errors, HTTP 429 + ``Retry-After`` when rate
limited (see ``fail_next``).

Response shapes and error codes follow Slack's OpenAPI spec digest
(/work/shared/slack-reference/openapi/selected_methods_digest.json) and Slack's method docs;
Block Kit limits live in ``tests.blockkit_limits``.

Layout: ``state`` (dataclasses), ``core`` (shared state, setup and inspection helpers),
``server`` (HTTP, dispatch, tokens, faults, waiting), one module per method family
(``auth``, ``users``, ``conversations``, ``chat``, ``views``, ``oauth``, ``openid``, ``files``,
``response_urls``, ``socket_mode``: apps.connections.open and the Socket Mode WebSocket),
and ``fake`` (``FakeSlack``, all of them together).

Typical use::

    async with FakeSlack() as slack:
        slack.add_user("U0ALICE01", "alice", tz="Europe/Berlin")
        slack.add_channel("C0STANDUP", "standup", bot_is_member=True)
        ...  # drive the app
        [call] = await slack.wait_for("chat.postMessage")
        assert call.body["channel"] == "C0STANDUP"
"""

from tests.fake_slack.fake import FakeSlack
from tests.fake_slack.socket_mode import (
    DEFAULT_APP_TOKEN,
    Envelope,
    FakeSocket,
    SocketAck,
    SocketRequests,
)
from tests.fake_slack.state import (
    DEFAULT_SCOPES,
    DEFAULT_TOKEN,
    Call,
    FakeChannel,
    FakeFile,
    FakeTeam,
    FakeUser,
    OAuthGrant,
    OpenIDGrant,
    TriggerInfo,
)

__all__ = [
    "DEFAULT_APP_TOKEN",
    "DEFAULT_SCOPES",
    "DEFAULT_TOKEN",
    "Call",
    "Envelope",
    "FakeChannel",
    "FakeFile",
    "FakeSlack",
    "FakeSocket",
    "FakeTeam",
    "FakeUser",
    "OAuthGrant",
    "OpenIDGrant",
    "SocketAck",
    "SocketRequests",
    "TriggerInfo",
]
