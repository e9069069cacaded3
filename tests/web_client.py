"""Driving the web dashboard over real HTTP the way a browser does: Sign in with Slack against
the Slack stand-in (the test plays Slack's authorize page: it registers the code for the nonce
and redirect URL the app sent), then pages with the session cookie kept by hand (aiohttp's
client does not send Secure cookies over http, a browser on localhost does) — plus seeding
standups, runs and answers straight into the database."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from bot.rules.questions import texts_of
from bot.rules.timemath import weekdays_to_mask
from bot.rules.validation import name_key
from storage import prompts, runs, standups, workspaces
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Outcome, Participation, PromptState, Standup
from tests.harness import Clock, RunningApp, start_app
from tests.multi_workspace import CLIENT_ID, CLIENT_SECRET, multi_workspace_settings
from tests.slack_fake import FakeSlack

PUBLIC_URL = "https://standup.example.com"
CALLBACK = PUBLIC_URL + "/login/callback"
_codes = itertools.count(1)

Headers = CIMultiDictProxy[str]


def web_settings(public_url: str | None = PUBLIC_URL, **overrides: Any) -> dict[str, Any]:
    """start_app overrides: Sign in with Slack configured (client id and secret, PUBLIC_URL)."""
    values: dict[str, Any] = {
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "public_url": public_url,
        "web_secret": "w" * 40,
    }
    values.update(overrides)
    return values


async def start_single(
    database_url: str, slack: FakeSlack, *, clock: Clock | None = None, **overrides: Any
) -> RunningApp:
    """One workspace (bot token), with Sign in with Slack."""
    return await start_app(database_url, slack, clock=clock, **web_settings(**overrides))


async def start_multi_web(
    database_url: str, slack: FakeSlack, *, clock: Clock | None = None, **overrides: Any
) -> RunningApp:
    """Many workspaces (OAuth installs), with Sign in with Slack."""
    settings = {**multi_workspace_settings(), **web_settings(**overrides)}
    return await start_app(database_url, slack, clock=clock, **settings)


@dataclass
class Page:
    status: int
    headers: Headers
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    @property
    def csrf(self) -> str:
        match = re.search(r'name="csrf" value="([^"]*)"', self.text)
        assert match, f"no csrf field in the page:\n{self.text[:2000]}"
        return html.unescape(match.group(1))

    @property
    def h1(self) -> str:
        match = re.search(r"<h1[^>]*>(.*?)</h1>", self.text, flags=re.DOTALL)
        return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else ""

    @property
    def visible_text(self) -> str:
        body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", self.text, flags=re.DOTALL)
        return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


@dataclass
class Browser:
    """A cookie jar and the requests a browser makes (no redirects followed)."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)

    def _keep(self, headers: Headers) -> None:
        for raw in headers.getall("Set-Cookie", []):
            for name, morsel in SimpleCookie(raw).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Page:
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
            session.get(
                self.base_url + path, headers=self._headers(headers), allow_redirects=False
            ) as response,
        ):
            page = Page(response.status, response.headers, await response.text())
        self._keep(page.headers)
        return page

    async def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, str]] | bytes,
        headers: dict[str, str] | None = None,
    ) -> Page:
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
            session.post(
                self.base_url + path,
                data=data,
                headers=self._headers(headers),
                allow_redirects=False,
            ) as response,
        ):
            page = Page(response.status, response.headers, await response.text())
        self._keep(page.headers)
        return page


@dataclass
class Authorize:
    """What /login sent the browser to Slack with."""

    url: str
    params: dict[str, str]

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


async def start_login(browser: Browser, path: str = "/login") -> Authorize:
    page = await browser.get(path)
    assert page.status == 302, (page.status, page.text[:500])
    url = page.location
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return Authorize(url, params)


def approve(
    slack: FakeSlack,
    authorize: Authorize,
    user_id: str,
    team_id: str | None = None,
    *,
    nonce: str | None = None,
    redirect_uri: str | None = None,
) -> str:
    """Slack's consent screen said yes: a code for this user, bound to what the app sent."""
    code = f"siws-{next(_codes)}"
    slack.add_openid_code(
        code,
        user_id,
        team_id,
        nonce=authorize.nonce if nonce is None else nonce,
        redirect_uri=authorize.params["redirect_uri"] if redirect_uri is None else redirect_uri,
        scope=authorize.params["scope"],
    )
    return code


