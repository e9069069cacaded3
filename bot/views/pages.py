"""The few HTML pages of the install flow: landing, success and failure (web surface wording)."""

from __future__ import annotations

import base64
import hashlib
import html
from urllib.parse import quote

_STYLE = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f6f7fb;color:#1d2433}
main{max-width:640px;margin:64px auto;padding:40px;background:#fff;border-radius:12px;
box-shadow:0 2px 12px rgba(29,36,51,.08)}
h1{margin:0 0 8px;font-size:28px} .brand{color:#4a154b;font-weight:700;letter-spacing:.02em}
p,li{line-height:1.55;font-size:16px} ul{padding-left:20px}
a.button{display:inline-block;margin-top:16px;padding:12px 20px;border-radius:8px;
background:#4a154b;color:#fff;text-decoration:none;font-weight:600}
.muted{color:#5e6573;font-size:14px}
"""

# The pages' Content-Security-Policy: no script at all, and only our own <style> block, allowed
# by the hash of its exact text (so an injected style or script is refused by the browser).
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode()
PAGE_CSP = "; ".join(
    (
        "default-src 'none'",
        f"style-src '{STYLE_HASH}'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)} · AsyncStand</title><style>{_STYLE}</style></head>"
        f'<body><main><div class="brand">AsyncStand</div>{body}</main></body></html>'
    )


def install_page(authorize_url: str) -> str:
    return _page(
        "Add AsyncStand to Slack",
        "<h1>Standups that respect everyone's time zone</h1>"
        "<p>AsyncStand asks each teammate your standup questions at the time you choose "
        "<em>in their own time zone</em>, posts their answers in a thread in your team channel, "
        "and closes the day with a summary — blockers first.</p>"
        "<ul><li><code>/standup create</code> — name, channel, questions, people, days, time</li>"
        "<li>Each person gets a DM with an <strong>Answer</strong> button</li>"
        "<li>Answers land in one thread per day; the summary shows who is still to answer</li>"
        "</ul>"
        f'<a class="button" id="add-to-slack" href="{html.escape(authorize_url)}">'
        "Add to Slack</a>"
        '<p class="muted">This link is valid for 10 minutes.</p>',
    )


def success_page(team_id: str | None, app_id: str | None, team_name: str | None) -> str:
    deep_link = (
        f"slack://app?team={quote(team_id or '')}&id={quote(app_id or '')}"
        if app_id
        else f"slack://open?team={quote(team_id or '')}"
    )
    web_link = f"https://app.slack.com/client/{quote(team_id or '')}"
    name = html.escape(team_name or "your workspace")
    return _page(
        "Installed",
        f"<h1>AsyncStand is installed in {name}</h1>"
        "<p>Next: run <code>/standup create</code> in any channel to set up your first standup. "
        "We've sent you a DM with the details.</p>"
        f'<a class="button" id="open-slack" href="{html.escape(deep_link)}">Open Slack</a>'
        f'<p class="muted">Or open it <a href="{html.escape(web_link)}">in your browser</a>.</p>',
    )


FAILURE_REASONS = {
    "access_denied": "The installation was cancelled in Slack.",
    "invalid_state": "This install link has expired or was already used.",
    "invalid_browser": "This install was started in another browser.",
    "missing_code": "Slack did not send an authorization code.",
    "invalid_code": "Slack did not accept the authorization code.",
    "storage_error": "We could not save the installation.",
}


def failure_page(reason: str) -> str:
    message = FAILURE_REASONS.get(reason, "Something went wrong during installation.")
    return _page(
        "Installation failed",
        "<h1>Installation didn't complete</h1>"
        f"<p>{html.escape(message)}</p>"
        '<a class="button" id="try-again" href="/slack/install">Start again</a>',
    )


def too_many_requests_page(retry_after: int) -> str:
    return _page(
        "Too many requests",
        "<h1>Too many requests</h1>"
        f"<p>This address opened the install page too often. Please try again in {retry_after} "
        f"second{'s' if retry_after != 1 else ''}.</p>",
    )
