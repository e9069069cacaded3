"""The REST API over real HTTP, on SQLite and Postgres: tokens made by `python app.py
create-token`, standups created, read, changed, run and deleted through the same use cases as
Slack, problem documents for every error, and the rights of each token."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import ApiToken, AuditEntry, Prompt, Standup
from tests.api_client import TEAM, Shapes, call, count, token_for, workspace_ready
from tests.app_process import APP_PY
from tests.harness import BOT_TOKEN, SIGNING_SECRET, Clock, RunningApp, start_app
from tests.slack_fake import FakeSlack

ALICE, BOB, CAROL, ADMIN = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ADMIN01"
CHANNEL, SECRET_CHANNEL = "C0STANDUP1", "C0SECRET01"
SHAPES = Shapes()


def standup_body(name: str = "Daily", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "channel": CHANNEL,
        "questions": ["What did you do?", "What's next?", "Blockers?"],
        "participants": [ALICE, BOB],
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "time": "09:30",
        "tz": "Europe/Berlin",
    }
    body.update(changes)
    return body


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, Clock]]:
    clock = Clock()
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz="Europe/Berlin")
        slack.add_user(ADMIN, "admin", tz="Europe/Berlin", is_admin=True)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(SECRET_CHANNEL, "secret", is_private=True, bot_is_member=True)
        app = await start_app(database_url, slack, clock=clock)
        try:
            await workspace_ready(app)
            yield app, clock
        finally:
            await app.stop()


# --- the acceptance: create-token, then curl -------------------------------------------------


async def create_token_cli(app: RunningApp, cwd: Path, *args: str) -> tuple[int, str, str]:
    """`python app.py create-token …` as a child process against the app's database."""
    settings = app.app.settings
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
        "LOG_FORMAT": "json",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(APP_PY),
        "create-token",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_create_token_then_curl_with_it_lists_standups(
    env: tuple[RunningApp, Clock], database_url: str, tmp_path: Path
) -> None:
    app, _ = env
    code, out, err = await create_token_cli(
        app, tmp_path, "--team", TEAM, "--user", ALICE, "--scope", "write", "--name", "CI"
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith("ast_") and "\n" not in token, out  # stdout: the token alone
    assert "shown only now" in err
    # Stored hashed: neither the token nor its secret part is in the database.
    async with app.app.services.db.session() as session:
        [row] = (await session.execute(select(ApiToken))).scalars().all()
    assert row.digest != token and token not in repr(row.__dict__)
    assert (row.name, row.scope, row.slack_user_id) == ("CI", "write", ALICE)

    created = await call(app, "POST", "/standups", token, body=standup_body())
    assert created.status == 201, created.text
    listed = await call(app, "GET", "/standups", token)
    assert listed.status == 200, listed.text
    SHAPES.check("StandupPage", listed.json)
    assert [s["name"] for s in listed.json["items"]] == ["Daily"]
    assert listed.json["next_cursor"] is None

    # A read-only token made the same way lists too; refusals are exit codes with a reason.
    code, out, err = await create_token_cli(app, tmp_path, "--team", TEAM, "--user", BOB)
    assert code == 0, err
    assert (await call(app, "GET", "/standups", out.strip())).status == 200
    code, out, err = await create_token_cli(app, tmp_path, "--team", "T0NOWHERE", "--user", BOB)
    assert (code, out) == (1, "") and "not installed" in err
    code, out, err = await create_token_cli(app, tmp_path, "--team", TEAM, "--user", "U0NOBODY1")
    assert (code, out) == (1, "") and "did not confirm" in err


# --- standups through the API ------------------------------------------------------------------


async def test_a_standup_is_created_read_changed_run_and_deleted(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, _ = env
    alice = await token_for(app, ALICE)
    created = await call(app, "POST", "/standups", alice, body=standup_body())
    assert created.status == 201, created.text
    standup = created.json
    SHAPES.check("Standup", standup)
    assert created.headers["Location"] == f"/api/v1/standups/{standup['id']}"
    assert standup["owners"] == [ALICE] and standup["participants"] == [ALICE, BOB]
    assert standup["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert (standup["tz_mode"], standup["tz"]) == ("fixed", "Europe/Berlin")
    assert standup["time"] == "09:30"
    assert standup["warnings"] == [] and standup["active"] is True
    path = f"/standups/{standup['id']}"

    read = await call(app, "GET", path, alice)
    assert read.status == 200
    SHAPES.check("Standup", read.json)
    volatile = ("next_run", "updated_at", "warnings")  # learning the channel's privacy: a write
    assert {k: v for k, v in read.json.items() if k not in volatile} == {
        k: v for k, v in standup.items() if k not in volatile
    }

    patched = await call(
        app, "PATCH", path, alice, body={"time": "10:15", "days": ["mon"], "window": 2}
    )
    assert patched.status == 200, patched.text
    assert (patched.json["time"], patched.json["days"], patched.json["window"]) == (
        "10:15",
        ["mon"],
        2,
    )
    assert patched.json["questions"] == standup["questions"]  # untouched fields stay
    paused = await call(app, "PATCH", path, alice, body={"active": False})
    assert paused.status == 200 and paused.json["active"] is False
    refused = await call(app, "POST", path + "/run", alice)
    assert "paused" in refused.problem(409)["detail"]
    assert (await call(app, "PATCH", path, alice, body={"active": True})).json["active"]

    run = await call(app, "POST", path + "/run", alice)
    assert run.status == 202, run.text
    SHAPES.check("RunStarted", run.json)
    assert run.json["prompts_created"] == 2
    runs = await call(app, "GET", path + "/runs", alice)
    assert runs.status == 200
    SHAPES.check("RunPage", runs.json)
    [first] = runs.json["items"]
    assert first["prompts"] == 2 and first["state"] == "open"
    detail = await call(app, "GET", f"/runs/{first['id']}", alice)
    assert detail.status == 200
    SHAPES.check("RunDetail", detail.json)
    assert [p["user_id"] for p in detail.json["participants"]] == [ALICE, BOB]
    assert detail.json["standup_name"] == "Daily"

    actions = [a.action for a in await _audit(app) if a.standup_id == standup["id"]]
    assert actions == ["create", "edit", "pause", "resume"]

    deleted = await call(app, "DELETE", path, alice)
    assert (deleted.status, deleted.text) == (204, "")
    assert "no standup" in (await call(app, "GET", path, alice)).problem(404)["detail"]
    assert await count(database_url, Standup) == 0


async def _escalation_days(database_url: str, standup_id: int) -> int:
    db = Database(database_url)
    try:
        async with db.session() as session:
            row = await session.get(Standup, standup_id)
            assert row is not None
            return row.blocker_escalation_days
    finally:
        await db.dispose()


async def test_escalate_blockers_after_is_set_read_and_checked(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, _ = env
    alice = await token_for(app, ALICE)
    plain = await call(app, "POST", "/standups", alice, body=standup_body())
    assert plain.status == 201, plain.text
    assert plain.json["blocker_escalation_days"] == 2  # left out: the default
    created = await call(
        app, "POST", "/standups", alice, body=standup_body("Weekly", blocker_escalation_days=5)
    )
    assert created.status == 201, created.text
    SHAPES.check("Standup", created.json)
    assert created.json["blocker_escalation_days"] == 5
    path = f"/standups/{created.json['id']}"
    assert (await call(app, "GET", path, alice)).json["blocker_escalation_days"] == 5

    patched = await call(app, "PATCH", path, alice, body={"blocker_escalation_days": 9})
    assert patched.status == 200, patched.text
    SHAPES.check("Standup", patched.json)
    assert patched.json["blocker_escalation_days"] == 9
    assert await _escalation_days(database_url, created.json["id"]) == 9
    edit = [a for a in await _audit(app) if a.action == "edit"][-1]
    assert edit.before is not None and edit.after is not None
    assert (edit.before["blocker_escalation_days"], edit.after["blocker_escalation_days"]) == (5, 9)
    # Other changes keep it.
    patched = await call(app, "PATCH", path, alice, body={"time": "11:00"})
    assert patched.json["blocker_escalation_days"] == 9

    for bad in (31, -1, "x", 1.5, True, [2]):
        reply = await call(app, "PATCH", path, alice, body={"blocker_escalation_days": bad})
        errors = reply.problem(400)["errors"]
        assert set(errors) == {"blocker_escalation_days"}, (bad, errors)
        assert "whole number of working days" in errors["blocker_escalation_days"], bad
    assert await _escalation_days(database_url, created.json["id"]) == 9
    refused = await call(
        app, "POST", "/standups", alice, body=standup_body("Bad", blocker_escalation_days=31)
    )
    assert "from 0 to 30" in refused.problem(400)["errors"]["blocker_escalation_days"]

    reset = await call(app, "PATCH", path, alice, body={"blocker_escalation_days": None})
    assert reset.status == 200 and reset.json["blocker_escalation_days"] == 2


async def _audit(app: RunningApp) -> list[AuditEntry]:
    async with app.app.services.db.session() as session:
        rows = await session.execute(select(AuditEntry).order_by(AuditEntry.id))
        return list(rows.scalars())


async def test_a_token_acts_with_its_users_rights_and_no_more(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, _ = env
    alice = await token_for(app, ALICE)
    bob, carol, admin = [await token_for(app, u) for u in (BOB, CAROL, ADMIN)]
    public = (await call(app, "POST", "/standups", alice, body=standup_body())).json
    secret = await call(
        app, "POST", "/standups", alice, body=standup_body("Secret", channel=SECRET_CHANNEL)
    )
    assert secret.status == 201, secret.text
    secret_id = secret.json["id"]

    # A participant may read, not manage: 403 with the reason.
    for method, suffix, body in (
        ("PATCH", "", {"active": False}),
        ("PATCH", "", {"name": "Mine now"}),
        ("DELETE", "", None),
        ("POST", "/run", None),
    ):
        reply = await call(app, method, f"/standups/{public['id']}{suffix}", bob, body=body)
        assert "Only the owners of Daily" in reply.problem(403)["detail"], (method, suffix)

    # A private channel's standup does not exist for someone outside it, whatever they try.
    listed = (await call(app, "GET", "/standups", carol)).json["items"]
    assert [s["name"] for s in listed] == ["Daily"]
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"active": False}),
        ("DELETE", "", None),
        ("POST", "/run", None),
        ("GET", "/runs", None),
    ):
        reply = await call(app, method, f"/standups/{secret_id}{suffix}", carol, body=body)
        reply.problem(404)
    assert (await call(app, "GET", f"/reports?standup_id={secret_id}", carol)).status == 404

    # A workspace admin manages any standup; the admin flag comes from the user's profile.
    me = await call(app, "GET", "/me", admin)
    SHAPES.check("Me", me.json)
    assert me.json["is_admin"] is True and me.json["user_id"] == ADMIN
    paused = await call(app, "PATCH", f"/standups/{secret_id}", admin, body={"active": False})
    assert paused.status == 200 and paused.json["active"] is False
    assert (await call(app, "GET", "/me", carol)).json["is_admin"] is False

    # A read-only token may look, and nothing else.
    alice_read = await token_for(app, ALICE, "read")
    assert (await call(app, "GET", f"/standups/{public['id']}", alice_read)).status == 200
    before = await count(database_url, AuditEntry)
    for method, path, body in (
        ("POST", "/standups", standup_body("Other")),
        ("PATCH", f"/standups/{public['id']}", {"active": False}),
        ("DELETE", f"/standups/{public['id']}", None),
        ("POST", f"/standups/{public['id']}/run", None),
        ("PUT", "/users/me/ooo", {"start": "2031-01-01", "end": "2031-01-02"}),
    ):
        reply = await call(app, method, path, alice_read, body=body)
        problem = reply.problem(403)
        assert "read-only" in problem["detail"], (method, path)
        assert 'error="insufficient_scope"' in reply.headers["WWW-Authenticate"]
    assert await count(database_url, AuditEntry) == before
    assert await count(database_url, Prompt) == 0


# --- errors: problem documents, never a 500 ----------------------------------------------------


async def test_every_error_is_a_problem_document(env: tuple[RunningApp, Clock]) -> None:
    app, _ = env
    token = await token_for(app, ALICE)

    missing = await call(app, "GET", "/standups")
    assert missing.problem(401)["detail"].startswith("Send your API token")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="asyncstand"'
    for header in ("Bearer nope", "Basic abc", f"Bearer {token}x", f"Token {token}"):
        reply = await call(app, "GET", "/standups", headers={"Authorization": header})
        reply.problem(401)
        assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]
    forged = "ast_abcdefgh_" + "A" * 43
    assert "not valid" in (await call(app, "GET", "/me", forged)).problem(401)["detail"]

    assert "no API endpoint" in (await call(app, "GET", "/nope", token)).problem(404)["detail"]
    assert (await call(app, "GET", "/standups/abc", token)).status == 404
    assert (await call(app, "GET", "/standups/99999999999999999999", token)).status == 404
    wrong = await call(app, "PUT", "/standups", token, body={})
    wrong.problem(405)
    assert wrong.headers["Allow"] == "GET, POST"

    text = await call(
        app, "POST", "/standups", token, raw=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert "application/json" in text.problem(415)["detail"]
    for raw in (b"{", b"[]", b"", b'{"name": "a", "name": "b"}', b"\xff\xfe", b'{"n": NaN}'):
        reply = await call(
            app,
            "POST",
            "/standups",
            token,
            raw=raw,
            headers={"Content-Type": "application/json"},
        )
        reply.problem(400)
    huge = await call(app, "POST", "/standups", token, body={"name": "x" * 70_000})
    huge.problem(413)

    # Field errors: one message per field, under the form's names, from the same validation.
    bad = await call(
        app,
        "POST",
        "/standups",
        token,
        body=standup_body(days=["funday"], participants="U0BOB0001", colour="red"),
    )
    errors = bad.problem(400)["errors"]
    assert set(errors) == {"days", "participants", "colour"}
    assert "funday" in errors["days"] and "Not a field" in errors["colour"]
    invalid = await call(
        app, "POST", "/standups", token, body=standup_body(name="", time="25:00", tz="Mars/Base")
    )
    errors = invalid.problem(400)["errors"]
    assert set(errors) == {"name", "time", "tz"}
    assert "24-hour time" in errors["time"] and "Mars/Base" in errors["tz"]
    assert await count(app.app.settings.database_url, Standup) == 0

    for query in ("limit=0", "limit=101", "limit=x", "cursor=%25%25", "limit=1&limit=2"):
        (await call(app, "GET", f"/standups?{query}", token)).problem(400)


# --- the OpenAPI document ----------------------------------------------------------------------


async def test_the_openapi_document_validates_and_matches_the_routes(
    env: tuple[RunningApp, Clock],
) -> None:
    from openapi_spec_validator import validate

    app, _ = env
    reply = await call(app, "GET", "/openapi.json")  # no token needed
    assert reply.status == 200 and reply.content_type == "application/json"
    spec = reply.json
    validate(spec)
    assert spec["openapi"] == "3.1.0"

    served: set[tuple[str, str]] = set()
    for resource in app.app.web.router.resources():
        info = resource.get_info()
        app_of = info.get("app")
        if app_of is None:
            continue
        for sub in app_of.router.resources():
            for route in sub:
                path = sub.canonical.removeprefix("/api/v1")
                served.add((route.method, path))
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert served == documented
    assert ("GET", "/standups/{standup_id}/runs") in documented
    # Every operation says what it answers, and every error is a problem document.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            if path != "/openapi.json":
                assert "401" in operation["responses"] and "429" in operation["responses"]


# --- tokens: revoked, deactivated, last used ---------------------------------------------------


async def test_revoked_and_deactivated_users_tokens_stop_working(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    from bot import api_tokens
    from bot.people import Caller
    from bot.rules.permissions import Actor

    app, clock = env
    services = app.app.services
    token = await token_for(app, BOB)
    assert (await call(app, "GET", "/me", token)).status == 200

    async with services.db.session() as session:
        [row] = (await session.execute(select(ApiToken))).scalars().all()
    first_use = row.last_used_at
    assert first_use is not None
    clock.advance(seconds=20)
    await call(app, "GET", "/me", token)
    async with services.db.session() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.last_used_at == first_use  # at most one write a minute
    clock.advance(seconds=45)
    await call(app, "GET", "/me", token)
    async with services.db.session() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
    assert row.last_used_at is not None and row.last_used_at > first_use

    # Only its owner (or an admin) revokes a token; then it is refused.
    workspace_id = row.workspace_id
    carol = Caller.known(workspace_id, Actor(CAROL, False))
    refused = await api_tokens.revoke_token(services, carol, row.id)
    assert isinstance(refused, api_tokens.TokenRefused)
    mine = await api_tokens.list_tokens(services, Caller.known(workspace_id, Actor(BOB, False)))
    assert isinstance(mine, list) and [t.id for t in mine] == [row.id]
    revoked = await api_tokens.revoke_token(
        services, Caller.known(workspace_id, Actor(ADMIN, True)), row.id
    )
    assert isinstance(revoked, api_tokens.TokenRevoked) and revoked.changed
    assert "revoked" in (await call(app, "GET", "/me", token)).problem(401)["detail"]

    # A user deactivated in Slack: their tokens stop working once the profile is re-read.
    alice = await token_for(app, ALICE)
    assert (await call(app, "GET", "/me", alice)).status == 200
    app.slack.deactivate_user(ALICE)
    clock.advance(minutes=16)
    assert "deactivated" in (await call(app, "GET", "/me", alice)).problem(401)["detail"]
