"""Headless Chromium driven over the DevTools protocol (a websocket, with aiohttp's client):
navigate, wait for the page, read and fill the DOM, click, take screenshots — and stand in for
Slack's authorize page, by intercepting the browser's request to https://slack.com (this
machine has no network) and answering it the way Slack's consent screen does: a redirect back
to the app's callback with a code.

No browser download, no driver package: Debian's chromium and the protocol. The flags are the
ones tests/test_pages_chromium.py uses (and /work/.library/env's "Known to work").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
ROOT = Path(__file__).resolve().parent.parent
# CI keeps these (see .ci/run); they are not committed (.gitignore).
SCREENSHOTS = Path(os.environ.get("ASYNCSTAND_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")

SlackAuthorize = Callable[[str], Awaitable[str]]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class Tab:
    """One page of a browser, attached over the protocol."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self._browser = browser
        self.session_id = session_id

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.send(method, session_id=self.session_id, **params)

    async def goto(self, url: str) -> None:
        """Navigate and wait for the page (and any redirects) to finish loading."""
        loaded = self._browser.expect("Page.loadEventFired", self.session_id)
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(loaded, 20)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def click_and_wait(self, selector: str) -> None:
        """Click an element (a submit button, a link) and wait for the next page."""
        loaded = self._browser.expect("Page.loadEventFired", self.session_id)
        found = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "if (!e) return false; e.click(); return true; })()"
        )
        assert found, f"nothing matches {selector!r} on {await self.url()}"
        await asyncio.wait_for(loaded, 20)

    async def fill(self, selector: str, value: str) -> None:
        found = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            f"if (!e) return false; e.value = {json.dumps(value)}; "
            "e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )
        assert found, f"nothing matches {selector!r}"

    async def text(self, selector: str = "body") -> str:
        value = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            "return e ? e.innerText : null; })()"
        )
        return " ".join(str(value).split()) if value is not None else ""

    async def url(self) -> str:
        return str(await self.evaluate("window.location.href"))

    async def screenshot(self, name: str, *, width: int = 1024, height: int = 768) -> Path:
        """A PNG of the page at this size (a phone is about 390 wide), kept as an artefact."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        shot = await self.send("Page.captureScreenshot", format="png")
        return await asyncio.to_thread(_save, name, base64.b64decode(shot["data"]))


def _save(name: str, png: bytes) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.write_bytes(png)
    return path


class Browser:
    """A headless Chromium process and its DevTools websocket."""

    def __init__(self, process: asyncio.subprocess.Process, ws: aiohttp.ClientWebSocketResponse):
        self._process = process
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self._slack: SlackAuthorize | None = None
        self._reader = asyncio.create_task(self._read())
        self._tasks: set[asyncio.Task[None]] = set()
        self.console_errors: list[str] = []

    async def send(
        self, method: str, session_id: str | None = None, **params: Any
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        await self._ws.send_str(json.dumps(message))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def expect(self, method: str, session_id: str | None) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, session_id, future))
        return future

    async def _read(self) -> None:
        async for raw in self._ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(raw.data)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            method, session = message.get("method"), message.get("sessionId")
            params = message.get("params", {})
            if method == "Fetch.requestPaused":
                task = asyncio.create_task(self._answer_slack(session, params))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if method == "Runtime.exceptionThrown":
                self.console_errors.append(json.dumps(params)[:500])
            entry = params.get("entry", {}) if method == "Log.entryAdded" else {}
            # CSP violations are reported here (source "security"); a page answered with a
            # 401 or 404 on purpose shows as a "network" error, which is no error of ours.
            if entry.get("level") == "error" and entry.get("source") != "network":
                self.console_errors.append(f"{entry.get('source')}: {entry.get('text')}"[:500])
            for waiter in list(self._waiters):
                if waiter[0] == method and waiter[1] in (None, session):
                    self._waiters.remove(waiter)
                    if not waiter[2].done():
                        waiter[2].set_result(params)

    async def _answer_slack(self, session_id: str | None, params: dict[str, Any]) -> None:
        """The browser asked https://slack.com/...: answer as Slack's consent screen would."""
        url = params["request"]["url"]
        assert self._slack is not None, f"unexpected request to {url}"
        location = await self._slack(url)
        await self.send(
            "Fetch.fulfillRequest",
            session_id=session_id,
            requestId=params["requestId"],
            responseCode=302,
            responseHeaders=[{"name": "Location", "value": location}],
            body="",
        )

    async def new_tab(self, slack: SlackAuthorize | None = None) -> Tab:
        """A fresh page; `slack` answers its requests to https://slack.com (the authorize
        page), returning where to redirect the browser."""
        self._slack = slack
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        tab = Tab(self, attached["sessionId"])
        await tab.send("Page.enable")
        await tab.send("Runtime.enable")
        await tab.send("Log.enable")
        await tab.send("Fetch.enable", patterns=[{"urlPattern": "https://slack.com/*"}])
        return tab

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Browser]:
    """Start headless Chromium with a fresh profile; yields it connected over DevTools."""
    require_chromium()
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    endpoint = None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while endpoint is None:
                line = (await process.stderr.readline()).decode(errors="replace")
                if not line:
                    raise AssertionError("chromium exited:\n" + "".join(lines[-20:]))
                lines.append(line)
                match = re.search(r"DevTools listening on (ws://\S+)", line)
                endpoint = match.group(1) if match else None
    except BaseException:
        process.kill()
        await process.wait()
        raise
    # Keep reading its stderr so the pipe never fills up and blocks it.
    drain = asyncio.create_task(_drain(process.stderr))
    session = aiohttp.ClientSession()
    browser: Browser | None = None
    try:
        ws = await session.ws_connect(endpoint, max_msg_size=64 * 1024 * 1024)
        browser = Browser(process, ws)
        yield browser
    finally:
        if browser is not None:
            await browser.close()
        elif process.returncode is None:
            process.kill()
            await process.wait()
        await session.close()
        drain.cancel()
        with contextlib.suppress(BaseException):
            await drain


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
