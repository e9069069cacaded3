"""Outgoing webhooks, the domain side, on both databases: the use cases (create, list, delete,
re-enable) with their permission checks, URL and event validation and audit; the outbox
(events ride the caller's transaction; only subscribed, enabled webhooks get a row); and the
sender (signed POSTs to a local receiver, back-off for 24 hours, claims that a lost lease can't
overwrite, no redirects, no private addresses, no proxies from the environment).

The app over HTTP, Slack answers and restarts: tests/test_webhook_delivery.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, select

import bot.net
from bot import operations, webhooks
from bot.outcomes import FieldErrors, Refusal
from bot.people import Caller
from bot.rules.permissions import Actor, Why
from bot.rules.signing import GIVE_UP_AFTER, WebhookEvent, retry_delay_bound
from bot.runtime import Services
from bot.settings import load_settings
from bot.slack.gateway import SlackGateway
from bot.views import wording
from bot.webhooks import WebhookCreated, WebhookDraft, WebhookField, WebhookList
from storage import members as members_db
from storage import standups as standups_db
from storage import webhooks as webhooks_db
from storage import workspaces as workspaces_db
from storage.crypto import SecretBox
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import AuditEntry, Webhook, WebhookDelivery
from tests.webhook_receiver import FrozenClock, Receiver, spec_signature_ok

OWNER, PEER, ADMIN, STRANGER = "U0OWNER01", "U0PEER001", "U0ADMIN01", "U0STRANGE"
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
ALL_EVENTS = [e.value for e in WebhookEvent]


@dataclass
class World:
    services: Services
    clock: FrozenClock
    workspace_id: int
    other_workspace_id: int
    standup_id: int
    other_standup_id: int

    def caller(self, user_id: str, *, admin: bool = False, other: bool = False) -> Caller:
        workspace = self.other_workspace_id if other else self.workspace_id
        return Caller.known(workspace, Actor(user_id, admin))

    async def deliver(self) -> int:
        return await webhooks.deliver_due(self.services)


@asynccontextmanager
async def make_world(
    database_url: str, *, allow_private: bool = True, keys: list[str] | None = None
) -> AsyncIterator[World]:
    """Two workspaces with a standup "Daily" each (owner OWNER, participants OWNER and PEER);
    a second world on the same database finds them again."""
    settings = load_settings(
        slack_signing_secret="s" * 32,
        slack_bot_token="xoxb-never-called",
        slack_api_url="http://127.0.0.1:9/api/",  # nothing listens: no Slack call may happen
        database_url=database_url,
        webhook_allow_private=allow_private,
        _env_file=None,
    )
    keys = [Fernet.generate_key().decode()] if keys is None else keys
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    clock = FrozenClock(NOW)
    box = SecretBox(keys) if keys else None
    services = Services(
        settings=settings, db=db, slack=SlackGateway(settings, box, db), clock=clock
    )
    ids: list[int] = []
    standup_ids: list[int] = []
    async with db.session() as session:
        for team in ("T0HOME001", "T0OTHER01"):
            workspace_id = (await workspaces_db.ensure_workspace(session, team)).id
            ids.append(workspace_id)
            for user in (OWNER, PEER, ADMIN, STRANGER):
                await members_db.update_member_profile(
                    session,
                    workspace_id,
                    user,
                    name=user,
                    tz="Europe/Berlin",
                    is_bot=False,
                    deleted=False,
                    now=NOW,
                )
            standup = await standups_db.find_standup_by_name(
                session, workspace_id, "daily"
            ) or await standups_db.create_standup(
                session,
                workspace_id,
                name="Daily",
                name_key="daily",
                channel_id="C0TEAM001",
                questions=["Yesterday?", "Today?"],
                weekday_mask=31,
                local_time="09:30",
                tz_mode="participant",
                fixed_tz=None,
                owner_user_id=OWNER,
                participant_ids=[OWNER, PEER],
                now=NOW,
            )
            standup_ids.append(standup.id)
    try:
        yield World(services, clock, ids[0], ids[1], standup_ids[0], standup_ids[1])
    finally:
        await services.slack.close()
        await db.dispose()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with make_world(database_url) as made:
        yield made


@pytest.fixture
async def receiver(world: World) -> AsyncIterator[Receiver]:
    made = await Receiver(clock=world.clock).start()
    try:
        yield made
    finally:
        await made.stop()


async def add_webhook(
    world: World,
    url: str,
    events: list[str] | None = None,
    *,
    user: str = OWNER,
    receiver: Receiver | None = None,
) -> WebhookCreated:
    outcome = await webhooks.create(
        world.services,
        world.caller(user),
        world.standup_id,
        WebhookDraft(url, ALL_EVENTS if events is None else events),
    )
    assert isinstance(outcome, WebhookCreated), outcome
    if receiver is not None:
        receiver.secrets[url.split(str(receiver.port), 1)[1]] = outcome.secret
    return outcome


async def enqueue(world: World, event: WebhookEvent, data: dict[str, Any] | None = None) -> int:
    async with world.services.db.session() as session:
        return await webhooks.enqueue(
            session,
            world.workspace_id,
            world.standup_id,
            event,
            data if data is not None else {"n": 1},
            now=world.clock(),
        )


async def deliveries(world: World) -> list[WebhookDelivery]:
    async with world.services.db.session() as session:
        rows = await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return list(rows.scalars())


async def webhook_rows(world: World) -> list[Webhook]:
    async with world.services.db.session() as session:
        return list((await session.execute(select(Webhook).order_by(Webhook.id))).scalars())


async def audit_entries(world: World) -> list[AuditEntry]:
    async with world.services.db.session() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


# --- create, list, delete, re-enable ----------------------------------------------------------


async def test_create_returns_the_secret_once_stores_it_encrypted_and_audits(
    world: World,
) -> None:
    created = await add_webhook(
        world, "http://127.0.0.1:9/hook", ["run.closed", "answer.submitted"]
    )
    assert created.secret.startswith("whsec_") and len(created.secret) > 40
    assert created.secret not in repr(created)  # no accidental log line shows it
    # Canonical order, whatever order they were asked for in.
    assert created.webhook.events == ["answer.submitted", "run.closed"]
    assert created.webhook.enabled and created.webhook.created_by == OWNER

    [row] = await webhook_rows(world)
    assert created.secret not in row.secret_encrypted
    box = world.services.slack.secret_box
    assert box is not None and box.decrypt(row.secret_encrypted) == created.secret

    listed = await webhooks.list_webhooks(world.services, world.caller(OWNER), world.standup_id)
    assert isinstance(listed, WebhookList) and listed.standup_name == "Daily"
    [shown] = listed.webhooks
    assert shown.url == "http://127.0.0.1:9/hook" and shown.recent == []
    assert created.secret not in repr(listed)  # the secret is never shown again

    [entry] = await audit_entries(world)
    assert (entry.action, entry.actor_user_id, entry.standup_id) == (
        "webhook_create",
        OWNER,
        world.standup_id,
    )
    assert entry.after == {
        "url": "http://127.0.0.1:9/hook",
        "events": ["answer.submitted", "run.closed"],
    }
    assert created.secret not in json.dumps(entry.after)


async def test_owners_and_admins_manage_webhooks_participants_and_strangers_may_not(
    world: World,
) -> None:
    services, url = world.services, "http://127.0.0.1:9/hook"
    for user in (PEER, STRANGER):
        refused = await webhooks.create(
            services, world.caller(user), world.standup_id, WebhookDraft(url, ALL_EVENTS)
        )
        assert refused == Refusal(Why.NOT_MANAGER, "Daily")
        assert "Only the owners of" in wording.refusal_plain(refused)
    assert await webhook_rows(world) == []

    by_admin = await webhooks.create(
        services, world.caller(ADMIN, admin=True), world.standup_id, WebhookDraft(url, ALL_EVENTS)
    )
    assert isinstance(by_admin, WebhookCreated)
    webhook_id = by_admin.webhook.webhook_id

    for user in (PEER, STRANGER):
        caller = world.caller(user)
        assert await webhooks.list_webhooks(services, caller, world.standup_id) == Refusal(
            Why.NOT_MANAGER, "Daily"
        )
        assert await webhooks.delete(services, caller, webhook_id) == Refusal(
            Why.NOT_MANAGER, "Daily"
        )
        assert await webhooks.enable(services, caller, webhook_id) == Refusal(
            Why.NOT_MANAGER, "Daily"
        )

    # Another workspace's ids are not found, even by that workspace's admin.
    other_admin = world.caller(ADMIN, admin=True, other=True)
    assert await webhooks.delete(services, other_admin, webhook_id) == Refusal(Why.WEBHOOK_GONE)
    assert await webhooks.enable(services, other_admin, webhook_id) == Refusal(Why.WEBHOOK_GONE)
    assert await webhooks.list_webhooks(services, other_admin, world.standup_id) == Refusal(
        Why.STANDUP_GONE
    )
    assert await webhooks.create(
        services, other_admin, world.standup_id, WebhookDraft(url, ALL_EVENTS)
    ) == Refusal(Why.STANDUP_GONE)
    assert len(await webhook_rows(world)) == 1

    deleted = await webhooks.delete(services, world.caller(OWNER), webhook_id)
    assert isinstance(deleted, webhooks.WebhookDeleted) and deleted.url == url
    assert await webhook_rows(world) == []
    assert await webhooks.delete(services, world.caller(OWNER), webhook_id) == Refusal(
        Why.WEBHOOK_GONE
    )
    assert [e.action for e in await audit_entries(world)] == ["webhook_create", "webhook_delete"]


REFUSED_URLS = {
    "http://127.0.0.1:8080/hook": "loopback",
    "http://localhost/hook": "this server itself",
    "http://10.0.0.7/admin": "private",
    "http://192.168.1.1/": "private",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://[::1]/hook": "loopback",
    "http://2130706433/": "loopback",  # 127.0.0.1 in an old numeric form
    "ftp://example.com/hook": "Only http:// and https://",
    "javascript:alert(1)": "Only http:// and https://",
    "file:///etc/passwd": "Only http:// and https://",
    "http://user:pass@example.com/": "user name or password",
    "": "Enter a URL",
}


async def test_urls_and_events_are_checked_and_private_addresses_refused(
    database_url: str,
) -> None:
    async with make_world(database_url, allow_private=False) as world:
        for url, reason in REFUSED_URLS.items():
            outcome = await webhooks.create(
                world.services, world.caller(OWNER), world.standup_id, WebhookDraft(url, ALL_EVENTS)
            )
            assert isinstance(outcome, FieldErrors), (url, outcome)
            assert reason in outcome.errors[WebhookField.URL], (url, outcome)
        bad_events: list[tuple[list[Any], str]] = [
            ([], "Choose at least one event"),
            (["answer.submitted", "answer.deleted"], "Unknown event(s): answer.deleted"),
            ([1], "Unknown event(s): 1"),  # from JSON, anything may come
        ]
        for events, reason in bad_events:
            outcome = await webhooks.create(
                world.services,
                world.caller(OWNER),
                world.standup_id,
                WebhookDraft("https://8.8.8.8/hook", events),
            )
            assert isinstance(outcome, FieldErrors)
            assert reason in outcome.errors[WebhookField.EVENTS]
        assert await webhook_rows(world) == []
        # A public address is fine.
        assert isinstance(await add_webhook(world, "https://8.8.8.8/hook"), WebhookCreated)

    # WEBHOOK_ALLOW_PRIVATE=true (tests, self-hosted receivers): private addresses are allowed,
    # other schemes still are not.
    async with make_world(database_url, allow_private=True) as world:
        created = await add_webhook(world, "http://127.0.0.1:8080/hook", ["run.closed"])
        assert created.webhook.url == "http://127.0.0.1:8080/hook"
        outcome = await webhooks.create(
            world.services,
            world.caller(OWNER),
            world.standup_id,
            WebhookDraft("ftp://127.0.0.1/hook", ["run.closed"]),
        )
        assert isinstance(outcome, FieldErrors) and WebhookField.URL in outcome.errors


async def test_without_encryption_key_webhooks_are_refused_with_a_clear_reason(
    database_url: str,
) -> None:
    async with make_world(database_url, keys=[]) as world:
        refused = await webhooks.create(
            world.services,
            world.caller(OWNER),
            world.standup_id,
            WebhookDraft("http://127.0.0.1:9/hook", ALL_EVENTS),
        )
        assert refused == Refusal(Why.WEBHOOKS_NEED_KEY, "Daily")
        assert "ENCRYPTION_KEY" in wording.refusal_plain(refused)
        assert await webhook_rows(world) == []


async def test_a_standup_has_at_most_ten_webhooks_each_url_once(world: World) -> None:
    await add_webhook(world, "http://127.0.0.1:9/hook")
    again = await webhooks.create(
        world.services,
        world.caller(OWNER),
        world.standup_id,
        WebhookDraft(" http://127.0.0.1:9/hook ", ["run.closed"]),
    )
    assert isinstance(again, FieldErrors) and "already" in again.errors[WebhookField.URL]
    for n in range(1, webhooks.MAX_WEBHOOKS_PER_STANDUP):
        await add_webhook(world, f"http://127.0.0.1:9/hook{n}")
    full = await webhooks.create(
        world.services,
        world.caller(OWNER),
        world.standup_id,
        WebhookDraft("http://127.0.0.1:9/one-more", ALL_EVENTS),
    )
    assert full == Refusal(Why.WEBHOOK_LIMIT, "Daily", limit=10)
    assert "at most 10 webhooks" in wording.refusal_plain(full)


# --- the outbox -------------------------------------------------------------------------------


async def test_only_subscribed_enabled_webhooks_get_a_delivery_with_the_envelope(
    world: World,
) -> None:
    answers = await add_webhook(world, "http://127.0.0.1:9/answers", ["answer.submitted"])
    await add_webhook(world, "http://127.0.0.1:9/runs", ["run.closed"])
    off = await add_webhook(world, "http://127.0.0.1:9/off", ["answer.submitted"])
    async with world.services.db.session() as session:
        await webhooks_db.disable_webhook(
            session, world.workspace_id, off.webhook.webhook_id, reason="test", now=NOW
        )
    data = {"run": {"id": 1, "date": "2026-12-01"}, "user": PEER, "answers": []}
    assert await enqueue(world, WebhookEvent.ANSWER_SUBMITTED, data) == 1
    assert await enqueue(world, WebhookEvent.BLOCKER_OPENED) == 0  # nobody subscribed

    [row] = await deliveries(world)
    assert row.webhook_id == answers.webhook.webhook_id
    assert row.event_type == "answer.submitted" and row.event_id.startswith("evt_")
    assert row.payload == {
        "id": row.event_id,
        "type": "answer.submitted",
        "created_at": "2026-12-01T08:00:00Z",
        "workspace": {"team_id": "T0HOME001"},
        "standup": {"id": world.standup_id, "name": "Daily"},
        "data": data,
    }
    with pytest.raises(ValueError):
        await enqueue(world, "answer.deleted")  # type: ignore[arg-type]


async def test_an_event_exists_only_if_the_change_that_caused_it_commits(world: World) -> None:
    await add_webhook(world, "http://127.0.0.1:9/hook")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with world.services.db.session() as session:
            queued = await webhooks.enqueue(
                session,
                world.workspace_id,
                world.standup_id,
                WebhookEvent.BLOCKER_OPENED,
                {"text": "CI is red"},
                now=NOW,
            )
            assert queued == 1
            raise Boom  # the change failed: its transaction rolls back, the event with it
    assert await deliveries(world) == []


# --- sending ----------------------------------------------------------------------------------


async def test_a_delivery_is_posted_signed_and_recorded(world: World, receiver: Receiver) -> None:
    created = await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.RUN_CLOSED, {"run": {"id": 3}})
    assert await world.deliver() == 1

    [got] = receiver.received
    assert got.verified and got.spec_verified
    assert got.headers["X-AsyncStand-Event"] == "run.closed"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-AsyncStand-Timestamp"] == str(int(NOW.timestamp()))
    [row] = await deliveries(world)
    assert got.delivery_id == str(row.id)
    assert got.payload == row.payload and got.payload["data"] == {"run": {"id": 3}}
    # Tampering or another secret fails both checks.
    assert not spec_signature_ok(created.secret, got.headers, got.body + b" ")
    assert not spec_signature_ok("whsec_other", got.headers, got.body)

    assert (row.attempts, row.last_status, row.delivered_at, row.gave_up_at) == (1, 200, NOW, None)
    assert await world.deliver() == 0  # delivered means done
    listed = await webhooks.list_webhooks(world.services, world.caller(OWNER), world.standup_id)
    assert isinstance(listed, WebhookList)
    [log_entry] = listed.webhooks[0].recent
    assert (log_entry.status, log_entry.attempts, log_entry.last_status) == ("delivered", 1, 200)


async def test_failures_back_off_exponentially_and_give_up_after_24_hours(
    world: World, receiver: Receiver
) -> None:
    receiver.default = 500
    await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.ANSWER_SUBMITTED)
    created_at = world.clock()
    attempt = 0
    while True:
        before = len(receiver.received)
        assert await world.deliver() == 1
        attempt += 1
        assert len(receiver.received) == before + 1
        [row] = await deliveries(world)
        assert row.attempts == attempt and row.last_status == 500 and row.last_error == "HTTP 500"
        if row.gave_up_at is not None:
            break
        now = world.clock()
        # Full jitter: somewhere between now and the bound for this retry.
        assert now <= row.next_attempt_at <= now + retry_delay_bound(attempt)
        if row.next_attempt_at > now:
            world.clock.set(row.next_attempt_at - dt.timedelta(milliseconds=1))
            assert await world.deliver() == 0  # not before its time
        world.clock.set(row.next_attempt_at)
    assert world.clock() - created_at >= GIVE_UP_AFTER
    assert world.clock() - created_at < GIVE_UP_AFTER + retry_delay_bound(attempt)
    assert attempt >= 24  # hourly retries once the back-off reaches its cap
    assert all(r.verified and r.spec_verified for r in receiver.received)
    assert len({r.delivery_id for r in receiver.received}) == 1
    [webhook] = await webhook_rows(world)
    assert webhook.consecutive_failures == 1 and webhook.disabled_at is None

    # A delivery that gets through ends the run of failures.
    receiver.default = 200
    await enqueue(world, WebhookEvent.ANSWER_SUBMITTED)
    assert await world.deliver() == 1
    [webhook] = await webhook_rows(world)
    assert webhook.consecutive_failures == 0


async def test_redirects_are_not_followed(world: World, receiver: Receiver) -> None:
    receiver.script["/hook"] = [302]
    await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.RUN_CLOSED)
    await world.deliver()
    assert [r.path for r in receiver.received] == ["/hook"]  # never /elsewhere
    [row] = await deliveries(world)
    assert row.last_status == 302 and row.delivered_at is None
    assert row.last_error == "HTTP 302 (redirects are not followed)"


async def test_a_receiver_that_does_not_answer_in_time_is_a_failure(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "POST_TIMEOUT_SECONDS", 0.3)
    receiver.delay = 2.0
    await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.RUN_CLOSED)
    await world.deliver()
    [row] = await deliveries(world)
    assert row.delivered_at is None and row.last_error == "no answer within 0.3 seconds"


async def test_private_addresses_are_refused_when_sending_too(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL stored before WEBHOOK_ALLOW_PRIVATE was turned off, or a host name that resolved
    to a public address when it was saved and to this machine when it is used (DNS
    rebinding): nothing reaches the local receiver."""
    async with make_world(database_url, allow_private=False) as world:
        receiver = await Receiver(clock=world.clock).start()
        try:
            box = world.services.slack.secret_box
            assert box is not None
            async with world.services.db.session() as session:
                for path, host in (("/literal", "127.0.0.1"), ("/rebound", "localhost")):
                    await webhooks_db.create_webhook(
                        session,
                        world.workspace_id,
                        world.standup_id,
                        url=f"http://{host}:{receiver.port}{path}",
                        secret_encrypted=box.encrypt("whsec_x"),
                        events=ALL_EVENTS,
                        created_by=OWNER,
                        now=NOW,
                    )

            await enqueue(world, WebhookEvent.RUN_CLOSED)
            # The check at send time stops the literal address before any connection.
            original = bot.net.check_public_http_url

            async def check(url: str, *, allow_private: bool) -> str | None:
                if "localhost" in url:
                    return None  # "resolved to a public address a second ago"
                return await original(url, allow_private=allow_private)

            monkeypatch.setattr(webhooks, "check_public_http_url", check)
            assert await world.deliver() == 2
            assert receiver.received == []
            errors = {r.webhook_id: r.last_error or "" for r in await deliveries(world)}
            literal, rebound = sorted(errors)
            assert "127.0.0.1 is a loopback address" in errors[literal]
            # The connection itself is refused by PublicOnlyResolver.
            assert "localhost resolves to a loopback address" in errors[rebound]
            assert "only public internet addresses are allowed" in errors[rebound]
        finally:
            await receiver.stop()


