"""Driving the REST API over real HTTP, as curl or a client library would: tokens, requests,
and checks that responses have the shapes the OpenAPI document promises."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012 as _DRAFT
from sqlalchemy import func, select

from bot import api_tokens
from handlers.api.openapi import document
from handlers.api.routing import PREFIX
from storage.db import Database
from storage.models import Base, Workspace
from tests.harness import RunningApp

TEAM = "T0TEAM001"  # the Slack fake's default workspace


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def problem(self, status: int) -> dict[str, Any]:
        """The problem document of an error reply, checked for its shape."""
        assert self.status == status, (self.status, self.text)
        assert self.content_type == "application/problem+json", self.headers
        body: dict[str, Any] = self.json
        assert body["status"] == status
        assert body["type"].startswith("urn:asyncstand:problem:")
        assert isinstance(body["title"], str) and body["title"]
        assert isinstance(body["detail"], str) and len(body["detail"]) > 10
        return body


async def call(
    app: RunningApp,
    method: str,
    path: str,
    token: str | None = None,
    *,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request to ``/api/v1<path>``; `body` is sent as JSON, `raw` as it is."""
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    data: bytes | None = raw
    if body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, app.url + PREFIX + path, data=data, headers=sent) as resp,
    ):
        text = await resp.text()
        return Reply(resp.status, dict(resp.headers), text)


async def workspace_ready(app: RunningApp, team_id: str = TEAM) -> int:
    """Wait until the app knows the workspace (single-workspace mode learns it by auth.test)."""
    deadline = asyncio.get_running_loop().time() + 8
    while True:
        async with app.app.services.db.session() as session:
            found = await session.scalar(
                select(Workspace.id).where(Workspace.team_id == team_id, Workspace.active)
            )
        if found is not None:
            return int(found)
        assert asyncio.get_running_loop().time() < deadline, "the workspace never got ready"
        await asyncio.sleep(0.05)


async def token_for(
    app: RunningApp, user_id: str, scope: str = "write", team_id: str = TEAM
) -> str:
    """A personal token, issued the way `python app.py create-token` does."""
    outcome = await api_tokens.issue_for_member(
        app.app.services, team_id, user_id, f"{user_id} {scope}", scope
    )
    assert isinstance(outcome, api_tokens.TokenCreated), outcome
    return outcome.plaintext


async def count(database_url: str, model: type[Base], *where: Any) -> int:
    db = Database(database_url)
    try:
        async with db.session() as session:
            return int(
                await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
            )
    finally:
        await db.dispose()


class Shapes:
    """Checks bodies against the OpenAPI document's component schemas."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec or document([])
        resource = Resource.from_contents(self.spec, default_specification=_DRAFT)
        self.registry: Registry[Any] = Registry().with_resource("urn:api", resource)

    def check(self, schema_name: str, instance: Any) -> None:
        schema = {"$ref": f"urn:api#/components/schemas/{schema_name}"}
        validator = Draft202012Validator(
            schema, registry=self.registry, format_checker=FormatChecker()
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{schema_name}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )
