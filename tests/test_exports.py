"""Exports on both databases: the streamed REST endpoint, the Slack upload's limit, rows read in
batches, and `python app.py export` as a child process — a standup's answers, the workspace's
answers, and the workspace-wide JSON that holds everything stored about it but no secret."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import pty
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot import exports
from bot.outcomes import ExportReady, ExportTooLarge
from bot.people import Caller
from bot.rules import tokens
from bot.rules.export import EXPORT_COLUMNS, neutralise_cell
from bot.rules.permissions import Actor
from handlers.api.openapi import document
from storage import exports as exports_db
from storage.crypto import SecretBox
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import (
    ApiToken,
    Base,
    IdempotencyKey,
    Installation,
    Outcome,
    Prompt,
    WebhookDelivery,
    WebSession,
)
from storage.models import Webhook as WebhookRow
from tests.api_client import TEAM, Shapes, call, token_for, workspace_ready
from tests.app_process import APP_PY
from tests.harness import BOT_TOKEN, SIGNING_SECRET, RunningApp, start_app
from tests.history_seed import Entry, Seeded, add_blocker, add_day, seed_standup
from tests.slack_fake import FakeSlack

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
OTHER_TEAM = "T0OTHER01"
A, L, M = Outcome.ANSWERED, Outcome.LATE, Outcome.MISSED
FIRST = dt.date(2026, 3, 2)
SHAPES = Shapes()
TRICKY = ['=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1:A2)", "日本 ✓\nline 2"]


def days(n: int) -> list[dt.date]:
    return [FIRST + dt.timedelta(days=i) for i in range(n)]


async def seed_history(db: Database, team: str = TEAM) -> Seeded:
    """Daily: Alice answers every day (with tricky text on the first), Bob every other day."""
    seeded = await seed_standup(
        db,
        team,
        name="Daily",
        owner=ALICE,
        participants=[ALICE, BOB, CAROL],
        created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        active=False,
        profiles={ALICE: ("Alice", "Europe/Berlin", False), BOB: ("Bob", "Europe/Berlin", False)},
    )
    for index, date in enumerate(days(6)):
        alice = TRICKY[:3] if index == 0 else [f"alice {index}", "more", "none"]
        entries = {ALICE: Entry(A, 3, alice), CAROL: Entry(M)}
        entries[BOB] = Entry(L, 2, [f"bob {index}", "", "-"]) if index % 2 == 0 else Entry(M)
        await add_day(db, seeded, date, entries)
    await add_blocker(db, seeded, BOB, "stuck", FIRST)
    return seeded


def listed(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def outputs(tmp_path: Path) -> Path:
    """A directory for the export files alone (the SQLite database is in tmp_path)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def parse_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(EXPORT_COLUMNS)
    return [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]]


# --- the REST endpoint ---------------------------------------------------------------------------


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[RunningApp, Seeded]]:
    async with FakeSlack() as slack:
        for user in (ALICE, BOB, CAROL, "U0DAVE001"):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        app = await start_app(database_url, slack)
        try:
            await workspace_ready(app)
            yield app, await seed_history(app.app.services.db)
        finally:
            await app.stop()


async def test_the_api_streams_csv_and_json_with_the_same_rights(
    api: tuple[RunningApp, Seeded],
) -> None:
    app, seeded = api
    alice, bob, dave = [await token_for(app, u) for u in (ALICE, BOB, "U0DAVE001")]
    path = f"/standups/{seeded.standup_id}/export"

    reply = await call(app, "GET", path, alice)
    assert reply.status == 200, reply.text
    assert reply.content_type == "text/csv"
    assert reply.headers["Transfer-Encoding"] == "chunked"
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="daily-answers-start-to-20')
    assert disposition.endswith('.csv"')
    table = parse_csv(reply.text)
    # Alice: 6 days × 3 answers; Bob: days 0, 2, 4 × 3 answers.
    assert len(table) == 6 * 3 + 3 * 3
    assert [r["answer"] for r in table[:3]] == [neutralise_cell(t) for t in TRICKY[:3]]
    assert {r["late"] for r in table if r["person"] == BOB} == {"true"}

    as_json = await call(app, "GET", path + "?format=json&from=2026-03-03&to=2026-03-04", alice)
    assert as_json.status == 200 and as_json.content_type == "application/json"
    SHAPES.check("ExportRows", as_json.json)
    assert [(r["local_date"], r["person"]) for r in as_json.json][::3] == [
        ("2026-03-03", ALICE),
        ("2026-03-04", ALICE),
        ("2026-03-04", BOB),
    ]

    own = parse_csv((await call(app, "GET", path, bob)).text)
    assert {r["person"] for r in own} == {BOB} and len(own) == 9
    refused = (await call(app, "GET", path, dave)).problem(403)
    assert "Only the owners of Daily" in refused["detail"]


