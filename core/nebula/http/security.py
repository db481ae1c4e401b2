"""Who is asking, and is the request safe to honour: bearer tokens or the panel's session
cookie, CSRF and Origin checks for cookie-authenticated requests, trusted reverse proxies,
and the security headers every answer carries.

A bearer token is never sent by a browser on its own, so requests carrying one need no
CSRF defence; a cookie is, so every state-changing request made with it must also carry
the session's CSRF token, and a WebSocket opened with it must come from our own origin
(cross-site WebSocket hijacking is otherwise open: browsers do not apply CORS to it).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from aiohttp import web

from nebula.http.problems import Problem
from nebula.http.sessions import COOKIE, Session, Sessions
from nebula.logs import get_logger
from nebula.tokens import Principal
from nebula.users import LoginGuard, Users

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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


USERS: web.AppKey[Users] = web.AppKey("users")
SESSIONS: web.AppKey[Sessions] = web.AppKey("sessions")
GUARD: web.AppKey[LoginGuard] = web.AppKey("login_guard")
PROXIES: web.AppKey[Proxies] = web.AppKey("proxies")
SESSION: web.RequestKey[Session] = web.RequestKey("session")
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


async def session_principal(request: web.Request) -> Principal | None:
    """The principal of the request's session cookie, after the checks a cookie needs;
    None when there is no valid session."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    session = await request.app[SESSIONS].lookup(value)
    if session is None:
        return None
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if "Origin" in request.headers and not same_origin(request):
        raise Problem(403, "cross-origin request refused")
    if upgrade and not same_origin(request):
        raise Problem(403, "a WebSocket opened with a session cookie needs our own Origin")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type == "application/x-www-form-urlencoded":
            sent = (await request.post()).get("csrf")
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(),
                                                                session.csrf.encode()):
            raise Problem(403, "missing or wrong CSRF token")
    request[SESSION] = session
    request[CALLER] = f"session:{session.id}"
    return session.principal


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")


def cookie_flags(request: web.Request) -> dict[str, object]:
    return {"httponly": True, "samesite": "Strict", "path": "/",
            "secure": request.app[PROXIES].is_https(request)}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app[PROXIES].is_https(request):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
