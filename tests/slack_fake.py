"""Compatibility shim: the Slack stand-in now lives in the ``tests.fake_slack`` package.

``from tests.slack_fake import FakeSlack, Call, ...`` keeps working; new code may import from
``tests.fake_slack`` directly."""

from tests.fake_slack import (
    DEFAULT_SCOPES,
    DEFAULT_TOKEN,
    Call,
    FakeChannel,
    FakeFile,
    FakeSlack,
    FakeTeam,
    FakeUser,
    OAuthGrant,
    OpenIDGrant,
    TriggerInfo,
)
from tests.fake_slack.state import JSON

__all__ = [
    "DEFAULT_SCOPES",
    "DEFAULT_TOKEN",
    "JSON",
    "Call",
    "FakeChannel",
    "FakeFile",
    "FakeSlack",
    "FakeTeam",
    "FakeUser",
    "OAuthGrant",
    "OpenIDGrant",
    "TriggerInfo",
]
