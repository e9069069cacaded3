"""The Slack Web API side: one place that makes clients (base URL, retries) and finds tokens."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack.ratelimit import Limit, Limiter, LocalLimiter, bucket_for, wait_for_slot
from storage import installations
from storage.crypto import SecretBox
from storage.db import Database
from storage.models import Installation, Workspace
from storage.workspaces import workspace_by_id

log = structlog.get_logger("asyncstand.slack")

# Errors that no retry will fix: record them and stop trying.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "invalid_auth",
        "is_archived",
        "not_authed",
        "not_in_channel",
        "token_revoked",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "team_access_not_granted",
        "missing_scope",
        "messages_tab_disabled",
    }
)


# The bucket of the Web API call in progress (set by ShapedWebClient for the retry handler:
# slack_sdk hands retry handlers no JSON body, so chat.postMessage's channel is not visible there).
_CALL_BUCKET: contextvars.ContextVar[tuple[str, Limit] | None] = contextvars.ContextVar(
    "asyncstand_slack_call_bucket", default=None
)


def error_code(exc: SlackApiError) -> str:
    """The `error` field of a failed Web API response."""
    response: Any = exc.response
    try:
        return str(response.get("error") or "unknown_error")
    except AttributeError:
        return "unknown_error"


class SharedRateLimitRetryHandler(AsyncRetryHandler):
    """On HTTP 429: honour the whole Retry-After, tell the shared bucket, count it, retry."""

    def __init__(
        self, limiter: Limiter, team_key: str, metrics: Metrics, max_retry_count: int = 5
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._limiter = limiter
        self._team_key = team_key
        self._metrics = metrics

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        method = request.url.rsplit("/", 1)[-1].split("?", 1)[0]
        seconds = 1.0
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    seconds = max(0.0, float(values[0]))
                except ValueError:
                    seconds = 1.0
        self._metrics.slack_rate_limited.labels(method).inc()
        bucket = _CALL_BUCKET.get()
        if bucket is None:
            params = request.body_params if isinstance(request.body_params, dict) else None
            bucket = bucket_for(self._team_key, method, params)
        if bucket is not None:
            await self._limiter.penalize(bucket[0], bucket[1], seconds)
        state.next_attempt_requested = True
        await asyncio.sleep(seconds + random.random() * 0.25)
        state.increment_current_attempt()


class ShapedWebClient(AsyncWebClient):
    """AsyncWebClient whose every call waits for its rate-limit slot and is measured."""

    def __init__(
        self,
        *,
        limiter: Limiter,
        team_key: str,
        metrics: Metrics,
        session_provider: Callable[[], aiohttp.ClientSession],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._limiter = limiter
        self._team_key = team_key
        self._metrics = metrics
        self._session_provider = session_provider

    async def backlog(self, api_method: str) -> float:
        """Seconds a call of `api_method` (its workspace-wide bucket) would wait for a slot
        now, after any 429's Retry-After; 0.0 when free or not shaped."""
        bucket = bucket_for(self._team_key, api_method, None)
        return 0.0 if bucket is None else await self._limiter.backlog(*bucket)

    async def api_call(
        self,
        api_method: str,
        *,
        json: Any = None,
        data: Any = None,
        params: Any = None,
        **kwargs: Any,
    ) -> Any:
        if self.session is None or self.session.closed:
            # One pooled HTTP session per process: slack_sdk would otherwise open (and close) a
            # new session, and a new TLS connection, for every single call.
            self.session = self._session_provider()
        payload = json if isinstance(json, dict) else data if isinstance(data, dict) else params
        bucket = bucket_for(
            self._team_key, api_method, payload if isinstance(payload, dict) else None
        )
        if bucket is not None:
            await wait_for_slot(self._limiter, *bucket)
        started = time.perf_counter()
        outcome = "ok"
        bucket_token = _CALL_BUCKET.set(bucket)
        try:
            return await super().api_call(api_method, json=json, data=data, params=params, **kwargs)
        except SlackApiError as exc:
            outcome = error_code(exc)
            raise
        except Exception as exc:
            outcome = type(exc).__name__
            raise
        finally:
            _CALL_BUCKET.reset(bucket_token)
            self._metrics.slack_calls.labels(api_method, outcome[:40]).inc()
            self._metrics.slack_latency.labels(api_method).observe(time.perf_counter() - started)


# Rotating tokens (12 h life) are refreshed when less than this is left.
ROTATE_AHEAD = dt.timedelta(hours=2)


