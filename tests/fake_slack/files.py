"""File uploads, v2 flow: files.getUploadURLExternal hands out an upload URL on the fake's own
server (``/upload/v1/{ticket}``), the client POSTs the bytes there (raw or multipart; recorded
as method ``"file_upload"``), and files.completeUploadExternal shares the files into channels
as a message carrying ``files``.

Rules follow Slack's method pages (docs.slack.dev/reference/methods/files.getUploadURLExternal,
…/files.completeUploadExternal; summary in /work/shared/slack-reference/platform_notes.md §3).
Where Slack does not document an answer the fake picks one: an upload whose byte count differs
from the announced ``length`` gets HTTP 400; completing a file that was never uploaded, or
completing it twice, is ``file_not_found``."""

from __future__ import annotations

import copy
import mimetypes
import secrets
import time

from aiohttp import web

from tests.blockkit_limits import validate_message_blocks
from tests.fake_slack.server import FakeSlackServer
from tests.fake_slack.state import (
    JSON,
    ApiRequest,
    FakeChannel,
    FakeFile,
    Handler,
    as_list,
    err,
)

_ALT_TXT_MAX = 1000
_SNIPPET_MAX_BYTES = 1024 * 1024
_MAX_SHARE_CHANNELS = 100


def _missing(field: str) -> JSON:
    return err(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] missing required field: {field}"]},
    )


