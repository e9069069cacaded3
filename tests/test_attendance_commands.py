"""`/standup ooo`, `/standup holidays` and `/standup skip` over real HTTP (issue 9), with bad
input of every kind, refusals with their reason, and App Home's attendance settings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from bot.rules.away import describe_range
from tests.harness import RunningApp, is_delivered_prompt, start_app
from tests.slack_fake import FakeSlack
from tests.test_commands import (
    ALICE,
    BOB,
    CAROL,
    CHANNEL,
    COMMAND_CHANNEL,
    ZONE,
    _create,
    _home_of,
    _reply,
    _text,
)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[RunningApp]:
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        running = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            yield running
        finally:
            await running.stop()


def today() -> dt.date:
    """Today in the users' zone (the day the app reads commands in)."""
    return dt.datetime.now(ZoneInfo(ZONE)).date()


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


async def said(app: RunningApp, user: str, text: str) -> str:
    """The ephemeral reply to `/standup <text>`, as the JSON of its text and blocks."""
    return _text(await _reply(app, user, text))


# --- /standup ooo -------------------------------------------------------------------------------


async def test_ooo_set_show_and_clear(app: RunningApp) -> None:
    assert "You have no out of office set" in await said(app, ALICE, "ooo")
    start, end = days(20), days(34)
    reply = await said(app, ALICE, f"ooo {start} {end}")
    assert f"You're out of office {describe_range(start, end)}" in reply
    assert "no prompts or reminders then" in reply and "`/standup ooo off` clears it" in reply
    assert describe_range(start, end) in await said(app, ALICE, "ooo")

    extended = await said(app, ALICE, f"ooo {days(30)} {days(40)}")
    assert describe_range(start, days(40)) in extended
    assert "Combined with what was set before" in extended

    until = await said(app, ALICE, f"ooo until {days(2)}")
    assert f"You're out of office {describe_range(today(), days(2))}" in until
    cleared = await said(app, ALICE, "ooo off")
    assert "no longer out of office" in cleared
    assert describe_range(start, days(40)) in cleared
    assert "You have no out of office set" in await said(app, ALICE, "ooo")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ooo 2026-02-30", "“2026-02-30” is not a date I can read"),
        ("ooo tomorrow", "“tomorrow” is not a date I can read"),
        ("ooo {d5} {d2}", "before it starts"),
        ("ooo {d0} {d400}", "401 days long; the most is 366 days"),
        ("ooo 2020-01-01 2020-01-05", "is already over"),
        ("ooo until", "“until” needs a date after it"),
        ("ooo off please", "Nothing may follow “off”"),
        ("ooo @bob 2026-12-21", "“@bob” is not a person Slack recognised"),
    ],
)
async def test_ooo_bad_input_is_explained(app: RunningApp, text: str, words: str) -> None:
    text = text.format(d0=days(0), d2=days(2), d5=days(5), d400=days(400))
    reply = await said(app, ALICE, text)
    assert words in reply, reply
    assert "Usage: /standup ooo" in reply
    assert "You have no out of office set" in await said(app, ALICE, "ooo")


async def test_ooo_for_someone_else_by_an_owner_is_told_to_them(app: RunningApp) -> None:
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    slack = app.slack
    refused = await said(app, BOB, f"ooo <@{ALICE}|alice> {days(3)}")
    assert "Only a workspace admin or an owner of a standup they take part in" in refused
    assert "Only a workspace admin" in await said(app, CAROL, f"ooo <@{BOB}|bob>")

    reply = await said(app, ALICE, f"ooo <@{BOB}|bob> {days(3)} {days(5)}")
    assert f"<@{BOB}> is out of office {describe_range(days(3), days(5))}" in reply
    [dm] = await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.body["channel"] == "D" + BOB[1:] and "set you out" in c.body["text"],
    )
    assert f"<@{ALICE}> set you out of office" in dm.body["text"]
    assert describe_range(days(3), days(5)) in await said(app, BOB, "ooo")
    assert describe_range(days(3), days(5)) in await said(app, ALICE, f"ooo <@{BOB}>")


# --- /standup holidays ---------------------------------------------------------------------------


