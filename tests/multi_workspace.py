"""Multi-workspace (OAuth) mode, driven the way a browser and Slack drive it: start the app
without a bot token, install it into workspaces through /slack/install and
/slack/oauth_redirect (the fake registers the authorization code), then talk to it as any of
those workspaces. Shared by the OAuth-mode test files."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from cryptography.fernet import Fernet
from sqlalchemy import select

from storage.db import Database
from storage.models import Installation, Workspace
from tests.harness import (
    SIGNING_SECRET,
    Clock,
    RunningApp,
    create_form_values,
    start_app,
)
from tests.slack_fake import Call, FakeSlack
from tests.slack_signing import SlackRequests

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"
STATE_COOKIE = "slack-app-oauth-state"


def multi_workspace_settings(encryption_key: str | None = None) -> dict[str, Any]:
    """start_app overrides for multi-workspace (OAuth) mode: no bot token, the fake's client
    credentials, and an encryption key for the stored installations."""
    return {
        "slack_bot_token": None,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "encryption_key": encryption_key or Fernet.generate_key().decode(),
    }


async def start_multi(
    database_url: str,
    slack: FakeSlack,
    *,
    encryption_key: str | None = None,
    clock: Clock | None = None,
    **overrides: Any,
) -> RunningApp:
    """The app in multi-workspace (OAuth) mode against the fake."""
    return await start_app(
        database_url, slack, clock=clock, **multi_workspace_settings(encryption_key), **overrides
    )


@dataclass
class Landing:
    """What GET /slack/install returned: the page, its Add-to-Slack link and state cookie."""

    status: int
    html: str
    href: str
    state: str
    cookie: str  # "slack-app-oauth-state=…", ready for a Cookie header

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.href).query, keep_blank_values=True)


def add_to_slack_href(page: str) -> str:
    match = re.search(r'<a[^>]*id="add-to-slack"[^>]*href="([^"]+)"', page)
    assert match, f"no #add-to-slack link in the page:\n{page[-1500:]}"
    return html.unescape(match.group(1))


async def open_install_page(app: RunningApp) -> Landing:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{app.url}/slack/install", allow_redirects=False) as resp,
    ):
        page = await resp.text()
        # aiohttp will not send a Secure cookie over http: keep it by hand, as a browser would.
        set_cookies = resp.headers.getall("Set-Cookie", [])
    href = add_to_slack_href(page)
    [state] = parse_qs(urlsplit(href).query)["state"]
    cookie = next(c.split(";")[0] for c in set_cookies if c.startswith(STATE_COOKIE + "="))
    return Landing(resp.status, page, href, state, cookie)


async def oauth_redirect(
    app: RunningApp, params: dict[str, str], cookie: str | None
) -> tuple[int, str]:
    """Slack sending the browser back to us."""
    headers = {"Cookie": cookie} if cookie else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{app.url}/slack/oauth_redirect",
            params=params,
            headers=headers,
            allow_redirects=False,
        ) as resp,
    ):
        return resp.status, await resp.text()


async def install(
    app: RunningApp,
    slack: FakeSlack,
    code: str,
    *,
    team_id: str,
    team_name: str,
    bot_token: str,
    installer: str,
    **grant: Any,
) -> str:
    """A complete browser install; returns the success page. The installer is added to the
    fake (so the welcome DM and App Home can reach them)."""
    if installer not in slack.users:
        slack.add_user(installer, installer.lower(), team_id=team_id)
    slack.add_oauth_code(
        code,
        team_id=team_id,
        team_name=team_name,
        bot_token=bot_token,
        installer_user_id=installer,
        **grant,
    )
    landing = await open_install_page(app)
    status, page = await oauth_redirect(app, {"code": code, "state": landing.state}, landing.cookie)
    assert status == 200, page
    return page


async def install_workspace(
    app: RunningApp,
    slack: FakeSlack,
    *,
    team_id: str,
    team_name: str,
    installer: str,
    bot_user_id: str,
) -> str:
    """Install the app into a workspace the way a browser does (code ``code-<team_id>``, bot
    ``bot_user_id``); returns the bot token."""
    token = f"xoxb-{team_id.lower()}-bot-token"
    landing = await open_install_page(app)
    assert landing.status == 200
    code = f"code-{team_id}"
    slack.add_oauth_code(
        code,
        team_id=team_id,
        team_name=team_name,
        bot_token=token,
        installer_user_id=installer,
        bot_user_id=bot_user_id,
        bot_id="B" + bot_user_id[1:],
    )
    status, body = await oauth_redirect(app, {"code": code, "state": landing.state}, landing.cookie)
    assert status == 200, body
    assert "is installed in" in body, body
    return token


def requests_for(app: RunningApp, team_id: str, enterprise_id: str | None = None) -> SlackRequests:
    """Signed requests from another workspace (or a team of a Grid org)."""
    return SlackRequests(
        app.url, SIGNING_SECRET, team_id=team_id, fake=app.slack, enterprise_id=enterprise_id
    )


def exchanges(slack: FakeSlack) -> list[Call]:
    """oauth.v2.access calls that exchanged an authorization code."""
    return [c for c in slack.calls_to("oauth.v2.access") if c.body.get("code")]


def refreshes(slack: FakeSlack) -> list[Call]:
    """oauth.v2.access calls that spent a refresh token."""
    return [
        c for c in slack.calls_to("oauth.v2.access") if c.body.get("grant_type") == "refresh_token"
    ]


async def open_create_modal(requests: SlackRequests, slack: FakeSlack, user_id: str) -> Call:
    """/standup create → the views.open call it made (which carries the bot token used)."""
    before = len(slack.calls_to("views.open"))
    status, _ = await requests.command(user_id, "create")
    assert status == 200
    calls = await slack.wait_for("views.open", count=before + 1)
    return calls[before]


async def create_standup(
    requests: SlackRequests,
    slack: FakeSlack,
    owner: str,
    *,
    name: str,
    channel: str,
    participants: list[str],
    time: str,
    tz: str = "UTC",
) -> None:
    """Create a daily standup through the modal, as the owner would (fixed time zone)."""
    opened = await open_create_modal(requests, slack, owner)
    assert opened.ok, opened.response
    status, text = await requests.view_submission(
        owner,
        opened.body["view"],
        create_form_values(
            name=name,
            channel=channel,
            questions=["What did you do?", "Any blockers?"],
            participants=participants,
            days=list(range(7)),
            time=time,
            tz_mode="fixed",
            fixed_tz=tz,
        ),
    )
    assert status == 200 and "errors" not in text, text
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.body["channel"] == "D" + owner[1:] and name in c.body["text"],
    )


async def installation_rows(database_url: str) -> list[tuple[Workspace, Installation]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(Workspace, Installation)
                .join(Installation, Installation.workspace_id == Workspace.id)
                .order_by(Workspace.id)
            )
            return [(w, i) for w, i in rows.all()]
    finally:
        await db.dispose()
