"""Pure parts of the web dashboard: reading the standup form into the Slack form's draft, filling
it back in, the SVG chart geometry, and when cookies may drop Secure."""

from __future__ import annotations

import datetime as dt

import pytest
from multidict import MultiDict, MultiDictProxy

from bot.dashboard import DayCount
from bot.outcomes import EditForm
from bot.rules.schedule import ScheduleDraft
from bot.rules.validation import FormField
from bot.settings import load_settings
from handlers.web import charts
from handlers.web.auth import insecure_dev, login_cookie, session_cookie
from handlers.web.standup_form import NOT_A_NUMBER, edit_values, read_form
from tests.harness import SIGNING_SECRET


def form(*pairs: tuple[str, str]) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(pairs))


def test_the_form_reads_into_the_slack_forms_draft() -> None:
    read = read_form(
        form(
            ("name", "  Backend   daily "),
            ("channel", "<#C0123ABCD|backend>"),
            ("questions", "Yesterday?\n\n Today? \nBlockers?"),
            ("participants", "<@U0ALICE01>, U0BOB0001  @U0CAROL01,U0ALICE01"),
            ("days", "0"),
            ("days", "4"),
            ("days", "9"),  # not a day: ignored
            ("time", "07:45:00"),
            ("tz_mode", "fixed"),
            ("tz", "Europe/Berlin"),
            ("repeat", "every_n_weeks"),
            ("every_weeks", "2"),
            ("starting", "2026-01-05"),
            ("window", "1.5"),
            ("reminder", "30"),
            ("holidays", "DE-BY"),
            ("blocker_escalation_days", "3"),
        )
    )
    assert read.errors == {}
    draft = read.draft
    assert draft.name == "Backend daily"
    assert draft.channel_id == "C0123ABCD"
    assert draft.questions == ["Yesterday?", "Today?", "Blockers?"]
    assert draft.participant_ids == ["U0ALICE01", "U0BOB0001", "U0CAROL01"]
    assert draft.weekdays == frozenset({0, 4})
    assert draft.local_time == "07:45"
    assert (draft.tz_mode, draft.fixed_tz) == ("fixed", "Europe/Berlin")
    assert draft.schedule == ScheduleDraft(
        repeat="every_n_weeks",
        every_weeks=2,
        starting=dt.date(2026, 1, 5),
        window_hours=1.5,
        reminder="30",
        holidays="DE-BY",
        blocker_escalation_days=3,
    )
    assert draft.participant_source == "people"


def test_what_cannot_be_read_is_said_under_its_field() -> None:
    read = read_form(
        form(
            ("channel", "#general"),
            ("participants", "U0ALICE01, alice"),
            ("starting", "next monday"),
            ("every_weeks", "two"),
            ("window", "nan"),
            ("blocker_escalation_days", "1.5"),
        )
    )
    assert set(read.errors) == {FormField.CHANNEL, FormField.PARTICIPANTS, FormField.STARTING}
    assert "“alice” isn't a Slack user id" in read.errors[FormField.PARTICIPANTS]
    # Numbers no browser would send reach validation as out of range, which names them.
    assert read.draft.schedule.every_weeks == NOT_A_NUMBER
    assert read.draft.schedule.window_hours == NOT_A_NUMBER
    assert read.draft.schedule.blocker_escalation_days == NOT_A_NUMBER
    # What was typed is kept to show again.
    assert read.values["channel"] == "#general" and read.values["starting"] == "next monday"


def test_an_empty_form_is_an_empty_draft() -> None:
    read = read_form(form())
    assert read.errors == {}
    assert read.draft.name == "" and read.draft.channel_id is None
    assert read.draft.local_time is None and read.draft.weekdays == frozenset()
    assert (read.draft.tz_mode, read.draft.participant_source) == ("participant", "people")


def test_the_edit_form_is_filled_with_the_stored_settings() -> None:
    values = edit_values(
        EditForm(
            standup_id=1,
            name="Daily",
            channel_id="C0DAILY01",
            questions=["A?", "B?"],
            participant_ids=["U0ALICE01", "U0BOB0001"],
            weekdays=frozenset({1, 3}),
            local_time="09:15",
            tz_mode="participant",
            fixed_tz=None,
            schedule=ScheduleDraft(
                repeat="monthly_day", month_day=15, window_hours=4.0, blocker_escalation_days=0
            ),
        )
    )
    assert values["questions"] == "A?\nB?"
    assert values["participants"] == "U0ALICE01, U0BOB0001"
    assert values["days"] == {"1", "3"}
    assert (values["month_day"], values["window"], values["tz"]) == ("15", "4", "")
    assert values["blocker_escalation_days"] == "0"
    # Read back, it is the same standup.
    back = read_form(
        form(
            *[(k, v) for k, v in values.items() if isinstance(v, str)],
            *[("days", d) for d in sorted(values["days"])],
        )
    )
    assert back.errors == {}
    assert back.draft.weekdays == frozenset({1, 3})
    assert back.draft.schedule.month_day == 15 and back.draft.schedule.window_hours == 4.0
    assert back.draft.schedule.blocker_escalation_days == 0


def test_participation_bars() -> None:
    end = dt.date(2026, 1, 30)
    assert charts.participation_chart([], end, 30) is None
    chart = charts.participation_chart(
        [
            DayCount(dt.date(2026, 1, 29), answered=3, expected=4, excused=1),
            DayCount(dt.date(2026, 1, 30), answered=2, expected=2, excused=0),
            DayCount(dt.date(2026, 1, 28), answered=0, expected=0, excused=3),
            DayCount(dt.date(2025, 12, 1), answered=1, expected=1, excused=0),  # outside
        ],
        end,
        30,
    )
    assert chart is not None
    bottom = charts.TOP + charts.PLOT_H
    full, partial, empty = sorted(chart.bars, key=lambda b: b.x)[::-1][:3]
    assert full.height == pytest.approx(charts.PLOT_H) and full.y + full.height == bottom
    assert partial.height == pytest.approx(charts.PLOT_H * 0.75, abs=0.2)
    assert empty.empty and "nobody expected" in empty.label
    assert partial.label == "2026-01-29: 3 of 4 answered"
    assert chart.summary == "5 of 6 expected check-ins answered (83%)"
    assert all(b.x >= charts.LEFT and b.x + b.width <= charts.WIDTH for b in chart.bars)


def test_mood_line() -> None:
    end = dt.date(2026, 1, 30)
    assert charts.mood_chart([], end, 30) is None
    chart = charts.mood_chart([(dt.date(2026, 1, 1), 1.0), (end, 5.0)], end, 30)
    assert chart is not None
    # The first day at the left edge and the lowest mood, the last at the right and the highest.
    assert chart.points == "34.0,136.0 594.0,10.0"


@pytest.mark.parametrize(
    ("public_url", "insecure"),
    [
        ("http://localhost:3000", True),
        ("http://localhost", True),
        ("https://localhost:3000", False),
        ("http://127.0.0.1:3000", False),
        ("http://localhost.example.com", False),
        ("https://standup.example.com", False),
        (None, False),
    ],
)
def test_cookies_drop_secure_only_on_http_localhost(public_url: str | None, insecure: bool) -> None:
    settings = load_settings(
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token="xoxb-1",
        public_url=public_url,
        _env_file=None,
    )
    assert insecure_dev(settings) is insecure
    assert session_cookie(settings).startswith("__Host-") is not insecure
    assert login_cookie(settings).startswith("__Host-") is not insecure
