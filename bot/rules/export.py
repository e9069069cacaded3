"""Answer exports as CSV and JSON, streamed row by row and safe to open in a spreadsheet.

Answers are free text typed by anyone in the workspace, and a CSV is usually opened in Excel,
LibreOffice or Google Sheets, where a cell such as ``=HYPERLINK(...)`` runs as a formula
(CSV/formula injection). Every CSV cell therefore goes through :func:`neutralise_cell`.

Decision: neutralisation is strict. Any cell whose first character is ``=`` ``+`` ``-`` ``@``,
tab or carriage return (OWASP's list), or whose first non-blank character is one of
``= + - @`` or their full-width forms, gets a leading ``'``, even a plain negative number such
as ``-3`` (it reads ``'-3`` in the CSV). Telling harmless numbers from formulas is exactly the
guesswork attackers exploit (``-3+cmd|...``), and the JSON export keeps every value exact.

Both writers take an iterable and write as they go, so an export never holds all rows in memory.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TextIO

from bot.rules.away import ParseError

__all__ = [
    "EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_USAGE",
    "CsvRows",
    "ExportArgs",
    "ExportRow",
    "JsonRows",
    "neutralise_cell",
    "parse_export_args",
    "row_writer",
    "write_csv",
    "write_json",
]

EXPORT_COLUMNS = (
    "standup",
    "run_date_utc",
    "local_date",
    "person",
    "person_name",
    "question",
    "answer",
    "answered_at",
    "late",
)

# OWASP: cells must not begin with these.
_FORMULA_START = frozenset("=+-@\t\r")
# Also refused as the first non-blank character: some spreadsheets skip leading blanks or fold
# full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) to ASCII.
_FORMULA_AFTER_BLANKS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One answer to one question. ``answered_at`` is None when there is no answer time.

    ``run_date_utc`` is the UTC date the person's prompt was due, ``local_date`` the run's date
    in their own calendar; ``person`` is a Slack user id and ``person_name`` the name Slack last
    showed for them ("" when unknown); ``standup`` is the standup's name."""

    run_date_utc: date
    local_date: date
    person: str
    question: str
    answer: str
    answered_at: datetime | None
    late: bool
    person_name: str = ""
    standup: str = ""


