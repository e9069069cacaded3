"""Pure rules for the HTTP edge: the security headers every response carries, which address a
request comes from (and which rate-limit bucket that is), and the /metrics bearer check."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence

__all__ = [
    "API_CSP",
    "bearer_matches",
    "client_address",
    "install_bucket",
    "security_headers",
]

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


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from a peer name or X-Forwarded-For entry ("[v6]:port" and "v4:port" too)."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str | None, forwarded_for: Sequence[str], *, trust_proxy: bool) -> str:
    """Who is asking: the TCP peer, or — only behind a trusted proxy — the last address in
    X-Forwarded-For (the one our own proxy appended; earlier entries are the client's say-so)."""
    if trust_proxy and forwarded_for:
        entries = [e for header in forwarded_for for e in header.split(",") if e.strip()]
        forwarded = _address(entries[-1]) if entries else None
        if forwarded is not None:
            return str(forwarded)
    address = _address(peer)
    return str(address) if address is not None else "unknown"


def install_bucket(address: str) -> str:
    """The rate-limit key for an address. IPv6 clients are limited per /64, the block one
    subscriber usually holds (anyone can pick any of its 2**64 addresses)."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((parsed, 64), strict=False)
        return f"rl:install:{network}"
    return f"rl:install:{parsed if parsed is not None else address[:64]}"


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header is ``Bearer <token>``; compared in constant time."""
    if not authorization or not token:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials.isascii() or not token.isascii():
        return False
    return hmac.compare_digest(credentials.encode("ascii"), token.encode("ascii"))
