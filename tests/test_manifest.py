"""manifest.yml is a valid Slack app manifest that matches the routes and scopes the app uses;
manifest.socket-mode.yml is the same app for Socket Mode (SLACK_APP_TOKEN), without any URL.

The schema is Slack's own (slackapi/manifest-schema @ c50cfa85, see tests/fixtures/README.md).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MANIFEST_PATH = ROOT / "manifest.yml"
SOCKET_MODE_MANIFEST_PATH = ROOT / "manifest.socket-mode.yml"

SOURCE_DIRS = ("bot", "handlers", "scheduler", "storage")

# The bot scopes each Web API method needs, for the way AsyncStand uses it (Slack's reference
# lists alternatives per conversation type; we post to public and private channels and DMs).
# Every method the code calls must be listed here, so a new call forces a decision.
SCOPES_FOR_METHOD: dict[str, set[str]] = {
    "auth.test": set(),
    "oauth.v2.access": set(),
    "views.open": set(),
    "views.publish": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "conversations.open": {"im:write"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.join": {"channels:join"},
    # Everyone in a standup's channel: public channels and private ones we were invited to.
    "conversations.members": {"channels:read", "groups:read"},
    "users.info": {"users:read"},
    # Looking for our own messages after a crash: in DMs (prompts) and channels (summaries).
    "conversations.history": {"im:history", "channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    # Exports are uploaded and shared in the requester's DM.
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    # Socket Mode: called with the app-level token, whose connections:write is no bot scope.
    "apps.connections.open": set(),
    # Sign in with Slack: the code exchange needs no scope; userInfo is called with the signing-in
    # person's user token (the `openid` user scope), never the bot's.
    "openid.connect.token": set(),
    "openid.connect.userInfo": set(),
}
# The slash command needs its own scope; it is no Web API call.
SCOPES_WITHOUT_CALLS = {"commands"}
# The bot scopes each event subscription needs (Slack's event reference). Every event the code
# listens to must be listed here, so a new listener forces a decision.
SCOPES_FOR_EVENT: dict[str, set[str]] = {
    "app_home_opened": set(),
    "app_uninstalled": set(),
    "tokens_revoked": set(),
    "member_joined_channel": {"channels:read", "groups:read"},
    "member_left_channel": {"channels:read", "groups:read"},
}
PLACEHOLDER_ORIGIN = "https://asyncstand.example.com"


def _load_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = _load_json("manifest.schema.1.0.0.json")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


def _messages(validator: Draft7Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def test_schema_accepts_its_own_valid_example(validator: Draft7Validator) -> None:
    assert _messages(validator, _load_json("tests_manifests_v1_manifest.valid.json")) == []


def test_schema_rejects_its_own_invalid_example(validator: Draft7Validator) -> None:
    problems = _messages(validator, _load_json("tests_manifests_v1_manifest.invalid.json"))
    assert problems, "the validator accepted the schema's known-invalid example"
    assert any("bad_param" in problem for problem in problems), problems


def test_schema_rejects_a_misspelt_field(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(manifest))
    broken["settings"]["event_subscription"] = broken["settings"].pop("event_subscriptions")
    assert _messages(validator, broken), "a misspelt settings key slipped through"


def test_manifest_is_valid_against_slack_schema(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    assert _messages(validator, manifest) == []


def test_manifest_uses_schema_v1(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 1


def test_display_information(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert info["name"] == "AsyncStand"
    assert info["description"] == "Async standups in each teammate's own time zone."
    # The schema spells this rule with a non-standard "regex" keyword that validators ignore.
    colour = info["background_color"]
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", colour), colour
    digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
    red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
    assert 0.2126 * red + 0.7152 * green + 0.0722 * blue < 80, f"{colour} is not dark"
    assert manifest["features"]["bot_user"]["display_name"] == "AsyncStand"


def test_single_standup_slash_command_posts_to_events_route(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/standup"]
    command = commands[0]
    assert command["url"].endswith("/slack/events")
    assert command["usage_hint"].startswith("create | list | run <name>")
    # Mentions in `/standup owners <name> add @user` must arrive as <@U…|name>.
    assert command["should_escape"] is True


def test_interactivity_and_events_post_to_events_route(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")


def listened_events() -> set[str]:
    """Every event type a listener is registered for: `app.event("name")` in the handlers."""
    found: set[str] = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_the_code_listens_to_the_events_we_know_of() -> None:
    # A sanity check of the scan itself: these listeners are certainly in the code.
    assert {"app_home_opened", "member_joined_channel"} <= listened_events()


def test_bot_events_are_exactly_what_the_code_listens_to(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events)), "duplicate event"
    listened = listened_events()
    unknown = listened - set(SCOPES_FOR_EVENT)
    assert not unknown, f"add the scopes these events need to SCOPES_FOR_EVENT: {unknown}"
    assert set(events) == listened
    assert "user_events" not in manifest["settings"]["event_subscriptions"]


def test_oauth_redirect_urls(manifest: dict[str, Any]) -> None:
    """The install flow's redirect, and Sign in with Slack's (<PUBLIC_URL>/login/callback)."""
    urls = manifest["oauth_config"]["redirect_urls"]
    assert len(urls) == 2
    assert urls[0].endswith("/slack/oauth_redirect")
    assert urls[1].endswith("/login/callback")


def called_web_api_methods() -> set[str]:
    """Every Web API method the source calls through a slack_sdk client (read from the code)."""
    from slack_sdk.web.async_client import AsyncWebClient

    client_methods = {
        name
        for name in dir(AsyncWebClient)
        if not name.startswith("_") and "_" in name and name[0].islower()
    } - {"api_call", "base_url", "default_params", "retry_handlers", "team_id", "user_agent_prefix"}
    called: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in client_methods:
                    called.add(node.attr.replace("_", "."))
    return called


def needed_scopes() -> set[str]:
    called = called_web_api_methods()
    unknown = called - set(SCOPES_FOR_METHOD)
    assert not unknown, f"add the scopes these methods need to SCOPES_FOR_METHOD: {unknown}"
    stale = set(SCOPES_FOR_METHOD) - called
    assert not stale, f"the code no longer calls {stale}: drop them from SCOPES_FOR_METHOD"
    return SCOPES_WITHOUT_CALLS.union(
        *(SCOPES_FOR_METHOD[m] for m in called), *(SCOPES_FOR_EVENT[e] for e in listened_events())
    )


def test_the_code_calls_the_web_api_methods_we_know_of() -> None:
    # A sanity check of the scan itself: these calls are certainly in the code.
    assert {"chat.postMessage", "users.info", "conversations.open"} <= called_web_api_methods()


def test_bot_scopes_are_exactly_what_the_code_calls_for(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "duplicate scope"
    needed = needed_scopes()
    assert set(scopes) - needed == set(), "unused scopes in the manifest"
    assert needed - set(scopes) == set(), "scopes the code needs but the manifest lacks"
    # The only user scopes are Sign in with Slack's: who signs in to the web pages.
    assert manifest["oauth_config"]["scopes"]["user"] == ["openid", "profile"]


def test_app_home_tabs(manifest: dict[str, Any]) -> None:
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert app_home.get("messages_tab_read_only_enabled", False) is False


def test_http_mode_without_token_rotation(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert settings["org_deploy_enabled"] is False


def test_every_url_uses_one_https_origin(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        *(c["url"] for c in manifest["features"]["slash_commands"]),
        *manifest["oauth_config"]["redirect_urls"],
        settings["interactivity"]["request_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    origins = {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in urls}
    assert origins == {PLACEHOLDER_ORIGIN}


def test_manifest_scopes_match_the_default_settings(manifest: dict[str, Any]) -> None:
    from bot.settings import DEFAULT_SCOPES

    assert manifest["oauth_config"]["scopes"]["bot"] == DEFAULT_SCOPES.split(",")


# --- Socket Mode: manifest.socket-mode.yml ------------------------------------------------------


@pytest.fixture(scope="module")
def socket_manifest() -> dict[str, Any]:
    data = yaml.safe_load(SOCKET_MODE_MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "manifest.socket-mode.yml must be a YAML mapping"
    return data


def test_socket_mode_manifest_is_valid_against_slack_schema(
    validator: Draft7Validator, socket_manifest: dict[str, Any]
) -> None:
    assert _messages(validator, socket_manifest) == []


def test_socket_mode_manifest_turns_socket_mode_on(socket_manifest: dict[str, Any]) -> None:
    settings = socket_manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["token_rotation_enabled"] is False


def test_socket_mode_manifest_has_no_url_at_all(socket_manifest: dict[str, Any]) -> None:
    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    assert not [s for s in strings(socket_manifest) if "://" in s or s.startswith("/slack")]
    assert "redirect_urls" not in socket_manifest["oauth_config"]


def test_socket_mode_manifest_is_the_http_one_without_urls(
    manifest: dict[str, Any], socket_manifest: dict[str, Any]
) -> None:
    """Same app, same command, events, scopes and tabs: only the delivery differs."""
    expected = json.loads(json.dumps(manifest))
    for command in expected["features"]["slash_commands"]:
        del command["url"]
    del expected["oauth_config"]["redirect_urls"]
    del expected["settings"]["event_subscriptions"]["request_url"]
    del expected["settings"]["interactivity"]["request_url"]
    expected["settings"]["socket_mode_enabled"] = True
    assert socket_manifest == expected
