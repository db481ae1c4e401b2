"""The API's route table, with what OpenAPI needs to know about each route.

Handlers register here with a summary, the role they need and the shape of their input; the
app mounts them, the auth layer enforces the role, and `openapi.py` documents them, so the
three cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from aiohttp import web

from nebula.http.decoding import parse_json
from nebula.http.problems import Problem
from nebula.roles import Role
from nebula.surfaces import ADMIN, PUBLIC, VIEWER, Endpoint, Handler

__all__ = ["ADMIN", "ENDPOINTS", "PUBLIC", "VIEWER", "Endpoint", "Handler", "dumps",
           "endpoint", "json_body", "ok", "query_number"]

ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str, path: str, summary: str, *, role: Role = VIEWER,
    body: Mapping[str, Any] | None = None, query: Mapping[str, str] | None = None,
    tag: str = "agent", response: Mapping[str, Any] | None = None,
    statuses: tuple[int, ...] = (200,), problems: tuple[int, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a core route; the keywords are `Endpoint`'s (nebula.surfaces)."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method, path, handler, summary, role, body, query or {}, tag,
                                  response, statuses, problems))
        return handler

    return register


async def json_body(request: web.Request, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The request's JSON body, validated; a 400 for bad JSON, a 422 listing every problem."""
    data: Any = parse_json(await request.read() or b"{}") if request.body_exists else {}
    errors = [
        {"path": "/".join(map(str, e.absolute_path)) or "(body)", "message": e.message}
        for e in jsonschema.Draft202012Validator(dict(schema)).iter_errors(data)
    ]
    if errors:
        raise Problem(422, "request body is invalid", errors=errors)
    return data


def query_number(request: web.Request, name: str, default: float, *,
                 minimum: float = 0, maximum: float | None = None) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise Problem(400, f"query parameter {name!r} must be a number") from None
    if not math.isfinite(value):  # nan passes every comparison below
        raise Problem(400, f"query parameter {name!r} must be a finite number")
    if value < minimum or (maximum is not None and value > maximum):
        raise Problem(400, f"query parameter {name!r} must be between {minimum:g} and "
                           f"{maximum if maximum is not None else 'any'}")
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def ok(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json")