async def test_proxies_from_the_environment_are_not_used(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await Receiver(clock=world.clock).start()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url(""))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        await add_webhook(world, receiver.url("/hook"), receiver=receiver)
        await enqueue(world, WebhookEvent.RUN_CLOSED)
        await world.deliver()
        assert len(receiver.received) == 1 and proxy.received == []
    finally:
        await proxy.stop()


async def test_deliveries_of_a_disabled_webhook_or_an_uninstalled_workspace_are_given_up(
    world: World, receiver: Receiver
) -> None:
    created = await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.RUN_CLOSED)
    async with world.services.db.session() as session:
        await workspaces_db.deactivate(session, world.workspace_id)
    await world.deliver()
    [row] = await deliveries(world)
    assert row.gave_up_at is not None and "uninstalled" in (row.last_error or "")
    assert receiver.received == []
    [webhook] = await webhook_rows(world)
    assert webhook.consecutive_failures == 0  # not the receiver's fault
    assert created.webhook.enabled


async def test_re_enabling_resets_the_failure_count(world: World) -> None:
    created = await add_webhook(world, "http://127.0.0.1:9/hook")
    webhook_id = created.webhook.webhook_id
    unchanged = await webhooks.enable(world.services, world.caller(OWNER), webhook_id)
    assert isinstance(unchanged, webhooks.WebhookEnabled) and not unchanged.changed
    async with world.services.db.session() as session:
        for _ in range(3):
            await webhooks_db.add_failure(session, world.workspace_id, webhook_id)
        assert await webhooks_db.disable_webhook(
            session, world.workspace_id, webhook_id, reason="15 deliveries in a row failed", now=NOW
        )
    # Disabled: new events are not queued for it.
    assert await enqueue(world, WebhookEvent.RUN_CLOSED) == 0
    listed = await webhooks.list_webhooks(world.services, world.caller(OWNER), world.standup_id)
    assert isinstance(listed, WebhookList)
    assert not listed.webhooks[0].enabled
    assert listed.webhooks[0].disabled_reason == "15 deliveries in a row failed"

    enabled = await webhooks.enable(world.services, world.caller(ADMIN, admin=True), webhook_id)
    assert isinstance(enabled, webhooks.WebhookEnabled) and enabled.changed
    assert enabled.webhook.enabled and enabled.webhook.consecutive_failures == 0
    assert enabled.webhook.disabled_reason is None
    assert await enqueue(world, WebhookEvent.RUN_CLOSED) == 1
    assert [e.action for e in await audit_entries(world)][-1] == "webhook_enable"


