"""Operator commands against a real database: `python app.py rotate-keys` (ENCRYPTION_KEY
rotation without downtime) and `python app.py delete-workspace T… --yes`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Base, Installation, Workspace
from tests.app_process import APP_PY
from tests.harness import SIGNING_SECRET, is_prompt
from tests.multi_workspace import (
    CLIENT_ID,
    CLIENT_SECRET,
    create_standup,
    install,
    open_create_modal,
    refreshes,
    requests_for,
    start_multi,
)
from tests.slack_fake import Call, FakeSlack

TEAM_A, TEAM_B = "T0TEAM001", "T0TEAM002"
ALICE, BOB = "U0ALICE01", "U0BOB0001"
BOT_TOKEN = "xoxb-rotation-a-51c2"
REFRESH_TOKEN = "xoxe-1-rotation-a-refresh-93bd"


async def run_app_command(
    cwd: Path, database_url: str, encryption_key: str, *args: str
) -> tuple[int, str]:
    """`python app.py …` in a clean environment (no .env), as an operator would run it."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": encryption_key,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(APP_PY),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode()


async def stored_ciphertexts(database_url: str) -> tuple[str, str]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            row = (await session.execute(select(Installation))).scalar_one()
    finally:
        await db.dispose()
    assert row.bot_token_encrypted and row.bot_refresh_token_encrypted
    return row.bot_token_encrypted, row.bot_refresh_token_encrypted


def readable_with(key: str, ciphertext: str) -> str | None:
    try:
        return Fernet(key.encode()).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        return None


async def test_rotate_keys_re_encrypts_with_the_new_key(database_url: str, tmp_path: Path) -> None:
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with FakeSlack() as slack:
        app = await start_multi(database_url, slack, encryption_key=key_a)
        try:
            await install(
                app,
                slack,
                "code-a",
                team_id=TEAM_A,
                team_name="Team A",
                bot_token=BOT_TOKEN,
                installer=ALICE,
                refresh_token=REFRESH_TOKEN,
                expires_in=43_200,  # 12 h: no refresh during this test
            )
        finally:
            await app.stop()
        token_ct, refresh_ct = await stored_ciphertexts(database_url)
        assert readable_with(key_a, token_ct) == BOT_TOKEN
        assert readable_with(key_b, token_ct) is None

        # New key first, old key still listed: old ciphertext keeps working.
        app = await start_multi(database_url, slack, encryption_key=f"{key_b},{key_a}")
        try:
            opened = await open_create_modal(app.requests, slack, ALICE)
            assert opened.ok and opened.token == BOT_TOKEN
        finally:
            await app.stop()

        code, output = await run_app_command(
            tmp_path, database_url, f"{key_b},{key_a}", "rotate-keys"
        )
        assert code == 0, output
        assert "Re-encrypted 2 secret(s)" in output
        new_token_ct, new_refresh_ct = await stored_ciphertexts(database_url)
        assert readable_with(key_b, new_token_ct) == BOT_TOKEN
        assert readable_with(key_b, new_refresh_ct) == REFRESH_TOKEN
        assert readable_with(key_a, new_token_ct) is None
        assert (new_token_ct, new_refresh_ct) != (token_ct, refresh_ct)

        # The old key can go.
        slack.clear()
        app = await start_multi(database_url, slack, encryption_key=key_b)
        try:
            opened = await open_create_modal(app.requests, slack, ALICE)
            assert opened.ok and opened.token == BOT_TOKEN
            assert refreshes(slack) == []
        finally:
            await app.stop()


async def rows_by_table(database_url: str) -> dict[str, dict[str | None, int]]:
    """Row counts of every table, split by the workspace (team id) each row belongs to."""
    db = Database(database_url)
    counts: dict[str, dict[str | None, int]] = {}
    try:
        async with db.session() as session:
            teams = dict((await session.execute(select(Workspace.id, Workspace.team_id))).all())
            for table in Base.metadata.sorted_tables:
                if table.name == "workspace":
                    counts["workspace"] = {team: 1 for team in teams.values()}
                elif "workspace_id" in table.c:
                    column = table.c.workspace_id
                    result = await session.execute(
                        select(column, func.count()).select_from(table).group_by(column)
                    )
                    counts[table.name] = {teams.get(w): n for w, n in result.all()}
    finally:
        await db.dispose()
    return counts


async def test_delete_workspace_erases_one_workspace_only(
    database_url: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    async with FakeSlack() as slack:
        slack.add_user(ALICE, "alice", team_id=TEAM_A)
        slack.add_user(BOB, "bob", team_id=TEAM_B)
        slack.add_channel("C0STANDA01", "standup-a", bot_is_member=True)
        slack.add_channel("C0STANDB01", "standup-b", bot_is_member=True)
        app = await start_multi(database_url, slack, encryption_key=key)
        try:
            for team, user, channel in ((TEAM_A, ALICE, "C0STANDA01"), (TEAM_B, BOB, "C0STANDB01")):
                await install(
                    app,
                    slack,
                    f"code-{team}",
                    team_id=team,
                    team_name=team,
                    bot_token=f"xoxb-{team.lower()}-0001",
                    installer=user,
                )
                requests = requests_for(app, team)
                await create_standup(
                    requests,
                    slack,
                    user,
                    name="Daily",
                    channel=channel,
                    participants=[user],
                    time="09:00",
                )
                await requests.command(user, "run Daily")

                def prompt_to_user(c: Call, u: str = user) -> bool:
                    return is_prompt(c) and c.body["channel"] == "D" + u[1:]

                await slack.wait_for("chat.postMessage", predicate=prompt_to_user)
            await slack.wait_idle()
        finally:
            await app.stop()

        before = await rows_by_table(database_url)
        for table in ("installation", "standup", "member", "participant", "run", "prompt"):
            assert before[table].get(TEAM_A) and before[table].get(TEAM_B), (table, before)
        assert before["audit_log"].get(TEAM_A)

        code, output = await run_app_command(
            tmp_path, database_url, key, "delete-workspace", TEAM_A
        )
        assert code == 1 and "--yes" in output
        assert await rows_by_table(database_url) == before

        code, output = await run_app_command(
            tmp_path, database_url, key, "delete-workspace", TEAM_A, "--yes"
        )
        assert code == 0, output
        after = await rows_by_table(database_url)
        for table, by_team in after.items():
            assert TEAM_A not in by_team, (table, by_team)
            assert by_team.get(TEAM_B) == before[table].get(TEAM_B), table
            assert set(by_team) <= {TEAM_B}, (table, by_team)  # nothing orphaned

        code, output = await run_app_command(
            tmp_path, database_url, key, "delete-workspace", TEAM_A, "--yes"
        )
        assert code == 1 and TEAM_A in output


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subprocess gets an explicit environment; keep this process's settings out too."""
    for name in ("DATABASE_URL", "ENCRYPTION_KEY", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
