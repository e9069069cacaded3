"""Question types end to end, on both databases: typed in the create form (a tag ending the
line), stored typed, asked with the matching input in the answer modal, checked per type (errors
under the right question), shown readably in the thread reply (moods as faces, line breaks kept,
text escaped), the blocker question's answer in the summary, moods in the participation records
at the close and after a late answer, and questions as objects in the REST API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot import checkins
from bot.rules.questions import Question, QuestionType, format_question_lines, from_json
from storage.db import Database
from storage.models import Answer, Member, Outcome, Participation, Standup
from tests.api_client import Shapes, call, token_for, workspace_ready
from tests.harness import (
    Clock,
    RunningApp,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import FakeSlack
from tests.test_scheduler import (
    ALICE,
    BOB,
    DAY,
    prompt_rows,
    seed_standup,
    tick_at,
    utc,
    worker_for,
)

CHANNEL = "C0STANDUP1"
ZONE = "America/New_York"
LINES = [
    "What did you do?",
    "How do you feel? [mood]",
    "Which project? [choice: Alpha, Beta & <Gamma>]",
    "Hours spent? [number]",
    "Anything else? [optional]",
    "Blockers? [blocker]",
]
TYPED = [
    Question("What did you do?"),
    Question("How do you feel?", QuestionType.MOOD),
    Question("Which project?", QuestionType.CHOICE, ("Alpha", "Beta & <Gamma>")),
    Question("Hours spent?", QuestionType.NUMBER),
    Question("Anything else?", QuestionType.OPTIONAL),
    Question("Blockers?", is_blocker=True),
]
SHAPES = Shapes()


@dataclass
class Env:
    app: RunningApp
    slack: FakeSlack
    prompt_id: str
    dm: tuple[str, str]
    summary_ts: str


async def _stored_questions(app: RunningApp) -> list[Question]:
    async with app.app.services.db.session() as session:
        stored = (await session.execute(select(Standup.questions))).scalar_one()
    return from_json(stored)


def _create_values(lines: list[str], name: str = "Core") -> dict[str, Any]:
    far = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)).astimezone(ZoneInfo(ZONE))
    return create_form_values(
        name=name,
        channel=CHANNEL,
        questions=lines,
        participants=[ALICE, BOB],
        days=list(range(7)),
        time=far.strftime("%H:%M"),
    )


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Alice created "Core" with one question of each type and ran it: both prompts are out."""
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            await app.requests.command(ALICE, "create")
            [opened] = await slack.wait_for("views.open")
            status, text = await app.requests.view_submission(
                ALICE, opened.body["view"], _create_values(LINES)
            )
            assert status == 200 and "errors" not in text, text
            await slack.wait_for("conversations.join")
            await app.requests.command(ALICE, "run Core")
            calls = await slack.wait_for(
                "chat.postMessage", count=2, timeout=5, predicate=is_prompt
            )
            [mine] = [c for c in calls if c.body["channel"] == "D" + ALICE[1:]]
            [summary] = await slack.wait_for(
                "chat.postMessage",
                predicate=lambda c: c.body["channel"] == CHANNEL and not c.body.get("thread_ts"),
            )
            await slack.wait_idle(quiet=0.3)
            yield Env(
                app,
                slack,
                find_action(mine.body["blocks"], "prompt_answer")["value"],
                (mine.response["channel"], mine.response["ts"]),
                summary.response["ts"],
            )
        finally:
            await app.stop()


async def _open_modal(env: Env, action_id: str) -> dict[str, Any]:
    message = env.slack.get_message(*env.dm)
    assert message is not None
    before = len(env.slack.calls_to("views.open"))
    status, _ = await env.app.requests.block_action(
        ALICE,
        action_id,
        find_action(message["blocks"], action_id)["value"],
        channel_id=env.dm[0],
        message=message,
    )
    assert status == 200
    opened = await env.slack.wait_for("views.open", count=before + 1, timeout=5)
    assert opened[-1].ok, env.slack.describe_calls(opened[-1:])
    view: dict[str, Any] = opened[-1].body["view"]
    return view


def _values(
    text: str | None,
    mood: str | None,
    choice: str | None,
    number: str | None,
    notes: str | None,
    blockers: str | None,
) -> dict[str, Any]:
    """view.state.values as Slack sends them for these inputs (None: nothing entered/picked)."""

    def picked(kind: str, value: str | None) -> dict[str, Any]:
        option = (
            None
            if value is None
            else {"text": {"type": "plain_text", "text": value}, "value": value}
        )
        return {"answer": {"type": kind, "selected_option": option}}

    def typed(kind: str, value: str | None) -> dict[str, Any]:
        return {"answer": {"type": kind, "value": value}}

    return {
        "q0": typed("plain_text_input", text),
        "q1": picked("radio_buttons", mood),
        "q2": picked("static_select", choice),
        "q3": typed("number_input", number),
        "q4": typed("plain_text_input", notes),
        "q5": typed("plain_text_input", blockers),
    }