async def callback(browser: Browser, **params: str) -> Page:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return await browser.get("/login/callback?" + query)


async def sign_in(
    app: RunningApp, slack: FakeSlack, user_id: str, team_id: str | None = None
) -> Browser:
    """A browser signed in as this user (asserts it worked)."""
    browser = Browser(app.url)
    authorize = await start_login(browser)
    code = approve(slack, authorize, user_id, team_id)
    page = await callback(browser, code=code, state=authorize.state)
    assert page.status == 303, (page.status, page.visible_text[:800])
    return browser


# --- seeding ------------------------------------------------------------------------------------


async def seed_standup(
    database_url: str,
    team_id: str,
    *,
    name: str,
    channel: str,
    owner: str,
    participants: list[str],
    channel_private: bool | None = False,
    local_time: str = "09:00",
    fixed_tz: str | None = "UTC",
    schedule_from: dt.datetime | None = None,
) -> int:
    """A standup stored the way /standup create stores one; returns its id."""
    db = Database(database_url)
    try:
        await upgrade_to_head(db.engine)
        async with db.session() as session:
            workspace = await workspaces.ensure_workspace(session, team_id)
            standup = await standups.create_standup(
                session,
                workspace.id,
                name=name,
                name_key=name_key(name),
                channel_id=channel,
                questions=["What did you do?", "Any blockers?"],
                weekday_mask=weekdays_to_mask(range(7)),
                local_time=local_time,
                tz_mode="fixed" if fixed_tz else "participant",
                fixed_tz=fixed_tz,
                owner_user_id=owner,
                participant_ids=participants,
                now=schedule_from or dt.datetime.now(dt.UTC),
            )
            standup.channel_private = channel_private
            return standup.id
    finally:
        await db.dispose()


async def seed_run(
    database_url: str,
    team_id: str,
    standup_id: int,
    local_date: dt.date,
    *,
    answers: dict[str, list[str]],
    states: dict[str, PromptState] | None = None,
    closed: bool = False,
    participation: bool = False,
) -> int:
    """A run of the standup on `local_date`: these people answered these answers, the others
    are in `states` (default: sent, i.e. waiting). Returns the run id."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            workspace = await workspaces.ensure_workspace(session, team_id)
            standup = await session.get(Standup, standup_id)
            assert standup is not None and standup.workspace_id == workspace.id
            people = await standups.standup_participants(session, workspace.id, standup_id)
            due = dt.datetime.combine(local_date, dt.time(9), dt.UTC)
            run = await runs.get_or_create_run(
                session, workspace.id, standup, local_date, due + dt.timedelta(hours=4)
            )
            for member in people:
                await prompts.insert_prompt(
                    session, workspace.id, run=run, member_id=member.id, due_at=due
                )
            for view in await prompts.run_prompt_views(session, workspace.id, run.id):
                user = view.member.slack_user_id
                if user in answers:
                    await prompts.save_answers(
                        session,
                        workspace.id,
                        view,
                        answers[user],
                        due + dt.timedelta(minutes=5),
                        question_texts=texts_of(run.questions),
                    )
                else:
                    state = (states or {}).get(user, PromptState.SENT)
                    await prompts.set_prompt_state(
                        session,
                        workspace.id,
                        view.prompt.id,
                        state,
                        from_states=list(PromptState),
                    )
                if participation:
                    session.add(
                        Participation(
                            workspace_id=workspace.id,
                            run_id=run.id,
                            standup_id=standup_id,
                            member_id=view.member.id,
                            local_date=local_date,
                            outcome=Outcome.ANSWERED if user in answers else Outcome.MISSED,
                        )
                    )
            if closed:
                await runs.claim_run_close(session, workspace.id, run.id, due)
            return run.id
    finally:
        await db.dispose()