class FilesMethods(FakeSlackServer):
    def _api_methods(self) -> dict[str, Handler]:
        return {
            **super()._api_methods(),
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        super()._add_routes(router)
        router.add_route("POST", "/upload/v1/{ticket}", self._handle_upload)

    # ------------------------------------------------------------------ inspection
    def uploaded_file(self, file_id: str) -> FakeFile:
        """The file ``file_id`` as the fake holds it (KeyError if never announced)."""
        return self.files[file_id]

    def file_bytes(self, file_id: str) -> bytes:
        """What was uploaded for ``file_id`` (AssertionError if nothing arrived yet)."""
        content = self.files[file_id].content
        if content is None:
            raise AssertionError(f"no bytes were uploaded for {file_id}")
        return content

    def files_in(self, channel: str) -> list[FakeFile]:
        """Files shared into ``channel`` (an ID, #name, or a user ID for the bot's DM), in
        the order they were shared."""
        key = self._channel_key(channel)
        return [f for f in self.files.values() if key in f.shares]

    # ------------------------------------------------------------------ API methods
    def _files_get_upload_url_external(self, req: ApiRequest) -> JSON:
        p = req.params
        filename = p.get("filename")
        if not filename:
            return _missing("filename")
        if p.get("length") in (None, ""):
            return _missing("length")
        try:
            length = int(str(p["length"]))
        except ValueError:
            return err("invalid_arguments")
        if length == 0:
            return err("missing_argument")
        if length < 0:
            return err("invalid_arguments")
        alt_txt = p.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > _ALT_TXT_MAX:
            return err("alt_txt_too_large")
        snippet_type = p.get("snippet_type")
        if snippet_type and length > _SNIPPET_MAX_BYTES:
            return err("snippet_too_large")
        file = FakeFile(
            id=f"F{next(self._ids):010d}",
            name=str(filename),
            length=length,
            team_id=req.team.id,
            user=self.user_tokens.get(req.token or "", self._bot_user(req)),
            ticket=secrets.token_urlsafe(16),
            created=int(self.clock()),
            alt_txt=str(alt_txt) if alt_txt is not None else None,
            snippet_type=str(snippet_type) if snippet_type else None,
        )
        self.files[file.id] = file
        self._uploads[file.ticket] = file.id
        return {
            "ok": True,
            "upload_url": f"{self.base_url}/upload/v1/{file.ticket}",
            "file_id": file.id,
        }

    def _files_complete_upload_external(self, req: ApiRequest) -> JSON:
        p = req.params
        entries = p.get("files")
        if entries is None or entries == "":
            return _missing("files")
        if not isinstance(entries, list) or not entries:
            return err("invalid_arguments")
        chosen: list[tuple[FakeFile, str]] = []
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("id"):
                return err("invalid_arguments")
            file = self.files.get(str(entry["id"]))
            if (
                file is None
                or file.team_id != req.team.id
                or file.content is None
                or file.completed
            ):
                return err("file_not_found")
            title = entry.get("title")
            chosen.append((file, str(title) if title else file.name))

        targets: list[FakeChannel] = []
        refs = [(p["channel_id"], "channel_not_found")] if p.get("channel_id") else []
        refs += [(ref, "invalid_channel") for ref in as_list(p.get("channels"))]
        if len(refs) > _MAX_SHARE_CHANNELS:
            return err("channels_limit_exceeded")
        thread_ts = p.get("thread_ts")
        if thread_ts and len(refs) > 1:
            return err("invalid_arguments")
        for ref, missing_error in refs:
            channel = self._resolve_channel(ref)
            if channel is None:
                return err(missing_error)
            if channel.is_archived:
                return err("is_archived")
            if not channel.is_im and self._bot_user(req) not in channel.members:
                return err("not_in_channel")
            if channel not in targets:
                targets.append(channel)
        comment = p.get("initial_comment")
        blocks = None if comment else p.get("blocks")
        if blocks is not None:
            errors = validate_message_blocks(blocks) if isinstance(blocks, list) else ["blocks"]
            if errors:
                return err("invalid_blocks", errors=errors)

        for file, title in chosen:
            file.title = title
            file.completed = True
        for channel in targets:
            msg: JSON = {
                "type": "message",
                "text": str(comment or ""),
                "ts": self._next_ts(),
                "user": self._bot_user(req),
                "bot_id": req.team.bot_id,
                "app_id": self.app_id,
                "team": req.team.id,
                "upload": True,
                "display_as_bot": False,
                "files": [self._file_obj(file) for file, _ in chosen],
            }
            if blocks is not None:
                msg["blocks"] = copy.deepcopy(blocks)
            if thread_ts:
                msg["thread_ts"] = str(thread_ts)
            self._store_message(channel.id, msg)
            for file, _ in chosen:
                file.shares.setdefault(channel.id, []).append(msg["ts"])
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f, _ in chosen]}

    # ------------------------------------------------------------------ the upload URL
    async def _handle_upload(self, request: web.Request) -> web.Response:
        ticket = request.match_info["ticket"]
        arrived = time.time()
        content = await self._read_upload(request)
        await self._delay("file_upload")
        file_id = self._uploads.get(ticket)
        file = self.files.get(file_id) if file_id is not None else None

        fault = self._take_fault("file_upload")
        if fault is not None:
            status, text = fault.status, fault.error
        elif file is None or file.completed:
            status, text = 404, "upload_not_found"
        elif content is None:
            status, text = 400, "no_file_data"
        elif len(content) != file.length:
            status, text = 400, f"length_mismatch: expected {file.length}, got {len(content)}"
        else:
            file.content = content
            status, text = 200, f"OK - {len(content)}"
        body = {
            "_ticket": ticket,
            "file_id": file_id,
            "size": len(content) if content is not None else None,
            "content_type": request.content_type,
        }
        response = {"ok": True} if status == 200 else err(text)
        self._record(request, "file_upload", body, None, arrived, status, response)
        return web.Response(status=status, text=text, content_type="text/plain")

    @staticmethod
    async def _read_upload(request: web.Request) -> bytes | None:
        """The uploaded bytes: the raw body, or the first file part of a multipart form."""
        if request.content_type != "multipart/form-data":
            return await request.read()
        form = await request.post()
        for value in form.values():
            if isinstance(value, web.FileField):
                return value.file.read()
        return None

    def _file_obj(self, file: FakeFile) -> JSON:
        """The file as Slack shows it inside a message (a subset of the file object)."""
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        extension = file.name.rsplit(".", 1)[-1].lower() if "." in file.name else "binary"
        team = self.teams.get(file.team_id) or self.teams[self.team_id]
        return {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.name,
            "title": file.title,
            "mimetype": mimetype,
            "filetype": file.snippet_type or extension,
            "user": file.user,
            "user_team": file.team_id,
            "size": file.length,
            "mode": "snippet" if file.snippet_type else "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": f"https://files.slack.com/files-pri/{file.team_id}-{file.id}/{file.name}",
            "permalink": f"https://{team.domain}.slack.com/files/{file.user}/{file.id}/{file.name}",
            **({"alt_txt": file.alt_txt} if file.alt_txt is not None else {}),
        }
