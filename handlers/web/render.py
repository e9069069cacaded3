"""Server-rendered pages: one Jinja2 environment (autoescape always on), the pages' CSP, the
static files (one stylesheet, one small script), and the formatting the templates share.

Every value a person typed (standup names, questions, answers, display names) reaches HTML only
through Jinja's autoescaping; nothing is marked safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.outcomes import Change
from bot.views.blockkit import WEEKDAY_LABELS

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The pages load only their own stylesheet and script (no inline script or style, no other
# origin), post forms only to us and are never framed.
APP_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


_STATIC_VERSIONS = {name: _version(name) for name in ("app.css", "app.js")}


def static_url(name: str) -> str:
    """A static file's URL, with its content's hash so a new version is never served stale."""
    return f"/static/{name}?v={_STATIC_VERSIONS[name]}"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(instant: dt.datetime | None, tz: str | None) -> str:
    """A UTC instant on the reader's clock: "Wed 14 Jan, 09:00"."""
    if instant is None:
        return "—"
    local = instant.astimezone(_zone(tz))
    return f"{WEEKDAY_LABELS[local.weekday()]} {local.day} {local:%b}, {local:%H:%M}"


def day(value: dt.date) -> str:
    """A local date: "Wed 14 Jan 2026"."""
    return f"{WEEKDAY_LABELS[value.weekday()]} {value.day} {value:%b %Y}"


def zone_label(tz: str | None) -> str:
    return tz or "UTC (your Slack time zone is not known yet)"


def change_lines(change: Change) -> list[str]:
    """What an audited change changed, one "key: before → after" line per value."""
    if change.action == "create":
        return []
    lines = []
    for key in sorted(set(change.before) | set(change.after)):
        before, after = change.before.get(key), change.after.get(key)
        if before != after:
            lines.append(f"{key}: {_short(before)} → {_short(after)}")
    return lines


def _short(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 200 else text[:199] + "…"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals.update(static_url=static_url, weekdays=WEEKDAY_LABELS)
ENV.filters.update(when=when, day=day, zone_label=zone_label, change_lines=change_lines)


def render(template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    """An HTML page with the dashboard's CSP (the security middleware adds the rest)."""
    text = ENV.get_template(template).render(**context)
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = APP_CSP
    return response