def neutralise_cell(value: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet could read as a formula (strict; see module doc)."""
    if value[:1] in _FORMULA_START or value.lstrip()[:1] in _FORMULA_AFTER_BLANKS:
        return "'" + value
    return value


def _encodable(value: str) -> str:
    # A lone surrogate (possible in text decoded from JSON) cannot be written as UTF-8 and would
    # abort the export half-way through; show it as U+FFFD instead.
    return _LONE_SURROGATE.sub("\ufffd", value)


def _timestamp(value: datetime | None) -> str | None:
    """UTC, second precision, ISO 8601 with "Z"; naive datetimes are taken to be UTC."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(row: ExportRow) -> tuple[str, str, str, str, str, str, str, str | None, bool]:
    return (
        _encodable(row.standup),
        row.run_date_utc.isoformat(),
        row.local_date.isoformat(),
        _encodable(row.person),
        _encodable(row.person_name),
        _encodable(row.question),
        _encodable(row.answer),
        _timestamp(row.answered_at),
        row.late,
    )


def _csv_cell(value: str | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # NUL bytes make some spreadsheet importers cut the cell or the file short.
    return neutralise_cell(value.replace("\x00", ""))


class CsvRows:
    """Writes a CSV export in pieces: the header at once, then rows as they come (the batches
    of a database stream). Same output as :func:`write_csv`."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(EXPORT_COLUMNS)
        self.count = 0

    def write(self, rows: Iterable[ExportRow]) -> int:
        written = 0
        for row in rows:
            self._writer.writerow([_csv_cell(value) for value in _values(row)])
            written += 1
        self.count += written
        return written

    def close(self) -> None:
        """Nothing follows the last row in CSV."""


class JsonRows:
    """Writes a JSON export in pieces; :meth:`close` ends the array. Same output as
    :func:`write_json`."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.count = 0

    def write(self, rows: Iterable[ExportRow]) -> int:
        written = 0
        for row in rows:
            self._out.write("[\n" if self.count == 0 else ",\n")
            record = dict(zip(EXPORT_COLUMNS, _values(row), strict=True))
            self._out.write(json.dumps(record, ensure_ascii=False))
            self.count += 1
            written += 1
        return written

    def close(self) -> None:
        self._out.write("\n]\n" if self.count else "[]\n")


def row_writer(fmt: str, out: TextIO) -> CsvRows | JsonRows:
    """The writer for an export format ("csv" or "json")."""
    if fmt == "csv":
        return CsvRows(out)
    if fmt == "json":
        return JsonRows(out)
    raise ValueError(f"unknown export format {fmt!r}")


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> int:
    """Write a header and one line per row (RFC 4180 quoting, CRLF); returns rows written.

    Open files with ``newline=""`` so line breaks inside answers survive. Dates are ISO 8601,
    ``answered_at`` is UTC (empty when unknown), ``late`` is "true"/"false".
    """
    writer = CsvRows(out)
    writer.write(rows)
    writer.close()
    return writer.count


def write_json(rows: Iterable[ExportRow], out: TextIO) -> int:
    """Write a JSON array of objects keyed by :data:`EXPORT_COLUMNS`; returns rows written.

    Values are exact (no formula neutralisation); ``answered_at`` is null when unknown and
    ``late`` is a boolean. The output is valid JSON even with no rows.
    """
    writer = JsonRows(out)
    writer.write(rows)
    writer.close()
    return writer.count


EXPORT_FORMATS = ("csv", "json")
EXPORT_USAGE = (
    "Usage: /standup export <name> [csv|json] [from] [to], dates as YYYY-MM-DD, both included "
    "(CSV and every date when left out; one date: from that day on)."
)
_DATE_LIKE = re.compile(r"[0-9]+[-/.][0-9]+(?:[-/.][0-9]+)*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHOWN_MAX = 40


@dataclass(frozen=True)
class ExportArgs:
    """``/standup export <name> [csv|json] [from] [to]``; dates are local dates, inclusive."""

    name: str
    format: str = "csv"
    start: date | None = None
    end: date | None = None


def _date(word: str) -> date | None:
    if not _ISO_DATE.fullmatch(word):
        return None
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


def parse_export_args(argument: str) -> ExportArgs | ParseError:
    """Read the name, then (from the end, in any order) up to two dates and a format word.

    Linear in the number of words; anything that looks like a date but is not one, a start
    after the end, or a missing name is a :class:`ParseError` that says what is wrong.
    """
    words = argument.split()
    dates: list[date] = []
    fmt: str | None = None
    while len(words) > 1:
        last = words[-1]
        if _DATE_LIKE.fullmatch(last):
            if len(dates) == 2:
                return ParseError(f"Give at most two dates: from and to. {EXPORT_USAGE}")
            day = _date(last)
            if day is None:
                shown = last if len(last) <= _SHOWN_MAX else last[: _SHOWN_MAX - 1] + "…"
                return ParseError(
                    f"“{shown}” is not a date I can read: write dates as YYYY-MM-DD. {EXPORT_USAGE}"
                )
            dates.insert(0, day)
        elif last.casefold() in EXPORT_FORMATS and fmt is None:
            fmt = last.casefold()
        else:
            break
        words.pop()
    if not words or (len(words) == 1 and (words[0].casefold() in EXPORT_FORMATS)):
        return ParseError(f"Which standup? {EXPORT_USAGE}")
    start = dates[0] if dates else None
    end = dates[1] if len(dates) > 1 else None
    if start is not None and end is not None and start > end:
        return ParseError(
            f"The period starts ({start.isoformat()}) after it ends ({end.isoformat()}). "
            f"{EXPORT_USAGE}"
        )
    return ExportArgs(" ".join(words), fmt or "csv", start, end)
