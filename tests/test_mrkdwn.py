"""Tests for bot.views.mrkdwn: escaping (injection safety), entity-safe truncation and chunking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.views.mrkdwn import DEFAULT_MARKER, channel_link, escape, mention, split_chunks, truncate

_ENTITY = re.compile(r"&(?:amp|lt|gt);")

# Text biased towards the characters that matter here.
slack_text = st.text(
    alphabet=st.sampled_from(list("&<>;amplgt \n!@#UC01é🎉")) | st.characters(),
    max_size=300,
)


def unescape(text: str) -> str:
    """Inverse of escape: '&' last so '&amp;lt;' becomes '&lt;', not '<'."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def entities_intact(text: str) -> bool:
    """Every '&' in escaped text must start a whole &amp; / &lt; / &gt;."""
    return "&" not in _ENTITY.sub("", text)


def reassembles(text: str, pieces: list[str]) -> bool:
    """Pieces, re-joined with at most one dropped newline/space at each split, give ``text``."""

    def match(pos: int, index: int) -> bool:
        if index == len(pieces):
            return pos == len(text) or (pos == len(text) - 1 and text[pos] in "\n ")
        if not text.startswith(pieces[index], pos):
            return False
        after = pos + len(pieces[index])
        if match(after, index + 1):
            return True
        return after < len(text) and text[after] in "\n " and match(after + 1, index + 1)

    return match(0, 0)


# --- escape ---------------------------------------------------------------------------------


def test_escape_replaces_the_three_control_characters() -> None:
    assert escape("Hello & <world>") == "Hello &amp; &lt;world&gt;"


def test_escape_handles_ampersand_first() -> None:
    # Escaping '<' before '&' would turn our own '&lt;' into '&amp;lt;' for a plain '<'.
    assert escape("<") == "&lt;"
    assert escape("&lt;") == "&amp;lt;"
    assert escape("&amp;") == "&amp;amp;"


def test_escape_leaves_everything_else_alone() -> None:
    # Slack only decodes &amp; &lt; &gt; — anything else would show literally.
    text = 'It\'s "fine" *bold* _it_ ~s~ `code` @here #general é 🎉\n'
    assert escape(text) == text


def test_escape_neutralises_broadcasts_and_links() -> None:
    for evil in ("<!channel>", "<!here>", "<!everyone>", "<@U024BE7LH>", "<https://x.y|ok>"):
        escaped = escape(evil)
        assert "<" not in escaped and ">" not in escaped


@settings(max_examples=300)
@given(slack_text)
def test_escape_property_no_raw_brackets_and_round_trips(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert entities_intact(escaped)
    assert unescape(escaped) == text


# --- truncate -------------------------------------------------------------------------------


def test_truncate_returns_short_text_unchanged() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("", 0) == ""


def test_truncate_marks_the_cut_and_hits_the_limit_exactly() -> None:
    result = truncate("x" * 100, 30)
    assert len(result) == 30
    assert result == "x" * (30 - len(DEFAULT_MARKER)) + DEFAULT_MARKER


def test_truncate_custom_and_oversized_markers() -> None:
    assert truncate("abcdef", 4, marker="..") == "ab.."
    assert truncate("abcdef", 3, marker="") == "abc"
    # The default marker does not fit in 5 characters: fall back to a single ellipsis.
    assert truncate("abcdefgh", 5) == "abcd…"
    assert truncate("abcdefgh", 0) == ""


def test_truncate_backs_off_before_an_entity() -> None:
    text = "ab&amp;cdefghijklmnopqrstuvwxyz"
    # Room for 4 characters would end in "&a" — back off to before the '&'.
    result = truncate(text, 4 + len(DEFAULT_MARKER))
    assert result == "ab" + DEFAULT_MARKER
    for entity in ("&lt;", "&gt;", "&amp;"):
        for room in range(1, 12):
            cut = truncate("xy" + entity * 5, room + 1, marker="!")
            assert entities_intact(cut[:-1]), (entity, room, cut)


def test_truncate_keeps_a_cut_exactly_after_an_entity() -> None:
    assert truncate("ab&lt;cdefgh", 7, marker="!") == "ab&lt;!"


def test_truncate_does_not_cut_a_mention_in_half() -> None:
    result = truncate("hi <@U0123456789> there and more", 14, marker="…")
    assert result == "hi …"


def test_truncate_rejects_negative_limit() -> None:
    with pytest.raises(ValueError):
        truncate("abc", -1)


@settings(max_examples=300)
@given(slack_text, st.integers(min_value=0, max_value=400))
def test_truncate_property_limit_and_entities(raw: str, limit: int) -> None:
    text = escape(raw)
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    else:
        marker = DEFAULT_MARKER if limit >= len(DEFAULT_MARKER) else "…"[:limit]
        assert result.endswith(marker)
        body = result[: len(result) - len(marker)]
        assert text.startswith(body)
        assert entities_intact(body)


# --- split_chunks ---------------------------------------------------------------------------


def test_split_chunks_short_text_is_one_piece_and_empty_is_none() -> None:
    assert split_chunks("hello", 10) == ["hello"]
    assert split_chunks("", 10) == []


def test_split_chunks_prefers_newlines_then_spaces() -> None:
    assert split_chunks("aaaa bbbb\ncccc dddd", 12) == ["aaaa bbbb", "cccc dddd"]
    assert split_chunks("aaaa bbbb cccc dddd", 12) == ["aaaa bbbb", "cccc dddd"]


def test_split_chunks_hard_cut_never_splits_an_entity() -> None:
    text = "&amp;" * 10
    pieces = split_chunks(text, 7)
    assert pieces == ["&amp;"] * 10
    assert "".join(pieces) == text


def test_split_chunks_long_answer_fits_sections() -> None:
    text = escape(("word & <tag> " * 800).strip())
    pieces = split_chunks(text, 3000)
    assert len(pieces) > 1
    assert all(len(p) <= 3000 for p in pieces)
    assert all(entities_intact(p) for p in pieces)
    assert reassembles(text, pieces)


def test_split_chunks_rejects_zero_limit() -> None:
    with pytest.raises(ValueError):
        split_chunks("abc", 0)


@settings(max_examples=300)
@given(slack_text, st.integers(min_value=5, max_value=60))
def test_split_chunks_property(raw: str, limit: int) -> None:
    text = escape(raw)
    pieces = split_chunks(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert all(entities_intact(p) for p in pieces)
    assert reassembles(text, pieces)


def test_reassembles_helper_detects_loss() -> None:
    # Guard the helper itself so the property above cannot pass vacuously.
    assert reassembles("ab cd", ["ab", "cd"])
    assert not reassembles("abXcd", ["ab", "cd"])
    assert not reassembles("ab cd", ["ab"])


# --- mention / channel_link -----------------------------------------------------------------


def test_mention_formats_valid_ids() -> None:
    assert mention("U024BE7LH") == "<@U024BE7LH>"
    assert mention("W0123ABC") == "<@W0123ABC>"


@pytest.mark.parametrize(
    "bad", ["U1>|<!channel", "<!channel>", "u123", "U", "B123", "U123\n", "U12 3", ""]
)
def test_mention_escapes_invalid_ids(bad: str) -> None:
    result = mention(bad)
    assert result == escape(bad)
    assert not result.startswith("<@")


def test_channel_link() -> None:
    assert channel_link("C024BE7LR") == "<#C024BE7LR>"
    assert channel_link("G024BE7LR") == "<#G024BE7LR>"
    assert channel_link("C1>|<!here") == "C1&gt;|&lt;!here"
    assert channel_link("C123\n") == "C123\n"
