"""Through the API, one workspace's token never reaches another's data (404 for its ids, never
a hint that they exist), and the people endpoints: participation reports and out-of-office
time, each with who may see and change what. Real HTTP, both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import (
    AuditEntry,
    AwayPeriod,
    Member,
    Outcome,
    Participant,
    Participation,
    Prompt,
    Run,
    RunState,
    Standup,
    StandupOwner,
)
from tests.api_client import TEAM, Shapes, call, count, token_for, workspace_ready
from tests.harness import Clock, RunningApp, start_app
from tests.multi_workspace import install_workspace, start_multi
from tests.slack_fake import FakeSlack

TEAM_B = "T0TEAM002"
ALICE, BOB, CAROL, ADMIN = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ADMIN01"
BEA, BEN = "U0BEA0001", "U0BEN0001"  # workspace B: an admin and a member
CHANNEL_A, CHANNEL_B = "C0STANDA01", "C0STANDB01"
SHAPES = Shapes()


def standup_body(name: str, channel: str, people: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "channel": channel,
        "questions": ["What did you do?", "Blockers?"],
        "participants": people,
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "time": "07:00",
        "tz": "UTC",
    }


# Set when the scheduler plans a standup again (as it does after an out-of-office change).
PLANNING_MARKS = ("planned_until", "updated_at")


async def snapshot(database_url: str, workspace_id: int) -> list[Any]:
    """What of a workspace a stranger's request could have changed (prompts and runs are
    counted and a standup's planning mark left out: the scheduler is busy meanwhile, and
    planning again after someone's out-of-office changed)."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows: list[Any] = [
                await count(database_url, model, model.workspace_id == workspace_id)
                for model in (Prompt, Run)
            ]
            for model in (Standup, Participant, StandupOwner, AuditEntry, AwayPeriod):
                found = await session.execute(
                    select(model).where(model.workspace_id == workspace_id)
                )
                for row in found.scalars():
                    rows.append(
                        (
                            model.__name__,
                            {
                                k: v
                                for k, v in vars(row).items()
                                if k[0] != "_" and k not in PLANNING_MARKS
                            },
                        )
                    )
            return rows
    finally:
        await db.dispose()


async def test_another_workspaces_ids_are_404_and_nothing_changes(database_url: str) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", team_id=TEAM)
        slack.add_user(BOB, "bob", team_id=TEAM)
        slack.add_user(BEA, "bea", team_id=TEAM_B, is_admin=True)
        slack.add_user(BEN, "ben", team_id=TEAM_B)
        slack.add_channel(CHANNEL_A, "standup-a")
        slack.add_channel(CHANNEL_B, "standup-b")
        app = await start_multi(database_url, slack)
        try:
            await install_workspace(
                app, slack, team_id=TEAM, team_name="A", installer=ALICE, bot_user_id="U0BOTA001"
            )
            await install_workspace(
                app, slack, team_id=TEAM_B, team_name="B", installer=BEA, bot_user_id="U0BOTB001"
            )
            alice = await token_for(app, ALICE, team_id=TEAM)
            bea = await token_for(app, BEA, team_id=TEAM_B)  # an admin, of B
            created = await call(
                app, "POST", "/standups", alice, body=standup_body("Daily", CHANNEL_A, [ALICE, BOB])
            )
            assert created.status == 201, created.text
            standup_id = created.json["id"]
            await call(app, "POST", f"/standups/{standup_id}/run", alice)
            await call(
                app,
                "PUT",
                "/users/me/ooo",
                alice,
                body={"start": "2031-05-01", "end": "2031-05-09"},
            )
            run_id = (await call(app, "GET", f"/standups/{standup_id}/runs", alice)).json["items"][
                0
            ]["id"]
            workspace_a = await workspace_ready(app, TEAM)
            before = await snapshot(database_url, workspace_a)

            own = await call(
                app, "POST", "/standups", bea, body=standup_body("Daily", CHANNEL_B, [BEN])
            )
            assert own.status == 201, own.text  # the same name is B's own to use
            listed = await call(app, "GET", "/standups", bea)
            assert [s["id"] for s in listed.json["items"]] == [own.json["id"]]

            attempts: list[tuple[str, str, Any]] = [
                ("GET", f"/standups/{standup_id}", None),
                ("PATCH", f"/standups/{standup_id}", {"active": False}),
                ("PATCH", f"/standups/{standup_id}", {"participants": [BEN]}),
                ("DELETE", f"/standups/{standup_id}", None),
                ("POST", f"/standups/{standup_id}/run", None),
                ("GET", f"/standups/{standup_id}/runs", None),
                ("GET", f"/runs/{run_id}", None),
                ("GET", f"/reports?standup_id={standup_id}", None),
                ("GET", f"/users/{ALICE}/ooo", None),
                ("PUT", f"/users/{ALICE}/ooo", {"start": "2031-06-01", "end": "2031-06-02"}),
                ("DELETE", f"/users/{ALICE}/ooo", None),
            ]
            missing = {}
            for method, path, body in attempts:
                reply = await call(app, method, path, bea, body=body)
                missing[(method, path)] = reply.problem(404)["detail"]
            # A 404 for another workspace's id reads exactly like one for an id nobody has.
            nobody = await call(app, "GET", "/standups/987654", bea)
            assert nobody.problem(404)["detail"] == missing[("GET", f"/standups/{standup_id}")]
            report = await call(app, "GET", "/reports", bea)
            assert [p["user_id"] for p in report.json["people"]] == []
            assert await snapshot(database_url, workspace_a) == before
        finally:
            await app.stop()


