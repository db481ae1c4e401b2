"""Web panel users over HTTP (what `nebula user ...` calls), at /api/v1/users, and the
failed-login log at /api/v1/failed-logins.

Setting a password or turning a second factor on or off from a web panel session needs
the caller's own current password (`current_password`), checked like a sign-in (lockout,
failures counted): a browser left signed in must not be enough to take an account over.
API tokens (`nebula token`, and the per-run token the local CLI reads, which only the
host's admin can) are exempt: a token is an admin credential of its own, with no person's
password behind it, and could reset any password anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.builtins.auth.login import Recheck, password_again
from nebula.builtins.auth.sessions import session_of
from nebula.builtins.auth.users import UserError, UserNotFound
from nebula.http.endpoints import json_body, ok, query_number
from nebula.http.problems import Problem
from nebula.roles import ACCOUNT_ROLES, Role
from nebula.surfaces import Endpoint

if TYPE_CHECKING:
    from nebula.builtins.auth.runtime import Auth

NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[A-Za-z0-9_.@-]+$"}
PASSWORD = {"type": "string", "minLength": 1, "maxLength": 1000, "writeOnly": True}
CREATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "password"],
    "properties": {"name": NAME, "password": PASSWORD,
                   "role": {"enum": [str(r) for r in ACCOUNT_ROLES]}},
}
# Needed when the caller is a web panel session (see the module's docstring).
CURRENT = {"current_password": {**PASSWORD, "description": "Your own password; needed from "
                                "a web panel session, not with an API token"}}
PASSWORD_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["password"],
                   "properties": {"password": PASSWORD, **CURRENT}}
TOTP_SCHEMA = {"type": "object", "additionalProperties": False, "properties": CURRENT}
TAG = "users"


async def _guarded(request: web.Request, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except UserNotFound:
        raise Problem(404, f"no user named {request.match_info.get('name')!r}") from None
    except UserError as exc:
        raise Problem(422, str(exc)) from None


async def _password_again(auth: Auth, request: web.Request, body: dict[str, Any]) -> None:
    session = session_of(request)
    if session is None:
        return  # an API token: see the module's docstring
    if "current_password" not in body:
        raise Problem(422, "from a web panel session this needs your current password "
                           "(current_password)")
    refused = await password_again(auth, request, session.user, body["current_password"],
                                   "changing credentials")
    if refused is Recheck.LOCKED:
        raise Problem(429, "too many failed attempts; try again later")
    if refused is Recheck.WRONG:
        raise Problem(403, "wrong current password")


def endpoints(auth: Auth) -> list[Endpoint]:
    users = auth.users

    async def list_users(_request: web.Request) -> web.Response:
        return ok({"users": await users.list()})

    async def add_user(request: web.Request) -> web.Response:
        body = await json_body(request, CREATE_SCHEMA)
        user = await _guarded(request, lambda: users.add(
            body["name"], body["password"], body.get("role", Role.ADMIN)))
        await auth.users_changed()
        return ok({"id": user.id, "name": user.name, "role": user.role}, 201)

    async def set_password(request: web.Request) -> web.Response:
        body = await json_body(request, PASSWORD_SCHEMA)
        await _password_again(auth, request, body)
        name = request.match_info["name"]
        await _guarded(request, lambda: users.set_password(name, body["password"]))
        return ok({"name": name, "sessions": "ended"})

    async def remove_user(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await _guarded(request, lambda: users.remove(name))
        await auth.users_changed()
        return ok({"removed": name})

    async def enable_totp(request: web.Request) -> web.Response:
        await _password_again(auth, request, await json_body(request, TOTP_SCHEMA))
        name = request.match_info["name"]
        return ok(await _guarded(request, lambda: users.enable_totp(name)), 201)

    async def disable_totp(request: web.Request) -> web.Response:
        await _password_again(auth, request, await json_body(request, TOTP_SCHEMA))
        name = request.match_info["name"]
        await _guarded(request, lambda: users.disable_totp(name))
        return ok({"name": name, "totp": False})

    async def failed_logins(request: web.Request) -> web.Response:
        limit = int(query_number(request, "limit", 100, minimum=1, maximum=1000))
        return ok({"failed_logins": await auth.guard.recent(limit)})

    admin = Role.ADMIN
    return [
        Endpoint("GET", "/users", list_users, "Web panel users", admin, tag=TAG),
        Endpoint("POST", "/users", add_user,
                 "Add a web panel user (password hashed with argon2)", admin,
                 body=CREATE_SCHEMA, tag=TAG),
        Endpoint("PUT", "/users/{name}/password", set_password,
                 "Set a user's password; ends every session of theirs", admin,
                 body=PASSWORD_SCHEMA, tag=TAG),
        Endpoint("DELETE", "/users/{name}", remove_user,
                 "Remove a user and end their sessions", admin, tag=TAG),
        Endpoint("POST", "/users/{name}/totp", enable_totp,
                 "Turn on a TOTP second factor: the secret and recovery codes are in this "
                 "answer only", admin, body=TOTP_SCHEMA, tag=TAG),
        Endpoint("DELETE", "/users/{name}/totp", disable_totp,
                 "Turn off a user's second factor", admin, body=TOTP_SCHEMA, tag=TAG),
        Endpoint("GET", "/failed-logins", failed_logins,
                 "Failed web panel logins, newest first", admin, query={"limit": "1-1000"},
                 tag=TAG),
    ]
