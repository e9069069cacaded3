"""FakeSlack: every method family on one server."""

from __future__ import annotations

from tests.fake_slack.auth import AuthMethods
from tests.fake_slack.chat import ChatMethods
from tests.fake_slack.conversations import ConversationsMethods
from tests.fake_slack.files import FilesMethods
from tests.fake_slack.oauth import OAuthMethods
from tests.fake_slack.openid import OpenIDMethods
from tests.fake_slack.response_urls import ResponseUrls
from tests.fake_slack.socket_mode import SocketModeMethods
from tests.fake_slack.users import UsersMethods
from tests.fake_slack.views import ViewsMethods


class FakeSlack(
    AuthMethods,
    UsersMethods,
    ConversationsMethods,
    ChatMethods,
    ViewsMethods,
    OAuthMethods,
    OpenIDMethods,
    FilesMethods,
    ResponseUrls,
    SocketModeMethods,
):
    """In-process Slack Web API stand-in (aiohttp, 127.0.0.1, random port)."""
