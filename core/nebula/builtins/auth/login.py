"""Signing in and out of the panel: password, optional TOTP step, lockouts, logout.

The login form has no session yet to bind a CSRF token to, so it uses a double-submit
token: a random value in a SameSite=Strict cookie and in the form, which must agree.
A password accepted for a user with TOTP yields a short-lived, single-use pending login
held in memory; the session cookie is only set once the code is right.

Changing one's own credentials from a signed-in browser (turning TOTP on or off, a
password) asks for the password again (`password_again`), so a session left open or
stolen is not enough to take the account over.
"""

from __future__ import annotations

import enum
import hmac
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from aiohttp import web

from nebula.builtins.auth.sessions import COOKIE, session_of
from nebula.builtins.auth.users import User
from nebula.http.problems import Problem
from nebula.http.security import PROXIES, cookie_flags
from nebula.roles import Role
from nebula.surfaces import SESSION_TAG, Endpoint
from nebula.web.html import bare_page, e
from nebula.web.pages import html

if TYPE_CHECKING:
    from nebula.builtins.auth.runtime import Auth

LOGIN_COOKIE = "nebula_login"
# RFC 3986's reserved characters and "%" (the unreserved ones `quote` keeps anyway).
_URI_CHARACTERS = ":/?#[]@!$&'()*+,;=%"
PENDING_TTL = 300.0


@dataclass
class Pending:
    user: User
    expires: float
    next: str


def _pending(auth: Auth) -> dict[str, Pending]:
    table = auth.sessions.pending
    now = time.time()
    for token in [t for t, p in table.items() if p.expires < now]:
        del table[token]
    return table


def _safe_next(value: str | None) -> str:
    """Only a path on this site, else the overview: anything else would make the login an
    open redirect. Browsers drop tabs and newlines from a URL and read a backslash as a
    slash, so `/<TAB>/evil.example` and `/\\evil.example` mean `//evil.example`, another
    site; a control character would also break the Location header. Checked as sent and
    percent-decoded, since whatever reads it next may decode it."""
    if not value:
        return "/"
    for form in (value, unquote(value)):
        if (not form.startswith("/") or form.startswith("//") or "\\" in form
                or any(unicodedata.category(c) == "Cc" for c in form)):
            return "/"
    # A Location header is ASCII: anything else (spaces, letters beyond it) goes encoded,
    # as a browser would; what is already encoded stays as it is.
    return quote(value, safe=_URI_CHARACTERS)


