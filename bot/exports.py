"""Answer exports (CSV or JSON, one row per answer) and a workspace's whole data export.

Three surfaces, one set of use cases:

* `/standup export <name> [csv|json] [from] [to]` — :func:`prepare` checks who may export what
  (as reports: owners and workspace admins every answer, a participant their own answers, anyone
  else refused) and counts the rows; :func:`send_to_dm` writes the file and shares it in the
  requester's DM. Slack uploads are capped at :data:`MAX_SLACK_ROWS` rows and
  :data:`MAX_SLACK_BYTES` bytes; beyond that the API and the operator command stream any size.
* `GET /api/v1/standups/{id}/export` — the same :func:`prepare`, then :func:`text_chunks`.
* `python app.py export` — :func:`operator_export`: a standup's answers, the workspace's
  answers (CSV), or everything stored about the workspace (JSON) without any secret.

Rows come from the database in batches of one streamed statement, never all at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outcomes import (
    ExportEmpty,
    ExportFailed,
    ExportReady,
    ExportSent,
    ExportTooLarge,
    Refusal,
)
from bot.people import Caller
from bot.reports import find_readable
from bot.rules.export import ExportRow, row_writer
from bot.rules.permissions import ReportScope
from bot.rules.validation import name_key
from bot.runtime import Services
from bot.slack.files import UploadFailed, share_file_in_dm
from bot.slack.gateway import error_code
from bot.views import reports as views
from storage import exports as exports_db
from storage import standups, workspaces
from storage.db import Database

log = structlog.get_logger("asyncstand.exports")

MAX_SLACK_ROWS = 20_000
MAX_SLACK_BYTES = 20 * 1024 * 1024
WORKSPACE_EXPORT_FORMAT = "asyncstand-workspace-export"
WORKSPACE_EXPORT_VERSION = 1

Progress = Callable[[int], None]


# --- one standup's answers, for a caller -------------------------------------------------------


async def prepare(
    services: Services,
    caller: Caller,
    which: str | int,
    fmt: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ExportReady | ExportEmpty | Refusal:
    """May the caller export this standup's answers (which ones), and how many rows is that?"""
    actor = await caller.actor()
    async with services.db.session() as session:
        found = await find_readable(session, caller.workspace_id, which, actor)
        if isinstance(found, Refusal):
            return found
        own = found.scope == ReportScope.OWN
        only_user = caller.user_id if own else None
        rows = await exports_db.count_answers(
            session,
            caller.workspace_id,
            standup_id=found.standup.id,
            only_user=only_user,
            start=start,
            end=end,
        )
    if rows == 0:
        return ExportEmpty(found.standup.name, start, end, own_only=own)
    return ExportReady(
        workspace_id=caller.workspace_id,
        standup_id=found.standup.id,
        standup_name=found.standup.name,
        only_user=only_user,
        format=fmt,
        start=start,
        end=end,
        rows=rows,
    )


def _export_row(row: exports_db.AnswerRow) -> ExportRow:
    return ExportRow(
        run_date_utc=row.due_at.astimezone(dt.UTC).date(),
        local_date=row.local_date,
        person=row.user_id,
        question=row.question,
        answer=row.body,
        answered_at=row.submitted_at,
        late=row.late,
        person_name=row.user_name or "",
        standup=row.standup,
    )


