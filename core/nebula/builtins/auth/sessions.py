"""Web panel sessions: a random cookie value, stored only as a hash, with its CSRF token.

Each session carries its own CSRF token; pages embed it and every state-changing request
made with the cookie must send it back (`X-CSRF-Token` or a `csrf` form field), and a
WebSocket opened with it must come from our own origin (cross-site WebSocket hijacking is
otherwise open: browsers do not apply CORS to it). Sessions end at their expiry, at logout,
or for every device at once ("log out everywhere", a password change, the user's removal).

A bearer token is never sent by a browser on its own, so requests carrying one need no such
defence; the core checks those before asking this plugin (`Sessions.authenticate`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from nebula.http.problems import Problem
from nebula.http.security import CSRF_HEADER, SAFE_METHODS, same_origin
from nebula.roles import Principal, Role
from nebula.store import Store
from nebula.surfaces import SignedIn

COOKIE = "nebula_session"
SESSION: web.RequestKey[Session] = web.RequestKey("auth_session")


@dataclass(frozen=True)
class Session:
    id: str  # the hash of the cookie value
    user_id: int
    user: str
    role: Role
    csrf: str
    expires: float

    @property
    def principal(self) -> Principal:
        return Principal(f"user:{self.user}", self.role)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Sessions:
    def __init__(self, store: Store, ttl: float) -> None:
        self._store = store
        self.ttl = ttl
        # Logins whose password was right, waiting for their second factor (web.login).
        self.pending: dict[str, Any] = {}
        # TOTP secrets shown to a session, not yet confirmed with a code (web.account):
        # session id -> (secret, expiry). Never written anywhere until confirmed.
        self.enrolments: dict[str, tuple[str, float]] = {}

    async def create(self, user_id: int, ip: str, user_agent: str) -> tuple[str, Session]:
        """A new session; returns the cookie value (shown to the browser only) and it."""
        value = secrets.token_urlsafe(32)
        now = time.time()
        await self._store.execute(
            "INSERT INTO sessions (id, user_id, csrf, created, expires, ip, user_agent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_hash(value), user_id, secrets.token_urlsafe(32), now, now + self.ttl, ip,
             user_agent[:300]))
        session = await self.lookup(value)
        assert session is not None
        return value, session

    async def lookup(self, value: str) -> Session | None:
        row = await self._store.fetchone(
            "SELECT s.id, s.user_id, s.csrf, s.expires, u.name, u.role FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.id = ? AND s.expires > ?",
            (_hash(value), time.time()))
        if row is None:
            return None
        return Session(row["id"], row["user_id"], row["name"], Role(row["role"]), row["csrf"],
                       row["expires"])

    async def end(self, session: Session) -> None:
        await self._store.execute("DELETE FROM sessions WHERE id = ?", (session.id,))

    async def end_all(self, user_id: int) -> int:
        return await self._store.changes("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    async def of_user(self, user_id: int) -> list[dict[str, Any]]:
        return await self._store.fetchall(
            "SELECT created, expires, ip, user_agent FROM sessions WHERE user_id = ? "
            "AND expires > ? ORDER BY created DESC", (user_id, time.time()))

    async def purge_expired(self) -> None:
        await self._store.execute("DELETE FROM sessions WHERE expires <= ?", (time.time(),))

    async def authenticate(self, request: web.Request) -> SignedIn | None:
        """The request's session, after the checks a cookie needs; None when it carries
        no valid session. The session is kept on the request (`session_of`)."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        session = await self.lookup(value)
        if session is None:
            return None
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if "Origin" in request.headers and not same_origin(request):
            raise Problem(403, "cross-origin request refused")
        if upgrade and not same_origin(request):
            raise Problem(403, "a WebSocket opened with a session cookie needs our own Origin")
        if request.method not in SAFE_METHODS:
            sent: object = request.headers.get(CSRF_HEADER)
            if sent is None and request.content_type == "application/x-www-form-urlencoded":
                sent = (await request.post()).get("csrf")
            # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
            if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(),
                                                                    session.csrf.encode()):
                raise Problem(403, "missing or wrong CSRF token")
        request[SESSION] = session
        return SignedIn(session.principal, session.csrf, f"session:{session.id}")



def session_of(request: web.Request) -> Session | None:
    """The panel session a request was authenticated by; None for a bearer token."""
    return request.get(SESSION)
