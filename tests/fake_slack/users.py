"""users.info, users.list, users.lookupByEmail and team.info."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, FakeUser, Handler, err, truthy

_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "GMT": "Greenwich Mean Time",
    "UTC": "Coordinated Universal Time",
    "BST": "British Summer Time",
    "IST": "India Standard Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
}


class UsersMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "team.info": self._team_info,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
        }

    def _user_obj(self, user: FakeUser, *, include_locale: bool = False) -> JSON:
        now = datetime.fromtimestamp(self.clock(), ZoneInfo(user.tz))
        offset = now.utcoffset()
        abbrev = now.tzname() or ""
        obj: JSON = {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": _TZ_LABELS.get(abbrev, abbrev),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {
                "display_name": user.display_name,
                "display_name_normalized": user.display_name,
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "team": user.team_id,
                "avatar_hash": "g0000000000",
                "image_48": "https://a.slack-edge.com/80588/img/avatars/ava_0000-48.png",
                "image_72": "https://a.slack-edge.com/80588/img/avatars/ava_0000-72.png",
            },
            "is_admin": user.is_admin,
            "is_owner": user.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if user.email is not None:
            obj["profile"]["email"] = user.email
        if user.bot_id is not None:
            obj["profile"]["bot_id"] = user.bot_id
        if include_locale:
            obj["locale"] = user.locale
        return obj

    def _team_info(self, req: ApiRequest) -> JSON:
        team_id = req.params.get("team") or req.team.id
        team = self.teams.get(str(team_id))
        if team is None:
            return err("team_not_found")
        obj: JSON = {
            "id": team.id,
            "name": team.name,
            "domain": team.domain,
            "email_domain": "",
            "icon": {"image_default": True},
        }
        if team.enterprise_id:
            obj["enterprise_id"] = team.enterprise_id
            obj["enterprise_name"] = team.enterprise_name
        return {"ok": True, "team": obj}

    def _users_info(self, req: ApiRequest) -> JSON:
        user = self.users.get(str(req.params.get("user", "")))
        if user is None:
            return err("user_not_found")
        return {
            "ok": True,
            "user": self._user_obj(user, include_locale=truthy(req.params.get("include_locale"))),
        }

    def _users_list(self, req: ApiRequest) -> JSON:
        members = [self._user_obj(u) for u in self.users.values()]
        return {
            "ok": True,
            "members": members,
            "cache_ts": int(self.clock()),
            "response_metadata": {"next_cursor": ""},
        }

    def _users_lookup_by_email(self, req: ApiRequest) -> JSON:
        email = req.params.get("email")
        for user in self.users.values():
            if user.email is not None and user.email == email:
                return {"ok": True, "user": self._user_obj(user)}
        return err("users_not_found")
