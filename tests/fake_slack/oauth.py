"""oauth.v2.access: the install code exchange and token rotation (refresh tokens are single-use)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, Handler, OAuthGrant, err


def _enterprise(grant: OAuthGrant) -> JSON | None:
    """The ``enterprise`` of an oauth.v2.access answer (null outside Enterprise Grid)."""
    if not grant.enterprise_id:
        return None
    return {"id": grant.enterprise_id, "name": grant.enterprise_name}


class OAuthMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "oauth.v2.access": self._oauth_v2_access,
        }

    def add_oauth_code(
        self,
        code: str,
        team_id: str | None = None,
        team_name: str | None = None,
        bot_token: str | None = None,
        installer_user_id: str = "U0INSTALL1",
        enterprise_id: str | None = None,
        refresh_token: str | None = None,
        expires_in: int | None = None,
        *,
        enterprise_name: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        scope: str | None = None,
        user_token: str | None = None,
        user_scope: str | None = None,
        redirect_uri: str | None = None,
    ) -> OAuthGrant:
        """Register a one-time OAuth ``code`` for oauth.v2.access. The bot token becomes
        valid when the code is exchanged. With ``refresh_token`` (+ ``expires_in``, default
        43200) the install uses token rotation: refresh tokens are single-use."""
        team_id = team_id or self.team_id
        team_name = team_name or (self.team_name if team_id == self.team_id else team_id)
        if refresh_token is not None and expires_in is None:
            expires_in = 43_200
        grant = OAuthGrant(
            code=code,
            team_id=team_id,
            team_name=team_name,
            bot_token=bot_token or f"xoxb-{team_id}-{next(self._ids)}-{secrets.token_hex(8)}",
            installer_user_id=installer_user_id,
            bot_user_id=bot_user_id or self.bot_user_id,
            bot_id=bot_id or self.bot_id,
            scope=scope or self.scopes,
            app_id=self.app_id,
            enterprise_id=enterprise_id,
            enterprise_name=enterprise_name
            or (f"Enterprise {enterprise_id}" if enterprise_id else None),
            refresh_token=refresh_token,
            expires_in=expires_in,
            user_token=user_token,
            user_scope=user_scope,
            redirect_uri=redirect_uri,
        )
        self.oauth_grants[code] = grant
        return grant

    def _issue_bot_token(self, grant: OAuthGrant, token: str) -> None:
        self.add_token(token, grant.team_id)
        if grant.expires_in is not None:
            self.token_expires_at[token] = self.clock() + grant.expires_in

    def _oauth_v2_access(self, req: ApiRequest) -> JSON:
        p = req.params
        problem = self._check_client(p)
        if problem is not None:
            return problem
        if p.get("grant_type") == "refresh_token":
            return self._oauth_refresh(p)
        code = p.get("code")
        grant = self.oauth_grants.get(str(code)) if code else None
        if grant is None or grant.used:
            return err("invalid_code")
        if grant.redirect_uri is not None and p.get("redirect_uri") != grant.redirect_uri:
            return err("bad_redirect_uri")
        grant.used = True
        if grant.team_id not in self.teams:
            self.add_team(
                grant.team_id,
                grant.team_name,
                bot_user_id=grant.bot_user_id,
                bot_id=grant.bot_id,
                enterprise_id=grant.enterprise_id,
                enterprise_name=grant.enterprise_name,
            )
        self._issue_bot_token(grant, grant.bot_token)
        result: JSON = {
            "ok": True,
            "access_token": grant.bot_token,
            "token_type": "bot",
            "scope": grant.scope,
            "bot_user_id": grant.bot_user_id,
            "app_id": grant.app_id,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": _enterprise(grant),
            "is_enterprise_install": False,
            "authed_user": {"id": grant.installer_user_id},
        }
        if grant.user_token is not None:
            result["authed_user"].update(
                {
                    "access_token": grant.user_token,
                    "scope": grant.user_scope or "",
                    "token_type": "user",
                }
            )
        if grant.refresh_token is not None:
            result["refresh_token"] = grant.refresh_token
            result["expires_in"] = grant.expires_in
            self._refresh_tokens[grant.refresh_token] = (grant, False)
        return result

    def _oauth_refresh(self, p: dict[str, Any]) -> JSON:
        refresh_token = str(p.get("refresh_token") or "")
        entry = self._refresh_tokens.get(refresh_token)
        if entry is None or entry[1]:
            return err("invalid_refresh_token")
        grant = entry[0]
        self._refresh_tokens[refresh_token] = (grant, True)  # single use
        n = next(self._ids)
        access_token = f"xoxe.xoxb-1-{grant.team_id}-{n}-{secrets.token_hex(8)}"
        new_refresh = f"xoxe-1-{grant.team_id}-{n}-{secrets.token_hex(8)}"
        self._refresh_tokens[new_refresh] = (grant, False)
        self._issue_bot_token(grant, access_token)
        return {
            "ok": True,
            "app_id": grant.app_id,
            "scope": grant.scope,
            "token_type": "bot",
            "access_token": access_token,
            "bot_user_id": grant.bot_user_id,
            "refresh_token": new_refresh,
            "expires_in": grant.expires_in or 43_200,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": _enterprise(grant),
            "is_enterprise_install": False,
        }
