"""What a use case needs, built once by create_app and handed around explicitly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from storage.db import Database


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    """Settings, database, Slack gateway and clock; one per running app."""

    settings: Settings
    db: Database
    slack: SlackGateway
    clock: Callable[[], dt.datetime] = system_clock
    # Set by the scheduler when this process runs one: lets a command make it look now.
    wake_scheduler: Callable[[], None] = field(default=lambda: None)
    # team id -> (workspace row id, when looked up): see bot.workspaces.workspace_for.
    workspace_ids: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def grace(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.prompt_grace_minutes)

    @property
    def prompt_lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.prompt_lease_seconds)

    @property
    def close_after(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.settings.run_close_after_minutes)