# --- claims -----------------------------------------------------------------------------------


async def test_a_sender_whose_lease_ran_out_cannot_record_over_the_new_claim(world: World) -> None:
    await add_webhook(world, "http://127.0.0.1:9/hook")
    await enqueue(world, WebhookEvent.RUN_CLOSED)
    lease = dt.timedelta(minutes=2)
    async with world.services.db.session() as session:
        [(workspace_id, delivery_id, first)] = await webhooks_db.claim_due(session, NOW, lease, 10)
        assert await webhooks_db.claim_due(session, NOW + lease / 2, lease, 10) == []
    later = NOW + lease + dt.timedelta(seconds=1)
    async with world.services.db.session() as session:
        [(_, _, second)] = await webhooks_db.claim_due(session, later, lease, 10)
    assert (first, second) == (1, 2)
    async with world.services.db.session() as session:
        assert not await webhooks_db.record_delivered(
            session, workspace_id, delivery_id, first, status=200, now=later
        )
        assert await webhooks_db.record_delivered(
            session, workspace_id, delivery_id, second, status=200, now=later
        )
        assert not await webhooks_db.record_failure(
            session,
            workspace_id,
            delivery_id,
            second,
            status=500,
            error="late",
            retry_at=later,
            now=later,
        )


async def test_concurrent_claimers_never_take_the_same_delivery(
    world: World, database_url: str
) -> None:
    await add_webhook(world, "http://127.0.0.1:9/hook")
    for _ in range(60):
        await enqueue(world, WebhookEvent.RUN_CLOSED)
    others = [Database(database_url) for _ in range(3)]
    try:

        async def claim_all(db: Database) -> list[int]:
            taken: list[int] = []
            while True:
                async with db.session() as session:
                    got = await webhooks_db.claim_due(session, NOW, dt.timedelta(minutes=2), 7)
                if not got:
                    return taken
                taken += [d for _, d, _ in got]
                await asyncio.sleep(0)

        results = await asyncio.gather(*(claim_all(db) for db in others))
    finally:
        for db in others:
            await db.dispose()
    taken = [d for result in results for d in result]
    assert len(taken) == 60 and len(set(taken)) == 60


