"""Text as we store, show and compare it: control characters out, names normalised, and the
identity of a name (its key) for uniqueness and look-ups."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_NAME_KEY_LEN", "clean_text", "name_key", "normalise_name"]

# Control characters other than tab and line breaks: NUL makes Postgres refuse the whole
# statement, and the rest only ever hide or garble text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone surrogates (valid in JSON's \uD800 escapes, not in UTF-8): no database can encode them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Default-ignorable code points that are not format characters (Cf): they render as nothing.
_IGNORABLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
_ZWJ = "\u200d"
_VARIATION_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
# The longest identity a name can have: the name_key column's width. NFKC and case folding can
# make a key longer than its name ("ß" -> "ss"); keys are cut here, the same way everywhere.
MAX_NAME_KEY_LEN = 80


def clean_text(text: str) -> str:
    """Free text as it can be stored: NUL and other control characters (except tab and line
    breaks) removed, lone surrogates replaced by U+FFFD. Nothing else changes."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def _invisible(char: str) -> bool:
    """A format character (Unicode category Cf: zero-width spaces and joiners, bidi marks, BOM,
    soft hyphen…) or another default-ignorable one (fillers, variation selectors)."""
    return unicodedata.category(char) == "Cf" or ord(char) in _IGNORABLE


def _emoji_part(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or ord(char) in _VARIATION_SELECTORS


def _shown(text: str, index: int) -> bool:
    """Whether an invisible character belongs in a displayed name: only the joiners and
    variation selectors that build an emoji (👩‍💻, ❤️) do."""
    char = text[index]
    if ord(char) in _VARIATION_SELECTORS:
        return index > 0 and _emoji_part(text[index - 1])
    if char == _ZWJ:
        return (
            0 < index < len(text) - 1
            and _emoji_part(text[index - 1])
            and (_emoji_part(text[index + 1]))
        )
    return False


def normalise_name(name: str) -> str:
    """A name as stored and shown: control and invisible characters removed (emoji sequences
    kept), whitespace stripped and collapsed, so "Daily  sync " and "Daily sync" are one name
    and "Da\u200bily" is just "Daily"."""
    text = clean_text(name)
    text = "".join(c for i, c in enumerate(text) if not _invisible(c) or _shown(text, i))
    return " ".join(text.split())


def name_key(name: str) -> str:
    """The identity of a standup name, for the uniqueness check and look-ups by name: NFKC,
    every invisible character removed, whitespace collapsed, case-folded (then NFKC again, as
    case folding can un-normalise), at most MAX_NAME_KEY_LEN characters.

    So "Daily", "DAILY", "Ｄａｉｌｙ" and "Da\u200bily" are one name.
    """
    text = unicodedata.normalize("NFKC", clean_text(name))
    text = "".join(c for c in text if not _invisible(c))
    text = unicodedata.normalize("NFKC", " ".join(text.split()).casefold())
    return text[:MAX_NAME_KEY_LEN]
