"""`/standup` subcommands over real HTTP: help, list, run, delete (with its confirm buttons),
and bad input that must never turn into a 500."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from storage.models import Standup
from tests.harness import RunningApp, create_form_values, find_action, is_prompt, start_app
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import app_home_opened_event

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANNEL = "C0STANDUP1"
COMMAND_CHANNEL = "C0GENERAL1"
ZONE = "America/New_York"


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[tuple[RunningApp, FakeSlack]]:
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            yield app, slack
        finally:
            await app.stop()


def _far_local_time(hours: float = 6) -> str:
    """A local time (in ZONE) hours away, so the scheduler never fires during a test."""
    return (
        (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours))
        .astimezone(ZoneInfo(ZONE))
        .strftime("%H:%M")
    )


async def _create(
    app: RunningApp,
    owner: str,
    name: str,
    participants: list[str],
    *,
    days: list[int] | None = None,
    time: str | None = None,
    tz_mode: str = "participant",
    fixed_tz: str | None = None,
) -> None:
    """Create a standup the way a user does: /standup create, then submit the modal."""
    slack = app.slack
    opened_before = len(slack.calls_to("views.open"))
    dms_before = len([c for c in slack.calls_to("chat.postMessage") if _dm_to(owner)(c)])
    status, _ = await app.requests.command(owner, "create", channel_id=COMMAND_CHANNEL)
    assert status == 200
    opened = await slack.wait_for("views.open", count=opened_before + 1)
    modal = opened[-1].body["view"]
    status, text = await app.requests.view_submission(
        owner,
        modal,
        create_form_values(
            name=name,
            channel=CHANNEL,
            questions=["What did you do?", "What's next?", "Any blockers?"],
            participants=participants,
            days=list(range(7)) if days is None else days,
            time=time or _far_local_time(),
            tz_mode=tz_mode,
            fixed_tz=fixed_tz,
        ),
    )
    assert status == 200 and "errors" not in text, text
    # The creator's confirmation comes after the channel was looked up (and its privacy, which
    # decides who sees the standup in lists, recorded).
    await slack.wait_for("chat.postMessage", count=dms_before + 1, predicate=_dm_to(owner))


def _dm_to(user: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == "D" + user[1:]


async def _reply(app: RunningApp, user: str, text: str) -> Call:
    """Send /standup <text> and return the ephemeral reply sent through response_url."""
    before = len(app.slack.calls_to("response_url"))
    status, body = await app.requests.command(user, text, channel_id=COMMAND_CHANNEL)
    assert status == 200, body
    calls = await app.slack.wait_for("response_url", count=before + 1)
    reply = calls[before]
    assert reply.ok, app.slack.describe_calls([reply])
    assert reply.body.get("response_type") == "ephemeral", reply.body
    return reply


def _text(call_or_body: Call | dict[str, Any]) -> str:
    body = call_or_body.body if isinstance(call_or_body, Call) else call_or_body
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


def _prompt_recipients(slack: FakeSlack) -> list[str]:
    return sorted(
        "U" + c.body["channel"][1:] for c in slack.calls_to("chat.postMessage") if is_prompt(c)
    )


# --- help and unknown input -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
async def test_help_lists_every_command_ephemerally(
    env: tuple[RunningApp, FakeSlack], text: str
) -> None:
    app, _ = env
    status, body = await app.requests.command(ALICE, text)
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    shown = _text(reply)
    for sub in ("create", "list", "run", "delete"):
        assert f"/standup {sub}" in shown, sub


async def test_unknown_subcommand_gets_helpful_ephemeral_text(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    for text in ("frobnicate", "<!channel> now", "créer 'x'", "x" * 3000):
        status, body = await app.requests.command(ALICE, text)
        assert status == 200, body
        reply = json.loads(body)
        assert reply["response_type"] == "ephemeral"
        assert "/standup help" in reply["text"]
    # The unknown word is quoted back escaped: no broadcast sneaks out.
    status, body = await app.requests.command(ALICE, "<!channel>")
    reply = json.loads(body)
    assert "&lt;!channel&gt;" in reply["text"] and "<!channel>" not in reply["text"]
    slack.assert_not_called("chat.postMessage")


@pytest.mark.parametrize("sub", ["run", "delete"])
async def test_run_and_delete_without_a_name_show_usage(
    env: tuple[RunningApp, FakeSlack], sub: str
) -> None:
    app, slack = env
    status, body = await app.requests.command(ALICE, f"{sub}   ")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    assert f"/standup {sub} " in reply["text"] and "name" in reply["text"]
    # `<name>` must be escaped or Slack reads it as a link/mention control sequence.
    assert "<name>" not in reply["text"]
    await slack.wait_idle(quiet=0.3)
    slack.assert_not_called("views.open")


# --- list -------------------------------------------------------------------------------------


async def test_list_with_no_standups_is_friendly(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    reply = await _reply(app, ALICE, "list")
    assert "No standups yet" in reply.body["text"]
    assert "/standup create" in reply.body["text"]


async def test_list_shows_escaped_name_schedule_participants_and_next_run(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    # Fixed zone, every day, 3 hours from now: the next run is computable independently.
    target = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    berlin = target.astimezone(ZoneInfo("Europe/Berlin"))
    await _create(
        app,
        ALICE,
        "R&D <core> team",
        [ALICE, BOB, CAROL],
        time=berlin.strftime("%H:%M"),
        tz_mode="fixed",
        fixed_tz="Europe/Berlin",
    )
    await _create(app, BOB, "Zeta sync", [BOB], days=[0, 2, 4], time="07:15")

    reply = await _reply(app, CAROL, "list")  # anyone in the workspace may list
    shown = _text(reply)
    assert "R&amp;D &lt;core&gt; team" in shown
    assert "<core>" not in shown
    assert "every day at " + berlin.strftime("%H:%M") + " Europe/Berlin" in shown
    assert "3 participants" in shown
    assert "Zeta sync" in shown
    assert "Mon, Wed, Fri at 07:15 in each participant's time zone" in shown
    assert "1 participant." in shown

    sections = [b["text"]["text"] for b in reply.body["blocks"] if b["type"] == "section"]
    [rnd] = [s for s in sections if "R&amp;D" in s]
    assert "Next:" in rnd
    next_part = rnd.split("Next:", 1)[1]
    # The next run is shown as a date Slack renders (not escaped into literal text).
    assert "&lt;!date" not in next_part, next_part
    assert f"<!date^{int(target.timestamp())}^" in next_part or target.strftime("%H:%M") in (
        next_part
    ), next_part


# --- run --------------------------------------------------------------------------------------


async def test_run_by_owner_prompts_every_participant_once(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    await slack.wait_idle(quiet=0.5)
    assert _prompt_recipients(slack) == []  # nothing is due by itself

    reply = await _reply(app, ALICE, "run daily")  # names match case-insensitively
    assert "Started" in reply.body["text"] and "2 participant" in reply.body["text"]
    prompts = await slack.wait_for("chat.postMessage", count=2, timeout=5, predicate=is_prompt)
    assert sorted("U" + c.body["channel"][1:] for c in prompts) == [ALICE, BOB]
    for prompt in prompts:
        assert prompt.ok, slack.describe_calls([prompt])
        assert find_action(prompt.body["blocks"], "prompt_answer")["value"].isdigit()

    # Running again the same day sends nothing new.
    reply = await _reply(app, ALICE, 'run "Daily"')
    assert "already" in reply.body["text"]
    await slack.wait_idle(quiet=1.2)  # more than two scheduler ticks
    assert _prompt_recipients(slack) == [ALICE, BOB]


async def test_run_by_non_owner_is_refused_and_sends_nothing(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    reply = await _reply(app, BOB, "run Daily")
    assert "owner" in reply.body["text"]
    assert "Started" not in reply.body["text"]
    await slack.wait_idle(quiet=1.2)
    assert _prompt_recipients(slack) == []


async def test_run_unknown_standup_says_so(env: tuple[RunningApp, FakeSlack]) -> None:
    app, slack = env
    await _create(app, ALICE, "Daily", [ALICE])
    reply = await _reply(app, ALICE, "run Nightly <b>")
    text = reply.body["text"]
    assert "no standup called" in text and "Nightly &lt;b&gt;" in text
    assert "/standup list" in text
    await slack.wait_idle(quiet=1.0)
    assert _prompt_recipients(slack) == []


# --- delete -----------------------------------------------------------------------------------


async def _listed_names(app: RunningApp) -> str:
    return _text(await _reply(app, ALICE, "list"))


async def _ask_delete(app: RunningApp, user: str, name: str) -> dict[str, Any]:
    """/standup delete <name>; returns the ephemeral confirmation message body."""
    reply = await _reply(app, user, f"delete {name}")
    return reply.body


async def _click(
    app: RunningApp, user: str, action_id: str, value: str, message: dict[str, Any]
) -> Call:
    """Click a button on the (ephemeral) confirmation; returns the response_url answer."""
    before = len(app.slack.calls_to("response_url"))
    msg = {"type": "message", "ts": "1700000000.000100", "text": message["text"]}
    msg["blocks"] = message["blocks"]
    status, body = await app.requests.block_action(
        user, action_id, value, channel_id=COMMAND_CHANNEL, message=msg
    )
    assert status == 200, (action_id, value, body)
    calls = await app.slack.wait_for("response_url", count=before + 1)
    return calls[before]


async def test_delete_asks_for_confirmation_then_deletes(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    await _create(app, ALICE, "Weekly", [ALICE])

    confirmation = await _ask_delete(app, ALICE, "daily")
    button = find_action(confirmation["blocks"], "standup_delete_confirm")
    cancel = find_action(confirmation["blocks"], "standup_delete_cancel")
    assert button["value"].isdigit() and cancel["value"] == button["value"]
    assert "Daily" in _text(confirmation)
    assert "Daily" in await _listed_names(app)  # asking deletes nothing

    done = await _click(app, ALICE, "standup_delete_confirm", button["value"], confirmation)
    assert "Deleted" in done.body["text"]
    listed = await _listed_names(app)
    assert "Daily" not in listed and "Weekly" in listed

    # The old button does nothing more.
    again = await _click(app, ALICE, "standup_delete_confirm", button["value"], confirmation)
    assert "no longer exists" in again.body["text"]
    assert "Weekly" in await _listed_names(app)


async def test_delete_refused_for_non_owner(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    await _create(app, ALICE, "Daily", [ALICE, BOB])
    refusal = await _ask_delete(app, BOB, "Daily")
    assert "owner" in refusal["text"]
    assert "standup_delete_confirm" not in json.dumps(refusal.get("blocks"))

    # Bob replays Alice's confirmation button: still refused, still there.
    confirmation = await _ask_delete(app, ALICE, "Daily")
    value = find_action(confirmation["blocks"], "standup_delete_confirm")["value"]
    answer = await _click(app, BOB, "standup_delete_confirm", value, confirmation)
    assert "owner" in answer.body["text"] and "Deleted" not in answer.body["text"]
    assert "Daily" in await _listed_names(app)


async def test_delete_cancel_keeps_it(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    await _create(app, ALICE, "Daily", [ALICE])
    confirmation = await _ask_delete(app, ALICE, "Daily")
    value = find_action(confirmation["blocks"], "standup_delete_cancel")["value"]
    answer = await _click(app, ALICE, "standup_delete_cancel", value, confirmation)
    assert "nothing was deleted" in answer.body["text"]
    assert "Daily" in await _listed_names(app)


async def test_delete_with_tampered_value_does_no_harm(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    await _create(app, ALICE, "Daily", [ALICE])
    await _create(app, BOB, "Bobs own", [BOB])
    confirmation = await _ask_delete(app, ALICE, "Daily")
    own_id = int(find_action(confirmation["blocks"], "standup_delete_confirm")["value"])
    bobs = await _ask_delete(app, BOB, "Bobs own")
    bobs_id = int(find_action(bobs["blocks"], "standup_delete_confirm")["value"])
    assert bobs_id != own_id

    for value in ("abc", "", "1e3", "-1", str(own_id + 10_000), "9" * 40, str(bobs_id)):
        answer = await _click(app, ALICE, "standup_delete_confirm", value, confirmation)
        assert answer.status == 200
        assert "Deleted" not in answer.body["text"], value
    listed = await _listed_names(app)
    assert "Daily" in listed and "Bobs own" in listed


async def test_delete_unknown_name(env: tuple[RunningApp, FakeSlack]) -> None:
    app, _ = env
    reply = await _reply(app, ALICE, "delete Nope")
    assert "no standup called" in reply.body["text"]
    assert "standup_delete_confirm" not in json.dumps(reply.body.get("blocks"))


# --- bad input never yields a 500 ------------------------------------------------------------


async def test_malformed_payloads_are_rejected_without_a_500(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, _ = env
    req = app.requests
    form = "application/x-www-form-urlencoded"
    bodies = [(b, form) for b in ("payload=%7Bnot+json", "payload=", "payload=%5B1%5D")]
    bodies += [("{not json", "application/json"), ("[1]", "application/json")]
    for body, content_type in bodies:
        status, text = await req.post(body, content_type)
        assert 400 <= status < 500, (body, status, text)


async def test_unknown_actions_and_odd_payloads_are_not_500(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    app, slack = env
    req = app.requests
    status, _ = await req.block_action(ALICE, "no_such_action", "1")
    assert status < 500
    # Known action ids with values that are not ids.
    for action_id in ("prompt_answer", "prompt_skip", "prompt_edit", "standup_delete_cancel"):
        for value in ("", "x", "99999999999999999999999", None):
            status, _ = await req.block_action(ALICE, action_id, value)
            assert status < 500, (action_id, value)
    # A view submission for a modal we never opened.
    status, _ = await req.view_submission(ALICE, {"callback_id": "nope", "blocks": []}, {})
    assert status < 500
    await slack.wait_idle(quiet=0.3)
    slack.assert_not_called("views.open")
    slack.assert_not_called("chat.postMessage")


# --- hostile and escaped command text (issue 8, items 3 and 4) -----------------------------------


async def test_slack_escaped_text_is_read_once_so_ampersands_in_names_work(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    """Slack sends `/standup run R&D` as `run R&amp;D`; the name must match "R&D", and a reply
    that quotes it shows it escaped exactly once."""
    app, _slack = env
    await _create(app, ALICE, "R&D <core>", [ALICE])
    reply = await _reply(app, ALICE, "run R&amp;D &lt;core&gt;")
    assert "Started *R&amp;D &lt;core&gt;*" in reply.body["text"], reply.body
    missing = await _reply(app, ALICE, "pause R&amp;D labs")
    assert "*R&amp;D labs*" in missing.body["text"] and "&amp;amp;" not in missing.body["text"]


async def test_a_hostile_owners_command_costs_milliseconds_and_is_answered(
    env: tuple[RunningApp, FakeSlack],
) -> None:
    """Parsing `owners <name> add|remove @user` once took time growing with the square of the
    whitespace: 40,000 spaces held every workspace's requests for 11 s."""
    import time

    app, _slack = env
    await _create(app, ALICE, "Daily", [ALICE])
    started = time.perf_counter()
    status, body = await app.requests.command(
        ALICE, "owners Daily" + " " * 40_000 + "add <@U0BOB0001>", channel_id=COMMAND_CHANNEL
    )
    elapsed = time.perf_counter() - started
    assert status == 200 and "too long" in json.loads(body)["text"], body
    assert elapsed < 1.0, f"a hostile command took {elapsed:.2f}s"
    # Within the length cap, the worst shape for the old regex is parsed by tokens at once.
    started = time.perf_counter()
    crafted = "owners " + "a " * 300 + "add" + " " * 300 + "<@U0BOB0001>"
    reply = await _reply(app, ALICE, crafted[:1000])
    assert time.perf_counter() - started < 1.0
    assert "no standup called" in reply.body["text"]