async def test_an_idle_delivery_step_is_one_statement(world: World) -> None:
    await add_webhook(world, "http://127.0.0.1:9/hook")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = world.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert await world.deliver() == 0
    finally:
        event.remove(engine, "before_cursor_execute", count)
    [statement] = statements
    assert statement.startswith("UPDATE webhook_delivery")


async def test_old_finished_deliveries_are_forgotten(world: World, receiver: Receiver) -> None:
    await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.RUN_CLOSED)
    await world.deliver()
    world.clock.advance(days=29)
    await enqueue(world, WebhookEvent.RUN_CLOSED)  # outstanding: kept whatever its age
    world.clock.advance(days=2)
    assert await webhooks.forget_old(world.services) == 1
    [left] = await deliveries(world)
    assert left.delivered_at is None


async def test_key_rotation_re_encrypts_webhook_secrets(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with make_world(database_url, keys=[old]) as world:
        created = await add_webhook(world, "http://127.0.0.1:9/hook")
        rotated = await operations.rotate_keys(world.services.db, SecretBox([new, old]))
        assert rotated == 1
        [row] = await webhook_rows(world)
        assert SecretBox([new]).decrypt(row.secret_encrypted) == created.secret


async def test_a_crash_while_sending_one_delivery_spares_the_others_and_is_retried_later(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that dies mid-delivery (here: an unexpected error) leaves its claim; the
    delivery is tried again when the lease ends — at least once, never lost."""
    await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    for n in range(3):
        await enqueue(world, WebhookEvent.RUN_CLOSED, {"n": n})
    real_send = webhooks._send
    crashed: list[int] = []

    async def flaky_send(*args: Any) -> tuple[int | None, str | None]:
        item = args[2]
        if item.delivery.payload["data"]["n"] == 1 and not crashed:
            crashed.append(item.delivery.id)
            raise RuntimeError("the process died here")
        return await real_send(*args)

    monkeypatch.setattr(webhooks, "_send", flaky_send)
    assert await world.deliver() == 3
    assert sorted(r.payload["data"]["n"] for r in receiver.received) == [0, 2]
    assert await world.deliver() == 0  # still held by the dead sender's lease
    world.clock.advance(seconds=webhooks.DELIVERY_LEASE.total_seconds() + 1)
    assert await world.deliver() == 1
    assert sorted(r.payload["data"]["n"] for r in receiver.received) == [0, 1, 2]
    rows = {r.id: r for r in await deliveries(world)}
    assert rows[crashed[0]].attempts == 2 and rows[crashed[0]].delivered_at is not None


def readme_example(name: str) -> str:
    """The Python code block in README.md that defines `name`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", readme, re.DOTALL):
        if f"def {name}(" in block:
            return str(block)
    raise AssertionError(f"README.md has no Python example defining {name}")


async def test_the_readme_verification_example_accepts_our_requests_and_nothing_else(
    world: World, receiver: Receiver
) -> None:
    world.clock.set(dt.datetime.now(dt.UTC))  # the example checks freshness with time.time()
    created = await add_webhook(world, receiver.url("/hook"), receiver=receiver)
    await enqueue(world, WebhookEvent.ANSWER_SUBMITTED, {"answers": ["ünïcode ✓"]})
    await world.deliver()
    [got] = receiver.received
    namespace: dict[str, Any] = {}
    exec(readme_example("verify_asyncstand"), namespace)
    verify_asyncstand = namespace["verify_asyncstand"]
    assert verify_asyncstand(created.secret, got.headers, got.body)
    assert not verify_asyncstand(created.secret, got.headers, got.body + b"\n")
    assert not verify_asyncstand("whsec_not-the-secret", got.headers, got.body)
    stale = dict(got.headers, **{"X-AsyncStand-Timestamp": "1700000000"})
    assert not verify_asyncstand(created.secret, stale, got.body)
    hostile = dict(got.headers, **{"X-AsyncStand-Signature": "v1=ü" + "0" * 63})
    assert not verify_asyncstand(created.secret, hostile, got.body)
