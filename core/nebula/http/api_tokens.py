"""API tokens: created (shown once), listed, revoked."""

from __future__ import annotations

from aiohttp import web

from nebula.http.endpoints import ADMIN, endpoint, json_body, ok
from nebula.http.keys import agent_of
from nebula.http.problems import Problem
from nebula.http.schemas import OBJECT
from nebula.roles import ACCOUNT_ROLES, Role
from nebula.tokens import TokenNotFound

CREATE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "role": {"enum": [str(r) for r in ACCOUNT_ROLES], "default": str(Role.ADMIN)},
    },
}


@endpoint("GET", "/api/v1/tokens", "API tokens (never their values)", role=ADMIN, tag="tokens",
          response=OBJECT)
async def list_tokens(request: web.Request) -> web.Response:
    return ok({"tokens": await agent_of(request).tokens.list()})


@endpoint("POST", "/api/v1/tokens", "Create a token; its value is in this answer only",
          role=ADMIN, body=CREATE_SCHEMA, tag="tokens", response=OBJECT, statuses=(201,))
async def create_token(request: web.Request) -> web.Response:
    body = await json_body(request, CREATE_SCHEMA)
    return ok(await agent_of(request).tokens.create(body["name"], body.get("role", Role.ADMIN)),
              201)


@endpoint("DELETE", "/api/v1/tokens/{id}", "Revoke a token", role=ADMIN, tag="tokens",
          response=OBJECT)
async def revoke_token(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise Problem(400, "token id must be a number")
    try:
        await agent_of(request).tokens.revoke(int(raw))
    except TokenNotFound:
        raise Problem(404, f"no active token with id {raw}") from None
    return ok({"revoked": int(raw)})
