"""Your account (`/security`): your sessions, your second factor, and for admins the
failed-login log.

Enrolling in TOTP takes two steps so a typo in the authenticator cannot lock anyone out:
the new secret is shown (a QR code, a link, a key to type) and held in
memory for this session only; it is saved (encrypted, with fresh recovery codes shown
once) when a code made from it is entered, and that code cannot then sign in. Turning TOTP
on or off asks for the password again (`login.password_again`): someone at a browser left
signed in cannot put their own authenticator on the account, or take the owner's off.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.builtins.auth.login import Recheck, password_again
from nebula.builtins.auth.sessions import Session, session_of
from nebula.http.keys import principal_of
from nebula.http.problems import Problem
from nebula.surfaces import SESSION_TAG, Endpoint, WebPage
from nebula.web.html import badge, e, table, when
from nebula.web.pages import frame

if TYPE_CHECKING:
    from nebula.builtins.auth.runtime import Auth

ENROL_TTL = 600.0
SECURITY = "/security"


def _session(request: web.Request) -> Session:
    session = session_of(request)
    if session is None:
        raise Problem(400, "this needs a web panel session, not an API token")
    return session


def _csrf(session: Session) -> str:
    return f'<input type="hidden" name="csrf" value="{e(session.csrf)}">'


def _alert(message: str) -> str:
    return f'<p class="error" role="alert">{e(message)}</p>' if message else ""


def _password_field() -> str:
    return ('<label for="tfa-password">Current password</label>'
            '<input id="tfa-password" name="password" type="password" '
            'autocomplete="current-password" required>')


async def _two_factor(auth: Auth, session: Session, message: str = "") -> str:
    user = await auth.users.get(session.user)
    if user.totp:
        return (
            '<section class="glass card" aria-labelledby="tfa-h"><h2 id="tfa-h">'
            "Two-factor authentication</h2>"
            f'<p>{_on_badge()} Signing in asks for a code from your authenticator app.</p>'
            f'{_alert(message)}<form method="post" action="/security/totp/disable">'
            f'{_csrf(session)}{_password_field()}'
            '<button class="btn danger" type="submit">Turn off two-factor authentication'
            "</button></form></section>")
    return (
        '<section class="glass card" aria-labelledby="tfa-h"><h2 id="tfa-h">'
        "Two-factor authentication</h2><p>Off. With it on, signing in also asks for a code "
        "from an authenticator app (or a single-use recovery code).</p>"
        f'{_alert(message)}<form method="post" action="/security/totp">{_csrf(session)}'
        f'{_password_field()}<button class="btn primary" type="submit">'
        "Set up two-factor authentication</button></form></section>")


def _on_badge() -> str:
    return badge("ok", "on")


async def _security(auth: Auth, request: web.Request, message: str = "") -> str:
    session = session_of(request)
    parts = ["<h1>Security</h1>"]
    if session is not None:
        sessions = await auth.sessions.of_user(session.user_id)
        parts.append(await _two_factor(auth, session, message))
        parts.append(
            "<h2>Your sessions</h2>"
            + table(("Since", "Expires", "Address", "Browser"),
                    ((when(s["created"]), when(s["expires"]), e(s["ip"]), e(s["user_agent"]))
                     for s in sessions), "sessions")
            + f'<form method="post" action="/logout/everywhere">{_csrf(session)}'
              '<button class="btn danger" type="submit">Log out everywhere</button></form>')
    if principal_of(request).is_admin:
        failed = await auth.guard.recent(100)
        parts.append("<h2>Failed logins</h2>" + table(
            ("When", "Address", "User", "Reason"),
            ((when(r["ts"]), e(r["ip"]), e(r["username"]), e(r["reason"])) for r in failed),
            "failed logins", "No failed logins."))
    return "".join(parts)


async def security_page(auth: Auth, request: web.Request, message: str = "",
                        status: int = 200) -> web.Response:
    """The page again, after a form on it, with what became of it."""
    response = await frame(request, "Security", await _security(auth, request, message),
                           current=SECURITY)
    response.set_status(status)
    return response


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


async def _setup_page(auth: Auth, request: web.Request, session: Session, secret: str,
                      message: str = "", status: int = 200) -> web.Response:
    from nebula.builtins.auth import qr  # segno: only when someone sets up TOTP

    uri = auth.users.totp_uri(session.user, secret)
    body = (
        "<h1>Set up two-factor authentication</h1>"
        '<section class="glass card" aria-labelledby="step1"><h2 id="step1">1. Add this '
        "account to your authenticator app</h2>"
        f'<div class="qr-box">{qr.svg(uri, "QR code of the setup link")}</div>'
        "<p>Scan the code with your authenticator app. On this phone, "
        f'<a href="{e(uri)}">open the link in your authenticator app</a> instead; or '
        "enter this key by hand (time-based, 6 digits, 30 seconds):</p>"
        f'<p class="secret"><code data-totp-secret="{e(secret)}">{e(_grouped(secret))}'
        "</code></p>"
        f'<p class="muted">Or the whole setup link: <code class="uri">{e(uri)}</code></p>'
        "</section>"
        '<section class="glass card" aria-labelledby="step2"><h2 id="step2">2. Enter the '
        "code it shows</h2>"
        f'{_alert(message)}<form method="post" action="/security/totp/confirm">'
        f'{_csrf(session)}<label for="tfa-code">Code from your app</label>'
        '<input id="tfa-code" name="code" inputmode="numeric" autocomplete="one-time-code" '
        'required>'
        '<button class="btn primary" type="submit">Turn on</button> '
        '<a class="btn" href="/security">Cancel</a></form></section>')
    response = await frame(request, "Two-factor setup", body, current=SECURITY)
    response.set_status(status)
    return response


async def _refused(auth: Auth, request: web.Request, session: Session, doing: str
                   ) -> web.Response | None:
    """The security page with why, unless the form's password is the user's."""
    password = str((await request.post()).get("password", ""))
    refused = await password_again(auth, request, session.user, password, doing)
    if refused is Recheck.LOCKED:
        return await security_page(auth, request, "Too many failed attempts; try again "
                                                  "later.", 429)
    if refused is Recheck.WRONG:
        return await security_page(auth, request, "Wrong password.", 401)
    return None


async def totp_start(auth: Auth, request: web.Request) -> web.Response:
    session = _session(request)
    if (await auth.users.get(session.user)).totp:
        return await security_page(auth, request, "Two-factor authentication is already on.",
                                   409)
    if (refused := await _refused(auth, request, session, "setting up TOTP")) is not None:
        return refused
    secret = auth.users.new_totp(session.user)["secret"]
    enrolments, now = auth.sessions.enrolments, time.time()
    for stale in [sid for sid, (_, expires) in enrolments.items() if expires < now]:
        del enrolments[stale]
    enrolments[session.id] = (secret, now + ENROL_TTL)
    return await _setup_page(auth, request, session, secret)


async def totp_confirm(auth: Auth, request: web.Request) -> web.Response:
    session = _session(request)
    secret, expires = auth.sessions.enrolments.get(session.id, ("", 0.0))
    if not secret or expires < time.time():
        return await security_page(auth, request, "That setup expired; start again.", 410)
    code = str((await request.post()).get("code", ""))
    if (step := auth.users.totp_step(secret, code)) is None:
        return await _setup_page(auth, request, session, secret,
                                 "Wrong code: check the app's clock and try the new code.", 422)
    del auth.sessions.enrolments[session.id]
    result = await auth.users.enable_totp(session.user, secret, used_step=step)
    codes = "".join(f"<li><code>{e(c)}</code></li>" for c in result["recovery_codes"])
    body = (
        "<h1>Two-factor authentication is on</h1>"
        '<section class="glass card" aria-labelledby="rc-h"><h2 id="rc-h">Recovery codes</h2>'
        "<p>Each signs you in once if you lose your phone. Keep them somewhere safe: "
        "<strong>they are shown only now.</strong></p>"
        f'<ol class="recovery" aria-label="recovery codes">{codes}</ol>'
        '<p><a class="btn primary" href="/security">Done</a></p></section>')
    return await frame(request, "Recovery codes", body, current=SECURITY)


async def totp_disable(auth: Auth, request: web.Request) -> web.StreamResponse:
    session = _session(request)
    if (refused := await _refused(auth, request, session, "turning off TOTP")) is not None:
        return refused
    await auth.users.disable_totp(session.user)
    raise web.HTTPSeeOther(SECURITY)


def account_pages(auth: Auth) -> list[WebPage | Endpoint]:
    """/security (in the navigation) and its forms, which any signed-in role may post."""

    async def security(request: web.Request) -> str:
        return await _security(auth, request)

    async def setup_totp(request: web.Request) -> web.StreamResponse:
        return await totp_start(auth, request)

    async def confirm_totp(request: web.Request) -> web.StreamResponse:
        return await totp_confirm(auth, request)

    async def disable_totp(request: web.Request) -> web.StreamResponse:
        return await totp_disable(auth, request)

    return [
        WebPage("Security", security, path=SECURITY, nav=True),
        Endpoint("POST", "/security/totp", setup_totp,
                 "Start setting up your TOTP second factor (needs your password)",
                 tag=SESSION_TAG),
        Endpoint("POST", "/security/totp/confirm", confirm_totp,
                 "Confirm your TOTP setup with a code; shows the recovery codes once",
                 tag=SESSION_TAG),
        Endpoint("POST", "/security/totp/disable", disable_totp,
                 "Turn off your TOTP second factor (needs your password)", tag=SESSION_TAG),
    ]
