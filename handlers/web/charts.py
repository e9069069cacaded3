"""Charts as server-rendered SVG: the geometry here (pure), the markup in the templates.

Participation: one bar per day of the period, its height the share of expected people who
answered, with the numbers in each bar's tooltip and in a table for screen readers. Mood: a
line of the day's average mood (1-5) recorded at run close, a dot per day with its number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.dashboard import DayCount

WIDTH, HEIGHT = 600, 160
TOP, BOTTOM, LEFT, RIGHT = 10, 24, 34, 6
PLOT_H = HEIGHT - TOP - BOTTOM
PLOT_W = WIDTH - LEFT - RIGHT


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar says, for its tooltip
    empty: bool  # no one was expected that day


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    points: str = ""  # polyline points, for line charts
    summary: str = ""
    dots: list[Dot] = field(default_factory=list)  # a line chart's points, with their tooltips


def _y(share: float) -> float:
    return round(TOP + PLOT_H * (1 - share), 1)


def _percent_ticks() -> list[Tick]:
    return [Tick(LEFT - 4, _y(share) + 4, f"{int(share * 100)}%") for share in (0, 0.5, 1)]


def participation_chart(days: list[DayCount], end: dt.date, span: int) -> Chart | None:
    """Bars for the `span` days ending with `end`; None when nothing was recorded."""
    if not days:
        return None
    start = end - dt.timedelta(days=span - 1)
    slot = PLOT_W / span
    by_day = {d.local_date: d for d in days}
    bars: list[Bar] = []
    ticks: list[Tick] = []
    answered = expected = 0
    for index in range(span):
        date = start + dt.timedelta(days=index)
        x = round(LEFT + index * slot + slot * 0.15, 1)
        width = round(slot * 0.7, 1)
        if index % 7 == 0 or (index == span - 1 and index % 7 > 3):
            ticks.append(Tick(round(x + width / 2, 1), HEIGHT - 6, f"{date.day} {date:%b}"))
        count = by_day.get(date)
        if count is None:
            continue
        answered += count.answered
        expected += count.expected
        if count.expected == 0:
            bars.append(Bar(x, _y(0) - 2, width, 2, f"{date.isoformat()}: nobody expected", True))
            continue
        share = count.answered / count.expected
        y = _y(share)
        label = f"{date.isoformat()}: {count.answered} of {count.expected} answered"
        bars.append(Bar(x, y, width, round(TOP + PLOT_H - y, 1), label, False))
    overall = f"{round(100 * answered / expected)}%" if expected else "no one expected"
    summary = f"{answered} of {expected} expected check-ins answered ({overall})"
    return Chart(WIDTH, HEIGHT, bars, ticks, _percent_ticks(), summary=summary)


def _date_ticks(start: dt.date, span: int, x_of: Callable[[int], float]) -> list[Tick]:
    """A date under every seventh day (and the last one when there is room)."""
    return [
        Tick(round(x_of(index), 1), HEIGHT - 6, f"{date.day} {date:%b}")
        for index in range(span)
        if index % 7 == 0 or (index == span - 1 and index % 7 > 3)
        for date in [start + dt.timedelta(days=index)]
    ]


def mood_chart(points: list[tuple[dt.date, float]], end: dt.date, span: int) -> Chart | None:
    """A line of average mood (1-5) per day over the `span` days ending with `end`; None
    without mood answers in them."""
    start = end - dt.timedelta(days=span - 1)
    shown = sorted((date, mood) for date, mood in points if start <= date <= end)
    if not shown:
        return None
    slot = PLOT_W / max(span - 1, 1)

    def x_of(index: int) -> float:
        return round(LEFT + index * slot, 1)

    dots = []
    for date, mood in shown:
        y = _y((min(max(mood, 1.0), 5.0) - 1) / 4)
        dots.append(Dot(x_of((date - start).days), y, f"{date.isoformat()}: {mood:.1f} of 5"))
    ticks = [Tick(LEFT - 4, _y((m - 1) / 4) + 4, str(m)) for m in (1, 3, 5)]
    overall = sum(mood for _, mood in shown) / len(shown)
    days = f"{len(shown)} day{'s' if len(shown) != 1 else ''}"
    return Chart(
        WIDTH,
        HEIGHT,
        [],
        _date_ticks(start, span, x_of),
        ticks,
        points=" ".join(f"{d.x},{d.y}" for d in dots),
        summary=f"Average mood {overall:.1f} of 5 over {days} with answers",
        dots=dots,
    )