# --- reports and out-of-office ------------------------------------------------------------------


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, Clock]]:
    clock = Clock()
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz="Pacific/Auckland")
        slack.add_user(ADMIN, "admin", tz="UTC", is_admin=True)
        slack.add_channel(CHANNEL_A, "standup")
        app = await start_app(database_url, slack, clock=clock)
        try:
            await workspace_ready(app)
            yield app, clock
        finally:
            await app.stop()


async def test_reports_count_participation_per_person(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, _ = env
    alice, bob, carol = [await token_for(app, user) for user in (ALICE, BOB, CAROL)]
    created = await call(
        app, "POST", "/standups", alice, body=standup_body("Daily", CHANNEL_A, [ALICE, BOB])
    )
    standup_id = created.json["id"]
    outcomes = {
        ALICE: [Outcome.ANSWERED, Outcome.ANSWERED, Outcome.LATE, Outcome.AWAY],
        BOB: [Outcome.MISSED, Outcome.ANSWERED, Outcome.SKIPPED, Outcome.ANSWERED],
    }
    start = dt.date(2026, 3, 2)
    async with app.app.services.db.session() as session:
        standup = (await session.execute(select(Standup))).scalar_one()
        people = {m.slack_user_id: m.id for m in (await session.execute(select(Member))).scalars()}
        for day in range(4):
            run = Run(
                workspace_id=standup.workspace_id,
                standup_id=standup.id,
                local_date=start + dt.timedelta(days=day),
                questions=list(standup.questions),
                channel_id=standup.channel_id,
                state=RunState.CLOSED,
                close_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC) + dt.timedelta(days=day),
            )
            session.add(run)
            await session.flush()
            for user, results in outcomes.items():
                session.add(
                    Participation(
                        workspace_id=standup.workspace_id,
                        run_id=run.id,
                        standup_id=standup.id,
                        member_id=people[user],
                        local_date=run.local_date,
                        outcome=results[day],
                    )
                )

    path = f"/reports?standup_id={standup_id}&from=2026-03-01&to=2026-03-31"
    # Someone who neither owns nor takes part in it may see the standup, not its report.
    assert (
        "Only the owners of Daily" in (await call(app, "GET", path, carol)).problem(403)["detail"]
    )
    reply = await call(app, "GET", path, alice)
    assert reply.status == 200, reply.text
    assert reply.json["scope"] == "everyone"
    SHAPES.check("Report", reply.json)
    by_person = {p["user_id"]: p for p in reply.json["people"]}
    assert by_person[ALICE]["counts"]["answered"] == 2
    assert by_person[ALICE]["participation_rate"] == 1  # away days never count against
    assert (by_person[ALICE]["current_streak"], by_person[ALICE]["longest_streak"]) == (3, 3)
    assert by_person[BOB]["participation_rate"] == 0.5
    assert by_person[BOB]["counts"]["missed"] == 1 and by_person[BOB]["current_streak"] == 1
    assert reply.json["overall"]["total"] == 8
    everything = await call(app, "GET", "/reports?from=2026-03-01&to=2026-03-31", alice)
    assert everything.json["people"] == reply.json["people"]
    narrow = await call(app, "GET", f"/reports?standup_id={standup_id}&from=2026-03-04", alice)
    assert narrow.json["overall"]["total"] == 4  # to: today
    # A participant gets their own line, and the overall figures of everyone.
    own = await call(app, "GET", path, bob)
    SHAPES.check("Report", own.json)
    assert own.json["scope"] == "own"
    assert [p["user_id"] for p in own.json["people"]] == [BOB]
    assert own.json["people"][0] == by_person[BOB]
    assert own.json["overall"] == reply.json["overall"]
    # Over every standup, Carol may read none: nothing at all.
    assert (await call(app, "GET", "/reports", carol)).json["people"] == []

    for query, field in (
        ("from=2026-04-01&to=2026-03-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("standup_id=abc", "standup_id"),
    ):
        problem = (await call(app, "GET", f"/reports?{query}", alice)).problem(400)
        assert field in problem["errors"], query
    (await call(app, "GET", "/reports?standup_id=424242", alice)).problem(404)


async def test_out_of_office_for_yourself_your_standups_people_or_as_an_admin(
    env: tuple[RunningApp, Clock], database_url: str
) -> None:
    app, clock = env
    alice, bob, carol, admin = [await token_for(app, u) for u in (ALICE, BOB, CAROL, ADMIN)]
    await call(app, "POST", "/standups", alice, body=standup_body("Daily", CHANNEL_A, [ALICE, BOB]))
    soon = clock().date() + dt.timedelta(days=3)
    later = soon + dt.timedelta(days=4)
    period = {"start": soon.isoformat(), "end": later.isoformat()}

    own = await call(app, "PUT", "/users/me/ooo", bob, body=period)
    assert own.status == 200, own.text
    SHAPES.check("OutOfOffice", own.json)
    assert [(p["start"], p["end"], p["set_by"]) for p in own.json["periods"]] == [
        (period["start"], period["end"], BOB)
    ]
    # "today" is the person's own date (Bob is in Auckland).
    assert own.json["today"] == clock().astimezone(ZoneInfo("Pacific/Auckland")).date().isoformat()

    # His standup's owner and an admin may see and set it; a colleague may not.
    assert (await call(app, "GET", f"/users/{BOB}/ooo", alice)).json == own.json
    assert (await call(app, "GET", f"/users/{BOB}/ooo", admin)).status == 200
    for method, body in (("GET", None), ("PUT", period), ("DELETE", None)):
        reply = await call(app, method, f"/users/{BOB}/ooo", carol, body=body)
        assert "out-of-office" in reply.problem(403)["detail"]
    assert (await call(app, "GET", f"/users/{ALICE}/ooo", bob)).status == 403
    replaced = await call(
        app,
        "PUT",
        f"/users/{BOB}/ooo",
        alice,
        body={"start": later.isoformat(), "end": later.isoformat()},
    )
    assert [(p["start"], p["set_by"]) for p in replaced.json["periods"]] == [
        (later.isoformat(), ALICE)
    ]
    assert await count(database_url, AwayPeriod) == 1

    for body, field in (
        ({"start": later.isoformat(), "end": soon.isoformat()}, "end"),
        ({"start": "2020-01-01", "end": "2020-01-02"}, "end"),
        ({"start": soon.isoformat(), "end": (soon + dt.timedelta(days=400)).isoformat()}, "end"),
        ({"start": "soon", "end": later.isoformat()}, "start"),
        ({"start": soon.isoformat(), "end": later.isoformat(), "why": "beach"}, "why"),
    ):
        problem = (await call(app, "PUT", "/users/me/ooo", carol, body=body)).problem(400)
        assert field in problem["errors"], body
    (await call(app, "GET", "/users/U0NOBODY1/ooo", admin)).problem(404)

    cleared = await call(app, "DELETE", f"/users/{BOB}/ooo", admin)
    assert cleared.status == 204
    assert (await call(app, "GET", "/users/me/ooo", bob)).json["periods"] == []
    assert (await call(app, "DELETE", "/users/me/ooo", carol)).status == 204  # nothing to clear
    audited = await count(database_url, AuditEntry, AuditEntry.action == "ooo")
    assert audited == 3
