"""Refuse outgoing requests to URLs that point into our own network (SSRF protection).

Why: webhook endpoints (and anything else a user can make the server fetch) are typed in by
users. Without a check, ``http://169.254.169.254/`` would read cloud credentials from the
instance metadata service, and ``http://localhost:5432/`` or ``http://10.0.0.7/admin`` would
let anyone probe and poke services that trust "requests from inside". So a URL is accepted only
if it is plain ``http``/``https`` with no credentials in it, and *every* address its host
resolves to is a public internet address.

:func:`check_public_http_url` is the check to run when a URL is saved and again right before
each request. It cannot stop a DNS name that resolves to a public address now and a private one
a second later (DNS rebinding), so the HTTP client must also use :class:`PublicOnlyResolver`,
which applies the same address rules to the addresses aiohttp actually connects to, and must not
follow redirects (a redirect to a literal IP skips the resolver).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import TypeAlias
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = [
    "MAX_URL_LENGTH",
    "RESOLVE_TIMEOUT_SECONDS",
    "NonPublicAddressError",
    "PublicOnlyResolver",
    "Resolver",
    "address_problem",
    "check_public_http_url",
]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver: TypeAlias = Callable[[str, int], Awaitable[list[str]]]
"""``resolve(host, port)`` -> the IP addresses (as text) that ``host`` resolves to."""

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0

_PUBLIC_ONLY = "only public internet addresses are allowed"
_PRIVATE = "a private network address"
_DOCS = "an address reserved for documentation"

# Checked in order; the first match names the problem. ``is_global`` then catches the rest.
_V4_BLOCKED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
        ("127.0.0.0/8", "a loopback address (this server itself)"),
        ("169.254.0.0/16", "a link-local address (this includes cloud metadata services)"),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "a reserved protocol address"),
        ("192.0.2.0/24", _DOCS),
        ("192.88.99.0/24", "a reserved relay address"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "an address reserved for benchmarking"),
        ("198.51.100.0/24", _DOCS),
        ("203.0.113.0/24", _DOCS),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # includes the 255.255.255.255 broadcast
    )
)
_V6_BLOCKED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address (this server itself)"),
        ("::/96", "a deprecated IPv4-compatible address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", _DOCS),
        ("3fff::/20", _DOCS),
        ("fc00::/7", "a private network (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a deprecated site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix: the last 32 bits are IPv4

_ASCII_HOST_RE = re.compile(r"[a-z0-9._-]+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_HEX_PART_RE = re.compile(r"0[xX][0-9a-fA-F]*")
# Whitespace, controls and backslashes: urlsplit silently drops tabs/newlines, and WHATWG parsers
# (browsers, some HTTP clients) read "\" as "/", so "http://a.com\@10.0.0.1/" means different
# hosts to different parsers. Refusing them keeps every parser agreeing on the host.
_FORBIDDEN_CHARS_RE = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return None


def address_problem(address: str | IPAddress) -> str | None:
    """Why ``address`` is not a public internet address (e.g. "a loopback address"), or None.

    IPv4-mapped (``::ffff:a.b.c.d``), 6to4 (``2002::/16``) and NAT64 (``64:ff9b::/96``) IPv6
    addresses are judged by the IPv4 address they carry."""
    ip = _parse_address(address) if isinstance(address, str) else address
    if ip is None:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(ip.packed)
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
        for net6, why in _V6_BLOCKED:
            if ip in net6:
                return why
    else:
        for net4, why in _V4_BLOCKED:
            if ip in net4:
                return why
    if not ip.is_global:
        return "not a public internet address"
    return None


def _ends_in_number(host: str) -> bool:
    """WHATWG's test for "this host is an IPv4 address, maybe in an old numeric form"."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    last = parts[-1]
    return (last.isascii() and last.isdigit()) or bool(_HEX_PART_RE.fullmatch(last))


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the forms ``inet_aton`` (and so ``getaddrinfo``) accepts: ``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``, ``127.1``. None if ``host`` is not a valid one."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not part.isascii():
            return None
        if _HEX_PART_RE.fullmatch(part):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0") and part.isdigit():
            if not set(part) <= set("01234567"):
                return None
            numbers.append(int(part, 8))
        elif part.isdigit():
            numbers.append(int(part))
        else:
            return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, n in enumerate(leading):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _split_netloc(netloc: str) -> tuple[str, str | None] | None:
    """(host, port text) from ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; None if
    the shape is wrong."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            return None
        host, rest = netloc[1:end], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        return host, (rest[1:] if rest else None)
    host, colon, port = netloc.partition(":")
    if ":" in port:
        return None  # an unbracketed IPv6 address, or two ports
    return host, (port if colon else None)


def _valid_hostname(host: str) -> str | None:
    """The ASCII (IDNA) form of a DNS host name, or None if it is not a valid one."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_host[:-1].split(".") if ascii_host.endswith(".") else ascii_host.split(".")
    if (
        not _ASCII_HOST_RE.fullmatch(ascii_host)
        or len(ascii_host.rstrip(".")) > 253
        or any(not 1 <= len(label) <= 63 for label in labels)
    ):
        return None
    return ascii_host


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _shown(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


async def check_public_http_url(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver | None = None,
) -> str | None:
    """A plain-English reason to refuse ``url`` as a target for outgoing requests, or None.

    Always: ``http``/``https`` only, a host is required, no ``user:pass@``, a valid port if one
    is given, no whitespace, control characters or backslashes. Unless ``allow_private`` (for
    self-hosted deployments that post to their own network on purpose): a literal IP address
    (including old numeric forms such as ``http://2130706433/``) must be public, and so must
    every address a host name resolves to; names that cannot be resolved are refused.
    ``resolve`` defaults to the system resolver (``loop.getaddrinfo``).

    Reasons never show what a host name resolved to, so the check cannot be used to map out
    internal DNS.
    """
    if not isinstance(url, str) or not url:
        return "Enter a URL, such as https://example.com/webhook."
    if len(url) > MAX_URL_LENGTH:
        return f"That URL is too long (the limit is {MAX_URL_LENGTH} characters)."
    if _FORBIDDEN_CHARS_RE.search(url):
        return "URLs can't contain spaces, control characters or backslashes."
    try:
        parts = urlsplit(url)
    except ValueError:
        return "That isn't a valid URL."
    if parts.scheme.lower() not in ("http", "https"):
        return "Only http:// and https:// URLs are allowed."
    if "@" in parts.netloc:
        return "URLs with a user name or password in them (user:pass@host) aren't allowed."
    split = _split_netloc(parts.netloc)
    if split is None:
        return "That isn't a valid URL: the host part is malformed."
    raw_host, port_text = split
    host = raw_host.lower()
    if not host:
        return "The URL needs a host name, such as https://example.com/webhook."
    if port_text and (not _PORT_RE.fullmatch(port_text) or not 1 <= int(port_text) <= 65535):
        return "The port number isn't valid (use a number from 1 to 65535)."
    port = int(port_text) if port_text else (443 if parts.scheme.lower() == "https" else 80)

    literal: IPAddress | None = None
    if parts.netloc.startswith("["):
        if "%" in host:
            return "IPv6 addresses with a zone (%) aren't allowed in URLs."
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            return f"{_shown(host)} isn't a valid IPv6 address."
    elif _ends_in_number(host):
        literal = _numeric_ipv4(host)
        if literal is None:
            return f"{_shown(host)} isn't a valid IP address."
    ascii_host = None if literal is not None else _valid_hostname(host)
    if literal is None and ascii_host is None:
        return f"{_shown(host)} isn't a valid host name."
    if allow_private:
        return None

    if literal is not None:
        problem = address_problem(literal)
        if problem is not None:
            return f"{literal} is {problem}; {_PUBLIC_ONLY}."
        if not parts.netloc.startswith("[") and host.rstrip(".") != str(literal):
            return f"Write the IP address the usual way ({literal}) instead of {_shown(host)}."
        return None

    assert ascii_host is not None
    name = ascii_host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{_shown(name)} is this server itself; {_PUBLIC_ONLY}."
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            addresses = await (resolve or _system_resolve)(ascii_host, port)
    except TimeoutError:
        return f"Looking up {_shown(host)} took too long. Try again in a minute."
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        return (
            f"We couldn't find {_shown(host)} (the DNS lookup failed). Check the spelling; "
            "if the name is new, try again later."
        )
    for address in dict.fromkeys(addresses):
        problem = address_problem(address)
        if problem is not None:
            return f"{_shown(host)} points to {problem}; {_PUBLIC_ONLY}."
    return None


class NonPublicAddressError(OSError):
    """Raised by :class:`PublicOnlyResolver`; aiohttp reports it as a ClientConnectorDNSError."""


class PublicOnlyResolver(AbstractResolver):
    """An aiohttp resolver that refuses host names resolving to any non-public address.

    Use it for every client session that fetches user-supplied URLs, so a name that passed
    :func:`check_public_http_url` cannot be re-pointed at an internal address before the
    connection is made (DNS rebinding)::

        connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver())

    aiohttp does not call the resolver for literal IP hosts, so still run
    :func:`check_public_http_url` before each request and send with ``allow_redirects=False``.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            problem = address_problem(result["host"])
            if problem is not None:
                raise NonPublicAddressError(f"{host} resolves to {problem}; {_PUBLIC_ONLY}")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
