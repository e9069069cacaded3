"""api.test, auth.test and auth.revoke."""

from __future__ import annotations

from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, Handler, err, truthy


class AuthMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
        }

    def _api_test(self, req: ApiRequest) -> JSON:
        args = {k: v for k, v in req.params.items() if not k.startswith("_")}
        if "error" in args:
            return err(str(args["error"]), args=args)
        return {"ok": True, "args": args}

    def _auth_test(self, req: ApiRequest) -> JSON:
        team = req.team
        result: JSON = {
            "ok": True,
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": self.bot_name,
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "is_enterprise_install": False,
        }
        user = self.users.get(self.user_tokens.get(req.token or "", ""))
        if user is not None:  # a user token speaks for its user, not the bot
            result.update({"user": user.name, "user_id": user.id})
            del result["bot_id"]
        if team.enterprise_id:
            result["enterprise_id"] = team.enterprise_id
        return result

    def _auth_revoke(self, req: ApiRequest) -> JSON:
        if req.token is not None and not truthy(req.params.get("test")):
            self.revoke_token(req.token, error="token_revoked")
        return {"ok": True, "revoked": True}
