"""The fake's Sign in with Slack (OpenID Connect): openid.connect.token, openid.connect.userInfo,
the id_token's claims and signature, discovery and keys (platform_notes.md §4)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import FakeSlack

ALICE = "U0ALICE01"
REDIRECT = "https://standup.example.com/slack/signin/callback"

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(ALICE, "alice", real_name="Alice Liddell", email="alice@example.com")
        yield fake


def anonymous(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=slack.api_url)


async def sign_in(slack: FakeSlack, code: str = "siws-1", **kwargs: Any) -> dict[str, Any]:
    """openid.connect.token as slack_sdk sends it (client credentials as HTTP Basic auth)."""
    args = {"code": code, "redirect_uri": REDIRECT, **kwargs}
    client_id = args.pop("client_id", slack.client_id or "")
    client_secret = args.pop("client_secret", slack.client_secret or "")
    resp = await anonymous(slack).openid_connect_token(
        client_id=client_id, client_secret=client_secret, **args
    )
    assert isinstance(resp.data, dict)
    return resp.data


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as exc:
        await call
    return str(exc.value.response["error"])


def b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_sign_in_with_slack(slack: FakeSlack) -> None:
    slack.add_openid_code("siws-1", ALICE, nonce="n-0S6_WzA2Mj", redirect_uri=REDIRECT)
    before = int(slack.clock())
    resp = await sign_in(slack)
    assert resp["ok"] is True and resp["token_type"] == "Bearer"
    token = resp["access_token"]
    assert token.startswith("xoxp-")

    claims = slack.decode_id_token(resp["id_token"])
    assert claims["iss"] == "https://slack.com"
    assert (claims["sub"], claims["aud"], claims["nonce"]) == (ALICE, "1111.2222", "n-0S6_WzA2Mj")
    assert claims["https://slack.com/user_id"] == ALICE
    assert claims["https://slack.com/team_id"] == slack.team_id
    assert (claims["name"], claims["given_name"], claims["family_name"]) == (
        "Alice Liddell",
        "Alice",
        "Liddell",
    )
    assert (claims["email"], claims["email_verified"]) == ("alice@example.com", True)
    assert before <= claims["iat"] <= claims["exp"] - 300
    digest = hashlib.sha256(token.encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    user = AsyncWebClient(base_url=slack.api_url, token=token)
    info = await user.openid_connect_userInfo()
    assert (info["sub"], info["https://slack.com/user_id"]) == (ALICE, ALICE)
    assert info["https://slack.com/team_id"] == slack.team_id
    assert info["https://slack.com/team_domain"] == slack.team_domain
    assert (info["email"], info["name"]) == ("alice@example.com", "Alice Liddell")
    assert info["picture"].startswith("https://")
    who = await user.auth_test()
    assert (who["user_id"], who["team_id"]) == (ALICE, slack.team_id)
    assert "bot_id" not in who.data

    [call] = slack.calls_to("openid.connect.token")
    assert call.headers["Authorization"].startswith("Basic ")


async def test_scopes_decide_the_claims(slack: FakeSlack) -> None:
    slack.add_openid_code("siws-1", ALICE, scope="openid")
    resp = await sign_in(slack, redirect_uri=None)
    claims = slack.decode_id_token(resp["id_token"])
    assert "email" not in claims and "name" not in claims and "nonce" not in claims
    info = await AsyncWebClient(
        base_url=slack.api_url, token=resp["access_token"]
    ).openid_connect_userInfo()
    assert set(info.data) == {
        "ok",
        "sub",
        "https://slack.com/user_id",
        "https://slack.com/team_id",
    }


async def test_client_secret_post_and_another_team(slack: FakeSlack) -> None:
    slack.add_team("T0OTHER01", "Other")
    slack.add_user("U0BOB0001", "bob", team_id="T0OTHER01")
    slack.add_openid_code("siws-2", "U0BOB0001", access_token="xoxp-bob-fixed")
    form = {"client_id": "1111.2222", "client_secret": "fake-client-secret", "code": "siws-2"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(slack.api_url + "openid.connect.token", data=form) as http,
    ):
        resp = await http.json()
    assert resp["access_token"] == "xoxp-bob-fixed"
    assert slack.decode_id_token(resp["id_token"])["https://slack.com/team_id"] == "T0OTHER01"


async def test_token_errors(slack: FakeSlack) -> None:
    slack.add_openid_code("siws-1", ALICE, redirect_uri=REDIRECT)
    assert await slack_error(sign_in(slack, client_id="9999.0000")) == "invalid_client_id"
    assert await slack_error(sign_in(slack, client_secret="nope")) == "bad_client_secret"
    assert await slack_error(sign_in(slack, code="unknown")) == "invalid_code"
    wrong_uri = sign_in(slack, redirect_uri="https://evil.example.com/cb")
    assert await slack_error(wrong_uri) == "bad_redirect_uri"
    assert await slack_error(sign_in(slack, redirect_uri=None)) == "bad_redirect_uri"
    assert await slack_error(sign_in(slack, grant_type="password")) == "invalid_grant_type"

    await sign_in(slack)  # none of the failures above used the code up
    assert await slack_error(sign_in(slack)) == "invalid_code"  # but a success does

    slack.add_openid_code("siws-late", ALICE)
    slack.openid_grants["siws-late"].issued_at -= slack.openid_code_lifetime + 1
    assert await slack_error(sign_in(slack, code="siws-late", redirect_uri=None)) == "invalid_code"


async def test_user_info_needs_a_live_user_token(slack: FakeSlack) -> None:
    bot = AsyncWebClient(base_url=slack.api_url, token="xoxb-test-token")
    assert await slack_error(bot.openid_connect_userInfo()) == "not_allowed_token_type"

    slack.add_token("xoxp-no-openid", user_id=ALICE, scopes="users:read")
    no_openid = AsyncWebClient(base_url=slack.api_url, token="xoxp-no-openid")
    assert await slack_error(no_openid.openid_connect_userInfo()) == "missing_scope"

    slack.add_openid_code("siws-1", ALICE)
    token = (await sign_in(slack, redirect_uri=None))["access_token"]
    slack.deactivate_user(ALICE)
    user = AsyncWebClient(base_url=slack.api_url, token=token)
    assert await slack_error(user.openid_connect_userInfo()) == "account_inactive"


async def test_discovery_and_keys_verify_the_id_token(slack: FakeSlack) -> None:
    slack.add_openid_code("siws-1", ALICE)
    id_token = (await sign_in(slack, redirect_uri=None))["id_token"]
    async with aiohttp.ClientSession() as session:
        async with session.get(slack.base_url + "/.well-known/openid-configuration") as resp:
            config = await resp.json()
        async with session.get(config["jwks_uri"]) as resp:
            jwks = await resp.json()
    assert config["issuer"] == "https://slack.com"
    assert config["token_endpoint"] == slack.api_url + "openid.connect.token"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]

    header_b64, payload_b64, signature_b64 = id_token.split(".")
    header = b64url_json(header_b64)
    [key] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert (header["alg"], key["kty"]) == ("RS256", "RSA")

    def number(field: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(field + "=" * (-len(field) % 4)), "big")

    public_key = rsa.RSAPublicNumbers(number(key["e"]), number(key["n"])).public_key()
    public_key.verify(  # raises InvalidSignature if the token was not signed by that key
        base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4)),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert b64url_json(payload_b64)["sub"] == ALICE

    tampered = f"{header_b64}.{payload_b64[:-2]}xx.{signature_b64}"
    with pytest.raises(AssertionError, match="signature"):
        slack.decode_id_token(tampered)
