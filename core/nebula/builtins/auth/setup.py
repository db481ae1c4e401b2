"""`/setup`: the first admin, created in the browser with the setup code the agent logged.

Open to anyone only while no user exists; afterwards both the page and its form send the
browser to `/login`. The form is guarded as the sign-in form is (the same double-submit
token; the Host allow-list and the security headers apply to every route), and also
refuses a post whose `Origin` is another site. Wrong codes are failed sign-ins, counted
under one name (`SETUP_NAME`), so too many lock `/setup` for the sign-in window. A right
code is used up before anything is awaited, the user is made an admin, signed in, and the
code and its job are gone (`Auth.users_changed`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.builtins.auth.api import NAME
from nebula.builtins.auth.login import double_submit_page, form_fields, sign_in
from nebula.builtins.auth.runtime import LOGIN_PATH, SETUP_PATH, log
from nebula.builtins.auth.setup_code import SETUP_NAME
from nebula.builtins.auth.users import MIN_PASSWORD, UserError
from nebula.http.problems import Problem
from nebula.http.security import PROXIES, same_origin
from nebula.roles import Role
from nebula.surfaces import Endpoint
from nebula.web.html import e

if TYPE_CHECKING:
    from nebula.builtins.auth.runtime import Auth

# The API's rule for a user name (nebula.builtins.auth.api.NAME).
_NAME = re.compile(str(NAME["pattern"]))
_NAME_MAX = int(str(NAME["maxLength"]))
NO_CODE = ("There is no setup code now. Restart the agent (<code>nebula run</code>) and "
           "copy the new one from its log, or run <code>nebula user add NAME</code> on the "
           "agent's host.")


def _form(csrf: str, message: str, name: str) -> str:
    alert = f'<p class="error" role="alert">{e(message)}</p>' if message else ""
    return (
        f'<h1><span aria-hidden="true">✦</span> Nebula Command</h1>'
        "<h2>Create the first admin</h2>"
        "<p>Nobody can sign in yet. Enter the setup code from the agent's log (the "
        "<code>auth.setup_code</code> line <code>nebula run</code> printed) and choose "
        "your user name and password.</p>"
        f'{alert}<form method="post" action="{SETUP_PATH}">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        '<label for="code">Setup code</label>'
        '<input id="code" name="code" autocomplete="off" spellcheck="false" required '
        'autofocus>'
        '<label for="username">User name</label>'
        f'<input id="username" name="username" autocomplete="username" value="{e(name)}" '
        f'maxlength="{_NAME_MAX}" required>'
        f'<label for="password">Password ({MIN_PASSWORD}+ characters)</label>'
        '<input id="password" name="password" type="password" autocomplete="new-password" '
        'required>'
        '<label for="confirm">Password again</label>'
        '<input id="confirm" name="confirm" type="password" autocomplete="new-password" '
        'required>'
        '<button class="btn primary" type="submit">Create admin and sign in</button>'
        "</form>")


def _page(auth: Auth, request: web.Request, message: str = "", status: int = 200,
          name: str = "") -> web.Response:
    if not auth.setup.active:
        body = (f'<h1><span aria-hidden="true">✦</span> Nebula Command</h1>'
                f"<h2>Create the first admin</h2><p>{NO_CODE}</p>")
        return double_submit_page(request, "Set up", lambda _: body, status)
    return double_submit_page(request, "Set up",
                              lambda csrf: _form(csrf, message, name), status)


def _problem_with(name: str, password: str, confirm: str) -> str:
    """What is wrong with the chosen name and password, or ""."""
    if not (0 < len(name) <= _NAME_MAX and _NAME.fullmatch(name)):
        return "A user name is letters, digits and . _ @ - (up to 100)."
    if len(password) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters."
    if password != confirm:
        return "The two passwords differ."
    return ""


async def _create(auth: Auth, request: web.Request) -> web.StreamResponse:
    if "Origin" in request.headers and not same_origin(request):
        raise Problem(403, "cross-origin request refused")
    fields = await form_fields(request)
    if await auth.users.exist():
        raise web.HTTPSeeOther(LOGIN_PATH)
    if not auth.setup.active:
        return _page(auth, request, status=410)
    ip = request.app[PROXIES].client_ip(request)
    name = fields.get("username", "").strip()
    if (until := await auth.guard.locked_until(ip, SETUP_NAME)) is not None:
        await auth.guard.record(ip, SETUP_NAME, auth.guard.LOCKED)
        return _page(auth, request, "Too many wrong setup codes. Try again in "
                     f"{max(1, round((until - auth.guard.clock()) / 60))} minutes.", 429,
                     name)
    problem = _problem_with(name, fields.get("password", ""), fields.get("confirm", ""))
    # Only a right code tells the caller what else is wrong (and is then kept).
    if not auth.setup.matches(fields.get("code", "")):
        await auth.record_failure(ip, SETUP_NAME, "wrong setup code")
        return _page(auth, request, "Wrong setup code.", 401, name)
    if problem:
        return _page(auth, request, problem, 422, name)
    auth.setup.forget()  # before any await: one code, one admin
    try:
        user = await auth.users.add(name, fields["password"], Role.ADMIN)
    except UserError as exc:  # a user made meanwhile (`nebula user add`)
        raise web.HTTPSeeOther(LOGIN_PATH) from exc
    await auth.users_changed()
    log.info("auth.first_admin", user=user.name, ip=ip)
    return await sign_in(auth, request, user, "/")


def setup_routes(auth: Auth) -> list[Endpoint]:
    """The page and its form: open to anyone, and of use only while nobody can sign in."""

    async def setup_form(request: web.Request) -> web.StreamResponse:
        if await auth.users.exist():
            raise web.HTTPSeeOther(LOGIN_PATH)
        return _page(auth, request)

    async def setup(request: web.Request) -> web.StreamResponse:
        return await _create(auth, request)

    return [
        Endpoint("GET", SETUP_PATH, setup_form,
                 "Create the first admin with the setup code (while no user exists)",
                 Role.PUBLIC),
        Endpoint("POST", SETUP_PATH, setup,
                 "Create the first admin with the setup code and sign in", Role.PUBLIC),
    ]