# --- limits -----------------------------------------------------------------------------------


async def test_limits_are_refused_with_the_limit_and_the_setting(database_url: str) -> None:
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        app = await start_app(
            database_url, slack, max_standups_per_workspace=1, max_participants_per_standup=2
        )
        try:
            # A form opened now, before the workspace is full; its people picker takes two.
            await app.requests.command(BOB, "create", channel_id=COMMAND_CHANNEL)
            [opened] = await slack.wait_for("views.open")
            early = opened.body["view"]
            [picker] = [b for b in early["blocks"] if b.get("block_id") == "participants"]
            assert picker["element"]["max_selected_items"] == 2

            def values(name: str, participants: list[str]) -> dict[str, Any]:
                return create_form_values(
                    name=name,
                    channel=CHANNEL,
                    questions=["What did you do?"],
                    participants=participants,
                    days=[0],
                    time=_far_local_time(),
                )

            _, text = await app.requests.view_submission(
                BOB, early, values("Crowded", [ALICE, BOB, CAROL])
            )
            errors = json.loads(text)["errors"]
            assert set(errors) == {"participants"}
            assert "at most 2 (you picked 3)" in errors["participants"]
            assert "MAX_PARTICIPANTS_PER_STANDUP" in errors["participants"]

            await _create(app, ALICE, "Daily", [ALICE, BOB])
            reply = await _reply(app, CAROL, "create")
            assert "at most 1 standups (MAX_STANDUPS_PER_WORKSPACE)" in _text(reply)
            assert "ask your operator to raise the limit" in _text(reply)
            # The form opened earlier is refused too, under its name field.
            _, text = await app.requests.view_submission(BOB, early, values("Second", [BOB]))
            errors = json.loads(text)["errors"]
            assert set(errors) == {"name"} and "MAX_STANDUPS_PER_WORKSPACE" in errors["name"]
            listing = _text(await _reply(app, ALICE, "list"))
            assert "Daily" in listing and "Second" not in listing and "Crowded" not in listing
        finally:
            await app.stop()


