"""People: who is acting (and whether they are a workspace admin), and the profiles we cache
from users.info (time zone, bot and deactivated flags)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.rules.permissions import Actor
from bot.rules.validation import clean_text
from bot.runtime import Services
from bot.slack.gateway import error_code
from storage import members

log = structlog.get_logger("asyncstand.people")

# Admin status is re-read from users.info when the cached profile is older than this.
ROLE_FRESHNESS = dt.timedelta(minutes=15)
# Profile look-ups during a form submission must finish well inside Slack's 3 seconds.
PROFILE_LOOKUP_BUDGET = 1.5
# A planning pass stops starting profile look-ups after this long. users.info allows about
# 100 a minute: a channel of 1,000 new people is learned over ~10 minutes of passes, while
# the rest of each scheduler tick (sending due prompts) goes on.
PROFILE_REFRESH_BUDGET = 5.0
SLACKBOT = "USLACKBOT"
MEMBER_NAME_MAX = 255  # member.name's width


@dataclass
class Caller:
    """Who is asking, from which workspace. Their admin flag may cost a users.info call, so it
    is looked up only when a rule needs it, once, and before any transaction opens."""

    workspace_id: int
    user_id: str
    lookup_actor: Callable[[], Awaitable[Actor]]
    _actor: Actor | None = field(default=None, repr=False)

    @classmethod
    def known(cls, workspace_id: int, actor: Actor) -> Caller:
        """A caller whose role is already known (tests, API tokens, web sessions)."""

        async def lookup() -> Actor:
            return actor

        return cls(workspace_id, actor.user_id, lookup, actor)

    async def actor(self) -> Actor:
        if self._actor is None:
            self._actor = await self.lookup_actor()
        return self._actor


def slack_caller(
    services: Services, client: AsyncWebClient, workspace_id: int, user_id: str
) -> Caller:
    """A caller from Slack: the admin flag comes from users.info (cached)."""
    return Caller(workspace_id, user_id, lambda: identify(services, client, workspace_id, user_id))


def _display_name(user: dict[str, Any]) -> str | None:
    """The name Slack shows, as we can store it (people choose their own names)."""
    name = (user.get("profile") or {}).get("display_name") or user.get("real_name")
    return clean_text(str(name))[:MEMBER_NAME_MAX] if name else None


def _is_admin(user: dict[str, Any]) -> bool:
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


async def fetch_profile(
    services: Services, client: AsyncWebClient, workspace_id: int, slack_user_id: str
) -> dict[str, Any] | None:
    """users.info → cache name, tz, bot/deleted/admin flags. Returns the Slack user or None."""
    now = services.clock()
    try:
        response = await client.users_info(user=slack_user_id)
    except SlackApiError as exc:
        log.warning("users_info_failed", user=slack_user_id, error=error_code(exc))
        async with services.db.session() as session:
            await members.mark_profile_checked(session, workspace_id, slack_user_id, now)
        return None
    user: dict[str, Any] = response["user"]
    async with services.db.session() as session:
        await members.update_member_profile(
            session,
            workspace_id,
            slack_user_id,
            name=_display_name(user),
            tz=user.get("tz"),
            is_bot=bool(user.get("is_bot")) or slack_user_id == SLACKBOT,
            deleted=bool(user.get("deleted")),
            is_admin=_is_admin(user),
            now=now,
        )
    return user


async def refresh_profiles(services: Services, client: AsyncWebClient, workspace_id: int) -> None:
    """Fetch users.info for participants whose profile is unknown (first) or stale, for at
    most PROFILE_REFRESH_BUDGET seconds; the next pass goes on with the rest."""
    stale_before = services.clock() - dt.timedelta(hours=services.settings.tz_refresh_hours)
    async with services.db.session() as session:
        stale = await members.members_needing_profile(session, workspace_id, stale_before)
    started = time.monotonic()
    for done, member in enumerate(stale):
        if time.monotonic() - started > PROFILE_REFRESH_BUDGET:
            log.info("profile_refresh_continues", refreshed=done, left=len(stale) - done)
            break
        await fetch_profile(services, client, workspace_id, member.slack_user_id)


async def identify(
    services: Services, client: AsyncWebClient, workspace_id: int, user_id: str
) -> Actor:
    """The requesting user with their workspace-admin flag (users.info, briefly cached)."""
    async with services.db.session() as session:
        member = (await members.ensure_members(session, workspace_id, [user_id]))[user_id]
    fresh_after = services.clock() - ROLE_FRESHNESS
    if member.profile_refreshed_at is None or member.profile_refreshed_at < fresh_after:
        user = await fetch_profile(services, client, workspace_id, user_id)
        if user is not None:
            return Actor(user_id, _is_admin(user))
    return Actor(user_id, member.is_admin)


async def bot_ids(
    services: Services, client: AsyncWebClient, workspace_id: int, user_ids: Iterable[str]
) -> set[str]:
    """Which of these users are bots, from cached profiles and users.info for the rest
    (bounded in time: an unanswered look-up counts as a person)."""
    wanted = list(user_ids)
    async with services.db.session() as session:
        known = await members.ensure_members(session, workspace_id, wanted)
    bots = {u for u, m in known.items() if m.is_bot}
    unknown = [u for u, m in known.items() if m.profile_refreshed_at is None]
    if unknown:
        lookups = [fetch_profile(services, client, workspace_id, u) for u in unknown]
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*lookups), timeout=PROFILE_LOOKUP_BUDGET
            )
        except TimeoutError:
            results = []
        for user_id, user in zip(unknown, results, strict=False):
            if user and (user.get("is_bot") or user_id == SLACKBOT):
                bots.add(user_id)
    if SLACKBOT in wanted:
        bots.add(SLACKBOT)
    return bots
