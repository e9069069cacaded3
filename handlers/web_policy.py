"""Pure rules for the HTTP edge: the security headers every response carries."""

from __future__ import annotations

__all__ = ["API_CSP", "security_headers"]

# For everything that is not one of our HTML pages (JSON, plain text, metrics): load nothing,
# be framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(content_type: str, page_csp: str) -> dict[str, str]:
    """Headers for a response of this content type. HTML gets ``page_csp`` (our pages' policy),
    anything else the strict API policy. Nothing is cached, sniffed, framed or referred."""
    is_html = content_type.split(";")[0].strip().lower() == "text/html"
    return {
        "Content-Security-Policy": page_csp if is_html else API_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