# --- privacy ----------------------------------------------------------------------------------

PRIVATE = "G0SECRET01"
DAVE = "U0DAVE001"  # a workspace admin


async def _create_in(
    app: RunningApp, owner: str, name: str, channel: str, people: list[str]
) -> None:
    """Create through the modal, and wait for the creator's DM: by then the channel has been
    looked up (conversations.info) and its privacy recorded."""
    slack = app.slack
    opened_before = len(slack.calls_to("views.open"))
    await app.requests.command(owner, "create", channel_id=COMMAND_CHANNEL)
    modal = (await slack.wait_for("views.open", count=opened_before + 1))[-1].body["view"]
    values = create_form_values(
        name=name,
        channel=channel,
        questions=["What did you do?"],
        participants=people,
        days=[0],
        time=_far_local_time(),
    )
    status, text = await app.requests.view_submission(owner, modal, values)
    assert status == 200 and "errors" not in text, text
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.body["channel"] == "D" + owner[1:] and name in c.body["text"],
    )


async def _home_of(app: RunningApp, user: str) -> str:
    before = len(app.slack.calls_to("views.publish"))
    status, _ = await app.requests.event(app_home_opened_event(user))
    assert status == 200
    published = await app.slack.wait_for("views.publish", count=before + 1)
    return json.dumps(published[-1].body["view"])


