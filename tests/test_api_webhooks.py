"""/api/v1 webhooks: add, list, re-enable and delete a standup's webhooks with a token, with the
same rights as the dashboard — and another workspace's ids are 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from storage.models import Webhook
from tests.api_client import Shapes, call, count, token_for, workspace_ready
from tests.harness import RunningApp, start_app
from tests.slack_fake import FakeSlack

ALICE, BOB = "U0ALICE01", "U0BOB0001"
CHANNEL = "C0STANDUP1"
SHAPES = Shapes()


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob", tz="Europe/Berlin")
        slack.add_channel(CHANNEL, "standup")
        running = await start_app(
            database_url,
            slack,
            encryption_key=Fernet.generate_key().decode(),
            webhook_allow_private=True,
        )
        try:
            await workspace_ready(running)
            yield running
        finally:
            await running.stop()


async def test_webhooks_are_managed_by_owners_through_the_api(
    app: RunningApp, database_url: str
) -> None:
    alice, bob = await token_for(app, ALICE), await token_for(app, BOB)
    body = {
        "name": "Daily",
        "channel": CHANNEL,
        "questions": ["Yesterday?"],
        "participants": [ALICE, BOB],
        "days": ["mon"],
        "time": "09:30",
    }
    created = await call(app, "POST", "/standups", alice, body=body)
    assert created.status == 201, created.text
    standup = created.json["id"]
    path = f"/standups/{standup}/webhooks"

    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["run.closed", "answer.submitted"]}
    added = await call(app, "POST", path, alice, body=hook)
    assert added.status == 201, added.text
    SHAPES.check("WebhookCreated", added.json)
    assert added.json["secret"].startswith("whsec_")
    assert added.json["events"] == ["answer.submitted", "run.closed"]

    listed = await call(app, "GET", path, alice)
    assert listed.status == 200, listed.text
    SHAPES.check("WebhookList", listed.json)
    assert [w["url"] for w in listed.json["items"]] == ["http://127.0.0.1:9/hooks"]
    assert "secret" not in listed.json["items"][0]

    # A participant who does not own the standup may not see or change its webhooks.
    assert (await call(app, "GET", path, bob)).problem(403)
    assert (await call(app, "POST", path, bob, body=hook)).problem(403)
    webhook_id = added.json["id"]
    assert (await call(app, "DELETE", f"/webhooks/{webhook_id}", bob)).problem(403)

    # Bad input: a message per field.
    bad = await call(app, "POST", path, alice, body={"url": "ftp://x", "events": ["nope"]})
    assert set(bad.problem(400)["errors"]) == {"url", "events"}

    enabled = await call(app, "POST", f"/webhooks/{webhook_id}/enable", alice)
    assert enabled.status == 200 and enabled.json["enabled"] is True, enabled.text
    assert (await call(app, "DELETE", f"/webhooks/{webhook_id}", alice)).status == 204
    assert (await call(app, "DELETE", f"/webhooks/{webhook_id}", alice)).problem(404)
    assert (await call(app, "GET", "/standups/999999/webhooks", alice)).problem(404)
    assert await count(database_url, Webhook) == 0