def _form(csrf: str, next_: str, message: str = "", *, pending: str = "",
          user: str = "") -> str:
    alert = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    hidden = (f'<input type="hidden" name="csrf" value="{e(csrf)}">'
              f'<input type="hidden" name="next" value="{e(next_)}">')
    if pending:
        return (
            f'<h1><span aria-hidden="true">✦</span> Nebula Command</h1>{alert}'
            f'<form method="post" action="/login/totp">{hidden}'
            f'<input type="hidden" name="pending" value="{e(pending)}">'
            f"<p>Signed in as {e(user)}: enter the code from your authenticator app, or a "
            "recovery code.</p>"
            '<label for="code">Authentication code</label>'
            '<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" '
            'required autofocus>'
            '<button class="btn primary" type="submit">Verify</button></form>')
    return (
        f'<h1><span aria-hidden="true">✦</span> Nebula Command</h1>{alert}'
        f'<form method="post" action="/login">{hidden}'
        '<label for="username">Username</label>'
        '<input id="username" name="username" autocomplete="username" required autofocus>'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button class="btn primary" type="submit">Sign in</button></form>')


def _way_in(anyone: bool) -> str:
    """How to get in when nobody can: no user yet, or a forgotten password."""
    if not anyone:
        return ('<p class="muted">Nobody can sign in yet: open <a href="/setup">/setup</a> '
                "with the setup code from the agent's log (<code>nebula run</code> prints "
                "it), or run <code>nebula user add NAME</code> on the agent's host.</p>")
    return ('<p class="muted">Forgot your password? On the agent\'s host, '
            "<code>nebula user passwd NAME</code> sets a new one.</p>")


def double_submit_page(request: web.Request, title: str, body: Callable[[str], str],
                       status: int = 200) -> web.Response:
    """A page whose form is guarded by a double-submit token (there is no session yet to
    bind one to): `body` gets the token for its hidden `csrf` field; the cookie holds it."""
    csrf = secrets.token_urlsafe(24)
    response = html(bare_page(title, body(csrf)), status)
    response.set_cookie(LOGIN_COOKIE, csrf, max_age=int(PENDING_TTL * 2),
                        **cookie_flags(request))
    return response


async def _render(auth: Auth, request: web.Request, message: str = "", status: int = 200,
                  **kw: str) -> web.Response:
    # The form's own `next` (kept through a failed attempt) before the page's query.
    next_ = _safe_next(kw.pop("next", None) or request.query.get("next"))
    # The code step is past the password: no word there about getting in otherwise.
    hint = "" if kw.get("pending") else _way_in(await auth.users.exist())
    return double_submit_page(
        request, "Sign in", lambda csrf: _form(csrf, next_, message, **kw) + hint, status)


async def form_fields(request: web.Request) -> dict[str, str]:
    """The posted form's text fields, once its double-submit token matches the cookie's;
    from another site (or once the cookie lapsed) a 403."""
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    sent, cookie = fields.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise Problem(403, "the sign-in form expired or came from another site; reload it")
    return fields


class Recheck(enum.Enum):
    """Why `password_again` refused."""

    LOCKED = "locked"
    WRONG = "wrong"


async def password_again(auth: Auth, request: web.Request, name: str, password: str,
                         doing: str) -> Recheck | None:
    """Check a signed-in user's password again before `doing` something to their
    credentials; None when it is right. It is a sign-in as far as lockouts go: a locked
    account is refused without checking and a wrong password counts as a failed sign-in,
    so this is no faster a way to guess a password than the sign-in form."""
    ip = request.app[PROXIES].client_ip(request)
    if await auth.guard.locked_until(ip, name) is not None:
        return Recheck.LOCKED
    if await auth.users.verify_password(name, password) is None:
        await auth.record_failure(ip, name, f"wrong password ({doing})")
        return Recheck.WRONG
    return None


async def _locked(auth: Auth, request: web.Request, ip: str, username: str, next_: str
                  ) -> web.Response | None:
    until = await auth.guard.locked_until(ip, username)
    if until is None:
        return None
    await auth.guard.record(ip, username, auth.guard.LOCKED)
    stamp = time.strftime("%H:%M:%S", time.gmtime(until))
    return await _render(auth, request,
                         f"Too many failed sign-ins. Try again after {stamp} UTC.", 429,
                         next=next_)


async def sign_in(auth: Auth, request: web.Request, user: User, next_: str
                  ) -> web.Response:
    """A new session for `user`: its cookie set, and off to `next_`."""
    proxies = request.app[PROXIES]
    await auth.sessions.purge_expired()  # sign-ins are rare: a fine time to tidy
    value, _ = await auth.sessions.create(
        user.id, proxies.client_ip(request), request.headers.get("User-Agent", ""))
    await auth.users.logged_in(user)
    response = _see_other(next_)
    flags = cookie_flags(request)
    response.set_cookie(COOKIE, value, max_age=int(auth.sessions.ttl), **flags)
    response.del_cookie(LOGIN_COOKIE, path="/")
    return response


async def _password_step(auth: Auth, request: web.Request) -> web.StreamResponse:
    fields = await form_fields(request)
    username, next_ = fields.get("username", "").strip(), _safe_next(fields.get("next"))
    ip = request.app[PROXIES].client_ip(request)
    if (locked := await _locked(auth, request, ip, username, next_)) is not None:
        return locked
    user = await auth.users.verify_password(username, fields.get("password", ""))
    if user is None:
        await auth.record_failure(ip, username, "wrong username or password")
        return await _render(auth, request, "Wrong username or password.", 401, next=next_)
    if user.totp:
        token = secrets.token_urlsafe(32)
        _pending(auth)[token] = Pending(user, time.time() + PENDING_TTL, next_)
        return await _render(auth, request, pending=token, user=user.name, next=next_)
    return await sign_in(auth, request, user, next_)


async def _code_step(auth: Auth, request: web.Request) -> web.StreamResponse:
    fields = await form_fields(request)
    token = fields.get("pending", "")
    pending = _pending(auth).get(token)
    if pending is None:
        return await _render(auth, request, "That sign-in expired; start again.", 401)
    ip = request.app[PROXIES].client_ip(request)
    name = pending.user.name
    if (locked := await _locked(auth, request, ip, name, pending.next)) is not None:
        _pending(auth).pop(token, None)
        return locked
    if not await auth.users.verify_second_factor(pending.user, fields.get("code", "")):
        await auth.record_failure(ip, name, "wrong authentication code")
        return await _render(auth, request, "Wrong code.", 401, pending=token, user=name,
                             next=pending.next)
    _pending(auth).pop(token, None)
    return await sign_in(auth, request, pending.user, pending.next)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _signed_out() -> web.Response:
    response = _see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


def login_routes(auth: Auth) -> list[Endpoint]:
    """The sign-in pages and forms (open to anyone: they are the way in), and signing out
    (a write any signed-in role may make)."""

    async def login_form(request: web.Request) -> web.StreamResponse:
        return await _render(auth, request)

    async def login(request: web.Request) -> web.StreamResponse:
        return await _password_step(auth, request)

    async def login_totp(request: web.Request) -> web.StreamResponse:
        return await _code_step(auth, request)

    async def logout(request: web.Request) -> web.StreamResponse:
        if (session := session_of(request)) is not None:
            await auth.sessions.end(session)
        return _signed_out()

    async def logout_everywhere(request: web.Request) -> web.StreamResponse:
        if (session := session_of(request)) is not None:
            await auth.sessions.end_all(session.user_id)
        return _signed_out()

    return [
        Endpoint("GET", "/login", login_form, "The sign-in page", Role.PUBLIC),
        Endpoint("POST", "/login", login, "Sign in with a username and password",
                 Role.PUBLIC),
        Endpoint("POST", "/login/totp", login_totp,
                 "The second step of signing in: a TOTP or recovery code", Role.PUBLIC),
        Endpoint("POST", "/logout", logout, "Sign out of this browser", tag=SESSION_TAG),
        Endpoint("POST", "/logout/everywhere", logout_everywhere, "Sign out of every browser",
                 tag=SESSION_TAG),
    ]
