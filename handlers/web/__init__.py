"""The web dashboard: Sign in with Slack, sessions, and server-rendered pages under /app/.

GET  /login                  → Slack's authorize page (state and nonce kept server-side)
GET  /login/callback         ← Slack: code exchanged, identity checked, session opened
POST /logout                 the session ends (CSRF-checked)
GET  /app/                   standups I may see: schedule, next run, today's status
GET  /app/standups/{id}      people, today's run live, past runs and answers, charts
GET|POST /app/standups/new, /app/standups/{id}/edit     the standup form
GET  /app/standups/{id}/history, /app/audit              the audit log
GET  /app/settings           my out-of-office, reminders and holiday calendar
POST /app/settings/away, /away/clear, /reminders, /holidays     their forms
GET|POST /app/tokens, POST /app/tokens/{id}/revoke              my API tokens
GET|POST /app/standups/{id}/webhooks, …/webhooks/{wid}/delete|enable    a standup's webhooks
GET  /static/…               the one stylesheet and the one small script
"""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Services
from handlers.web import account, integrations, pages
from handlers.web.auth import SERVICES, login, login_callback, logout, redirect
from handlers.web.render import STATIC

STANDUP = r"/app/standups/{standup_id:\d{1,18}}"
WEBHOOK = r"/webhooks/{webhook_id:\d{1,18}}"


async def _to_app(_: web.Request) -> web.Response:
    return redirect("/app/", 302)


def register(app: web.Application, services: Services) -> None:
    """Add the dashboard's routes (and its static files) to the HTTP app."""
    app[SERVICES] = services
    router = app.router
    router.add_get("/", _to_app)
    router.add_get("/login", login)
    router.add_get("/login/callback", login_callback)
    router.add_post("/logout", logout)
    router.add_get("/app", _to_app)
    router.add_get("/app/", pages.standup_list)
    router.add_get("/app/standups/new", pages.new_standup)
    router.add_post("/app/standups/new", pages.create_standup)
    router.add_get(STANDUP, pages.standup_page)
    router.add_get(STANDUP + "/edit", pages.edit_standup)
    router.add_post(STANDUP + "/edit", pages.save_standup)
    router.add_get(STANDUP + "/history", pages.standup_history)
    router.add_get("/app/settings", account.my_settings)
    router.add_post("/app/settings/away", account.set_away)
    router.add_post("/app/settings/away/clear", account.clear_away)
    router.add_post("/app/settings/reminders", account.set_reminders)
    router.add_post("/app/settings/holidays", account.set_holidays)
    router.add_get("/app/audit", pages.audit_log)
    router.add_get("/app/tokens", integrations.my_tokens)
    router.add_post("/app/tokens", integrations.create_token)
    router.add_post(r"/app/tokens/{token_id:\d{1,18}}/revoke", integrations.revoke_token)
    router.add_get(STANDUP + "/webhooks", integrations.standup_webhooks)
    router.add_post(STANDUP + "/webhooks", integrations.create_webhook)
    router.add_post(STANDUP + WEBHOOK + "/delete", integrations.delete_webhook)
    router.add_post(STANDUP + WEBHOOK + "/enable", integrations.enable_webhook)
    router.add_route("*", "/app/{tail:.*}", pages.nothing_here)
    router.add_static("/static/", STATIC, append_version=False)
