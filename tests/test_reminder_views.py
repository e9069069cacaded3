"""Slack wording and blocks for reminders and late answers: within Block Kit's limits, user
text escaped (a standup named like a broadcast stays text), dates shown in the reader's zone."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from bot.outcomes import Attendance, HolidayCalendars, Home, Nudged, OwnReminders
from bot.rules.digest import Digest
from bot.views import home, wording
from bot.views import messages as message_views
from bot.views.blockkit import Message
from tests.blockkit_limits import validate_message_blocks, validate_message_text, validate_view
from tests.test_blocks import EVIL, mrkdwn_texts

CLOSES = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
# Our own control sequences: mentions, channel links and Slack dates.
_OURS = re.compile(r"<@[UW][A-Z0-9]+>|<#[CG][A-Z0-9]+>|<!date\^\d+\^[^|<>]*\|[^<>]*>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def safe(text: str) -> bool:
    rest = _OURS.sub("", text)
    return "<" not in rest and ">" not in rest and "&" not in _ENTITY.sub("", rest)


def assert_valid(message: Message) -> str:
    assert validate_message_blocks(message["blocks"]) + validate_message_text(message["text"]) == []
    texts = [message["text"], *mrkdwn_texts(message["blocks"])]
    assert all(safe(t) for t in texts), texts
    return "\n".join(texts)


def elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Interactive elements (buttons and the like) in these blocks."""
    found = [e for b in blocks for e in [*b.get("elements", []), b.get("accessory") or {}]]
    return [e for e in found if "action_id" in e]


def test_the_reminder_names_the_standup_and_its_close_and_offers_answer() -> None:
    message = message_views.reminder_message(
        prompt_id=42, standup_name=EVIL, closes_at=CLOSES, local_date="2026-12-01"
    )
    text = assert_valid(message)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert f"<!date^{int(CLOSES.timestamp())}^{{date_short_pretty}} at {{time}}|" in text
    assert "Tue 01 Dec 12:00 UTC" in text  # the fallback
    assert [(e["action_id"], e["value"]) for e in elements(message["blocks"])] == [
        ("reminder_answer", "42")
    ]
    nudge = message_views.reminder_message(
        prompt_id=42, standup_name="Daily", closes_at=CLOSES, nudged_by="U0OWNER01"
    )
    assert "<@U0OWNER01> nudged you: *Daily* standup" in assert_valid(nudge)


def test_a_late_prompt_keeps_answer_but_not_skip() -> None:
    message = message_views.prompt_message(
        prompt_id=7, standup_name="Daily", questions=["Q?"], state="late", local_date="2026-12-01"
    )
    text = assert_valid(message)
    assert "closed" in text and "marked late" in text
    assert [e["action_id"] for e in elements(message["blocks"])] == ["prompt_answer"]


def test_late_replies_and_the_final_digest() -> None:
    reply = message_views.answer_reply(
        user_id="U0BOB0001", questions=["Q?"], answers=["A"], edited=True, late=True
    )
    assert "<@U0BOB0001>'s answers (late, edited)" in assert_valid(reply)
    plain = message_views.answer_reply(user_id="U0BOB0001", questions=["Q?"], answers=["A"])
    assert "(late" not in assert_valid(plain)
    digest = Digest(
        answered=["U0A"], waiting=[], skipped=[], missed=["U0C"], blockers=[], late=["U0B"]
    )
    final = message_views.summary_message(
        standup_name="Daily", local_date="2026-12-01", digest=digest, final=True, total=3
    )
    text = assert_valid(final)
    assert "*Answered late (1)*: <@U0B>" in text
    assert "*Didn't answer*: <@U0C>" in text and "<@U0B>" not in text.split("Didn't answer")[1]
    assert text.index("Answered (1/3)") < text.index("Answered late") < text.index("Didn't")
    assert final["text"].startswith("Daily — 2026-12-01: 2/3 answered")


def test_the_home_tab_shows_ones_reminder_setting_with_its_switch() -> None:
    for off, label, value in ((False, "Turn off", "off"), (True, "Turn on", "on")):
        view = home.home_view(_home(reminders_off=off))
        assert validate_view(view) == []
        [switch] = [e for e in elements(view["blocks"]) if e["action_id"] == "reminders_toggle"]
        assert (switch["text"]["text"], switch["value"]) == (label, value)
        assert ("*Reminders:* off" in json.dumps(view)) is off
    assert "reminders_toggle" not in json.dumps(home.home_view())


def _home(*, reminders_off: bool) -> Home:
    nothing = Attendance([], HolidayCalendars(None, []))
    return Home("U0ALICE01", dt.date(2026, 12, 1), [], [], 0, [], reminders_off, nothing)


def test_help_lists_the_reminder_commands() -> None:
    text = json.dumps(message_views.help_message())
    assert "/standup remind &lt;name&gt;" in text and "/standup reminders [on|off]" in text


def test_nudge_and_setting_wording() -> None:
    three = wording.nudged(Nudged("R&D <daily>", 3))
    assert assert_valid(three).startswith(
        "Nudged 3 people who haven't answered *R&amp;D &lt;daily&gt;* yet."
    )
    alone = wording.nudged(Nudged("Daily", 0, reminders_off=2, just_reminded=1))
    text = assert_valid(alone)
    assert "Nobody to nudge in *Daily* right now." in text
    assert "2 people turned reminders off and were left alone." in text
    assert "1 person got a reminder in the last 10 minutes." in text
    assert "`/standup reminders on`" in assert_valid(wording.own_reminders(OwnReminders(True)))
    assert "`/standup reminders off`" in assert_valid(wording.own_reminders(OwnReminders(False)))
