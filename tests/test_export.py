"""Tests for bot.rules.export: formula neutralisation and streaming CSV/JSON writers."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.away import ParseError
from bot.rules.export import (
    EXPORT_COLUMNS,
    EXPORT_FORMATS,
    EXPORT_USAGE,
    ExportArgs,
    ExportRow,
    neutralise_cell,
    parse_export_args,
    row_writer,
    write_csv,
    write_json,
)

BASE = ExportRow(
    run_date_utc=date(2024, 3, 4),
    local_date=date(2024, 3, 4),
    person="U024BE7LH",
    question="What did you do yesterday?",
    answer="",
    answered_at=datetime(2024, 3, 4, 9, 31, 2, 123456, tzinfo=UTC),
    late=False,
    person_name="Ada Lovelace",
    standup="Daily",
)


ANSWER, ANSWERED_AT, LATE = (EXPORT_COLUMNS.index(c) for c in ("answer", "answered_at", "late"))


def row(answer: str, **changes: Any) -> ExportRow:
    return dataclasses.replace(BASE, answer=answer, **changes)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_text(rows: list[ExportRow]) -> str:
    out = io.StringIO(newline="")
    assert write_csv(rows, out) == len(rows)
    return out.getvalue()


# --- neutralise_cell ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        '=HYPERLINK("http://evil.example","click")',
        "+1",
        "-3",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A2)",
        "\t=1",
        "\tplain",
        "\r=1",
        "  =1+1",
        "\n=1",
        "＝1+1",
        "＠SUM(A1)",
    ],
)
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize(
    "cell",
    ["", "3", "2.5", "hello = world", "a-b", "email@example.com", "'already quoted", " x", "日本"],
)
def test_ordinary_cells_are_kept(cell: str) -> None:
    assert neutralise_cell(cell) == cell


@given(st.text())
def test_neutralised_cells_never_start_a_formula(cell: str) -> None:
    result = neutralise_cell(cell)
    assert result in (cell, "'" + cell)
    assert result[:1] not in set("=+-@\t\r")
    assert result.lstrip()[:1] not in set("=+-@＝＋－＠")


# --- CSV ----------------------------------------------------------------------------------------

TRICKY = [
    "plain",
    "commas, and more, commas",
    'she said "hi", then left',
    "line one\nline two\r\nline three",
    "unicode ✓ — 日本語 — emoji 🙂 — RTL עברית",
    '=HYPERLINK("http://x","y")',
    "-3",
    "+44 20 7946 0000",
    "@channel hi",
    "",
]


def test_csv_round_trips_through_the_csv_module() -> None:
    rows = [row(answer) for answer in TRICKY]
    parsed = read_csv(csv_text(rows))
    assert parsed[0] == list(EXPORT_COLUMNS)
    assert [cells[ANSWER] for cells in parsed[1:]] == [neutralise_cell(answer) for answer in TRICKY]
    assert parsed[1] == [
        "Daily",
        "2024-03-04",
        "2024-03-04",
        "U024BE7LH",
        "Ada Lovelace",
        "What did you do yesterday?",
        "plain",
        "2024-03-04T09:31:02Z",
        "false",
    ]


def test_every_csv_column_is_neutralised() -> None:
    parsed = read_csv(
        csv_text(
            [
                row(
                    "=1",
                    person="=cmd",
                    question="+q?",
                    late=True,
                    person_name="@evil",
                    standup="-Daily",
                )
            ]
        )
    )
    cells = dict(zip(EXPORT_COLUMNS, parsed[1], strict=True))
    assert (cells["standup"], cells["person"], cells["person_name"]) == (
        "'-Daily",
        "'=cmd",
        "'@evil",
    )
    assert (cells["question"], cells["answer"], cells["late"]) == ("'+q?", "'=1", "true")


def test_csv_timestamps_and_missing_values() -> None:
    berlin = timezone(timedelta(hours=1))
    rows = [
        row("a", answered_at=datetime(2024, 3, 4, 10, 0, tzinfo=berlin)),
        row("b", answered_at=datetime(2024, 3, 4, 9, 0)),  # naive: taken as UTC
        row("c", answered_at=None, late=True),
    ]
    parsed = read_csv(csv_text(rows))
    assert [cells[ANSWERED_AT] for cells in parsed[1:]] == [
        "2024-03-04T09:00:00Z",
        "2024-03-04T09:00:00Z",
        "",
    ]
    assert [cells[LATE] for cells in parsed[1:]] == [
        "false",
        "false",
        "true",
    ]


def test_csv_drops_nul_and_replaces_lone_surrogates() -> None:
    parsed = read_csv(csv_text([row("a\x00b"), row("bad \ud800 half")]))
    assert [cells[ANSWER] for cells in parsed[1:]] == [
        "ab",
        "bad \ufffd half",
    ]


def test_empty_csv_has_only_the_header() -> None:
    assert csv_text([]) == ",".join(EXPORT_COLUMNS) + "\r\n"


def test_csv_to_a_real_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        assert write_csv((row(answer) for answer in TRICKY), out) == len(TRICKY)
    with path.open(encoding="utf-8", newline="") as handle:
        parsed = list(csv.reader(handle))
    assert [cells[ANSWER] for cells in parsed[1:]] == [neutralise_cell(a) for a in TRICKY]


_cell_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


@settings(max_examples=200)
@given(st.lists(st.tuples(_cell_text, _cell_text, _cell_text), max_size=8))
def test_any_text_round_trips_up_to_the_quote_prefix(cells: list[tuple[str, str, str]]) -> None:
    rows = [row(answer, person=person, question=question) for person, question, answer in cells]
    parsed = read_csv(csv_text(rows))
    assert len(parsed) == len(rows) + 1
    for (person, question, answer), read in zip(cells, parsed[1:], strict=True):
        by_column = dict(zip(EXPORT_COLUMNS, read, strict=True))
        assert [by_column[c] for c in ("person", "question", "answer")] == [
            neutralise_cell(person),
            neutralise_cell(question),
            neutralise_cell(answer),
        ]


def streamed_rows(out: io.StringIO, count: int) -> Iterator[ExportRow]:
    """Yields rows, checking that everything before was already written out."""
    for index in range(count):
        if index:
            assert f"answer {index - 1}" in out.getvalue()
        yield row(f"answer {index}")


def test_csv_is_streamed() -> None:
    out = io.StringIO(newline="")
    assert write_csv(streamed_rows(out, 5), out) == 5


# --- JSON ---------------------------------------------------------------------------------------


def test_json_export_is_exact() -> None:
    rows = [row(answer) for answer in TRICKY] + [row("x", answered_at=None, late=True)]
    out = io.StringIO()
    assert write_json(rows, out) == len(rows)
    data = json.loads(out.getvalue())
    assert [item["answer"] for item in data] == [*TRICKY, "x"]  # no neutralisation
    assert data[0] == {
        "standup": "Daily",
        "run_date_utc": "2024-03-04",
        "local_date": "2024-03-04",
        "person": "U024BE7LH",
        "person_name": "Ada Lovelace",
        "question": "What did you do yesterday?",
        "answer": "plain",
        "answered_at": "2024-03-04T09:31:02Z",
        "late": False,
    }
    assert data[-1]["answered_at"] is None and data[-1]["late"] is True
    assert all(list(item) == list(EXPORT_COLUMNS) for item in data)


def test_empty_json_export_is_an_empty_array() -> None:
    out = io.StringIO()
    assert write_json([], out) == 0
    assert json.loads(out.getvalue()) == []


def test_json_is_streamed_and_valid_for_one_row() -> None:
    out = io.StringIO()
    assert write_json(streamed_rows(out, 4), out) == 4
    assert [item["answer"] for item in json.loads(out.getvalue())] == [
        f"answer {i}" for i in range(4)
    ]
    single = io.StringIO()
    write_json([row("only")], single)
    assert json.loads(single.getvalue())[0]["answer"] == "only"


@settings(max_examples=100)
@given(st.lists(st.text(), max_size=6))
def test_json_round_trips_any_text(answers: list[str]) -> None:
    out = io.StringIO()
    assert write_json((row(a) for a in answers), out) == len(answers)
    out.getvalue().encode("utf-8")  # always writable as UTF-8, even with lone surrogates
    got = [item["answer"] for item in json.loads(out.getvalue())]
    assert got == [re.sub("[\ud800-\udfff]", "\ufffd", a) for a in answers]


# --- written in pieces (batches from a database stream) ------------------------------------------


@settings(max_examples=60)
@given(
    st.lists(st.text(max_size=20), max_size=12),
    st.lists(st.integers(min_value=0, max_value=5), max_size=6),
    st.sampled_from(["csv", "json"]),
)
def test_writing_in_batches_gives_the_same_file(
    answers: list[str], cuts: list[int], fmt: str
) -> None:
    rows = [row(a) for a in answers]
    whole = io.StringIO(newline="")
    (write_csv if fmt == "csv" else write_json)(rows, whole)
    pieces = io.StringIO(newline="")
    writer = row_writer(fmt, pieces)
    start = 0
    for size in [*cuts, len(rows)]:
        assert writer.write(rows[start : start + size]) == len(rows[start : start + size])
        start += size
    writer.close()
    assert writer.count == len(rows)
    assert pieces.getvalue() == whole.getvalue()


def test_an_unknown_format_has_no_writer() -> None:
    with pytest.raises(ValueError, match="xlsx"):
        row_writer("xlsx", io.StringIO())


# --- /standup export arguments -------------------------------------------------------------------

D = date(2026, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Daily", ExportArgs("Daily")),
        ("Team sync json", ExportArgs("Team sync", "json")),
        ("Daily CSV 2026-01-01", ExportArgs("Daily", "csv", date(2026, 1, 1))),
        (
            "Daily json 2026-01-01 2026-01-31",
            ExportArgs("Daily", "json", date(2026, 1, 1), date(2026, 1, 31)),
        ),
        (
            "Daily 2026-01-01 2026-01-01",
            ExportArgs("Daily", "csv", date(2026, 1, 1), date(2026, 1, 1)),
        ),
        # The format may follow the dates; a name may hold words that look like nothing special.
        ("Daily 2026-01-01 json", ExportArgs("Daily", "json", date(2026, 1, 1))),
        ("Sprint 7 csv", ExportArgs("Sprint 7", "csv")),
        ("  R&D   team  ", ExportArgs("R&D team")),
    ],
)
def test_export_arguments(text: str, expected: ExportArgs) -> None:
    assert parse_export_args(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Which standup?"),
        ("csv", "Which standup?"),
        ("Daily 2026-02-30", "“2026-02-30” is not a date I can read"),
        ("Daily 1/2/2026", "“1/2/2026” is not a date I can read"),
        ("Daily 2026-03-10 2026-03-01", "starts (2026-03-10) after it ends (2026-03-01)"),
        ("Daily 2026-01-01 2026-01-02 2026-01-03", "at most two dates"),
    ],
)
def test_export_argument_mistakes(text: str, message: str) -> None:
    problem = parse_export_args(text)
    assert isinstance(problem, ParseError), problem
    assert message in problem.message and EXPORT_USAGE in problem.message


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_export_arguments_never_fail_and_keep_a_name(text: str) -> None:
    parsed = parse_export_args(text)
    if isinstance(parsed, ExportArgs):
        assert parsed.name and parsed.name == parsed.name.strip()
        assert parsed.format in EXPORT_FORMATS
        if parsed.start and parsed.end:
            assert parsed.start <= parsed.end
    else:
        assert EXPORT_USAGE in parsed.message
