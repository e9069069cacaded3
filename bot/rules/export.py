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

__all__ = [
    "EXPORT_COLUMNS",
    "ExportRow",
    "neutralise_cell",
    "write_csv",
    "write_json",
]

EXPORT_COLUMNS = (
    "run_date_utc",
    "local_date",
    "person",
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
    """One answer to one question. ``answered_at`` is None when there is no answer time."""

    run_date_utc: date
    local_date: date
    person: str
    question: str
    answer: str
    answered_at: datetime | None
    late: bool


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


def _values(row: ExportRow) -> tuple[str, str, str, str, str, str | None, bool]:
    return (
        row.run_date_utc.isoformat(),
        row.local_date.isoformat(),
        _encodable(row.person),
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


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> int:
    """Write a header and one line per row (RFC 4180 quoting, CRLF); returns rows written.

    Open files with ``newline=""`` so line breaks inside answers survive. Dates are ISO 8601,
    ``answered_at`` is UTC (empty when unknown), ``late`` is "true"/"false".
    """
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(value) for value in _values(row)])
        count += 1
    return count


def write_json(rows: Iterable[ExportRow], out: TextIO) -> int:
    """Write a JSON array of objects keyed by :data:`EXPORT_COLUMNS`; returns rows written.

    Values are exact (no formula neutralisation); ``answered_at`` is null when unknown and
    ``late`` is a boolean. The output is valid JSON even with no rows.
    """
    count = 0
    for row in rows:
        out.write("[\n" if count == 0 else ",\n")
        record = dict(zip(EXPORT_COLUMNS, _values(row), strict=True))
        out.write(json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count
