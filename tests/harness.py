"""Run the real app on a real port against the Slack stand-in, the way Slack would drive it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app import AsyncStand, create_app
from bot.settings import Settings, load_settings
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import SlackRequests

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"


@dataclass
class Clock:
    """Real time plus an adjustable offset, so a test can jump hours ahead."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += dt.timedelta(**kwargs)


@dataclass
class RunningApp:
    app: AsyncStand
    runner: web.AppRunner
    url: str
    slack: FakeSlack
    requests: SlackRequests

    async def stop(self) -> None:
        await self.runner.cleanup()


def make_settings(database_url: str, slack: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_bot_token": BOT_TOKEN,
        "slack_api_url": slack.api_url,
        "database_url": database_url,
        "scheduler_tick_seconds": 0.5,
        "log_format": "json",
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


async def start_app(
    database_url: str,
    slack: FakeSlack,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    listen_port: int = 0,
    **overrides: Any,
) -> RunningApp:
    """The app on 127.0.0.1, on `listen_port` (0: any free port)."""
    settings = make_settings(database_url, slack, **overrides)
    app = create_app(settings, clock=clock) if clock else create_app(settings)
    runner = web.AppRunner(app.web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", listen_port)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}"
    requests = SlackRequests(url, SIGNING_SECRET, team_id=slack.team_id, fake=slack)
    return RunningApp(app, runner, url, slack, requests)


def find_action(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The first element with this action_id in a message's blocks."""
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no element with action_id {action_id!r} in {blocks!r}")


def is_prompt(call: Call) -> bool:
    """A DM carrying the Answer button (not, say, the creator's confirmation)."""
    return call.body.get("channel", "")[:1] == "D" and "prompt_answer" in json.dumps(
        call.body.get("blocks")
    )


def is_delivered_prompt(call: Call) -> bool:
    """A prompt DM that reached Slack: a chat.postMessage that succeeded."""
    return call.method == "chat.postMessage" and call.ok and is_prompt(call)


def create_form_values(
    *,
    name: str,
    channel: str,
    questions: list[str],
    participants: list[str],
    days: list[int],
    time: str,
    tz_mode: str = "participant",
    fixed_tz: str | None = None,
    participant_source: str | None = None,
    blocker_escalation_days: str | None = None,
) -> dict[str, Any]:
    """view.state.values as Slack sends them for the create modal (`participant_source`:
    "people" or "channel" for the "Participants from" choice; `blocker_escalation_days` as the
    number input's text: both left out unless given)."""
    values = {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": channel}},
        "questions": {"value": {"type": "plain_text_input", "value": "\n".join(questions)}},
        "participants": {"value": {"type": "multi_users_select", "selected_users": participants}},
        "days": {
            "value": {
                "type": "checkboxes",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": str(d)}, "value": str(d)} for d in days
                ],
            }
        },
        "time": {"value": {"type": "timepicker", "selected_time": time}},
        "tz_mode": {
            "value": {
                "type": "radio_buttons",
                "selected_option": {
                    "text": {"type": "plain_text", "text": tz_mode},
                    "value": tz_mode,
                },
            }
        },
        "tz": {"value": {"type": "plain_text_input", "value": fixed_tz}},
    }
    if participant_source is not None:
        values["participant_source"] = {
            "value": {
                "type": "radio_buttons",
                "selected_option": {
                    "text": {"type": "plain_text", "text": participant_source},
                    "value": participant_source,
                },
            }
        }
    if blocker_escalation_days is not None:
        values["blocker_escalation_days"] = {
            "value": {"type": "number_input", "value": blocker_escalation_days}
        }
    return values


def answer_values(answers: list[str]) -> dict[str, Any]:
    return {
        f"q{i}": {"answer": {"type": "plain_text_input", "value": text}}
        for i, text in enumerate(answers)
    }