async def _batches(
    db: Database,
    workspace_id: int,
    *,
    standup_id: int | None,
    only_user: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> AsyncIterator[list[ExportRow]]:
    async with db.session() as session:
        async for batch in exports_db.answers(
            session,
            workspace_id,
            standup_id=standup_id,
            only_user=only_user,
            start=start,
            end=end,
        ):
            yield [_export_row(row) for row in batch]


def _ready_batches(services: Services, ready: ExportReady) -> AsyncIterator[list[ExportRow]]:
    return _batches(
        services.db,
        ready.workspace_id,
        standup_id=ready.standup_id,
        only_user=ready.only_user,
        start=ready.start,
        end=ready.end,
    )


async def text_chunks(services: Services, ready: ExportReady) -> AsyncIterator[str]:
    """The export as text, one chunk per batch of rows (for a streamed HTTP response)."""
    buffer = io.StringIO(newline="")
    writer = row_writer(ready.format, buffer)
    async for batch in _ready_batches(services, ready):
        writer.write(batch)
        yield _drain(buffer)
    writer.close()
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()
    return slug[:40].strip("-") or "standup"


def filename(ready: ExportReady, today: dt.date) -> str:
    """e.g. "daily-answers-2026-11-01-to-2026-11-30.csv" (plain ASCII: safe in headers)."""
    first = ready.start.isoformat() if ready.start else "start"
    last = (ready.end or today).isoformat()
    return f"{_slug(ready.standup_name)}-answers-{first}-to-{last}.{ready.format}"


class _TooLarge(Exception):
    pass


async def send_to_dm(
    services: Services,
    client: AsyncWebClient,
    caller: Caller,
    ready: ExportReady,
    *,
    max_rows: int = MAX_SLACK_ROWS,
    max_bytes: int = MAX_SLACK_BYTES,
) -> ExportSent | ExportTooLarge | ExportFailed:
    """Write the export to a temporary file and share it in the caller's DM with the bot;
    more than `max_rows` rows or `max_bytes` bytes is refused before anything is uploaded."""
    if ready.rows > max_rows:
        return ExportTooLarge(ready.standup_name, ready.rows, max_rows, max_bytes)
    name = filename(ready, services.clock().date())
    handle, raw_path = tempfile.mkstemp(prefix="asyncstand-export-", suffix=f".{ready.format}")
    path = Path(raw_path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            writer = row_writer(ready.format, out)
            async for batch in _ready_batches(services, ready):
                writer.write(batch)
                if out.tell() > max_bytes:
                    raise _TooLarge
            writer.close()
            length = out.tell()
        written = writer.count
        comment = views.export_comment(
            ready.standup_name, written, ready.only_user is not None, ready.start, ready.end
        )
        await share_file_in_dm(
            services.slack,
            client,
            caller.user_id,
            path,
            length,
            filename=name,
            title=name,
            comment=comment,
        )
    except _TooLarge:
        return ExportTooLarge(ready.standup_name, ready.rows, max_rows, max_bytes)
    except SlackApiError as exc:
        log.warning("export_upload_failed", error=error_code(exc))
        return ExportFailed(ready.standup_name, error_code(exc))
    except UploadFailed as exc:
        log.warning("export_upload_failed", error=str(exc))
        return ExportFailed(ready.standup_name, str(exc))
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    log.info("export_sent", standup_id=ready.standup_id, rows=written, format=ready.format)
    return ExportSent(ready.standup_name, name, written)


def _range_text(start: dt.date | None, end: dt.date | None) -> str:
    if start and end:
        return f"{start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()} on"
    if end:
        return f"up to {end.isoformat()}"
    return "every date"


# --- the operator's export -----------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorExport:
    """What `python app.py export` wrote."""

    path: Path
    rows: int
    what: str


@dataclass(frozen=True)
class OperatorProblem:
    """Why nothing was written; `exit_code` 2 for input that names nothing, 1 for nothing to
    export."""

    message: str
    exit_code: int


async def operator_export(
    db: Database,
    team_id: str,
    standup_name: str | None,
    fmt: str,
    out_path: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    now: dt.datetime,
    progress: Progress | None = None,
) -> OperatorExport | OperatorProblem:
    """A standup's answers, the workspace's answers (CSV) or, as JSON without a standup,
    everything stored about the workspace except secrets. Written to a temporary file next to
    `out_path` and renamed over it at the end, so a reader never sees half a file."""
    async with db.session() as session:
        workspace = await workspaces.get_workspace(session, team_id)
        if workspace is None:
            return OperatorProblem(f"No workspace {team_id} is stored in this database.", 2)
        standup_id: int | None = None
        if standup_name is not None:
            standup = await standups.find_standup_by_name(
                session, workspace.id, name_key(standup_name)
            )
            if standup is None:
                return OperatorProblem(f"{team_id} has no standup called {standup_name!r}.", 2)
            standup_id = standup.id
        if standup_name is None and fmt == "json":
            rows = -1  # the workspace itself is always there
        else:
            rows = await exports_db.count_answers(
                session, workspace.id, standup_id=standup_id, start=start, end=end
            )
    what = f"{standup_name!r} in {team_id}" if standup_name else team_id
    if rows == 0:
        return OperatorProblem(
            f"No answers to export for {what} ({_range_text(start, end)}); nothing written.", 1
        )
    directory = (await asyncio.to_thread(out_path.resolve)).parent
    handle, raw_temp = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=directory)
    temp = Path(raw_temp)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            if rows < 0:
                written = await _workspace_dump(db, workspace.id, team_id, now, out, progress)
                what = f"everything stored about {team_id}"
            else:
                written = await _answers_to(
                    db, workspace.id, standup_id, fmt, start, end, out, progress
                )
                what = f"answers of {what}"
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, out_path)
    finally:
        await asyncio.to_thread(temp.unlink, missing_ok=True)
    return OperatorExport(out_path, written, what)


async def _answers_to(
    db: Database,
    workspace_id: int,
    standup_id: int | None,
    fmt: str,
    start: dt.date | None,
    end: dt.date | None,
    out: TextIO,
    progress: Progress | None,
) -> int:
    writer = row_writer(fmt, out)
    async for batch in _batches(
        db, workspace_id, standup_id=standup_id, only_user=None, start=start, end=end
    ):
        writer.write(batch)
        if progress is not None:
            progress(writer.count)
    writer.close()
    return writer.count


async def _workspace_dump(
    db: Database,
    workspace_id: int,
    team_id: str,
    now: dt.datetime,
    out: TextIO,
    progress: Progress | None,
) -> int:
    """Every exported table's rows of the workspace, as one JSON document written as it goes."""
    head: dict[str, Any] = {
        "format": WORKSPACE_EXPORT_FORMAT,
        "version": WORKSPACE_EXPORT_VERSION,
        "team_id": team_id,
        "exported_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "left_out": {
            "tables": exports_db.NOT_EXPORTED,
            "columns": {t: sorted(c) for t, c in exports_db.SECRET_COLUMNS.items()},
            "note": "Secrets (tokens, webhook signing secrets, token digests) are never "
            "exported, nor any column whose name says it holds one.",
        },
    }
    text = json.dumps(head, ensure_ascii=False, indent=1)
    out.write(text[: text.rindex("}")].rstrip() + ',\n "tables": {')
    written = 0
    async with db.session() as session:
        for index, model in enumerate(exports_db.EXPORTED):
            name = model.__tablename__
            out.write(("," if index else "") + f"\n  {json.dumps(name)}: [")
            first = True
            async for batch in exports_db.table_rows(session, workspace_id, model):
                for row in batch:
                    out.write(("," if not first else "") + "\n   ")
                    out.write(json.dumps(row, ensure_ascii=False, default=str))
                    first = False
                written += len(batch)
                if progress is not None:
                    progress(written)
            out.write("\n  ]" if not first else "]")
    out.write("\n }\n}\n")
    return written
