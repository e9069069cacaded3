"""Sign in with Slack (OpenID Connect): openid.connect.token exchanges a code registered with
``add_openid_code`` for a user token (``xoxp-``) and an RS256-signed ``id_token``;
openid.connect.userInfo answers for that token. The fake also serves its discovery document
(``/.well-known/openid-configuration``) and signing keys (``/openid/connect/keys``), so an app
can verify id_tokens exactly as it would against slack.com, with ``iss`` still
``https://slack.com``.

Shapes and errors: docs.slack.dev/authentication/sign-in-with-slack and the method pages
openid.connect.token / openid.connect.userInfo (summary in
/work/shared/slack-reference/platform_notes.md §4)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fake_slack.server import FakeSlackServer
from tests.fake_slack.state import JSON, ApiRequest, FakeTeam, FakeUser, Handler, OpenIDGrant, err

ISSUER = "https://slack.com"
_ID_TOKEN_LIFETIME = 300  # seconds; Slack's documented example id_token has exp = iat + 300
_USER_IMAGE_SIZES = (24, 32, 48, 72, 192, 512, 1024)
_TEAM_IMAGE_SIZES = (34, 44, 68, 88, 102, 132, 230)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class OpenIDMethods(FakeSlackServer):
    _openid_key: rsa.RSAPrivateKey | None = None  # made on first use (about 0.1 s)

    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "openid.connect.token": self._openid_connect_token,
            "openid.connect.userInfo": self._openid_connect_user_info,
        }

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        super()._add_routes(router)
        router.add_route("GET", "/.well-known/openid-configuration", self._handle_discovery)
        router.add_route("GET", "/openid/connect/keys", self._handle_keys)

    # ------------------------------------------------------------------ setup helpers
    def add_openid_code(
        self,
        code: str,
        user_id: str,
        team_id: str | None = None,
        *,
        nonce: str | None = None,
        redirect_uri: str | None = None,
        scope: str = "openid profile email",
        access_token: str | None = None,
    ) -> OpenIDGrant:
        """Register a one-time Sign in with Slack ``code``, as if ``user_id`` had approved
        /openid/connect/authorize with this ``nonce``, ``redirect_uri`` and ``scope`` (space-
        or comma-separated). The code is good for ``openid_code_lifetime`` seconds of
        ``clock()``; ``access_token`` fixes the xoxp- token the exchange hands out."""
        user = self.users[user_id]
        team_id = team_id or user.team_id
        if team_id not in self.teams:
            self.add_team(team_id, team_id)
        grant = OpenIDGrant(
            code=code,
            user_id=user_id,
            team_id=team_id,
            scopes=frozenset(scope.replace(",", " ").split()),
            issued_at=self.clock(),
            nonce=nonce,
            redirect_uri=redirect_uri,
            access_token=access_token,
        )
        self.openid_grants[code] = grant
        return grant

    # ------------------------------------------------------------------ inspection
    @property
    def openid_key(self) -> rsa.RSAPrivateKey:
        """The RSA key id_tokens are signed with (RS256)."""
        if self._openid_key is None:
            self._openid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._openid_key

    @property
    def openid_key_id(self) -> str:
        return f"fake-slack-{self.app_id}"

    def openid_jwks(self) -> JSON:
        """The JWKS served at ``/openid/connect/keys``."""
        numbers = self.openid_key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.openid_key_id,
                    "n": _int_b64url(numbers.n),
                    "e": _int_b64url(numbers.e),
                }
            ]
        }

    def decode_id_token(self, id_token: str, *, verify: bool = True) -> JSON:
        """The claims of an id_token the fake issued; with ``verify`` (default) its RS256
        signature is checked first (AssertionError if it does not match)."""
        header_b64, payload_b64, signature_b64 = id_token.split(".")
        if verify:
            header = json.loads(_b64url_decode(header_b64))
            assert header == {"alg": "RS256", "typ": "JWT", "kid": self.openid_key_id}, header
            try:
                self.openid_key.public_key().verify(
                    _b64url_decode(signature_b64),
                    f"{header_b64}.{payload_b64}".encode(),
                    padding.PKCS1v15(),
                    hashes.SHA256(),
                )
            except InvalidSignature as exc:
                raise AssertionError("id_token signature does not verify") from exc
        claims: JSON = json.loads(_b64url_decode(payload_b64))
        return claims

    # ------------------------------------------------------------------ API methods
    def _openid_connect_token(self, req: ApiRequest) -> JSON:
        p = req.params
        problem = self._check_client(p)
        if problem is not None:
            return problem
        client_id, _ = self._client_credentials(p)
        grant_type = p.get("grant_type") or "authorization_code"
        if grant_type == "refresh_token":
            return err("invalid_refresh_token")  # the fake issues no SIWS refresh tokens
        if grant_type != "authorization_code":
            return err("invalid_grant_type")
        code = p.get("code")
        grant = self.openid_grants.get(str(code)) if code else None
        if (
            grant is None
            or grant.used
            or self.clock() - grant.issued_at > self.openid_code_lifetime
        ):
            return err("invalid_code")
        if grant.redirect_uri is not None and p.get("redirect_uri") != grant.redirect_uri:
            return err("bad_redirect_uri")
        grant.used = True
        user, team = self.users[grant.user_id], self.teams[grant.team_id]
        token = grant.access_token or (
            f"xoxp-{team.id}-{user.id}-{next(self._ids)}-{secrets.token_hex(16)}"
        )
        self.add_token(token, team.id, scopes=grant.scopes, user_id=user.id)
        now = int(self.clock())
        claims: JSON = {
            "iss": ISSUER,
            "sub": user.id,
            "aud": client_id,
            "exp": now + _ID_TOKEN_LIFETIME,
            "iat": now,
            "auth_time": now,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        digest = hashlib.sha256(token.encode()).digest()
        claims["at_hash"] = _b64url(digest[: len(digest) // 2])
        claims.update(self._openid_claims(user, team, grant.scopes))
        return {
            "ok": True,
            "access_token": token,
            "token_type": "Bearer",
            "id_token": self._sign_jwt(claims),
        }

    def _openid_connect_user_info(self, req: ApiRequest) -> JSON:
        user_id = self.user_tokens.get(req.token or "")
        if user_id is None:
            return err("not_allowed_token_type")
        problem = self._require_scope(req, "openid")
        if problem is not None:
            return problem
        scopes = self.token_scopes.get(req.token or "", frozenset({"openid"}))
        user = self.users[user_id]
        return {"ok": True, "sub": user.id, **self._openid_claims(user, req.team, scopes)}

    # ------------------------------------------------------------------ internals
    def _openid_claims(self, user: FakeUser, team: FakeTeam, scopes: frozenset[str]) -> JSON:
        """Claims Slack puts in the id_token and userInfo: the IDs always, email with the
        ``email`` scope, names and pictures with ``profile``."""
        claims: JSON = {
            "https://slack.com/user_id": user.id,
            "https://slack.com/team_id": team.id,
        }
        if team.enterprise_id:
            claims["https://slack.com/enterprise_id"] = team.enterprise_id
        if "email" in scopes and user.email is not None:
            claims.update(
                {"email": user.email, "email_verified": True, "date_email_verified": 1_700_000_000}
            )
        if "profile" in scopes:
            given_name, _, family_name = user.real_name.partition(" ")
            avatar = "https://a.slack-edge.com/80588/img/avatars/ava_0000-{}.png"
            claims.update(
                {
                    "name": user.real_name,
                    "given_name": given_name,
                    "family_name": family_name,
                    "locale": user.locale,
                    "picture": avatar.format(512),
                    **{
                        f"https://slack.com/user_image_{n}": avatar.format(n)
                        for n in _USER_IMAGE_SIZES
                    },
                    "https://slack.com/team_name": team.name,
                    "https://slack.com/team_domain": team.domain,
                    **{
                        f"https://slack.com/team_image_{n}": (
                            f"https://a.slack-edge.com/80588/img/teams/default-{n}.png"
                        )
                        for n in _TEAM_IMAGE_SIZES
                    },
                    "https://slack.com/team_image_default": True,
                }
            )
        return claims

    def _sign_jwt(self, claims: JSON) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.openid_key_id}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self.openid_key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"

    async def _handle_discovery(self, request: web.Request) -> web.Response:
        return self._json(200, self._discovery_document())

    async def _handle_keys(self, request: web.Request) -> web.Response:
        return self._json(200, self.openid_jwks())

    def _discovery_document(self) -> dict[str, Any]:
        """Slack's discovery document, with endpoints on the fake's own server."""
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{self.base_url}/openid/connect/authorize",
            "token_endpoint": f"{self.api_url}openid.connect.token",
            "userinfo_endpoint": f"{self.api_url}openid.connect.userInfo",
            "jwks_uri": f"{self.base_url}/openid/connect/keys",
            "scopes_supported": ["openid", "profile", "email"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }
