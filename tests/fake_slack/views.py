"""views.open, views.push, views.update, views.publish and the trigger_ids they consume."""

from __future__ import annotations

import copy
import json
import secrets
import time
from typing import Any

from tests.blockkit_limits import validate_view
from tests.fake_slack.core import FakeSlackCore
from tests.fake_slack.state import JSON, ApiRequest, Handler, TriggerInfo, err

_VIEW_MAX_BYTES = 250_000


class ViewsMethods(FakeSlackCore):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    def issue_trigger_id(self, user_id: str | None = None, view_id: str | None = None) -> str:
        """A fresh trigger_id valid for ``trigger_lifetime`` seconds (and one use)."""
        n = next(self._ids)
        trigger_id = f"{1000 + n}.{9876543210 + n}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = TriggerInfo(trigger_id, time.monotonic(), user_id, view_id)
        return trigger_id

    def expire_trigger(self, trigger_id: str) -> None:
        self.triggers[trigger_id].issued_at -= self.trigger_lifetime + 1.0

    def home_view(self, user_id: str) -> JSON | None:
        view = self.home_views.get(user_id)
        return copy.deepcopy(view) if view is not None else None

    def _view_obj(
        self,
        view: JSON,
        req: ApiRequest,
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JSON:
        vid = view_id or f"V{next(self._ids):08d}"
        obj: JSON = {
            "id": vid,
            "team_id": req.team.id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or vid,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": req.team.id,
            "bot_id": req.team.bot_id,
        }
        if "title" in view:
            obj["title"] = copy.deepcopy(view["title"])
        return obj

    def _check_view_arg(self, view: Any, *, expected_type: str) -> JSON | None:
        if view is None:
            return err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: view"]},
            )
        if not isinstance(view, dict):
            return err(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] invalid `view`"]}
            )
        if len(json.dumps(view)) > _VIEW_MAX_BYTES:
            return err("view_too_large")
        errors = validate_view(view)
        if view.get("type") != expected_type:
            errors.insert(0, f"must be {expected_type} [json-pointer:/view/type]")
        if errors:
            return err(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return None

    def _take_trigger(self, trigger_id: Any) -> TriggerInfo | JSON:
        if not trigger_id:
            return err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
            )
        trigger = self.triggers.get(str(trigger_id))
        if trigger is None:
            return err("invalid_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_lifetime:
            return err("expired_trigger_id")
        if trigger.used and self.single_use_triggers:
            return err("exchanged_trigger_id")
        return trigger

    def _modal_args(self, req: ApiRequest) -> tuple[TriggerInfo, JSON] | JSON:
        """The live trigger and valid modal of a views.open/views.push, or Slack's error."""
        trigger = self._take_trigger(req.params.get("trigger_id"))
        if isinstance(trigger, dict):
            return trigger
        view = req.params.get("view")
        problem = self._check_view_arg(view, expected_type="modal")
        if problem is not None or not isinstance(view, dict):
            return problem or err("invalid_arguments")
        return trigger, view

    def _views_open(self, req: ApiRequest) -> JSON:
        args = self._modal_args(req)
        if isinstance(args, dict):
            return args
        trigger, view = args
        trigger.used = True
        obj = self._view_obj(view, req)
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = trigger.user_id
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_push(self, req: ApiRequest) -> JSON:
        args = self._modal_args(req)
        if isinstance(args, dict):
            return args
        trigger, view = args
        previous = self.views.get(trigger.view_id or "")
        root_id = previous["root_view_id"] if previous is not None else None
        if root_id is not None:
            depth = sum(1 for v in self.views.values() if v.get("root_view_id") == root_id)
            if depth >= 3:
                return err("push_limit_reached")
        trigger.used = True
        obj = self._view_obj(
            view,
            req,
            root_view_id=root_id,
            previous_view_id=previous["id"] if previous is not None else None,
        )
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = trigger.user_id
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_update(self, req: ApiRequest) -> JSON:
        p = req.params
        view_id, external_id = p.get("view_id"), p.get("external_id")
        if not view_id and not external_id:
            return err(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] either view_id or external_id"]},
            )
        current = None
        if view_id:
            current = self.views.get(str(view_id))
        else:
            current = next(
                (v for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if current is None:
            return err("not_found")
        if p.get("hash") and p["hash"] != current["hash"]:
            return err("hash_conflict")
        view = p.get("view")
        problem = self._check_view_arg(view, expected_type=str(current.get("type")))
        if problem is not None or not isinstance(view, dict):
            return problem or err("invalid_arguments")
        obj = self._view_obj(
            view,
            req,
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current.get("previous_view_id"),
        )
        self.views[obj["id"]] = obj
        for user_id, home in self.home_views.items():
            if home["id"] == obj["id"]:
                self.home_views[user_id] = obj
        return {"ok": True, "view": copy.deepcopy(obj)}

    def _views_publish(self, req: ApiRequest) -> JSON:
        p = req.params
        user_id = str(p.get("user_id", ""))
        if user_id not in self.users:
            return err("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        view = p.get("view")
        problem = self._check_view_arg(view, expected_type="home")
        if problem is not None or not isinstance(view, dict):
            return problem or err("invalid_arguments")
        current = self.home_views.get(user_id)
        if current is not None and p.get("hash") and p["hash"] != current["hash"]:
            return err("hash_conflict")
        obj = self._view_obj(view, req, view_id=current["id"] if current is not None else None)
        self.home_views[user_id] = obj
        self.views[obj["id"]] = obj
        self.view_users[obj["id"]] = user_id
        return {"ok": True, "view": copy.deepcopy(obj)}