async def test_private_channel_standups_are_listed_only_to_their_people_and_admins(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name, tz=ZONE)
        slack.add_user(DAVE, "dave", tz=ZONE, is_admin=True)
        slack.add_channel(CHANNEL, "standup")
        slack.add_channel(COMMAND_CHANNEL, "general")
        slack.add_channel(PRIVATE, "secret", is_private=True, bot_is_member=True)
        app = await start_app(database_url, slack, scheduler_tick_seconds=0.5)
        try:
            await _create_in(app, ALICE, "Open standup", CHANNEL, [ALICE])
            await _create_in(app, ALICE, "Secret standup", PRIVATE, [ALICE, BOB])
            for user, sees_secret in ((CAROL, False), (BOB, True), (ALICE, True), (DAVE, True)):
                listing = _text(await _reply(app, user, "list"))
                assert "Open standup" in listing, (user, listing)
                assert ("Secret standup" in listing) is sees_secret, (user, listing)
            assert "Secret standup" not in await _home_of(app, CAROL)
            assert "Secret standup" in await _home_of(app, BOB)

            # A standup from before privacy was recorded counts as private until the planner
            # has looked its channel up.
            services = app.app.services
            async with services.db.session() as session:
                await session.execute(
                    update(Standup)
                    .where(Standup.name == "Open standup")
                    .values(channel_private=None, planned_until=None)
                )
            slack.clear()
            listing = _text(await _reply(app, CAROL, "list"))
            assert "Open standup" not in listing
            [lookup] = await slack.wait_for("conversations.info", timeout=5)
            assert lookup.body["channel"] == CHANNEL
            await slack.wait_idle(quiet=0.3)
            assert "Open standup" in _text(await _reply(app, CAROL, "list"))
        finally:
            await app.stop()
