"""App Home end to end, driven as Slack drives it (signed HTTP in, Web API out): the home shows
today's prompt with the prompt's own Answer button; clicking it opens the answer form; once
answered, the scheduler draws the home again with an Edit button. An owner pauses and resumes
from the home; a participant who doesn't own the standup is refused, whatever they send."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import Member, Standup
from tests.harness import (
    Clock,
    RunningApp,
    answer_values,
    create_form_values,
    find_action,
    is_prompt,
    start_app,
)
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import app_home_opened_event

ALICE, BOB = "U0ALICE01", "U0BOB0001"  # Alice owns "Core"; both take part
CHANNEL = "C0STANDUP1"
ZONE = "America/New_York"


@dataclass
class Env:
    app: RunningApp
    slack: FakeSlack
    standup_id: int

    async def open_home(self, user: str) -> dict[str, Any]:
        """`user` opens the App Home tab: the view published for them."""
        before = len(self.slack.calls_to("views.publish"))
        status, _ = await self.app.requests.event(app_home_opened_event(user))
        assert status == 200
        await self.slack.wait_for("views.publish", count=before + 1)
        return self.home(user)

    def home(self, user: str) -> dict[str, Any]:
        view = self.slack.home_view(user)
        assert view is not None
        return view

    def published(self) -> int:
        return len(self.slack.calls_to("views.publish"))

    async def republished(self, user: str, wanted: str, since: int) -> dict[str, Any]:
        """Wait until `user`'s home is drawn again (after the first `since` publishes)
        containing `wanted`; that drawing."""
        seen = {id(c) for c in self.slack.calls_to("views.publish")[:since]}

        def matches(call: Call) -> bool:
            return (
                id(call) not in seen
                and call.body.get("user_id") == user
                and wanted in json.dumps(call.body["view"])
            )

        [call, *_] = await self.slack.wait_for("views.publish", predicate=matches)
        view: dict[str, Any] = call.body["view"]
        return view

    async def click(self, user: str, view: dict[str, Any], action_id: str, value: str) -> None:
        status, _ = await self.app.requests.block_action(user, action_id, value, view=view)
        assert status == 200

    async def opened_modal(self, before: int) -> dict[str, Any]:
        opened = await self.slack.wait_for("views.open", count=before + 1)
        view: dict[str, Any] = opened[-1].body["view"]
        return view

    async def active(self) -> bool:
        async with self.app.app.services.db.session() as session:
            standup = await session.get(Standup, self.standup_id)
            assert standup is not None
            return standup.active


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Alice's standup "Core" for Alice and Bob (New York), run now: both prompts delivered."""
    async with FakeSlack() as slack:
        for user in (ALICE, BOB):
            slack.add_user(user, user.lower(), tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        app = await start_app(database_url, slack, clock=Clock(), scheduler_tick_seconds=0.2)
        try:
            req = app.requests
            await req.command(ALICE, "create")
            [opened] = await slack.wait_for("views.open")
            far = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).astimezone(ZoneInfo(ZONE))
            status, text = await req.view_submission(
                ALICE,
                opened.body["view"],
                create_form_values(
                    name="Core <team>",
                    channel=CHANNEL,
                    questions=["What did you do?", "What's next?"],
                    participants=[ALICE, BOB],
                    days=list(range(7)),
                    time=far.strftime("%H:%M"),
                ),
            )
            assert status == 200 and "errors" not in text, text
            await slack.wait_for("conversations.join")
            await req.command(ALICE, "run Core <team>")
            await slack.wait_for("chat.postMessage", count=2, predicate=is_prompt)
            await slack.wait_idle(quiet=0.5)  # the deliveries are recorded
            async with app.app.services.db.session() as session:
                standup_id = (await session.execute(select(Standup.id))).scalar_one()
            yield Env(app, slack, standup_id)
        finally:
            await app.stop()


