"""What every request is judged by: trusted reverse proxies (the client's address and
scheme), the same-origin test and CSRF header a browser credential needs (checked by the
plugin whose authenticator honours that credential: the auth plugin's sessions), the flags
of the panel's cookies, and the security headers every answer carries.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TypedDict
from urllib.parse import urlsplit

from aiohttp import web

from nebula.logs import get_logger

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The header the panel's script sends a page's CSRF token in (`<meta name="csrf-token">`).
CSRF_HEADER = "X-CSRF-Token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # `no-referrer` would make browsers send `Origin: null` on form posts, failing our own
    # same-origin check; `same-origin` still tells other sites nothing.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
log = get_logger(component="http")


class Proxies:
    """The reverse proxies whose forwarding headers we believe (`[agent] trusted_proxies`)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = []
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                log.warning("http.trusted_proxy_invalid", entry=entry)

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def client_ip(self, request: web.Request) -> str:
        """The caller's address: past trusted proxies, the rightmost address in
        X-Forwarded-For that is not one of them (leftmost entries are the client's say)."""
        remote = request.remote or ""
        if not self.trusts(remote):
            return remote
        hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", [])
                for h in v.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else remote

    def is_https(self, request: web.Request) -> bool:
        if request.url.scheme == "https":
            return True
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return proto == "https" and self.trusts(request.remote)


PROXIES: web.AppKey[Proxies] = web.AppKey("proxies")
# Whom per-client limits count against: one session, or one bearer token (by its hash).
CALLER: web.RequestKey[str] = web.RequestKey("caller")


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # "http://[::1": not an origin at all
        return False
    # The header, not request.host, which falls back to a blocking DNS lookup without one.
    return netloc.lower() == request.headers.get("Host", "").lower()


class CookieFlags(TypedDict):
    httponly: bool
    samesite: str
    path: str
    secure: bool


def cookie_flags(request: web.Request) -> CookieFlags:
    """The flags of a cookie the panel sets: never readable by scripts, never sent by
    another site, `Secure` over HTTPS (directly or through a trusted proxy)."""
    return {"httponly": True, "samesite": "Strict", "path": "/",
            "secure": request.app[PROXIES].is_https(request)}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app[PROXIES].is_https(request):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