class SlackGateway:
    """Builds Web API clients pointed at SLACK_API_URL and resolves each workspace's token."""

    def __init__(
        self,
        settings: Settings,
        secret_box: SecretBox | None,
        db: Database,
        *,
        metrics: Metrics | None = None,
        limiter: Limiter | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._settings = settings
        self.secret_box = secret_box
        self._db = db
        self.metrics = metrics or Metrics()
        self.limiter: Limiter = limiter or LocalLimiter()
        self._clients: dict[str, AsyncWebClient] = {}
        self._refresh_lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None

    @property
    def api_url(self) -> str:
        return self._settings.slack_api_url

    def http_session(self) -> aiohttp.ClientSession:
        """The pooled HTTP session for Web API calls, created in the running event loop."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=15),
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()

    def client(self, token: str | None = None) -> AsyncWebClient:
        """A client for `token` (cached: clients are cheap to reuse, not to create)."""
        key = token or ""
        client = self._clients.get(key)
        if client is None:
            # Buckets are keyed by a digest of the token, so no token ever reaches Redis.
            team_key = hashlib.sha256(key.encode()).hexdigest()[:16]
            client = ShapedWebClient(
                limiter=self.limiter,
                team_key=team_key,
                metrics=self.metrics,
                session_provider=self.http_session,
                token=token,
                base_url=self._settings.slack_api_url,
                timeout=15,
                retry_handlers=[
                    AsyncConnectionErrorRetryHandler(max_retry_count=3),
                    SharedRateLimitRetryHandler(self.limiter, team_key, self.metrics),
                    AsyncServerErrorRetryHandler(max_retry_count=3),
                ],
            )
            if len(self._clients) > 10_000:  # rotated tokens must not pile up forever
                self._clients.clear()
            self._clients[key] = client
        return client

    async def find_installation(
        self, session: AsyncSession, team_id: str | None, enterprise_id: str | None
    ) -> tuple[Workspace, Installation, str] | None:
        """The active installation serving a team: its own, or its Grid org's org-wide one."""
        for key, org_wide in ((team_id, False), (enterprise_id, True)):
            if not key:
                continue
            found = await installations.active_installation(session, key, org_wide=org_wide)
            if found is None:
                continue
            token = await self._usable_token(found[1])
            if token is not None:
                return found[0], found[1], token
        return None

    async def bot_token(self, session: AsyncSession, workspace_id: int) -> str | None:
        """The bot token for a workspace, or None if it has none (uninstalled)."""
        workspace = await workspace_by_id(session, workspace_id)
        if workspace is None or not workspace.active:
            return None
        if self._settings.single_workspace:
            return self._settings.slack_bot_token
        found = await self.find_installation(session, workspace.team_id, workspace.enterprise_id)
        return found[2] if found else None

    async def bot_client(self, session: AsyncSession, workspace_id: int) -> AsyncWebClient | None:
        token = await self.bot_token(session, workspace_id)
        return self.client(token) if token else None

    async def _usable_token(self, row: Installation) -> str | None:
        if self.secret_box is None or row.bot_token_encrypted is None:
            return None
        expires_at = row.bot_token_expires_at
        if (
            expires_at is not None
            and row.bot_refresh_token_encrypted
            and expires_at - self._clock() < ROTATE_AHEAD
        ):
            return await self._refresh(row.id)
        return self.secret_box.decrypt(row.bot_token_encrypted)

    async def _refresh(self, installation_id: int) -> str | None:
        """Spend the refresh token once: row lock in Postgres, process lock everywhere."""
        box = self.secret_box
        assert box is not None
        async with self._refresh_lock, self._db.session() as session:
            row = await installations.lock_for_refresh(session, installation_id)
            if row is None or row.bot_token_encrypted is None:
                return None
            now = self._clock()
            expires_at = row.bot_token_expires_at
            refresh = row.bot_refresh_token_encrypted
            if expires_at is None or refresh is None or expires_at - now >= ROTATE_AHEAD:
                return box.decrypt(row.bot_token_encrypted)  # another replica refreshed it
            try:
                response = await self.client(None).oauth_v2_access(
                    client_id=self._settings.slack_client_id or "",
                    client_secret=self._settings.slack_client_secret or "",
                    grant_type="refresh_token",
                    refresh_token=box.decrypt(refresh),
                )
            except SlackApiError as exc:
                log.warning("token_refresh_failed", error=error_code(exc))
                return box.decrypt(row.bot_token_encrypted) if expires_at > now else None
            row.bot_token_encrypted = box.encrypt(str(response["access_token"]))
            if response.get("refresh_token"):
                row.bot_refresh_token_encrypted = box.encrypt(str(response["refresh_token"]))
            row.bot_token_expires_at = now + dt.timedelta(
                seconds=int(response.get("expires_in") or 43200)
            )
            log.info("token_refreshed", installation_id=installation_id)
            return str(response["access_token"])


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    """The DM channel id with a user (conversations.open is idempotent)."""
    response = await client.conversations_open(users=user_id)
    channel: dict[str, Any] = response["channel"]
    return str(channel["id"])


async def send_dm(client: AsyncWebClient, user_id: str, text: str, blocks: list[Any]) -> None:
    channel = await open_dm(client, user_id)
    await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
