"""Reading `/standup` text: by whitespace tokens in linear time, after undoing Slack's escaping.

Slack sends slash-command text with `&`, `<` and `>` escaped (its own mentions arrive as
`<@U…|name>`); we unescape once, here at the edge, so `/standup run R&D` finds "R&D".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Far beyond any real command (names are at most 80 characters); longer text is refused
# before anything else looks at it.
MAX_TEXT = 1000
QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "„": "“", "«": "»"}
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class CommandText:
    """A subcommand (case-folded; "help" when empty) and the rest, as typed."""

    subcommand: str
    argument: str
    too_long: bool = False


def unescape(text: str) -> str:
    """Undo Slack's escaping of the three control characters (`&` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse(text: str | None) -> CommandText:
    if text and len(text) > MAX_TEXT:
        return CommandText("", "", too_long=True)
    parts = unescape(text or "").split(maxsplit=1)
    if not parts:
        return CommandText("help", "")
    argument = parts[1].strip() if len(parts) > 1 else ""
    if len(argument) >= 2 and QUOTE_PAIRS.get(argument[0]) == argument[-1]:
        argument = argument[1:-1].strip()
    return CommandText(parts[0].casefold(), argument)


@dataclass(frozen=True)
class OwnersArgs:
    """`owners <name> [add|remove @user]`: the standup's name and, if given, the change."""

    name: str
    verb: str | None = None
    target: str | None = None  # a user id, or None when the mention could not be read


def parse_owners(argument: str) -> OwnersArgs:
    """Split by tokens: the name runs up to the first `add`/`remove` after it."""
    tokens = argument.split()
    for index in range(1, len(tokens) - 1):
        verb = tokens[index].casefold()
        if verb in ("add", "remove"):
            return OwnersArgs(
                " ".join(tokens[:index]), verb, user_id(" ".join(tokens[index + 1 :]))
            )
    return OwnersArgs(argument)


def user_id(text: str) -> str | None:
    """The user a mention (`<@U…|name>`, `<@U…>`, `@U…` or a bare id) names."""
    found = MENTION.search(text)
    if found:
        return found.group(1)
    bare = text.strip().removeprefix("@")
    return bare if USER_ID.fullmatch(bare) else None
