"""Slack mrkdwn helpers: escaping, safe truncation and chunking of user text.

Slack treats only ``&``, ``<`` and ``>`` as control characters; anything inside ``<...>`` can
mention people, broadcast to a channel or disguise links, so every piece of user-supplied text
must pass through :func:`escape` before it reaches mrkdwn or a message's top-level ``text``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEFAULT_MARKER",
    "Mrkdwn",
    "channel_link",
    "clip",
    "escape",
    "join",
    "md",
    "mention",
    "split_chunks",
    "truncate",
]

DEFAULT_MARKER = "… (truncated)"

# The only entities Slack decodes; escaping anything else would show up literally.
_ENTITIES = ("&amp;", "&lt;", "&gt;")
_LONGEST_ENTITY = max(len(e) for e in _ENTITIES)
# Our own control sequences (<@U…>, <#C…>, <https://…|label>) are short; don't look further back.
_MAX_CONTROL_SEQUENCE = 100

_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")


def escape(text: str) -> str:
    """Escape Slack's three control characters; ``&`` first so we never double-escape our own."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Mrkdwn(str):
    """Text that is safe to send as mrkdwn: our own markup, every piece of user text escaped.

    Builders take ``Mrkdwn``, not ``str``, so the type checker refuses raw user text; the way to
    make one is :func:`md`, which escapes whatever it interpolates (escaping by construction).
    """

    __slots__ = ()


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Mrkdwn):
            return str(value)
        return escape(format(value, format_spec))


_FORMATTER = _EscapingFormatter()


def md(template: str, /, *args: Any, **kwargs: Any) -> Mrkdwn:
    """Fill one of our templates; every value that is not already Mrkdwn is escaped.

    The template itself is trusted (a literal in our code), never user text.
    """
    return Mrkdwn(_FORMATTER.vformat(template, args, kwargs))


def join(separator: str, parts: Iterable[Mrkdwn]) -> Mrkdwn:
    """Join safe pieces with a (trusted) separator."""
    return Mrkdwn(separator.join(parts))


def _entity_safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back to before an ``&`` if it would split an escape entity in two."""
    amp = text.rfind("&", max(0, cut - _LONGEST_ENTITY + 1), cut)
    if amp == -1:
        return cut
    for entity in _ENTITIES:
        if text.startswith(entity, amp) and amp + len(entity) > cut:
            return amp
    return cut


def _sequence_safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back to before a ``<`` if it would split a ``<...>`` control sequence.

    Escaped user text has no raw ``<``; only our own mentions/links do, and half a mention
    renders as garbage.
    """
    lt = text.rfind("<", max(0, cut - _MAX_CONTROL_SEQUENCE), cut)
    if lt == -1 or ">" in text[lt:cut]:
        return cut
    gt = text.find(">", cut)
    if gt == -1 or gt - lt > _MAX_CONTROL_SEQUENCE:
        return cut
    return lt


def _safe_cut(text: str, cut: int, lowest: int) -> int:
    """Best cut position ``<= cut`` that keeps entities (and, if possible, mentions) whole.

    Falls back to a cut that only protects entities, then to ``cut`` itself, whenever backing
    off would leave nothing above ``lowest``.
    """
    entity_safe = _entity_safe_cut(text, cut)
    both_safe = _entity_safe_cut(text, _sequence_safe_cut(text, entity_safe))
    for candidate in (both_safe, entity_safe):
        if candidate > lowest:
            return candidate
    return cut


def truncate(text: str, limit: int, marker: str = DEFAULT_MARKER) -> str:
    """Shorten ``text`` to at most ``limit`` characters, marking the cut so it is visible.

    The cut never lands inside ``&amp;``/``&lt;``/``&gt;`` (or one of our ``<@U…>`` sequences),
    because half an entity renders as literal junk. If the marker itself does not fit, a
    single ``…`` is used instead.
    """
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if len(text) <= limit:
        return text
    if len(marker) > limit:
        marker = "…"[:limit]
    room = limit - len(marker)
    cut = _safe_cut(text, room, lowest=-1)
    return text[:cut] + marker


def clip(text: Mrkdwn, limit: int) -> Mrkdwn:
    """:func:`truncate` for safe text: the cut keeps entities whole, so it stays safe."""
    return Mrkdwn(truncate(text, limit))


def split_chunks(text: str, limit: int) -> list[str]:
    """Split (already escaped) ``text`` into pieces of at most ``limit`` characters.

    Splits prefer a newline, then a space, in the second half of the window (so pieces are not
    tiny), then any newline/space, then a hard cut that never lands inside an entity. The one
    newline or space chosen as a split point is dropped; nothing else is lost, so the pieces
    joined with their separators reproduce ``text``. Empty text gives no pieces.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    pieces: list[str] = []
    start = 0
    end = len(text)
    while end - start > limit:
        window_end = start + limit  # a piece may be text[start:window_end]
        half = start + limit // 2
        split_at = -1
        for separator, lowest in (("\n", half), (" ", half), ("\n", start + 1), (" ", start + 1)):
            # The separator itself is dropped, so it may sit just past the window.
            split_at = text.rfind(separator, max(lowest, start + 1), window_end + 1)
            if split_at != -1:
                break
        if split_at != -1:
            pieces.append(text[start:split_at])
            start = split_at + 1
            continue
        cut = _safe_cut(text, window_end, lowest=start)
        pieces.append(text[start:cut])
        start = cut
    if start < end:
        pieces.append(text[start:])
    return pieces


def mention(user_id: str) -> Mrkdwn:
    """Return a ``<@U…>`` mention, or the escaped id as plain text if it is not a real user id.

    Validating stops a crafted id such as ``U1>|<!channel`` from smuggling in a broadcast.
    """
    if _USER_ID.fullmatch(user_id):
        return Mrkdwn(f"<@{user_id}>")
    return Mrkdwn(escape(user_id))


def channel_link(channel_id: str) -> Mrkdwn:
    """Return a ``<#C…>`` channel link, or the escaped id as plain text if it looks wrong."""
    if _CHANNEL_ID.fullmatch(channel_id):
        return Mrkdwn(f"<#{channel_id}>")
    return Mrkdwn(escape(channel_id))