async def test_the_api_says_what_is_wrong(api: tuple[RunningApp, Seeded]) -> None:
    app, seeded = api
    alice = await token_for(app, ALICE)
    path = f"/standups/{seeded.standup_id}/export"
    for query, field in (
        ("format=xlsx", "format"),
        ("from=2026-02-30", "from"),
        ("to=tomorrow", "to"),
        ("from=2026-03-05&to=2026-03-01", "from"),
    ):
        problem = (await call(app, "GET", f"{path}?{query}", alice)).problem(400)
        assert field in problem["errors"], query
    empty = (await call(app, "GET", f"{path}?from=2001-01-01&to=2001-12-31", alice)).problem(404)
    assert empty["type"].endswith("nothing-to-export") and "No answers" in empty["detail"]
    # Another workspace's standup is not there at all.
    theirs = await seed_standup(
        app.app.services.db,
        OTHER_TEAM,
        name="Daily",
        owner=ALICE,
        participants=[ALICE],
        created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        active=False,
    )
    gone = (await call(app, "GET", f"/standups/{theirs.standup_id}/export", alice)).problem(404)
    assert gone["type"].endswith("not-found")


def test_the_export_columns_are_documented_in_order() -> None:
    schema = document([])["components"]["schemas"]["ExportRows"]
    assert list(schema["items"]["properties"]) == list(EXPORT_COLUMNS)


# --- the Slack upload's limit and batches -------------------------------------------------------