async def test_answering_from_the_home_and_seeing_it_answered(env: Env) -> None:
    slack = env.slack
    home = await env.open_home(ALICE)
    text = json.dumps(home["blocks"])
    assert "*Core &lt;team&gt;*" in text and "waiting for your answer" in text
    answer = find_action(home["blocks"], "prompt_answer")
    assert answer["text"]["text"] == "Answer"

    # The click reaches the prompt's own listener, which opens the same answer form.
    before = len(slack.calls_to("views.open"))
    await env.click(ALICE, home, "prompt_answer", answer["value"])
    modal = await env.opened_modal(before)
    assert modal["callback_id"] == "answer_submit"
    assert modal["private_metadata"] == answer["value"]
    labels = [b["label"]["text"] for b in modal["blocks"] if b["type"] == "input"]
    assert labels == ["What did you do?", "What's next?"]

    since = env.published()
    status, text = await env.app.requests.view_submission(
        ALICE, modal, answer_values(["shipped it", "more"])
    )
    assert status == 200 and "errors" not in text, text
    # The scheduler draws her home again: answered, with the prompt's Edit button.
    home = await env.republished(ALICE, "prompt_edit", since)
    assert "✅ answered" in json.dumps(home["blocks"], ensure_ascii=False)
    edit = find_action(home["blocks"], "prompt_edit")
    assert edit["value"] == answer["value"]
    before = len(slack.calls_to("views.open"))
    await env.click(ALICE, home, "prompt_edit", edit["value"])
    prefilled = json.dumps(await env.opened_modal(before))
    assert "shipped it" in prefilled

    # Bob's prompt id on Alice's home (a forged click) opens nothing but a refusal.
    bob_home = await env.open_home(BOB)
    bob_prompt = find_action(bob_home["blocks"], "prompt_answer")["value"]
    before = len(slack.calls_to("views.open"))
    await env.click(ALICE, home, "prompt_answer", bob_prompt)
    refusal = await env.opened_modal(before)
    assert refusal["callback_id"] == "home_notice"
    assert "That check-in isn't yours" in json.dumps(refusal)


async def test_the_owner_pauses_and_resumes_from_the_home_and_others_see_it(env: Env) -> None:
    slack = env.slack
    bob_home = await env.open_home(BOB)
    home = await env.open_home(ALICE)
    pause = find_action(home["blocks"], "home_pause")
    assert pause["value"] == str(env.standup_id)

    since = env.published()
    await env.click(ALICE, home, "home_pause", pause["value"])
    home = await env.republished(ALICE, "home_resume", since)
    assert not await env.active()
    assert "(paused)" in json.dumps(home["blocks"])
    # Bob opened his home once: the scheduler draws it again, paused (and no buttons of an owner).
    bob_home = await env.republished(BOB, "(paused)", since)
    assert "home_resume" not in json.dumps(bob_home["blocks"])
    assert find_action(bob_home["blocks"], "home_report")["value"] == str(env.standup_id)

    resume = find_action(home["blocks"], "home_resume")
    since = env.published()
    await env.click(ALICE, home, "home_resume", resume["value"])
    await env.republished(ALICE, "home_pause", since)
    assert await env.active()

    # Bob forges a Pause click (he doesn't own Core): refused in a modal, nothing changes.
    for action_id in ("home_pause", "home_run", "home_edit"):
        before = len(slack.calls_to("views.open"))
        await env.click(BOB, bob_home, action_id, str(env.standup_id))
        refusal = json.dumps(await env.opened_modal(before))
        assert "Only the owners of *Core &lt;team&gt;* or a workspace admin" in refusal
        assert '"callback_id": "home_notice"' in refusal
    assert await env.active()
    # Another workspace's or a made-up id: as if there were no such standup.
    before = len(slack.calls_to("views.open"))
    await env.click(ALICE, home, "home_pause", "999999")
    assert "no longer exists" in json.dumps(await env.opened_modal(before))
    assert await env.active()


async def test_edit_from_the_home_opens_the_prefilled_form(env: Env) -> None:
    home = await env.open_home(ALICE)
    before = len(env.slack.calls_to("views.open"))
    await env.click(ALICE, home, "home_edit", find_action(home["blocks"], "home_edit")["value"])
    form = await env.opened_modal(before)
    assert form["callback_id"] == "standup_edit"
    assert form["private_metadata"] == str(env.standup_id)
    assert "Core <team>" in json.dumps(form)


async def test_only_homes_once_opened_are_kept_up_to_date(env: Env) -> None:
    """Bob never opened his home: answering or a pause draws nothing for him."""
    async with env.app.app.services.db.session() as session:
        opened = (await session.execute(select(Member.slack_user_id, Member.home_opened_at))).all()
    assert all(at is None for _, at in opened)
    home = await env.open_home(ALICE)
    since = env.published()
    await env.click(ALICE, home, "home_pause", str(env.standup_id))
    await env.republished(ALICE, "home_resume", since)
    await env.slack.wait_idle(quiet=1.0)
    assert {c.body["user_id"] for c in env.slack.calls_to("views.publish")} == {ALICE}


async def test_setting_out_of_office_redraws_the_home(env: Env) -> None:
    home = await env.open_home(ALICE)
    assert "*Out of office*: not set" in json.dumps(home["blocks"])
    start = dt.datetime.now(ZoneInfo(ZONE)).date() + dt.timedelta(days=30)
    status, _ = await env.app.requests.command(ALICE, f"ooo {start} {start}")
    assert status == 200

    def redrawn(call: Call) -> bool:
        shown = json.dumps(call.body["view"])
        return call.body.get("user_id") == ALICE and "*Out of office*\\n" in shown

    await env.slack.wait_for("views.publish", predicate=redrawn)