async def test_holidays_show_set_and_off(app: RunningApp) -> None:
    await _create(app, ALICE, "Daily", [ALICE])
    shown = await said(app, ALICE, "holidays")
    assert "You follow each standup's public holidays" in shown
    assert "*Daily*: no holiday calendar" in shown
    chosen = await said(app, ALICE, "holidays in-ka")
    assert "You now follow *IN-KA*'s public holidays in every standup" in chosen
    assert "Next: " in chosen
    assert "*IN-KA*" in await said(app, ALICE, "holidays")
    again = await said(app, ALICE, "holidays off")
    assert "You follow each standup's public holidays again" in again


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("holidays Germany", "Did you mean DE?"),
        ("holidays DE-XX", "DE has no region 'XX'"),
        ("holidays <!channel>", "Unknown country code '&lt;!channel&gt;'"),
    ],
)
async def test_holidays_bad_codes_are_explained(app: RunningApp, text: str, words: str) -> None:
    reply = await said(app, ALICE, text)
    assert words in reply, reply
    assert "Usage: /standup holidays" in reply
    assert "<!channel>" not in reply


# --- /standup skip -------------------------------------------------------------------------------


async def test_skip_today_and_a_date(app: RunningApp) -> None:
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    skipped = await said(app, ALICE, "skip daily")
    when = describe_range(today(), today())
    assert f"Skipped *Daily* on {when} for everyone" in skipped
    assert f"*Daily* is already skipped on {when}" in await said(app, ALICE, "skip Daily")
    later = await said(app, ALICE, f"skip Daily {days(10)}")
    assert f"Skipped *Daily* on {describe_range(days(10), days(10))}" in later
    history = await said(app, ALICE, "history Daily")
    assert "skip" in history and days(10).isoformat() in history


@pytest.mark.parametrize(
    ("user", "text", "words"),
    [
        (ALICE, "skip Daily 2020-01-01", "is in the past"),
        (ALICE, "skip Daily {d400}", "is more than a year ahead"),
        (ALICE, "skip Daily 2026-13-01", "“2026-13-01” is not a date I can read"),
        (ALICE, "skip Nightly", "There is no standup called *Nightly*"),
        (BOB, "skip Daily", "Only the owners of *Daily* or a workspace admin can do that."),
    ],
)
async def test_skip_bad_input_and_refusals(
    app: RunningApp, user: str, text: str, words: str
) -> None:
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    reply = await said(app, user, text.format(d400=days(400)))
    assert words in reply, reply


async def test_skip_after_the_prompts_went_out_marks_them_skipped(app: RunningApp) -> None:
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    slack = app.slack
    assert "Started *Daily*" in await said(app, ALICE, "run Daily")
    prompts = await slack.wait_for("chat.postMessage", count=2, predicate=is_delivered_prompt)
    [summary] = await slack.wait_for(
        "chat.postMessage", predicate=lambda c: c.body["channel"] == CHANNEL
    )
    await slack.wait_idle(quiet=0.5)
    reply = await said(app, ALICE, "skip Daily")
    assert "2 participants had already been asked" in reply
    # Each DM now says "skipped" (and still offers an answer).
    prompt_ts = {p.response["ts"] for p in prompts}
    updated = await slack.wait_for(
        "chat.update",
        count=2,
        predicate=lambda c: (
            c.body.get("ts") in prompt_ts and "Skipped today" in json.dumps(c.body["blocks"])
        ),
    )
    assert {c.body["ts"] for c in updated} == prompt_ts
    await slack.wait_for(
        "chat.update",
        predicate=lambda c: (
            c.body.get("ts") == summary.response["ts"]
            and f"*Skipped*: <@{ALICE}>, <@{BOB}>" in json.dumps(c.body["blocks"])
        ),
    )


async def test_skip_without_a_name_shows_its_usage_at_once(app: RunningApp) -> None:
    status, body = await app.requests.command(ALICE, "skip  ")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    assert "Which standup? Use `/standup skip &lt;name&gt; [YYYY-MM-DD]`" in reply["text"]


async def test_skip_a_day_the_standup_does_not_run(app: RunningApp) -> None:
    weekday = days(3).weekday()
    await _create(app, ALICE, "Weekly", [ALICE], days=[(weekday + 1) % 7])
    reply = await said(app, ALICE, f"skip Weekly {days(3)}")
    assert f"*Weekly* doesn't run on {describe_range(days(3), days(3))}" in reply
    assert "nothing to skip" in reply


# --- help and App Home ---------------------------------------------------------------------------


async def test_help_and_app_home_show_attendance(app: RunningApp) -> None:
    status, body = await app.requests.command(ALICE, "help")
    assert status == 200
    shown = json.dumps(json.loads(body))
    for command in ("/standup ooo", "/standup holidays", "/standup skip"):
        assert command in shown, command
    home = await _home_of(app, ALICE)
    assert "*Out of office*: not set" in home
    await said(app, ALICE, f"ooo {days(4)} {days(6)}")
    await said(app, ALICE, "holidays IN-KA")
    home = await _home_of(app, ALICE)
    assert json.dumps(describe_range(days(4), days(6)))[1:-1] in home
    assert "you follow *IN-KA* in every standup" in home