async def _answers_of(database_url: str, prompt_id: int) -> list[str]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Answer.body).where(Answer.prompt_id == prompt_id).order_by(Answer.position)
            )
            return [r[0] for r in rows]
    finally:
        await db.dispose()


async def test_typed_questions_from_the_form_to_the_thread(env: Env) -> None:
    slack, req = env.slack, env.app.requests
    assert await _stored_questions(env.app) == TYPED

    # The modal asks each question with the input of its type.
    modal = await _open_modal(env, "prompt_answer")
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert [b["label"]["text"] for b in inputs] == [q.text for q in TYPED]
    kinds = [b["element"]["type"] for b in inputs]
    assert kinds == [
        "plain_text_input",
        "radio_buttons",
        "static_select",
        "number_input",
        "plain_text_input",
        "plain_text_input",
    ]
    assert [b["optional"] for b in inputs] == [False, False, False, False, True, False]
    assert [o["value"] for o in inputs[1]["element"]["options"]] == ["1", "2", "3", "4", "5"]
    # plain_text options show the option as typed (no mrkdwn escaping there).
    assert [o["text"]["text"] for o in inputs[2]["element"]["options"]] == [
        "Alpha",
        "Beta & <Gamma>",
    ]
    assert inputs[3]["element"]["is_decimal_allowed"] is True

    # Each input is checked against its type; errors sit under their own question.
    status, text = await req.view_submission(
        ALICE, modal, _values("", None, "Delta", "1,500", None, "-")
    )
    assert status == 200
    errors = json.loads(text)["errors"]
    assert set(errors) == {"q0", "q1", "q2", "q3"}
    assert "Please answer" in errors["q0"]
    assert "mood from 1" in errors["q1"]
    assert "isn't one of the options" in errors["q2"]
    assert "ambiguous" in errors["q3"]
    assert await _answers_of(env.app.app.services.db.url, int(env.prompt_id)) == []

    status, text = await req.view_submission(
        ALICE,
        modal,
        _values(
            "shipped <the> importer\nand tests", "4", "Beta & <Gamma>", "2,5", None, "CI <red>"
        ),
    )
    assert status == 200 and text.strip() == "", text
    assert await _answers_of(env.app.app.services.db.url, int(env.prompt_id)) == [
        "shipped <the> importer\nand tests",
        "4",
        "Beta & <Gamma>",
        "2.5",
        "",
        "CI <red>",
    ]

    [reply] = await slack.wait_for(
        "chat.postMessage",
        timeout=5,
        predicate=lambda c: c.body["channel"] == CHANNEL and c.body.get("thread_ts") is not None,
    )
    shown = json.dumps(reply.body["blocks"], ensure_ascii=False)
    assert "shipped &lt;the&gt; importer\\nand tests" in shown  # the line break is kept
    assert "4/5 🙂" in shown
    assert "Beta &amp; &lt;Gamma&gt;" in shown
    assert "*Hours spent?*\\n2.5" in shown
    assert "*Anything else?*\\n—" in shown
    assert "<Gamma>" not in shown and "<red>" not in shown

    # Edit: every input is prefilled with what was given.
    modal = await _open_modal(env, "prompt_edit")
    elements = [b["element"] for b in modal["blocks"] if b["type"] == "input"]
    assert elements[0]["initial_value"] == "shipped <the> importer\nand tests"
    assert elements[1]["initial_option"]["value"] == "4"
    assert elements[2]["initial_option"]["value"] == "Beta & <Gamma>"
    assert elements[3]["initial_value"] == "2.5"
    assert "initial_value" not in elements[4]

    # And the standup's edit form shows the questions with their tags, as typed.
    before = len(slack.calls_to("views.open"))
    await req.command(ALICE, "edit Core")
    opened = await slack.wait_for("views.open", count=before + 1, timeout=5)
    edit = opened[-1].body["view"]
    [box] = [b for b in edit["blocks"] if b.get("block_id") == "questions"]
    assert box["element"]["initial_value"] == format_question_lines(TYPED)
    assert box["element"]["initial_value"].splitlines() == [
        "What did you do?",
        "How do you feel? [mood]",
        "Which project? [choice: Alpha, Beta & <Gamma>]",
        "Hours spent? [number]",
        "Anything else? [optional]",
        "Blockers? [blocker]",
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Fine?", "Mood? [moood]"], "Line 2 has an unknown tag “moood”"),
        (["Pick? [choice: Only]"], "at least 2 options"),
        (["A? [blocker]", "B? [blocker]"], "second blocker question"),
        (["Feel? [mood, blocker]"], "can't be the blocker question"),
    ],
)
async def test_bad_tags_are_explained_under_the_questions_field(
    database_url: str, lines: list[str], expected: str
) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz=ZONE)
        slack.add_user(BOB, "bob", tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack)
        try:
            await app.requests.command(ALICE, "create")
            [opened] = await slack.wait_for("views.open")
            status, text = await app.requests.view_submission(
                ALICE, opened.body["view"], _create_values(lines)
            )
            assert status == 200
            body = json.loads(text)
            assert body["response_action"] == "errors"
            assert list(body["errors"]) == ["questions"]
            assert expected in body["errors"]["questions"]
            async with app.app.services.db.session() as session:
                assert (await session.execute(select(Standup))).first() is None
        finally:
            await app.stop()


