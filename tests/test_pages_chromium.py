"""Our install pages in a real browser: headless Chromium loads them from the running app.

The landing page's Add-to-Slack link carries our client id, scopes and a state; the browser
keeps the state cookie, so loading the redirect URL in the same profile completes a real
install (once). Success and failure pages render their headings; a screenshot is a real PNG.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.harness import RunningApp
from tests.multi_workspace import CLIENT_ID, exchanges, installation_rows, start_multi
from tests.slack_fake import FakeSlack

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
)
TEAM, TEAM_NAME = "T0BROWSE1", "Browser & Co"
INSTALLER = "U0BROWSE1"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """A Chromium profile for one test (it keeps the state cookie between page loads)."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = tmp_path / "chromium-profile"
    path.mkdir()
    return path


async def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium once; returns stdout (the DOM for --dump-dom)."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=45)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"chromium {' '.join(args)} timed out") from None
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode()


class Dom(HTMLParser):
    """The bits of a dumped DOM the tests look at: elements by id, headings, visible text."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str]] = {}
        self.h1: list[str] = []
        self.text: list[str] = []
        self._in_h1 = False
        self._skip = 0
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.by_id[values["id"]] = values
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1[-1] += data
        if not self._skip:
            self.text.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


async def load(profile: Path, url: str) -> Dom:
    return Dom(await chromium(profile, "--dump-dom", url))


def redirect_url(app: RunningApp, **params: str) -> str:
    return f"{app.url}/slack/oauth_redirect?{urlencode(params)}"


def png_facts(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the decompressed image data) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return size[0], size[1], len(set(zlib.decompress(idat)))


async def test_install_pages_in_headless_chromium(
    database_url: str, profile: Path, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            # The landing page as the browser renders it (DOM and a screenshot, one load).
            shot = tmp_path / "install.png"
            landing = Dom(
                await chromium(
                    profile,
                    "--dump-dom",
                    f"--screenshot={shot}",
                    "--window-size=1024,768",
                    f"{app.url}/slack/install",
                )
            )
            width, height, distinct = png_facts(shot.read_bytes())
            assert (width, height) == (1024, 768)
            assert shot.stat().st_size > 10_000 and distinct > 16  # not a blank page

            link = landing.by_id.get("add-to-slack")
            assert link is not None, landing.visible_text
            assert "Add to Slack" in landing.visible_text
            query = parse_qs(urlsplit(link["href"]).query)
            assert query["client_id"] == [CLIENT_ID]
            assert query["scope"][0].split(",") == app.app.settings.scopes
            [state] = query["state"]
            assert len(state) >= 32

            # Slack sends the browser back with a code: the same browser (cookie) installs.
            slack.add_user(INSTALLER, "installer", team_id=TEAM)
            slack.add_oauth_code(
                "code-1", team_id=TEAM, team_name=TEAM_NAME, installer_user_id=INSTALLER
            )
            success = await load(profile, redirect_url(app, code="code-1", state=state))
            assert success.h1 == [f"AsyncStand is installed in {TEAM_NAME}"]
            assert success.by_id["open-slack"]["href"].startswith("slack://")
            assert f"team={TEAM}" in success.by_id["open-slack"]["href"]
            assert len(exchanges(slack)) == 1
            assert [w.team_id for w, _ in await installation_rows(database_url)] == [TEAM]

            # The state was good for one install only.
            slack.add_oauth_code("code-2", team_id="T0BROWSE2")
            replay = await load(profile, redirect_url(app, code="code-2", state=state))
            assert replay.h1 == ["Installation didn't complete"]
            assert "Start again" in replay.visible_text
            assert len(exchanges(slack)) == 1 and not slack.oauth_grants["code-2"].used

            # Cancelled on Slack's consent screen.
            fresh = (await load(profile, f"{app.url}/slack/install")).by_id["add-to-slack"]
            [fresh_state] = parse_qs(urlsplit(fresh["href"]).query)["state"]
            cancelled = await load(
                profile, redirect_url(app, error="access_denied", state=fresh_state)
            )
            assert cancelled.h1 == ["Installation didn't complete"]
            assert "cancelled" in cancelled.visible_text
        finally:
            await app.stop()
