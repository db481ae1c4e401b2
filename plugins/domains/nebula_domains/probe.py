"""HTTPS, TLS and HTTP→HTTPS probes of one host. They report facts; verdicts.py judges.

Connections go to the addresses the configured resolvers give (not the system resolver),
so the web checks see the same DNS as the DNS checks do."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from nebula.helpers.net import failure_from_exception
from nebula_domains.certs import Certificate

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_BODY = 1 << 20

Lookup = Callable[[str], Awaitable[list[str]]]


class ConfiguredResolver(AbstractResolver):
    """aiohttp name resolution through the plugin's own resolvers."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        ips = await self._lookup(host)
        if not ips:
            raise OSError(f"{host}: the configured resolvers gave no address")
        return [{"hostname": host, "host": ip, "port": port,
                 "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for ip in ips]

    async def close(self) -> None:
        return None


def session(lookup: Lookup, limit: int) -> aiohttp.ClientSession:
    # Fresh connections every time: a reused one would hide the handshake's latency and
    # the certificate actually served now.
    connector = aiohttp.TCPConnector(resolver=ConfiguredResolver(lookup), use_dns_cache=False,
                                     force_close=True, limit=limit)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                 trust_env=False, auto_decompress=True)


@dataclass(frozen=True)
class Hop:
    url: str
    status: int
    ms: float


@dataclass(frozen=True)
class Https:
    hops: tuple[Hop, ...] = ()
    ms: float = 0.0  # every hop, connects and handshakes included
    keyword_found: bool | None = None
    error: str | None = None

    @property
    def status(self) -> int | None:
        return self.hops[-1].status if self.hops else None


@dataclass(frozen=True)
class Tls:
    """The handshake with the host itself. `verified` is None when none completed."""

    verified: bool | None = None
    verify_error: str | None = None
    certificate: Certificate | None = None
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Redirect:
    status: int | None = None
    location: str | None = None
    error: str | None = None

    @property
    def to_https(self) -> bool:
        return self.status in REDIRECTS and urlsplit(self.location or "").scheme == "https"


async def _follow(http: aiohttp.ClientSession, url: str, ctx: ssl.SSLContext, timeout: float,
                  max_redirects: int, keyword: str | None) -> Https:
    hops: list[Hop] = []
    found = None
    started = time.perf_counter()
    for _ in range(max_redirects + 1):
        hop_started = time.perf_counter()
        async with http.get(url, ssl=ctx, allow_redirects=False,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            hops.append(Hop(url, resp.status, round((time.perf_counter() - hop_started) * 1000,
                                                    1)))
            location = resp.headers.get("Location")
            if resp.status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if keyword is not None:
                body = await resp.content.read(MAX_BODY)
                found = keyword in body.decode(resp.charset or "utf-8", "replace")
            break
    else:
        return Https(tuple(hops), error=f"more than {max_redirects} redirects")
    return Https(tuple(hops), round((time.perf_counter() - started) * 1000, 1), found)


def _error(exc: BaseException, url: str, timeout: float) -> str:
    return str(failure_from_exception(exc, url, service="the site", timeout=timeout))


@dataclass(frozen=True)
class Handshake:
    """What a completed handshake showed of the certificate: `ssl`'s decoding of it when it
    was verified (empty otherwise), and its bytes."""

    decoded: dict[str, Any]
    der: bytes
    version: str | None

    def certificate(self) -> Certificate | None:
        if self.decoded:
            return Certificate.from_peercert(self.decoded)
        return Certificate.from_der(self.der) if self.der else None


Seen = dict[str, Handshake]


def capturing(ctx: ssl.SSLContext, seen: Seen) -> ssl.SSLContext:
    """`ctx`, recording each completed handshake's certificate and protocol version in
    `seen` under the server name. The page's own connection is read this way: no second
    handshake just to look at the certificate."""

    class Capturing(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()  # raises until the handshake (and verification) is done
            if self.server_hostname:
                seen[self.server_hostname] = Handshake(
                    dict(self.getpeercert() or {}), self.getpeercert(binary_form=True) or b"",
                    self.version())

    ctx.sslobject_class = Capturing
    return ctx


async def https(http: aiohttp.ClientSession, url: str, verify: ssl.SSLContext,
                inspect: ssl.SSLContext, seen: Seen, timeout: float, max_redirects: int,
                keyword: str | None) -> tuple[Https, Tls]:
    """Fetch `url` following redirects one by one, and judge the host's certificate from
    the same connection. When the certificate is rejected, say why and fetch again without
    verifying, so the page's status and the certificate's expiry and issuer are still
    reported."""
    name = urlsplit(url).hostname or ""
    seen.pop(name, None)
    verified, reason = True, None
    try:
        page = await _follow(http, url, verify, timeout, max_redirects, keyword)
    except aiohttp.ClientConnectorCertificateError as exc:
        if exc.host != name:  # a redirect target's certificate: the page fails, not ours
            return Https(error=f"{exc.host}: certificate rejected: "
                               f"{_verify_message(exc)}"), _tls(seen, name, True, None)
        verified, reason = False, _verify_message(exc)
        try:
            page = await _follow(http, url, inspect, timeout, max_redirects, keyword)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as again:
            page = Https(error=_error(again, url, timeout))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return Https(error=_error(exc, url, timeout)), Tls(error=_error(exc, url, timeout))
    return page, _tls(seen, name, verified, reason)


def _verify_message(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    return getattr(error, "verify_message", None) or str(error)


def _tls(seen: Seen, name: str, verified: bool, reason: str | None) -> Tls:
    shook = seen.pop(name, None)
    certificate = shook.certificate() if shook else None
    if certificate is None:
        return Tls(verified if reason else None, reason)
    return Tls(verified, reason, certificate, shook.version if shook else None)


async def redirect(http: aiohttp.ClientSession, url: str, timeout: float) -> Redirect:
    try:
        async with http.get(url, allow_redirects=False,
                            timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return Redirect(resp.status, resp.headers.get("Location"))
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return Redirect(error=_error(exc, url, timeout))