# --- moods become participation records -------------------------------------------------------


async def test_the_mood_answer_is_recorded_at_the_close_and_after_a_late_answer(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        for user in (ALICE, BOB):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        await seed_standup(
            database_url, slack, participants=[ALICE, BOB], schedule_from=utc(DAY, 6)
        )
        db = Database(database_url)
        try:
            async with db.session() as session:
                await session.execute(
                    update(Standup).values(
                        questions=[
                            {"text": "Done?", "type": "text"},
                            {"text": "Mood?", "type": "mood"},
                        ]
                    )
                )
        finally:
            await db.dispose()
        clock = Clock()
        async with worker_for(database_url, slack, clock) as worker:
            await tick_at(worker, clock, utc(DAY, 8, 0, 5))  # 09:00 in Berlin
            rows = await prompt_rows(database_url)
            alice = rows[ALICE, DAY]
            outcome = await checkins.answer(
                worker.services,
                checkins.PromptRef(alice.workspace_id, ALICE, alice.id),
                ["yes", "4"],
            )
            assert isinstance(outcome, checkins.Answered), outcome
            await tick_at(worker, clock, utc(DAY, 12, 0, 10))  # closes 4 h after 09:00
            records = await _records(database_url)
            assert records == {ALICE: (Outcome.ANSWERED, 4), BOB: (Outcome.MISSED, None)}

            bob = rows[BOB, DAY]
            late = await checkins.answer(
                worker.services,
                checkins.PromptRef(bob.workspace_id, BOB, bob.id),
                ["late but here", "2"],
            )
            assert isinstance(late, checkins.Answered), late
            assert (await _records(database_url))[BOB] == (Outcome.LATE, 2)
            # Editing a mood after the close keeps the record in step.
            edited = await checkins.answer(
                worker.services,
                checkins.PromptRef(alice.workspace_id, ALICE, alice.id),
                ["yes", "5"],
            )
            assert isinstance(edited, checkins.Answered) and edited.edited
            assert (await _records(database_url))[ALICE] == (Outcome.ANSWERED, 5)


async def _records(database_url: str) -> dict[str, tuple[Outcome, int | None]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Member.slack_user_id, Participation.outcome, Participation.mood).join(
                    Member, Member.id == Participation.member_id
                )
            )
            return {user: (outcome, mood) for user, outcome, mood in rows}
    finally:
        await db.dispose()


# --- the REST API -------------------------------------------------------------------------------


async def test_the_api_takes_questions_as_lines_or_objects_and_returns_objects(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        for user in (ALICE, BOB):
            slack.add_user(user, user.lower(), tz="Europe/Berlin")
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack)
        try:
            await workspace_ready(app)
            token = await token_for(app, ALICE)
            body = {
                "name": "Typed",
                "channel": CHANNEL,
                "questions": [
                    "Done? ",
                    {"text": "Mood?", "type": "mood"},
                    {"text": "Team?", "type": "choice", "options": ["Core", "Web"]},
                    "Blocked? [optional, blocker]",
                ],
                "participants": [ALICE, BOB],
                "days": ["mon", "tue"],
                "time": "09:30",
                "tz": "Europe/Berlin",
            }
            created = await call(app, "POST", "/standups", token, body=body)
            assert created.status == 201, created.text
            SHAPES.check("Standup", created.json)
            assert created.json["questions"] == [
                {"text": "Done?", "type": "text", "options": [], "is_blocker": False},
                {"text": "Mood?", "type": "mood", "options": [], "is_blocker": False},
                {
                    "text": "Team?",
                    "type": "choice",
                    "options": ["Core", "Web"],
                    "is_blocker": False,
                },
                {"text": "Blocked?", "type": "optional", "options": [], "is_blocker": True},
            ]
            # Objects and lines are judged by the same rules, with the same messages.
            for questions, status, why in (  # field errors: 400 with a reason per field
                ([{"text": "Colour?", "type": "colour"}], 400, "Question 1: unknown type"),
                (["Fine?", {"text": "Q?", "colour": "red"}], 400, "Give a list of questions"),
                ([{"text": "Pick?", "type": "choice", "options": ["One"]}], 400, "2 options"),
                (["Hours? [number, blocker]"], 400, "can't be the blocker question"),
            ):
                attempt = {**body, "name": "No", "questions": questions}
                refused = await call(app, "POST", "/standups", token, body=attempt)
                problem = refused.problem(status)
                assert why in json.dumps(problem), (questions, problem)
            patched = await call(
                app,
                "PATCH",
                f"/standups/{created.json['id']}",
                token,
                body={"questions": [{"text": "Only this?", "type": "optional"}]},
            )
            assert patched.status == 200, patched.text
            assert patched.json["questions"] == [
                {"text": "Only this?", "type": "optional", "options": [], "is_blocker": False}
            ]
        finally:
            await app.stop()
