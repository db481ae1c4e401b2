"""Web panel users (what `nebula user ...` calls) and the failed-login log.

Setting a password or turning a second factor on or off from a web panel session needs
the caller's own current password (`current_password`), checked like a sign-in (lockout,
failures counted): a browser left signed in must not be enough to take an account over.
API tokens (`nebula token`, and the per-run token the local CLI reads, which only the
host's admin can) are exempt: a token is an admin credential of its own, with no person's
password behind it, and could reset any password anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from nebula.http.endpoints import ADMIN, endpoint, json_body, ok, query_number
from nebula.http.keys import agent_of
from nebula.http.problems import Problem
from nebula.http.security import GUARD, SESSION, USERS
from nebula.users import ROLES, UserError, UserNotFound
from nebula.web.login import Recheck, password_again

NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[A-Za-z0-9_.@-]+$"}
PASSWORD = {"type": "string", "minLength": 1, "maxLength": 1000, "writeOnly": True}
CREATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "password"],
    "properties": {"name": NAME, "password": PASSWORD, "role": {"enum": list(ROLES)}},
}
# Needed when the caller is a web panel session (see the module's docstring).
CURRENT = {"current_password": {**PASSWORD, "description": "Your own password; needed from "
                                "a web panel session, not with an API token"}}
PASSWORD_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["password"],
                   "properties": {"password": PASSWORD, **CURRENT}}
TOTP_SCHEMA = {"type": "object", "additionalProperties": False, "properties": CURRENT}


async def _guarded(request: web.Request, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except UserNotFound:
        raise Problem(404, f"no user named {request.match_info.get('name')!r}") from None
    except UserError as exc:
        raise Problem(422, str(exc)) from None


async def _password_again(request: web.Request, body: dict[str, Any]) -> None:
    session = request.get(SESSION)
    if session is None:
        return  # an API token: see the module's docstring
    if "current_password" not in body:
        raise Problem(422, "from a web panel session this needs your current password "
                           "(current_password)")
    refused = await password_again(request, session.user, body["current_password"],
                                   "changing credentials")
    if refused is Recheck.LOCKED:
        raise Problem(429, "too many failed attempts; try again later")
    if refused is Recheck.WRONG:
        raise Problem(403, "wrong current password")


async def _users_changed(request: web.Request) -> None:
    await agent_of(request).watch_failed_logins(request.app[GUARD])


@endpoint("GET", "/api/v1/users", "Web panel users", role=ADMIN, tag="users")
async def list_users(request: web.Request) -> web.Response:
    return ok({"users": await request.app[USERS].list()})


@endpoint("POST", "/api/v1/users", "Add a web panel user (password hashed with argon2)",
          role=ADMIN, body=CREATE_SCHEMA, tag="users")
async def add_user(request: web.Request) -> web.Response:
    body = await json_body(request, CREATE_SCHEMA)
    user = await _guarded(request, lambda: request.app[USERS].add(
        body["name"], body["password"], body.get("role", "admin")))
    await _users_changed(request)
    return ok({"id": user.id, "name": user.name, "role": user.role}, 201)


@endpoint("PUT", "/api/v1/users/{name}/password",
          "Set a user's password; ends every session of theirs", role=ADMIN,
          body=PASSWORD_SCHEMA, tag="users")
async def set_password(request: web.Request) -> web.Response:
    body = await json_body(request, PASSWORD_SCHEMA)
    await _password_again(request, body)
    name = request.match_info["name"]
    await _guarded(request, lambda: request.app[USERS].set_password(name, body["password"]))
    return ok({"name": name, "sessions": "ended"})


@endpoint("DELETE", "/api/v1/users/{name}", "Remove a user and end their sessions",
          role=ADMIN, tag="users")
async def remove_user(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    await _guarded(request, lambda: request.app[USERS].remove(name))
    await _users_changed(request)
    return ok({"removed": name})


@endpoint("POST", "/api/v1/users/{name}/totp",
          "Turn on a TOTP second factor: the secret and recovery codes are in this answer "
          "only", role=ADMIN, body=TOTP_SCHEMA, tag="users")
async def enable_totp(request: web.Request) -> web.Response:
    await _password_again(request, await json_body(request, TOTP_SCHEMA))
    name = request.match_info["name"]
    return ok(await _guarded(request, lambda: request.app[USERS].enable_totp(name)), 201)


@endpoint("DELETE", "/api/v1/users/{name}/totp", "Turn off a user's second factor",
          role=ADMIN, body=TOTP_SCHEMA, tag="users")
async def disable_totp(request: web.Request) -> web.Response:
    await _password_again(request, await json_body(request, TOTP_SCHEMA))
    name = request.match_info["name"]
    await _guarded(request, lambda: request.app[USERS].disable_totp(name))
    return ok({"name": name, "totp": False})


@endpoint("GET", "/api/v1/failed-logins", "Failed web panel logins, newest first",
          role=ADMIN, query={"limit": "1-1000"}, tag="users")
async def failed_logins(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 100, minimum=1, maximum=1000))
    return ok({"failed_logins": await request.app[GUARD].recent(limit)})