async def test_slack_uploads_stop_at_the_limit_and_rows_come_in_batches(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        app = await start_app(database_url, slack)
        try:
            await workspace_ready(app)
            services = app.app.services
            seeded = await seed_history(services.db)
            caller = Caller.known(seeded.workspace_id, Actor(ALICE, False))
            ready = await exports.prepare(services, caller, "Daily", "csv")
            assert isinstance(ready, ExportReady) and ready.rows == 27
            client = services.slack.client(BOT_TOKEN)
            too_many = await exports.send_to_dm(services, client, caller, ready, max_rows=26)
            assert too_many == ExportTooLarge("Daily", 27, 26, exports.MAX_SLACK_BYTES)
            too_big = await exports.send_to_dm(services, client, caller, ready, max_bytes=1000)
            assert isinstance(too_big, ExportTooLarge)
            assert slack.calls_to("files.getUploadURLExternal") == []  # nothing was uploaded

            # 1,200 answers are read in batches of 500, in one statement.
            for date in [FIRST + dt.timedelta(days=10 + n) for n in range(400)]:
                await add_day(services.db, seeded, date, {CAROL: Entry(A, None, ["a", "b", "c"])})
            async with services.db.session() as session:
                sizes = [
                    len(batch)
                    async for batch in exports_db.answers(
                        session, seeded.workspace_id, only_user=CAROL
                    )
                ]
            assert sizes == [500, 500, 200]
        finally:
            await app.stop()


def test_every_table_is_exported_or_left_out_for_a_reason() -> None:
    exported = {model.__tablename__ for model in exports_db.EXPORTED}
    left_out = set(exports_db.NOT_EXPORTED) - {"alembic_version"}
    assert exported | left_out == set(Base.metadata.tables)
    assert not exported & left_out
    # Secrets never leave, whatever their table.
    assert "bot_token_encrypted" not in exports_db.exported_columns(Installation)
    assert "bot_token_expires_at" in exports_db.exported_columns(Installation)  # a date
    assert "secret_encrypted" not in exports_db.exported_columns(WebhookRow)
    assert "digest" not in exports_db.exported_columns(ApiToken)
    assert "claim_token" not in exports_db.exported_columns(Prompt)
    assert {"name", "prefix", "created_at"} <= set(exports_db.exported_columns(ApiToken))


# --- python app.py export ------------------------------------------------------------------------

KEY = Fernet.generate_key().decode()
SECRETS = {
    "bot token": "xoxb-1111-SECRET-BOT-TOKEN",
    "refresh token": "xoxe-1-SECRET-REFRESH-TOKEN",
    "webhook secret": "whsec_SECRETWEBHOOKSIGNINGKEY0123456789",
    "api token": "ast_abcd1234_SECRETAPITOKENVALUE0123456789",
    "session id": "SECRET-SESSION-COOKIE-VALUE-0123456789",
    "claim": "SECRETCLAIMTOKEN0123456789ab",
}
CLIENT_SECRET = "CLIENT-SECRET-0123456789abcdef"


async def seed_secrets(db: Database, seeded: Seeded) -> list[str]:
    """Every kind of secret we store, stored the way the app stores it; returns every value
    (plain, encrypted, digested) that must never appear in an export."""
    box = SecretBox([KEY])
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    encrypted = {
        name: box.encrypt(SECRETS[name])
        for name in ("bot token", "refresh token", "webhook secret")
    }
    async with db.session() as session:
        session.add(
            Installation(
                workspace_id=seeded.workspace_id,
                bot_user_id="U0BOT0001",
                bot_token_encrypted=encrypted["bot token"],
                bot_refresh_token_encrypted=encrypted["refresh token"],
                bot_scopes="chat:write",
                installer_user_id=ALICE,
            )
        )
        webhook = WebhookRow(
            workspace_id=seeded.workspace_id,
            standup_id=seeded.standup_id,
            url="https://hooks.example.com/asyncstand",
            secret_encrypted=encrypted["webhook secret"],
            events=["answer.submitted"],
            created_by=ALICE,
        )
        session.add(webhook)
        api_token = ApiToken(
            workspace_id=seeded.workspace_id,
            slack_user_id=ALICE,
            name="reporting",
            prefix="abcd1234",
            digest=tokens.digest(SECRETS["api token"]),
            scope="write",
        )
        session.add(api_token)
        session.add(
            WebSession(
                id_digest=tokens.digest(SECRETS["session id"]),
                workspace_id=seeded.workspace_id,
                slack_user_id=ALICE,
                expires_at=now + dt.timedelta(hours=1),
            )
        )
        await session.flush()
        session.add(
            WebhookDelivery(
                workspace_id=seeded.workspace_id,
                webhook_id=webhook.id,
                event_id="evt_1",
                event_type="answer.submitted",
                payload={"type": "answer.submitted", "data": {"answers": ["shipped"]}},
                next_attempt_at=now,
            )
        )
        # The stored response of the POST that created the webhook shows its secret once.
        session.add(
            IdempotencyKey(
                token_id=api_token.id,
                key="create-webhook-1",
                workspace_id=seeded.workspace_id,
                fingerprint="f" * 64,
                status=201,
                response={"text": json.dumps({"secret": SECRETS["webhook secret"]})},
                expires_at=now + dt.timedelta(days=1),
            )
        )
        prompt = (await session.execute(select(Prompt).limit(1))).scalar_one()
        prompt.claim_token = SECRETS["claim"]
    return [
        *SECRETS.values(),
        *encrypted.values(),
        tokens.digest(SECRETS["api token"]),
        tokens.digest(SECRETS["session id"]),
        KEY,
        CLIENT_SECRET,
        SIGNING_SECRET,
        BOT_TOKEN,
    ]


async def run_cli(
    database_url: str, cwd: Path, *args: str, tty: bool = False
) -> tuple[int, str, str]:
    """`python app.py export …` as a child process; stderr on a terminal when `tty`."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "SLACK_CLIENT_ID": "123.456",
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "ENCRYPTION_KEY": KEY,
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
    }
    master = slave = None
    if tty:
        master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(APP_PY),
        "export",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=slave if slave is not None else asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode() if err else ""
    if master is not None and slave is not None:
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        stderr = b"".join(chunks).decode(errors="replace")
    assert proc.returncode is not None
    return proc.returncode, out.decode(), stderr


@pytest.fixture
async def history(database_url: str) -> AsyncIterator[tuple[str, Seeded]]:
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        seeded = await seed_history(db)
        yield database_url, seeded
    finally:
        await db.dispose()


async def test_the_operator_exports_a_standup_and_the_workspace_as_csv(
    history: tuple[str, Seeded], tmp_path: Path
) -> None:
    database_url, _ = history
    db = Database(database_url)
    try:
        second = await seed_standup(
            db,
            TEAM,
            name="Retro",
            owner=BOB,
            participants=[BOB],
            created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
            active=False,
        )
        await add_day(db, second, FIRST, {BOB: Entry(A, None, ["=1+1", "b", "c"])})
    finally:
        await db.dispose()
    folder = outputs(tmp_path)
    out = folder / "daily.csv"
    out.write_text("an older export\n")
    code, _, err = await run_cli(
        database_url, tmp_path, "--team", TEAM, "--standup", "daily", "--format", "csv",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "Wrote 27 rows (answers of 'daily' in T0TEAM001)" in err
    assert "rows written" not in err  # no progress when stderr is not a terminal
    table = parse_csv(out.read_text(encoding="utf-8"))
    assert len(table) == 27 and {r["standup"] for r in table} == {"Daily"}
    assert [r["answer"] for r in table[:3]] == [neutralise_cell(t) for t in TRICKY[:3]]
    assert listed(folder) == ["daily.csv"]  # no temp file left

    everything = folder / "all.csv"
    code, _, err = await run_cli(
        database_url, tmp_path, "--team", TEAM, "--format", "csv", "--out", str(everything),
        "--from", "2026-03-02", "--to", "2026-03-02",
    )  # fmt: skip
    assert code == 0, err
    rows = parse_csv(everything.read_text(encoding="utf-8"))
    # 2 March: Alice and Bob in Daily, Bob in Retro — 3 answers each.
    assert [(r["standup"], r["person"]) for r in rows][::3] == [
        ("Daily", ALICE),
        ("Daily", BOB),
        ("Retro", BOB),
    ]
    assert rows[-3]["answer"] == "'=1+1"


async def test_bad_operator_input_exits_2_and_writes_nothing(
    history: tuple[str, Seeded], tmp_path: Path
) -> None:
    database_url, _ = history
    folder = outputs(tmp_path)
    out = folder / "keep.json"
    out.write_text("keep me")
    for args, expected, exit_code in (
        (("--team", "T0NOBODY1"), "No workspace T0NOBODY1 is stored", 2),
        (("--team", TEAM, "--standup", "Weekly"), "has no standup called 'Weekly'", 2),
        (
            ("--team", TEAM, "--standup", "Daily", "--from", "2001-01-01", "--to", "2001-02-01"),
            "No answers to export",
            1,
        ),
        (("--team", TEAM, "--standup", "Daily", "--from", "2026-02-30"), "is not a date", 2),
        (("--team", TEAM, "--from", "2026-03-01"), "apply to answer exports", 2),
    ):
        code, _, err = await run_cli(
            database_url, tmp_path, *args, "--format", "json", "--out", str(out)
        )
        assert (code, expected in err) == (exit_code, True), (args, code, err)
    assert out.read_text() == "keep me"
    assert listed(folder) == ["keep.json"]


async def test_the_workspace_export_holds_everything_but_no_secret(
    history: tuple[str, Seeded], tmp_path: Path
) -> None:
    database_url, seeded = history
    db = Database(database_url)
    try:
        secrets = await seed_secrets(db, seeded)
        # Another workspace's data never appears in ours.
        other = await seed_standup(
            db,
            OTHER_TEAM,
            name="Theirs",
            owner="U0THEM001",
            participants=["U0THEM001"],
            created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
            active=False,
        )
        await add_day(db, other, FIRST, {"U0THEM001": Entry(A, 5, ["their secret plans"])})
    finally:
        await db.dispose()
    out = tmp_path / "workspace.json"
    code, _, err = await run_cli(
        database_url, tmp_path, "--team", TEAM, "--format", "json", "--out", str(out), tty=True
    )
    assert code == 0, err
    assert "rows written…" in err  # progress, on a terminal
    text = out.read_text(encoding="utf-8")
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []
    assert "their secret plans" not in text and "Theirs" not in text

    data: dict[str, Any] = json.loads(text)
    assert data["format"] == "asyncstand-workspace-export" and data["team_id"] == TEAM
    tables = data["tables"]
    assert [w["team_id"] for w in tables["workspace"]] == [TEAM]
    [install] = tables["installation"]
    assert install["bot_scopes"] == "chat:write" and "bot_token_encrypted" not in install
    assert {m["slack_user_id"] for m in tables["member"]} == {ALICE, BOB, CAROL}
    assert [s["name"] for s in tables["standup"]] == ["Daily"]
    assert len(tables["run"]) == 6 and len(tables["prompt"]) == 18
    assert [a["body"] for a in tables["answer"][:3]] == TRICKY[:3]  # exact, as stored
    assert len(tables["answer"]) == 27
    moods = [p["mood"] for p in tables["participation"] if p["outcome"] == "answered"]
    assert moods == [3] * 6
    assert [b["text"] for b in tables["blocker"]] == ["stuck"]
    [webhook] = tables["webhook"]
    assert webhook["url"] == "https://hooks.example.com/asyncstand"
    assert "secret_encrypted" not in webhook
    assert tables["webhook_delivery"][0]["payload"]["data"] == {"answers": ["shipped"]}
    [token] = tables["api_token"]
    assert (token["name"], token["prefix"], token["scope"]) == ("reporting", "abcd1234", "write")
    assert "digest" not in token
    assert "web_session" not in tables and "idempotency_key" not in tables
    assert set(data["left_out"]["tables"]) >= {"web_session", "idempotency_key"}
