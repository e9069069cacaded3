"""A lightweight Slack Web API stand-in for load: rate limits shaped like Slack's, counters.

Run it as its own process (`python bench/load_slack.py`, prints `READY {"api_url": ...}`) so its
work never shares an event loop with the app. Tokens look like `xoxb-bench-<TEAM>`; each team has
its own buckets, like Slack's per-workspace limits:

- conversations.open, chat.update: 50/min, burst 50 (Tier 3)
- chat.postMessage: 1/s per channel, burst 3
- users.info: 100/min, burst 100 (Tier 4)

A call over its limit gets HTTP 429 with `Retry-After` (whole seconds until a token is free) and
is not served. `GET /_stats` returns call and 429 counts, TCP connections accepted, and
(`?times=1`) the arrival time of every chat.postMessage to a DM channel (`?teams=1`: by team);
`POST /_reset` clears the counters (not the buckets).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import announce_ready, team_from_token, wait_for_signal


@dataclass(frozen=True)
class Limit:
    rate: float  # per second
    burst: float


OPEN_LIMIT = Limit(50 / 60, 50)
UPDATE_LIMIT = Limit(50 / 60, 50)
POST_PER_CHANNEL = Limit(1.0, 3)
TIER_4 = Limit(100 / 60, 100)
METHOD_LIMITS = {
    "conversations.open": OPEN_LIMIT,
    "chat.update": UPDATE_LIMIT,
    "users.info": TIER_4,
    "views.open": TIER_4,
}


def lower_bound_seconds(participants_per_workspace: int, limit: Limit = OPEN_LIMIT) -> float:
    """Shortest time in which one workspace's P first-time DMs can be opened under `limit`.

    The first `burst` conversations.open calls go at once, every further one waits 1/rate;
    each DM then goes to its own channel (within chat.postMessage's per-channel burst), so the
    opens are the only constraint."""
    extra = max(0, participants_per_workspace - int(limit.burst))
    return extra / limit.rate


class LoadSlack:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.limited: Counter[str] = Counter()
        self.dm_post_times: list[float] = []
        self.dm_post_teams: list[str] = []  # the team of each entry of dm_post_times
        self.connections = 0
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}
        self._ts = 0
        self._seen: weakref.WeakSet[Any] = weakref.WeakSet()

    # --- rate limiting ---------------------------------------------------------------------

    def _take(self, key: tuple[str, ...], limit: Limit) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - at) * limit.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / limit.rate

    # --- HTTP ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        transport = request.transport
        if transport is not None and transport not in self._seen:
            self._seen.add(transport)
            self.connections += 1
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            params = dict(await request.post())
        params.update(request.query)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else str(params.get("token") or "")
        team = team_from_token(token)
        self.calls[method] += 1
        if not token and method not in ("api.test",):
            return _json({"ok": False, "error": "not_authed"})

        limit = METHOD_LIMITS.get(method)
        key: tuple[str, ...] = (team, method)
        if method == "chat.postMessage":
            limit, key = POST_PER_CHANNEL, (team, method, str(params.get("channel") or ""))
        if limit is not None:
            wait = self._take(key, limit)
            if wait > 0:
                self.limited[method] += 1
                return _json(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
        return _json(self._answer(method, team, params))

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(time.time())}.{self._ts:06d}"

    def _answer(self, method: str, team: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": f"https://{team.lower()}.slack.com/",
                "team": f"Bench {team}",
                "team_id": team,
                "user": "asyncstand",
                "user_id": "U0BOT0001",
                "bot_id": "B0BOT0001",
                "is_enterprise_install": False,
            }
        if method == "conversations.open":
            user = str(params.get("users") or "").split(",")[0]
            return {"ok": True, "channel": {"id": "D" + user[1:], "is_im": True}}
        if method == "chat.postMessage":
            channel = str(params.get("channel") or "")
            if channel.startswith("D"):
                self.dm_post_times.append(time.time())
                self.dm_post_teams.append(team)
            ts = self._next_ts()
            return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "users.info":
            user = str(params.get("user") or "")
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": team,
                    "name": user.lower(),
                    "real_name": user,
                    "tz": "UTC",
                    "is_bot": False,
                    "deleted": False,
                    "profile": {"display_name": user},
                },
            }
        if method == "conversations.join":
            return {"ok": True, "channel": {"id": params.get("channel")}}
        return {"ok": True}

    async def stats(self, request: web.Request) -> web.Response:
        times = sorted(self.dm_post_times)
        body: dict[str, Any] = {
            "calls": dict(self.calls),
            "rate_limited": dict(self.limited),
            "connections": self.connections,
            "dm_posts": len(times),
            "first_dm": times[0] if times else None,
            "last_dm": times[-1] if times else None,
        }
        if request.query.get("times"):
            body["dm_post_times"] = times
        if request.query.get("teams"):
            by_team: dict[str, list[float]] = {}
            body["dm_posts_by_team"] = by_team
            for at, team in zip(self.dm_post_times, self.dm_post_teams, strict=True):
                by_team.setdefault(team, []).append(at)
        return _json(body)

    async def reset(self, _: web.Request) -> web.Response:
        self.calls.clear()
        self.limited.clear()
        self.dm_post_times.clear()
        self.dm_post_teams.clear()
        self.connections = 0
        return _json({"ok": True})

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_get("/_stats", self.stats)
        app.router.add_post("/_reset", self.reset)
        return app


def _json(
    payload: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(payload), content_type="application/json", headers=headers
    )


async def serve(port: int = 0) -> None:
    stand_in = LoadSlack()
    runner = web.AppRunner(stand_in.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    base = f"http://127.0.0.1:{bound}"
    announce_ready({"api_url": f"{base}/api/", "base_url": base, "pid": os.getpid()})
    await wait_for_signal()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
