"""Outgoing webhooks end to end: the real app over HTTP against the Slack stand-in, on both
databases, posting to a local receiver that checks every signature (with
``bot.rules.signing.verify`` and independently with ``hmac``).

The app's clock is frozen (``FrozenClock``) and moved by the test, so retries happen exactly when
their back-off says and 24 hours pass in a moment. ``WEBHOOK_ALLOW_PRIVATE=true`` lets the app
post to the receiver on 127.0.0.1.

The issue's acceptance: an answer submitted in Slack reaches a webhook receiver once, signed,
even if the app restarts while the receiver is failing
(``test_an_answer_reaches_a_failing_receiver_once_even_across_a_restart``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import structlog
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import webhooks
from bot.people import Caller
from bot.rules.permissions import Actor
from bot.rules.signing import DISABLE_AFTER_FAILURES, WebhookEvent, retry_delay_bound
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from bot.webhooks import WebhookCreated, WebhookDraft
from storage import standups as standups_db
from storage import workspaces as workspaces_db
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import AuditEntry, Webhook, WebhookDelivery
from tests.harness import (
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import Call, FakeSlack
from tests.webhook_receiver import FrozenClock, Receiver

ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL = "C0STANDUP1"
ZONE = "Europe/Berlin"
QUESTIONS = ["What did you do?", "What's next?"]
KEY = Fernet.generate_key().decode()
ALL_EVENTS = [e.value for e in WebhookEvent]


def frozen_now() -> FrozenClock:
    return FrozenClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


async def launch(database_url: str, slack: FakeSlack, clock: FrozenClock) -> RunningApp:
    return await start_app(
        database_url,
        slack,
        clock=clock,
        encryption_key=KEY,
        webhook_allow_private=True,
        scheduler_tick_seconds=0.5,
    )


async def tick(app: RunningApp) -> None:
    """One scheduler tick now (after any tick in progress); it must not log errors."""
    worker = app.app.worker
    assert worker is not None
    with structlog.testing.capture_logs() as logs:
        await worker.tick()
    errors = [e for e in logs if e.get("log_level") in ("error", "critical")]
    assert not errors, f"scheduler tick logged errors: {errors!r}"


@dataclass
class Standup:
    workspace_id: int
    standup_id: int
    prompts: dict[str, Call]  # the prompt DM each participant got


async def workspace_id(app: RunningApp) -> int:
    async with app.app.services.db.session() as session:
        workspace = await workspaces_db.get_workspace(session, app.slack.team_id)
    assert workspace is not None
    return workspace.id


async def standup_via_slack(app: RunningApp, slack: FakeSlack) -> Standup:
    """Alice creates "Core" (Alice and Bob) in Slack and starts today's run."""
    req = app.requests
    await req.command(ALICE, "create")
    [opened] = await slack.wait_for("views.open")
    far = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).astimezone(ZoneInfo(ZONE))
    status, text = await req.view_submission(
        ALICE,
        opened.body["view"],
        create_form_values(
            name="Core",
            channel=CHANNEL,
            questions=QUESTIONS,
            participants=[ALICE, BOB],
            days=list(range(7)),
            time=far.strftime("%H:%M"),
        ),
    )
    assert status == 200 and "errors" not in text, text
    await req.command(ALICE, "run Core")
    calls = await slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
    prompts = {"U" + c.body["channel"][1:]: c for c in calls}
    workspace = await workspace_id(app)
    async with app.app.services.db.session() as session:
        standup = await standups_db.find_standup_by_name(session, workspace, name_key("Core"))
    assert standup is not None
    return Standup(workspace, standup.id, prompts)


async def add_webhook(
    app: RunningApp,
    standup: Standup,
    receiver: Receiver,
    path: str = "/hook",
    events: list[str] = ALL_EVENTS,
) -> WebhookCreated:
    """Alice (the standup's owner) adds a webhook, as the web page or the API will: through
    the use case."""
    created = await webhooks.create(
        app.app.services,
        Caller.known(standup.workspace_id, Actor(ALICE, is_admin=False)),
        standup.standup_id,
        WebhookDraft(receiver.url(path), events),
    )
    assert isinstance(created, WebhookCreated), created
    receiver.secrets[path] = created.secret  # the only time the secret is shown
    return created


