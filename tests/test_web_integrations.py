"""My API tokens and a standup's webhooks on the web, over real HTTP, on both databases.

- A token is created on the tokens page, shown once (never listed again), works with the API,
  and is revoked from the page; bad input is shown next to its field.
- A standup's webhooks page is for its owners and admins: a participant gets 403, another
  workspace's standup is a 404; the signing secret is shown once; the delivery log is shown;
  a webhook is deleted from the page. Forms without the CSRF token are refused.
"""

from __future__ import annotations

import datetime as dt
import re

from cryptography.fernet import Fernet
from sqlalchemy import select

from storage.db import Database
from storage.models import ApiToken, AuditEntry, Webhook, WebhookDelivery
from tests.api_client import call, count
from tests.multi_workspace import install_workspace
from tests.slack_fake import FakeSlack
from tests.web_client import seed_standup, sign_in, start_multi_web, start_single

ALICE, BOB, OWEN = "U0ALICE01", "U0BOB0001", "U0OWEN001"
TEAM_B, TEAM_C, CAROL = "T0TEAMBBB", "T0TEAMCCC", "U0CAROL01"


async def test_tokens_are_created_shown_once_used_and_revoked_on_the_tokens_page(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", tz="Europe/Berlin")
        slack.add_user(BOB, "bob")
        app = await start_single(database_url, slack)
        try:
            alice = await sign_in(app, slack, ALICE)
            page = await alice.get("/app/tokens")
            assert page.status == 200 and 'href="/app/tokens" aria-current="page"' in page.text
            assert "You have no API tokens." in page.visible_text

            # Without the CSRF token: nothing created.
            refused = await alice.post("/app/tokens", {"name": "CI", "scope": "read"})
            assert refused.status == 403
            # Bad input: said next to the field, nothing created.
            bad = await alice.post("/app/tokens", {"csrf": page.csrf, "name": " ", "scope": "all"})
            assert bad.status == 400
            assert 'id="error-name"' in bad.text and 'id="error-scope"' in bad.text
            assert await count(database_url, ApiToken) == 0

            created = await alice.post(
                "/app/tokens", {"csrf": page.csrf, "name": "Jira <sync>", "scope": "write"}
            )
            assert created.status == 200
            match = re.search(r'id="token-value"[^>]*value="(ast_[^"]+)"', created.text)
            assert match, created.text[:2000]
            token = match.group(1)
            assert "shown only this once" in created.visible_text
            assert "Jira &lt;sync&gt;" in created.text  # escaped
            assert created.headers["Cache-Control"] == "no-store"

            # It works with the API, as Alice.
            me = await call(app, "GET", "/me", token)
            assert me.status == 200 and me.json["user_id"] == ALICE

            # Listed with its name, scope and last use — never the token again.
            page = await alice.get("/app/tokens")
            assert token not in page.text
            assert "Jira <sync>" in page.visible_text and "write" in page.visible_text
            assert "never" not in page.visible_text  # it was used just now
            row = re.search(r'action="/app/tokens/(\d+)/revoke"', page.text)
            assert row

            # Bob can't revoke Alice's token; ids that don't exist are 404.
            bob = await sign_in(app, slack, BOB)
            bob_page = await bob.get("/app/tokens")
            assert "Jira" not in bob_page.visible_text
            other = await bob.post(f"/app/tokens/{row.group(1)}/revoke", {"csrf": bob_page.csrf})
            assert other.status == 403 and "someone else's" in other.visible_text
            missing = await bob.post("/app/tokens/987654/revoke", {"csrf": bob_page.csrf})
            assert missing.status == 404
            assert (await call(app, "GET", "/me", token)).status == 200

            revoked = await alice.post(f"/app/tokens/{row.group(1)}/revoke", {"csrf": page.csrf})
            assert (revoked.status, revoked.location) == (303, "/app/tokens?done=revoked")
            page = await alice.get("/app/tokens?done=revoked")
            assert "Revoked: that token no longer works." in page.visible_text
            assert "You have no API tokens." in page.visible_text
            assert (await call(app, "GET", "/me", token)).status == 401
            actions = await count(database_url, AuditEntry, AuditEntry.action.like("api_token_%"))
            assert actions == 2
        finally:
            await app.stop()


async def test_a_standups_webhooks_page_is_for_its_owners_and_shows_the_secret_once(
    database_url: str,
) -> None:
    async with FakeSlack() as slack:
        app = await start_multi_web(
            database_url,
            slack,
            encryption_key=Fernet.generate_key().decode(),
            webhook_allow_private=True,
        )
        try:
            slack.add_user(OWEN, "owen", team_id=TEAM_B)
            slack.add_user(ALICE, "alice", team_id=TEAM_B)
            slack.add_user(CAROL, "carol", team_id=TEAM_C, is_admin=True)
            for team, installer, bot in ((TEAM_B, OWEN, "U0BOTB001"), (TEAM_C, CAROL, "U0BOTC001")):
                await install_workspace(
                    app, slack, team_id=team, team_name=team, installer=installer, bot_user_id=bot
                )
            daily = await seed_standup(
                database_url,
                TEAM_B,
                name="Daily",
                channel="C0DAILY01",
                owner=OWEN,
                participants=[ALICE, OWEN],
            )
            path = f"/app/standups/{daily}/webhooks"
            owen = await sign_in(app, slack, OWEN, TEAM_B)
            standup = await owen.get(f"/app/standups/{daily}")
            assert f'href="{path}"' in standup.text
            page = await owen.get(path)
            assert page.status == 200 and "This standup has no webhooks." in page.visible_text

            # Bad input next to the fields; no CSRF → 403; nothing stored.
            bad = await owen.post(path, {"csrf": page.csrf, "url": "ftp://x", "events": "nope"})
            assert bad.status == 400
            assert 'id="error-url"' in bad.text and 'id="error-events"' in bad.text
            assert (await owen.post(path, {"url": "http://127.0.0.1:9/h"})).status == 403
            assert await count(database_url, Webhook) == 0

            added = await owen.post(
                path,
                [
                    ("csrf", page.csrf),
                    ("url", "http://127.0.0.1:9/hooks"),
                    ("events", "run.closed"),
                    ("events", "answer.submitted"),
                ],
            )
            assert added.status == 200, added.visible_text[:1000]
            secret = re.search(r'id="secret-value"[^>]*value="(whsec_[^"]+)"', added.text)
            assert secret and "shown only this once" in added.visible_text
            db = Database(database_url)
            try:
                async with db.session() as session:
                    hook = (await session.scalars(select(Webhook))).one()
                    assert hook.events == ["answer.submitted", "run.closed"]
                    now = dt.datetime.now(dt.UTC)
                    session.add(
                        WebhookDelivery(
                            workspace_id=hook.workspace_id,
                            webhook_id=hook.id,
                            event_id="evt_1",
                            event_type="run.closed",
                            payload={},
                            created_at=now,
                            next_attempt_at=now + dt.timedelta(minutes=5),
                            attempts=2,
                            last_status=502,
                        )
                    )
            finally:
                await db.dispose()

            page = await owen.get(path)
            assert secret.group(1) not in page.text
            text = page.visible_text
            assert "http://127.0.0.1:9/hooks" in text and "enabled" in text
            assert "answer.submitted, run.closed" in text
            assert "retrying" in text and "HTTP 502" in text

            # A participant who doesn't own it: 403; another workspace, even its admin: 404.
            alice = await sign_in(app, slack, ALICE, TEAM_B)
            assert (await alice.get(path)).status == 403
            assert 'href="' + path not in (await alice.get(f"/app/standups/{daily}")).text
            carol = await sign_in(app, slack, CAROL, TEAM_C)
            assert (await carol.get(path)).status == 404
            carol_page = await carol.get("/app/tokens")
            delete_path = f"{path}/{hook.id}/delete"
            assert (await carol.post(delete_path, {"csrf": carol_page.csrf})).status == 404
            alice_page = await alice.get("/app/tokens")
            assert (await alice.post(delete_path, {"csrf": alice_page.csrf})).status == 403
            assert await count(database_url, Webhook) == 1

            deleted = await owen.post(delete_path, {"csrf": page.csrf})
            assert (deleted.status, deleted.location) == (303, f"{path}?done=deleted")
            page = await owen.get(f"{path}?done=deleted")
            assert "Deleted: that webhook" in page.visible_text
            assert "This standup has no webhooks." in page.visible_text
            assert await count(database_url, Webhook) == 0
        finally:
            await app.stop()
