"""bot.net: which URLs the server may be asked to fetch. Every class of non-public address, as a
literal and via DNS (an injected resolver: no network), plus the aiohttp resolver that closes
the DNS-rebinding gap, exercised against a local server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

import bot.net
from bot.net import (
    MAX_URL_LENGTH,
    NonPublicAddressError,
    PublicOnlyResolver,
    address_problem,
    check_public_http_url,
)

DNS: dict[str, list[str]] = {
    "example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "example.com.": ["93.184.215.14"],
    "hooks.public.test": ["8.8.8.8"],
    "xn--bcher-kva.example": ["1.1.1.1"],
    "nat64-public.test": ["64:ff9b::808:808"],
    "internal.corp": ["10.1.2.3"],
    "mixed.test": ["8.8.8.8", "192.168.1.5"],
    "metadata.test": ["169.254.169.254"],
    "loop.test": ["127.0.0.1"],
    "v6loop.test": ["::1"],
    "mapped.test": ["::ffff:10.0.0.1"],
    "nat64.test": ["64:ff9b::a00:1"],
    "sixtofour.test": ["2002:7f00:1::1"],
    "ula.test": ["fd12:3456::1"],
    "ll6.test": ["fe80::1%eth0"],
    "cgnat.test": ["100.64.1.1"],
    "zero.test": ["0.0.0.0"],
    "multicast.test": ["239.1.2.3"],
    "garbage.test": ["not-an-address"],
    "empty.test": [],
}


class FakeDNS:
    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = DNS if table is None else table
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host == "slow.test":
            await asyncio.sleep(10)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


async def refusal(url: str, *, allow_private: bool = False) -> str | None:
    return await check_public_http_url(url, allow_private=allow_private, resolve=FakeDNS())


ALLOWED = [
    "https://example.com/hook",
    "http://example.com:8080/path?x=1#frag",
    "https://EXAMPLE.com./hook",
    "http://example.com:/empty-port-means-default",
    "https://hooks.public.test:65535/",
    "https://bücher.example/",
    "https://nat64-public.test/",
    "https://8.8.8.8/",
    "http://1.1.1.1:8443/x",
    "https://8.8.8.8./trailing-dot",
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",  # IPv4-mapped form of a public address
    "https://[64:ff9b::808:808]/",  # NAT64 form of a public address
    "https://[2002:808:808::1]/",  # 6to4 form of a public address
]


@pytest.mark.parametrize("url", ALLOWED)
async def test_public_urls_are_allowed(url: str) -> None:
    assert await refusal(url) is None


# (url, words the reason must contain)
REFUSED_ADDRESSES = [
    # loopback, in every spelling getaddrinfo/inet_aton accepts
    ("http://127.0.0.1/", "loopback"),
    ("http://127.255.255.254:8080/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7F000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:8000/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),  # NAT64
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4
    ("http://localhost/", "this server itself"),
    ("http://LOCALHOST.:8000/", "this server itself"),
    ("http://api.localhost/", "this server itself"),
    # private
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[::ffff:192.168.1.1]/", "private"),
    ("http://[64:ff9b::192.168.0.1]/", "private"),
    ("http://[2002:c0a8:101::1]/", "private"),
    ("http://[fd00::1]/", "private"),
    ("http://[fc00::1]/", "private"),
    # link-local and cloud metadata
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://0xa9fea9fe/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[2002:a9fe:a9fe::]/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    # unspecified
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    # CGNAT
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://100.127.255.254/", "carrier-grade NAT"),
    # multicast, reserved, documentation, benchmarking, broadcast
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://192.0.0.8/", "reserved"),
    ("http://192.88.99.1/", "reserved"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.51.100.7/", "documentation"),
    ("http://203.0.113.7/", "documentation"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://[::127.0.0.1]/", "IPv4-compatible"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[2001::1]/", "Teredo"),
    ("http://[64:ff9b:1::1]/", "NAT64"),
    ("http://[100::1]/", "discard"),
]


@pytest.mark.parametrize(("url", "words"), REFUSED_ADDRESSES)
async def test_non_public_addresses_are_refused(url: str, words: str) -> None:
    reason = await refusal(url)
    assert reason is not None and words in reason, reason
    assert "only public internet addresses are allowed" in reason
    # allow_private switches the address checks off (and never resolves anything).
    resolver = FakeDNS({})
    assert await check_public_http_url(url, allow_private=True, resolve=resolver) is None
    assert resolver.calls == []


async def test_odd_literal_spellings_are_decoded_before_judging() -> None:
    reason = await refusal("http://2130706433/")
    assert reason is not None and reason.startswith("127.0.0.1 is a loopback address")


# (url, the address it resolves to must never be shown, words the reason must contain)
REFUSED_NAMES = [
    ("https://internal.corp/hook", "10.1.2.3", "private"),
    ("https://mixed.test/", "192.168.1.5", "private"),  # one bad address is enough
    ("https://metadata.test/", "169.254.169.254", "link-local"),
    ("https://loop.test/", "127.0.0.1", "loopback"),
    ("https://v6loop.test/", "::1", "loopback"),
    ("https://mapped.test/", "10.0.0.1", "private"),
    ("https://nat64.test/", "a00:1", "private"),
    ("https://sixtofour.test/", "2002", "loopback"),
    ("https://ula.test/", "fd12", "private"),
    ("https://ll6.test/", "fe80", "link-local"),
    ("https://cgnat.test/", "100.64", "carrier-grade NAT"),
    ("https://zero.test/", "0.0.0.0", "unspecified"),
    ("https://multicast.test/", "239.1.2.3", "multicast"),
    ("https://garbage.test/", "not-an-address", "not an IP address"),
]


@pytest.mark.parametrize(("url", "hidden", "words"), REFUSED_NAMES)
async def test_names_resolving_to_non_public_addresses_are_refused(
    url: str, hidden: str, words: str
) -> None:
    reason = await refusal(url)
    assert reason is not None and words in reason, reason
    assert hidden not in reason  # don't map internal DNS for whoever is typing URLs
    assert await refusal(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url", ["https://nxdomain.test/", "https://empty.test/", "https://typo.example.con/"]
)
async def test_unresolvable_hosts_are_refused_clearly(url: str) -> None:
    reason = await refusal(url)
    assert reason is not None and "couldn't find" in reason and "DNS" in reason
    assert await refusal(url, allow_private=True) is None


async def test_slow_lookups_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.net, "RESOLVE_TIMEOUT_SECONDS", 0.05)
    reason = await refusal("https://slow.test/")
    assert reason is not None and "took too long" in reason


async def test_the_resolver_gets_the_ascii_host_and_the_effective_port() -> None:
    dns = FakeDNS()
    for url in (
        "https://bücher.example/",
        "http://hooks.public.test/",
        "https://hooks.public.test/",
        "http://Example.COM:8080/",
    ):
        assert await check_public_http_url(url, allow_private=False, resolve=dns) is None
    assert dns.calls == [
        ("xn--bcher-kva.example", 443),
        ("hooks.public.test", 80),
        ("hooks.public.test", 443),
        ("example.com", 8080),
    ]


SHAPE_REFUSALS = [
    ("", "Enter a URL"),
    ("ftp://example.com/", "Only http:// and https://"),
    ("file:///etc/passwd", "Only http:// and https://"),
    ("gopher://example.com:70/", "Only http:// and https://"),
    ("javascript:alert(1)", "Only http:// and https://"),
    ("example.com/hook", "Only http:// and https://"),
    ("//example.com/hook", "Only http:// and https://"),
    ("http://", "needs a host name"),
    ("http:///path", "needs a host name"),
    ("https://:443/", "needs a host name"),
    ("http://user:pass@example.com/", "user name or password"),
    ("http://user@example.com/", "user name or password"),
    ("http://example.com@10.0.0.1/", "user name or password"),
    ("http://@example.com/", "user name or password"),
    ("http://evil.com\\@127.0.0.1/", "backslashes"),
    ("http://example.com\\.evil/", "backslashes"),
    ("http://exa mple.com/", "spaces"),
    (" http://example.com/", "spaces"),
    ("http://example.com/\n", "control characters"),
    ("http://127.0.0.1\t/", "control characters"),
    ("http://example.com\x00.evil/", "control characters"),
    ("http://example.com:0/", "port number isn't valid"),
    ("http://example.com:65536/", "port number isn't valid"),
    ("http://example.com:+80/", "port number isn't valid"),
    ("http://example.com:8o/", "port number isn't valid"),
    ("http://example.com:80:90/", "malformed"),
    ("http://::1/", "malformed"),
    ("http://[::1/", "isn't a valid URL"),
    ("http://[::1]x/", "isn't a valid URL"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://1.2.3.256/", "isn't a valid IP address"),
    ("http://0x100000000/", "isn't a valid IP address"),
    ("http://08.1.2.3/", "isn't a valid IP address"),
    ("http://1.2.3.4.5/", "isn't a valid IP address"),
    ("http://foo.123/", "isn't a valid IP address"),
    ("http://exa_mple..com/", "isn't a valid host name"),
    ("http://" + "a" * 64 + ".com/", "isn't a valid host name"),
    ("http://exa%6dple.com/", "isn't a valid host name"),
    ("http://*.example.com/", "isn't a valid host name"),
    ("http://example.com/" + "x" * MAX_URL_LENGTH, "too long"),
]


@pytest.mark.parametrize(("url", "words"), SHAPE_REFUSALS)
async def test_shape_problems_are_refused_even_when_private_is_allowed(
    url: str, words: str
) -> None:
    for allow_private in (False, True):
        dns = FakeDNS()
        reason = await check_public_http_url(url, allow_private=allow_private, resolve=dns)
        assert reason is not None and words in reason, (url, reason)
        assert dns.calls == []


async def test_odd_spelling_of_a_public_address_is_refused_unless_private_is_allowed() -> None:
    reason = await refusal("http://0x08.8.8.8/")
    assert reason is not None and "usual way (8.8.8.8)" in reason
    assert await refusal("http://134744072/") is not None
    assert await refusal("http://0x08.8.8.8/", allow_private=True) is None


async def test_default_resolver_uses_getaddrinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[object, ...]] = []

    async def fake_getaddrinfo(host: str, port: int, **kwargs: object) -> list[object]:
        seen.append((host, port, kwargs.get("type")))
        if host == "internal.corp":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]
        if host == "v6.test":
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", port, 0, 2))]
        if host == "hooks.public.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.4.4", port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    check = check_public_http_url
    assert await check("https://hooks.public.test/", allow_private=False) is None
    assert "private" in (await check("https://internal.corp/", allow_private=False) or "")
    assert "link-local" in (await check("https://v6.test/", allow_private=False) or "")
    assert "couldn't find" in (await check("https://nope.test/", allow_private=False) or "")
    assert seen[0] == ("hooks.public.test", 443, socket.SOCK_STREAM)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:1.1.1.1", None),
        ("127.0.0.1", "a loopback address (this server itself)"),
        ("fe80::1%eth0", "a link-local address"),
        ("::ffff:169.254.169.254", "a link-local address (this includes cloud metadata services)"),
        ("nonsense", "not an IP address"),
        ("", "not an IP address"),
    ],
)
def test_address_problem(address: str, problem: str | None) -> None:
    assert address_problem(address) == problem


# --- the aiohttp resolver: DNS rebinding ----------------------------------------------------


class StaticResolver(AbstractResolver):
    """Resolves every name to fixed addresses: DNS that changed its mind after the check."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_public_only_resolver_passes_public_and_refuses_the_rest() -> None:
    public = PublicOnlyResolver(StaticResolver("8.8.8.8", "2606:4700:4700::1111"))
    results = await public.resolve("hooks.public.test", 443)
    assert [r["host"] for r in results] == ["8.8.8.8", "2606:4700:4700::1111"]
    for bad in ("127.0.0.1", "169.254.169.254", "::ffff:10.0.0.1"):
        resolver = PublicOnlyResolver(StaticResolver("8.8.8.8", bad))
        with pytest.raises(NonPublicAddressError, match="only public internet addresses"):
            await resolver.resolve("rebind.test", 80)
    inner = StaticResolver("8.8.8.8")
    await PublicOnlyResolver(inner).close()
    assert inner.closed


@pytest.fixture
async def local_server() -> AsyncIterator[int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="internal secrets")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_rebinding_to_loopback_is_blocked_at_connect_time(local_server: int) -> None:
    url = f"http://rebind.test:{local_server}/"
    # Control: with a plain resolver the request reaches the internal server...
    connector = aiohttp.TCPConnector(resolver=StaticResolver("127.0.0.1"))
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as resp:
        assert await resp.text() == "internal secrets"
    # ...while the public-only resolver stops it before any connection is made.
    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(StaticResolver("127.0.0.1")))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(url, allow_redirects=False)
    assert isinstance(caught.value.os_error, NonPublicAddressError)
