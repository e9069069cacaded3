"""Multi-workspace install, driven the way a browser and Slack drive it.

GET /slack/install (landing page + state cookie) → Slack's consent screen (skipped: the fake
registers the code) → GET /slack/oauth_redirect?code&state → the code is exchanged at
SLACK_API_URL (the fake), the installation is stored encrypted, the installer is welcomed.

The flow's helpers (start_multi, open_install_page, install, requests_for, …) live in
tests/multi_workspace.py, shared with the other OAuth-mode test files.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import secrets
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Installation, Workspace
from tests.harness import Clock
from tests.multi_workspace import (
    CLIENT_ID,
    CLIENT_SECRET,
    STATE_COOKIE,
    exchanges,
    install,
    installation_rows,
    oauth_redirect,
    open_create_modal,
    open_install_page,
    refreshes,
    requests_for,
    start_multi,
)
from tests.slack_fake import FakeSlack

# --- tests ---------------------------------------------------------------------------------

TEAM2, TEAM2_NAME = "T0TEAM002", "Globex & <Co>"
INSTALLER, SECOND_INSTALLER = "U0INST001", "U0INST002"


async def test_install_exchanges_code_at_slack_api_url_and_welcomes_installer(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            landing = await open_install_page(app)
            assert landing.status == 200
            assert landing.query["client_id"] == [CLIENT_ID]

            token = "xoxb-globex-" + secrets.token_hex(6)
            slack.add_user(INSTALLER, "installer", team_id=TEAM2)
            slack.add_oauth_code(
                "code-1",
                team_id=TEAM2,
                team_name=TEAM2_NAME,
                bot_token=token,
                installer_user_id=INSTALLER,
            )
            status, page = await oauth_redirect(
                app, {"code": "code-1", "state": landing.state}, landing.cookie
            )
            assert status == 200, page

            # The code went to the FAKE's oauth.v2.access, with our client credentials.
            [exchange] = exchanges(slack)
            assert exchange.ok and exchange.body["code"] == "code-1"
            basic = exchange.headers.get("Authorization", "")
            sent = (
                base64.b64decode(basic[6:]).decode()
                if basic.startswith("Basic ")
                else f"{exchange.body.get('client_id')}:{exchange.body.get('client_secret')}"
            )
            assert sent == f"{CLIENT_ID}:{CLIENT_SECRET}"

            # Success page: names the workspace (escaped) and deep-links into Slack.
            assert "Globex &amp; &lt;Co&gt;" in page and "<Co>" not in page
            open_slack = re.search(r'<a[^>]*id="open-slack"[^>]*href="([^"]+)"[^>]*>([^<]*)', page)
            assert open_slack, page
            deep_link = html.unescape(open_slack.group(1))
            assert deep_link.startswith("slack://") and f"team={TEAM2}" in deep_link
            assert open_slack.group(2) == "Open Slack"

            # Welcome DM (mentions /standup create) and App Home, with the new bot token.
            [dm] = await slack.wait_for(
                "chat.postMessage", predicate=lambda c: c.body["channel"] == "D" + INSTALLER[1:]
            )
            assert dm.token == token
            assert "/standup create" in dm.body["text"] + json.dumps(dm.body.get("blocks"))
            [home] = await slack.wait_for("views.publish")
            assert home.token == token and home.body["user_id"] == INSTALLER
            assert slack.home_view(INSTALLER) is not None

            # Stored once, active, the token encrypted (never the plaintext).
            [(workspace, row)] = await installation_rows(database_url)
            assert workspace.team_id == TEAM2 and workspace.active
            assert workspace.name == TEAM2_NAME
            assert row.installer_user_id == INSTALLER and not row.is_enterprise_install
            assert row.bot_token_encrypted and token not in row.bot_token_encrypted

            # The new workspace is served with its own token.
            opened = await open_create_modal(requests_for(app, TEAM2), slack, INSTALLER)
            assert opened.ok and opened.token == token
        finally:
            await app.stop()


async def test_second_install_of_same_team_updates_the_installation(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            first, second = (
                "xoxb-first-" + secrets.token_hex(4),
                "xoxb-second-" + secrets.token_hex(4),
            )
            await install(
                app,
                slack,
                "code-a",
                team_id=TEAM2,
                team_name="Globex",
                bot_token=first,
                installer=INSTALLER,
            )
            await install(
                app,
                slack,
                "code-b",
                team_id=TEAM2,
                team_name="Globex Corp",
                bot_token=second,
                installer=SECOND_INSTALLER,
            )
            assert len(exchanges(slack)) == 2

            db = Database(database_url)
            try:
                async with db.session() as session:
                    n_workspaces = await session.scalar(select(func.count()).select_from(Workspace))
                    n_installs = await session.scalar(
                        select(func.count()).select_from(Installation)
                    )
            finally:
                await db.dispose()
            assert (n_workspaces, n_installs) == (1, 1)
            [(workspace, row)] = await installation_rows(database_url)
            assert workspace.name == "Globex Corp"
            assert row.installer_user_id == SECOND_INSTALLER

            # Requests now use the second token.
            opened = await open_create_modal(requests_for(app, TEAM2), slack, SECOND_INSTALLER)
            assert opened.ok and opened.token == second
        finally:
            await app.stop()


class GridSlack(FakeSlack):
    """The fake, answering codes in ``org_wide_codes`` as an org-wide Enterprise Grid install
    (Slack then sends ``team: null`` and ``is_enterprise_install: true``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.org_wide_codes: set[str] = set()

    def _oauth_v2_access(self, req: Any) -> dict[str, Any]:
        result = super()._oauth_v2_access(req)
        if result.get("ok") and req.params.get("code") in self.org_wide_codes:
            result["is_enterprise_install"] = True
            result["team"] = None
        return result


ORG, ORG_NAME = "E0GRID001", "Initech Grid"
GRID_TEAM, OTHER_GRID_TEAM = "T0GRIDA01", "T0GRIDB01"


async def test_enterprise_org_wide_install_serves_teams_of_the_org(database_url: str) -> None:
    async with GridSlack() as slack:
        slack.org_wide_codes.add("code-org")
        app = await start_multi(database_url, slack)
        try:
            token = "xoxb-org-" + secrets.token_hex(6)
            page = await install(
                app,
                slack,
                "code-org",
                team_id=GRID_TEAM,
                team_name="Initech A",
                bot_token=token,
                installer=INSTALLER,
                enterprise_id=ORG,
                enterprise_name=ORG_NAME,
            )
            assert f"installed in {ORG_NAME}" in page  # the org's name: there is no team
            assert f"team={ORG}" in page
            [exchange] = exchanges(slack)
            assert exchange.response["is_enterprise_install"] is True

            # Stored once, keyed by the enterprise id.
            [(workspace, row)] = await installation_rows(database_url)
            assert workspace.team_id == ORG and workspace.enterprise_id == ORG
            assert row.is_enterprise_install

            # A team of the org that never installed anything is served by the org install.
            org_team = requests_for(app, OTHER_GRID_TEAM, enterprise_id=ORG)
            slack.add_user("U0GRIDUSR", "grid.user", team_id=OTHER_GRID_TEAM)
            slack.clear()
            status, _ = await org_team.command("U0GRIDUSR", "list")
            assert status == 200
            [listed] = await slack.wait_for("response_url")
            listing = json.dumps(listed.body)
            assert "standup create" in listing  # the (empty) list, not an authorize error
            assert "installation" not in listing.lower()
            opened = await open_create_modal(org_team, slack, "U0GRIDUSR")
            assert opened.ok and opened.token == token

            # A team outside the org is not.
            outsider = requests_for(app, "T0OUTSIDE", enterprise_id="E0OTHER01")
            slack.clear()
            status, _ = await outsider.command("U0GRIDUSR", "create")
            assert status == 200
            await slack.wait_idle()
            slack.assert_not_called("views.open")
        finally:
            await app.stop()


# --- state ---------------------------------------------------------------------------------


def _assert_failure(status: int, page: str, reason_fragment: str, *, lowest: int = 400) -> None:
    assert lowest <= status < 500, (status, page[-500:])
    assert "Installation didn't complete" in page
    assert reason_fragment in page


async def _no_installs(database_url: str) -> None:
    assert await installation_rows(database_url) == []


async def test_replayed_state_fails_and_installs_nothing(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            slack.add_user(INSTALLER, "installer", team_id=TEAM2)
            slack.add_oauth_code("code-1", team_id=TEAM2, bot_token="xoxb-one-1111")
            slack.add_oauth_code("code-2", team_id="T0TEAM003", bot_token="xoxb-two-2222")
            landing = await open_install_page(app)
            params = {"code": "code-1", "state": landing.state}
            status, _ = await oauth_redirect(app, params, landing.cookie)
            assert status == 200

            params = {"code": "code-2", "state": landing.state}
            status, page = await oauth_redirect(app, params, landing.cookie)
            _assert_failure(status, page, "expired or was already used")
            assert len(exchanges(slack)) == 1
            assert not slack.oauth_grants["code-2"].used
            assert [w.team_id for w, _ in await installation_rows(database_url)] == [TEAM2]
        finally:
            await app.stop()


async def test_unknown_state_fails(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            slack.add_oauth_code("code-1", team_id=TEAM2)
            forged = secrets.token_urlsafe(32)
            # Even with a matching cookie, a state the server never issued is refused.
            status, page = await oauth_redirect(
                app, {"code": "code-1", "state": forged}, f"{STATE_COOKIE}={forged}"
            )
            _assert_failure(status, page, "expired or was already used")
            # No cookie at all: refused as well.
            landing = await open_install_page(app)
            status, page = await oauth_redirect(
                app, {"code": "code-1", "state": landing.state}, None
            )
            assert 400 <= status < 500 and "Installation didn't complete" in page
            # A code Slack rejects: a failure page, not a 500.
            landing = await open_install_page(app)
            status, page = await oauth_redirect(
                app, {"code": "no-such-code", "state": landing.state}, landing.cookie
            )
            _assert_failure(status, page, "did not accept the authorization code")
            assert [(c.body["code"], c.ok) for c in exchanges(slack)] == [("no-such-code", False)]
            assert not slack.oauth_grants["code-1"].used
            await _no_installs(database_url)
        finally:
            await app.stop()


async def test_expired_state_fails(database_url: str) -> None:
    clock = Clock()
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack, clock=clock)
        try:
            slack.add_oauth_code("code-1", team_id=TEAM2)
            landing = await open_install_page(app)
            clock.advance(minutes=11)
            status, page = await oauth_redirect(
                app, {"code": "code-1", "state": landing.state}, landing.cookie
            )
            _assert_failure(status, page, "expired or was already used")
            assert exchanges(slack) == []
            await _no_installs(database_url)
        finally:
            await app.stop()


async def test_cancelled_install_says_so(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            landing = await open_install_page(app)
            status, page = await oauth_redirect(
                app, {"error": "access_denied", "state": landing.state}, landing.cookie
            )
            # The user said no: not an error on our side (Bolt answers 200), never a 500.
            _assert_failure(status, page, "cancelled", lowest=200)
            assert 'href="/slack/install"' in page  # a way to start again
            assert slack.calls_to("oauth.v2.access") == []
            await _no_installs(database_url)
        finally:
            await app.stop()


# --- token rotation ------------------------------------------------------------------------


async def test_expiring_token_is_refreshed_once_before_use(database_url: str) -> None:
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack)
        try:
            grant_token = "xoxb-rotating-" + secrets.token_hex(4)
            await install(
                app,
                slack,
                "code-r",
                team_id=TEAM2,
                team_name="Rotate Co",
                bot_token=grant_token,
                installer=INSTALLER,
                refresh_token="xoxe-1-initial-refresh",
                expires_in=3600,
            )
            [(_, row)] = await installation_rows(database_url)
            assert row.bot_token_expires_at is not None and row.bot_refresh_token_encrypted
            # Refreshed tokens live 12 h, outside the 2 h refresh window.
            slack.oauth_grants["code-r"].expires_in = 43_200

            # 1 h left (< 2 h): the next use refreshes first, then uses the new token.
            team = requests_for(app, TEAM2)
            opened = await open_create_modal(team, slack, INSTALLER)
            [refresh] = refreshes(slack)
            assert refresh.ok and refresh.body["refresh_token"] == "xoxe-1-initial-refresh"
            new_token = refresh.response["access_token"]
            assert new_token != grant_token
            assert opened.ok and opened.token == new_token
            assert refresh.at <= opened.at

            # Later uses (and scheduler ticks) keep the new token without refreshing again.
            again = await open_create_modal(team, slack, INSTALLER)
            assert again.token == new_token
            assert len(refreshes(slack)) == 1
            [(_, row)] = await installation_rows(database_url)
            assert row.bot_refresh_token_encrypted and row.bot_token_expires_at
            left = row.bot_token_expires_at.timestamp() - refresh.at
            assert 43_000 < left <= 43_200
        finally:
            await app.stop()


async def test_two_instances_spend_the_refresh_token_once(database_url: str) -> None:
    # Postgres serialises the refresh with a row lock; SQLite with its database write lock.
    key = Fernet.generate_key().decode()
    async with FakeSlack() as slack:
        apps = [
            await start_multi(database_url, slack, encryption_key=key, role="web") for _ in range(2)
        ]
        try:
            await install(
                apps[0],
                slack,
                "code-r",
                team_id=TEAM2,
                team_name="Rotate Co",
                bot_token="xoxb-rotating-0001",
                installer=INSTALLER,
                refresh_token="xoxe-1-initial-refresh",
                expires_in=3600,
            )
            slack.oauth_grants["code-r"].expires_in = 43_200
            # A slow token endpoint so the two instances' refreshes overlap.
            slack.method_latency["oauth.v2.access"] = 0.4
            slack.clear()

            teams = [requests_for(a, TEAM2) for a in apps]
            results = await asyncio.gather(
                *(t.command(INSTALLER, "create") for t in teams for _ in range(3))
            )
            assert [status for status, _ in results] == [200] * 6
            opened = await slack.wait_for("views.open", count=6)

            spent = refreshes(slack)
            assert len(spent) == 1, f"refresh token spent {len(spent)} times: {spent}"
            [refresh] = spent
            assert refresh.ok, refresh.response
            new_token = refresh.response["access_token"]
            assert {c.token for c in opened} == {new_token}
            assert all(c.ok for c in opened)
        finally:
            for a in apps:
                await a.stop()