async def answer(app: RunningApp, standup: Standup, user: str, answers: list[str]) -> None:
    """`user` clicks Answer (or Edit) on their DM prompt and submits the form."""
    slack = app.slack
    prompt = standup.prompts[user]
    channel, ts = prompt.response["channel"], prompt.response["ts"]
    message = slack.get_message(channel, ts)
    assert message is not None
    action = "prompt_edit" if "prompt_edit" in json.dumps(message["blocks"]) else "prompt_answer"
    opened_before = len(slack.calls_to("views.open"))
    value = find_action(message["blocks"], action)["value"]
    await app.requests.block_action(user, action, value, channel_id=channel, message=message)
    opened = await slack.wait_for("views.open", count=opened_before + 1)
    status, text = await app.requests.view_submission(
        user, opened[-1].body["view"], answer_values(answers)
    )
    assert status == 200 and "errors" not in text, text


async def delivery_rows(database_url: str) -> list[WebhookDelivery]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))
            return list(rows.scalars())
    finally:
        await db.dispose()


async def settled_row(database_url: str, attempts: int) -> WebhookDelivery:
    """The one delivery row once its attempt number `attempts` has been recorded."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        [row] = await delivery_rows(database_url)
        if row.attempts >= attempts and row.lease_until is None:
            return row
        assert asyncio.get_running_loop().time() < deadline, "the attempt was never recorded"
        await asyncio.sleep(0.02)


async def retry_after_back_off(
    app: RunningApp, database_url: str, receiver: Receiver, *, attempt: int, status: int
) -> None:
    """Attempt number `attempt` failed with `status`: nothing is sent until the time its
    back-off chose (at most the bound for that retry), then the next attempt is."""
    row = await settled_row(database_url, attempt)
    clock = app.app.services.clock
    assert isinstance(clock, FrozenClock)
    now = clock()
    assert row.last_status == status and row.delivered_at is None
    assert now <= row.next_attempt_at <= now + retry_delay_bound(attempt)
    if row.next_attempt_at > now:
        clock.set(row.next_attempt_at - dt.timedelta(milliseconds=1))
        await tick(app)
        assert len(receiver.received) == attempt, "retried before its back-off"
    clock.set(row.next_attempt_at)
    await tick(app)
    assert len(receiver.received) == attempt + 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = await Receiver(clock=lambda: dt.datetime.now(dt.UTC)).start()
    try:
        yield made
    finally:
        await made.stop()


# --- an answer, an edit, a close --------------------------------------------------------------


async def test_an_answer_submitted_in_slack_reaches_the_receiver_once_signed(
    database_url: str, receiver: Receiver
) -> None:
    clock = frozen_now()
    receiver.clock = clock
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await launch(database_url, slack, clock)
        try:
            standup = await standup_via_slack(app, slack)
            await add_webhook(app, standup, receiver)

            await answer(app, standup, ALICE, ["shipped <b>it</b> & more", "tests"])
            [got] = await receiver.wait_for(1)
            assert got.verified and got.spec_verified
            assert got.headers["X-AsyncStand-Event"] == "answer.submitted"
            payload = got.payload
            assert payload["type"] == "answer.submitted" and payload["id"].startswith("evt_")
            assert payload["workspace"] == {"team_id": slack.team_id}
            assert payload["standup"] == {"id": standup.standup_id, "name": "Core"}
            data = payload["data"]
            assert data["user"] == ALICE
            assert data["answers"] == [
                {"question": QUESTIONS[0], "type": "text", "answer": "shipped <b>it</b> & more"},
                {"question": QUESTIONS[1], "type": "text", "answer": "tests"},
            ]
            assert data["run"]["date"] == clock().astimezone(ZoneInfo(ZONE)).date().isoformat()
            await asyncio.sleep(1.5)  # three more ticks: nothing is sent twice
            assert len(receiver.received) == 1

            # Alice edits her answers: answer.updated, a new delivery.
            await answer(app, standup, ALICE, ["shipped it", "more tests"])
            updated = (await receiver.wait_for(2))[1]
            assert updated.verified and updated.spec_verified
            assert updated.payload["type"] == "answer.updated"
            assert updated.payload["data"]["answers"][1]["answer"] == "more tests"
            assert updated.delivery_id != got.delivery_id

            # The run closes (its window is RUN_CLOSE_AFTER_MINUTES): run.closed, roll call.
            clock.advance(minutes=241)
            await tick(app)
            closed = (await receiver.wait_for(3))[2]
            assert closed.verified and closed.payload["type"] == "run.closed"
            roll = {p["user"]: p["status"] for p in closed.payload["data"]["participants"]}
            assert roll == {ALICE: "answered", BOB: "missed"}
            await tick(app)
            assert len(receiver.received) == 3
            assert len({r.delivery_id for r in receiver.received}) == 3
            assert all(r.status == 200 for r in receiver.received)
            assert all(d.delivered_at is not None for d in await delivery_rows(database_url))
        finally:
            await app.stop()


# --- the acceptance: a failing receiver and a restart ---------------------------------------------


async def test_an_answer_reaches_a_failing_receiver_once_even_across_a_restart(
    database_url: str, receiver: Receiver
) -> None:
    clock = frozen_now()
    receiver.clock = clock
    receiver.script["/hook"] = [500, 502, 503]  # then 200
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await launch(database_url, slack, clock)
        try:
            standup = await standup_via_slack(app, slack)
            # Answers only: the run closing later (a day passes below) is not this test's.
            await add_webhook(app, standup, receiver, events=["answer.submitted"])
            await answer(app, standup, BOB, ["fixed the build", "docs"])

            # First attempt: 500. The retry waits its back-off, not a moment less: 502.
            await receiver.wait_for(1)
            await retry_after_back_off(app, database_url, receiver, attempt=1, status=500)
            row = await settled_row(database_url, 2)
            assert row.last_status == 502
        finally:
            await app.stop()  # stopped while the receiver is still failing

        [row] = await delivery_rows(database_url)
        assert row.delivered_at is None and row.gave_up_at is None and row.attempts == 2
        clock.advance(minutes=10)  # the app is down for a while

        app = await launch(database_url, slack, clock)  # a new process on the same database
        try:
            await receiver.wait_for(3)  # it picks the delivery up by itself: 503
            await retry_after_back_off(app, database_url, receiver, attempt=3, status=503)
            await settled_row(database_url, 4)  # 200

            # A day later, after many ticks: nothing more.
            for _ in range(3):
                clock.advance(hours=9)
                await tick(app)
        finally:
            await app.stop()

    received = receiver.received
    assert [r.status for r in received] == [500, 502, 503, 200]
    assert all(r.verified and r.spec_verified for r in received)
    # The same delivery each time: one delivery id, one event id, the same body.
    assert len({r.delivery_id for r in received}) == 1
    assert len({r.body for r in received}) == 1
    assert received[0].payload["type"] == "answer.submitted"
    assert received[0].payload["data"]["user"] == BOB
    [row] = await delivery_rows(database_url)
    assert row.delivered_at is not None and row.attempts == 4 and row.last_status == 200
    assert str(row.id) == received[0].delivery_id


# --- repeated failures: disabled, and the owner told once -----------------------------------------


async def seed_standup(database_url: str, slack: FakeSlack) -> tuple[int, int]:
    """A standup "Daily" owned by Alice, stored directly (no Slack flow needed here)."""
    slack.add_channel(CHANNEL, "standup", bot_is_member=True)
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces_db.ensure_workspace(session, slack.team_id)
            standup = await standups_db.create_standup(
                session,
                workspace.id,
                name="Daily",
                name_key="daily",
                channel_id=CHANNEL,
                questions=QUESTIONS,
                weekday_mask=weekdays_to_mask(range(5)),
                local_time="09:00",
                tz_mode="participant",
                fixed_tz=None,
                owner_user_id=ALICE,
                participant_ids=[ALICE, BOB],
                now=dt.datetime.now(dt.UTC),
            )
            return workspace.id, standup.id
    finally:
        await db.dispose()


async def enqueue_blockers(app: RunningApp, standup: Standup, count: int) -> int:
    """`count` blocker.opened events, as the blockers feature will enqueue them."""
    queued = 0
    for n in range(count):
        async with app.app.services.db.session() as session:
            queued += await webhooks.enqueue(
                session,
                standup.workspace_id,
                standup.standup_id,
                WebhookEvent.BLOCKER_OPENED,
                {"blocker": {"id": n, "text": "CI is red"}, "user": BOB},
                now=app.app.services.clock(),
            )
    return queued


def webhook_dms(slack: FakeSlack) -> list[Call]:
    """DMs to Alice about webhooks (she also gets her daily prompts as days pass)."""
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == "D" + ALICE[1:] and "webhook" in c.body["text"]
    ]


async def test_a_webhook_failing_for_good_is_disabled_and_its_owner_told_once(
    database_url: str, receiver: Receiver
) -> None:
    clock = frozen_now()
    receiver.clock = clock
    receiver.default = 500
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz=ZONE)
        workspace, standup_id = await seed_standup(database_url, slack)
        app = await launch(database_url, slack, clock)
        try:
            standup = Standup(workspace, standup_id, {})
            # Blockers only: the standup's own runs (a day passes below) are not this test's.
            created = await add_webhook(app, standup, receiver, events=["blocker.opened"])
            assert await enqueue_blockers(app, standup, DISABLE_AFTER_FAILURES) == 15
            await tick(app)
            for _ in range(25):  # a day and an hour, in hourly steps
                clock.advance(hours=1)
                await tick(app)

            rows = await delivery_rows(database_url)
            assert len(rows) == 15 and all(r.gave_up_at is not None for r in rows)
            assert all(r.last_error == "HTTP 500" for r in rows)
            attempts = [r.attempts for r in rows]
            assert min(attempts) >= 24  # retried for the whole 24 hours first
            async with app.app.services.db.session() as session:
                webhook = (await session.execute(select(Webhook))).scalar_one()
                audit = (
                    await session.execute(
                        select(AuditEntry).where(AuditEntry.action == "webhook_disable")
                    )
                ).scalar_one()
            assert webhook.disabled_at is not None and webhook.consecutive_failures == 15
            assert "15 deliveries in a row failed" in (webhook.disabled_reason or "")
            assert audit.actor_user_id is None and audit.standup_id == standup_id

            [dm] = webhook_dms(slack)
            text = json.dumps(dm.body)
            assert "turned off" in text and receiver.url("/hook") in text
            assert "HTTP 500" in text and "re-enable" in text

            # Disabled: no new deliveries, no second DM however long it stays so.
            assert await enqueue_blockers(app, standup, 1) == 0
            for _ in range(3):
                clock.advance(hours=2)
                await tick(app)
            assert len(webhook_dms(slack)) == 1
            sent = len(receiver.received)

            # Alice fixes the receiver and turns the webhook back on.
            receiver.default = 200
            enabled = await webhooks.enable(
                app.app.services,
                Caller.known(workspace, Actor(ALICE, is_admin=False)),
                created.webhook.webhook_id,
            )
            assert isinstance(enabled, webhooks.WebhookEnabled) and enabled.changed
            assert await enqueue_blockers(app, standup, 1) == 1
            await tick(app)
            assert len(receiver.received) == sent + 1
            assert receiver.received[-1].status == 200 and receiver.received[-1].verified
        finally:
            await app.stop()


# --- several replicas -----------------------------------------------------------------------------


async def test_two_replicas_deliver_each_event_once(database_url: str, receiver: Receiver) -> None:
    clock = frozen_now()
    receiver.clock = clock
    receiver.delay = 0.02
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz=ZONE)
        workspace, standup_id = await seed_standup(database_url, slack)
        first = await launch(database_url, slack, clock)
        second = await launch(database_url, slack, clock)
        try:
            standup = Standup(workspace, standup_id, {})
            await add_webhook(first, standup, receiver, events=["blocker.opened"])
            assert await enqueue_blockers(first, standup, 40) == 40
            await receiver.wait_for(40, timeout=20)
            await asyncio.sleep(1.5)  # both keep ticking
        finally:
            await first.stop()
            await second.stop()
    ids = [r.delivery_id for r in receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(r.verified for r in receiver.received)
    assert all(r.delivered_at is not None for r in await delivery_rows(database_url))
