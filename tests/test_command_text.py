"""Reading `/standup` text: tokens, Slack's escaping undone once, owners arguments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.slack.command_text import MAX_TEXT, parse, parse_owners, unescape, user_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("help", "")),
        (None, ("help", "")),
        ("  LIST ", ("list", "")),
        ("run  Daily  sync ", ("run", "Daily  sync")),
        ('run "Daily"', ("run", "Daily")),
        ("run “Daily”", ("run", "Daily")),
        ("run R&amp;D &lt;core&gt;", ("run", "R&D <core>")),
        ("run &amp;lt;", ("run", "&lt;")),  # unescaped once, not twice
    ],
)
def test_parse(text: str | None, expected: tuple[str, str]) -> None:
    parsed = parse(text)
    assert (parsed.subcommand, parsed.argument) == expected
    assert not parsed.too_long


def test_overlong_text_is_refused_before_anything_reads_it() -> None:
    assert parse("x" * (MAX_TEXT + 1)).too_long
    assert not parse("x" * MAX_TEXT).too_long


@pytest.mark.parametrize(
    ("argument", "name", "verb", "target"),
    [
        ("Daily", "Daily", None, None),
        ("Daily sync add <@U0BOB0001|bob>", "Daily sync", "add", "U0BOB0001"),
        ("Daily REMOVE @U0BOB0001", "Daily", "remove", "U0BOB0001"),
        ("Daily add bob", "Daily", "add", None),
        ("add <@U0BOB0001>", "add <@U0BOB0001>", None, None),  # no name before the verb
        ("Add and remove add <@W0ALICE1>", "Add and", "remove", "W0ALICE1"),
    ],
)
def test_parse_owners(argument: str, name: str, verb: str | None, target: str | None) -> None:
    parsed = parse_owners(argument)
    assert (parsed.name, parsed.verb, parsed.target) == (name, verb, target)


def test_mentions_with_display_names_and_bare_ids() -> None:
    assert user_id("<@U0BOB0001|bob smith>") == "U0BOB0001"
    assert user_id("@W0ALICE1") == "W0ALICE1"
    assert user_id("<!channel>") is None
    assert user_id("bob") is None


@given(st.text(alphabet="&<>amplgt; ", max_size=60))
def test_unescape_inverts_slacks_escaping(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert unescape(escaped) == text
