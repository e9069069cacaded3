"""The API's promises to clients, over real HTTP on both databases: Idempotency-Key (a replay
changes nothing), cursor pages over more than a page of standups and runs, and the per-token
rate limit (429 with Retry-After, shared through Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.rules.websec import request_fingerprint
from storage.models import (
    ApiToken,
    AuditEntry,
    IdempotencyKey,
    Prompt,
    Run,
    RunState,
    Standup,
)
from tests.api_client import Shapes, call, count, token_for, workspace_ready
from tests.harness import Clock, RunningApp, start_app
from tests.slack_fake import FakeSlack

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANNEL, SECRET_CHANNEL = "C0STANDUP1", "C0SECRET01"
SHAPES = Shapes()


def standup_body(name: str, channel: str = CHANNEL) -> dict[str, Any]:
    return {
        "name": name,
        "channel": channel,
        "questions": ["What did you do?", "Blockers?"],
        "participants": [ALICE, BOB],
        "days": ["mon", "wed"],
        "time": "09:30",
    }


def fake_slack() -> FakeSlack:
    slack = FakeSlack()
    for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
        slack.add_user(user, name, tz="Europe/Berlin")
    slack.add_channel(CHANNEL, "standup")
    slack.add_channel(SECRET_CHANNEL, "secret", is_private=True, bot_is_member=True)
    return slack


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, Clock]]:
    clock = Clock()
    async with fake_slack() as slack:
        app = await start_app(database_url, slack, clock=clock)
        try:
            await workspace_ready(app)
            yield app, clock
        finally:
            await app.stop()


# --- Idempotency-Key ---------------------------------------------------------------------------


async def test_a_replayed_post_changes_nothing_and_answers_the_same(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, clock = env
    alice = await token_for(app, ALICE)
    key = {"Idempotency-Key": "create-daily-7f3c"}
    first = await call(app, "POST", "/standups", alice, body=standup_body("Daily"), headers=key)
    assert first.status == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    audited = await count(database_url, AuditEntry)

    for _ in range(3):
        again = await call(app, "POST", "/standups", alice, body=standup_body("Daily"), headers=key)
        assert (again.status, again.text) == (201, first.text)
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(database_url, Standup) == 1
    assert await count(database_url, AuditEntry) == audited

    # The same key for another request: refused, nothing done.
    other = await call(app, "POST", "/standups", alice, body=standup_body("Other"), headers=key)
    assert "different request" in other.problem(422)["detail"]
    assert await count(database_url, Standup) == 1

    # Keys belong to their token: Bob's same key is a new request of his (refused: name taken).
    bob = await token_for(app, BOB)
    bobs = await call(app, "POST", "/standups", bob, body=standup_body("Daily"), headers=key)
    assert "already exists" in bobs.problem(400)["errors"]["name"]
    # ... and its answer is kept too: a client error is replayed, not redone.
    again = await call(app, "POST", "/standups", bob, body=standup_body("Daily"), headers=key)
    assert (again.status, again.text) == (400, bobs.text)

    # Running now, twice with one key: prompts are created once, the answer replayed.
    run_key = {"Idempotency-Key": "run-1"}
    path = f"/standups/{first.json['id']}/run"
    ran = await call(app, "POST", path, alice, headers=run_key)
    assert ran.status == 202 and ran.json["prompts_created"] == 2
    replayed = await call(app, "POST", path, alice, headers=run_key)
    assert (replayed.status, replayed.text) == (202, ran.text)
    assert await count(database_url, Prompt) == 2
    assert await count(database_url, IdempotencyKey) == 3

    # After 24 hours a key may be used afresh.
    clock.advance(hours=25)
    fresh = await call(app, "POST", "/standups", alice, body=standup_body("Other"), headers=key)
    assert fresh.status == 201 and "Idempotent-Replayed" not in fresh.headers

    for bad in ("", "x" * 256, "naïve", "two words"):
        reply = await call(
            app,
            "POST",
            "/standups",
            alice,
            body=standup_body("Bad"),
            headers={"Idempotency-Key": bad},
        )
        assert "Idempotency-Key" in reply.problem(400)["errors"]
    assert await count(database_url, Standup, Standup.name == "Bad") == 0


async def test_a_concurrent_duplicate_is_told_to_wait_and_an_abandoned_one_is_taken_over(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, clock = env
    alice = await token_for(app, ALICE)
    await call(app, "GET", "/me", alice)
    services = app.app.services
    async with services.db.session() as session:
        token = (await session.execute(select(ApiToken))).scalar_one()
        body = standup_body("Daily")
        # What the first request leaves while it runs: the key, without a response yet.
        raw = json.dumps(body).encode()
        session.add(
            IdempotencyKey(
                token_id=token.id,
                key="busy",
                workspace_id=token.workspace_id,
                fingerprint=request_fingerprint("POST", "/api/v1/standups", raw),
                status=None,
                response=None,
                created_at=clock(),
                expires_at=clock() + dt.timedelta(hours=24),
            )
        )
    busy = await call(app, "POST", "/standups", alice, raw=raw, headers=_json_key("busy"))
    assert "still in progress" in busy.problem(409)["detail"]
    assert busy.headers["Retry-After"] == "1"
    assert await count(database_url, Standup) == 0

    # Its process died: two minutes on, the same request may go ahead.
    clock.advance(minutes=3)
    taken = await call(app, "POST", "/standups", alice, raw=raw, headers=_json_key("busy"))
    assert taken.status == 201, taken.text
    assert await count(database_url, Standup) == 1

    # Truly concurrent duplicates: exactly one creates, the others wait or replay it.
    replies = await asyncio.gather(
        *(
            call(
                app,
                "POST",
                "/standups",
                alice,
                body=standup_body("Race"),
                headers={"Idempotency-Key": "race"},
            )
            for _ in range(5)
        )
    )
    assert sorted({r.status for r in replies}) <= [201, 409], [r.text for r in replies]
    assert await count(database_url, Standup, Standup.name == "Race") == 1


def _json_key(key: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Idempotency-Key": key}


# --- cursor pages ------------------------------------------------------------------------------


async def test_pages_walk_every_visible_standup_and_run_once(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, _ = env
    alice, carol = await token_for(app, ALICE), await token_for(app, CAROL)
    ids: list[int] = []
    for n in range(27):
        channel = SECRET_CHANNEL if n % 9 == 4 else CHANNEL  # 3 private ones
        reply = await call(app, "POST", "/standups", alice, body=standup_body(f"S{n:02}", channel))
        assert reply.status == 201, reply.text
        ids.append(reply.json["id"])

    async def walk(token: str, limit: int) -> tuple[list[int], int]:
        seen: list[int] = []
        pages, cursor = 0, ""
        while True:
            reply = await call(app, "GET", f"/standups?limit={limit}{cursor}", token)
            assert reply.status == 200, reply.text
            SHAPES.check("StandupPage", reply.json)
            pages += 1
            seen += [s["id"] for s in reply.json["items"]]
            assert len(reply.json["items"]) <= limit
            if reply.json["next_cursor"] is None:
                return seen, pages
            cursor = f"&cursor={reply.json['next_cursor']}"

    seen, pages = await walk(alice, 10)
    assert (seen, pages) == (sorted(ids), 3)
    seen, pages = await walk(carol, 5)  # the private ones are not hers to see
    assert seen == [i for n, i in enumerate(ids) if n % 9 != 4] and pages == 5
    default = await call(app, "GET", "/standups", alice)
    assert len(default.json["items"]) == 20

    # A standup's runs, newest first, thirty of them in pages of seven.
    standup_id = ids[0]
    async with app.app.services.db.session() as session:
        standup = (
            await session.execute(select(Standup).where(Standup.id == standup_id))
        ).scalar_one()
        start = dt.date(2026, 1, 1)
        for day in range(30):
            session.add(
                Run(
                    workspace_id=standup.workspace_id,
                    standup_id=standup.id,
                    local_date=start + dt.timedelta(days=day),
                    questions=list(standup.questions),
                    channel_id=standup.channel_id,
                    state=RunState.CLOSED,
                    close_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day),
                )
            )
    dates: list[str] = []
    cursor = ""
    while True:
        reply = await call(app, "GET", f"/standups/{standup_id}/runs?limit=7{cursor}", carol)
        assert reply.status == 200, reply.text
        SHAPES.check("RunPage", reply.json)
        dates += [r["local_date"] for r in reply.json["items"]]
        if reply.json["next_cursor"] is None:
            break
        cursor = f"&cursor={reply.json['next_cursor']}"
    assert dates == [(start + dt.timedelta(days=d)).isoformat() for d in reversed(range(30))]

    # A cursor of one list means nothing to another; a tampered one is refused, not obeyed.
    page = await call(app, "GET", "/standups?limit=1", alice)
    wrong = await call(
        app, "GET", f"/standups/{standup_id}/runs?cursor={page.json['next_cursor']}", alice
    )
    assert "cursor" in wrong.problem(400)["errors"]


# --- rate limits -------------------------------------------------------------------------------


async def test_each_token_has_its_own_rate_limit(database_url: str) -> None:
    async with fake_slack() as slack:
        app = await start_app(database_url, slack, api_rate_per_minute=3)
        try:
            await workspace_ready(app)
            alice, bob = await token_for(app, ALICE), await token_for(app, BOB)
            for _ in range(3):
                assert (await call(app, "GET", "/me", alice)).status == 200
            limited = await call(app, "GET", "/standups", alice)
            problem = limited.problem(429)
            assert "3 requests a minute" in problem["detail"]
            assert 1 <= int(limited.headers["Retry-After"]) <= 20
            assert (await call(app, "GET", "/me", bob)).status == 200  # not Alice's limit
            assert (await call(app, "GET", "/me")).status == 401  # no token: no bucket spent
        finally:
            await app.stop()


async def test_the_rate_limit_is_shared_through_redis(database_url: str, redis_url: str) -> None:
    async with fake_slack() as slack:
        first = await start_app(database_url, slack, api_rate_per_minute=4, redis_url=redis_url)
        second = await start_app(database_url, slack, api_rate_per_minute=4, redis_url=redis_url)
        try:
            await workspace_ready(first)
            token = await token_for(first, ALICE)
            for app in (first, second, first, second):
                assert (await call(app, "GET", "/me", token)).status == 200
            (await call(second, "GET", "/me", token)).problem(429)
            (await call(first, "GET", "/me", token)).problem(429)
        finally:
            await second.stop()
            await first.stop()
