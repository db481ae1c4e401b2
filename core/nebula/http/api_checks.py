"""Checks: current state (served from a cache between changes), history, and runs now."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.http.endpoints import ADMIN, dumps, endpoint, json_body, ok, query_number
from nebula.http.keys import RESPONSE_CACHE, agent_of
from nebula.http.problems import Problem
from nebula.http.schemas import CHECK, CHECK_HISTORY, CHECK_LIST, CHECK_RUN

if TYPE_CHECKING:
    from nebula.health import CheckState


@endpoint("GET", "/api/v1/checks", "Every check with its current state", tag="checks",
          response=CHECK_LIST)
async def list_checks(request: web.Request) -> web.Response:
    health = agent_of(request).health
    # One serialisation per change, however many clients poll in between.
    cache = request.app[RESPONSE_CACHE]
    cached = cache.get("checks")
    if cached is None or cached[0] != health.version:
        body = dumps({"summary": health.summary(),
                      "checks": [cs.public() for cs in health.checks.values()]}).encode()
        cached = cache["checks"] = (health.version, body)
    return web.Response(body=cached[1], content_type="application/json")


def _state(request: web.Request) -> CheckState:
    name = request.match_info["name"]
    try:
        return agent_of(request).health.checks[name]
    except KeyError:
        raise Problem(404, f"no check named {name!r}") from None


@endpoint("GET", "/api/v1/checks/{name}", "One check's current state", tag="checks",
          response=CHECK)
async def get_check(request: web.Request) -> web.Response:
    return ok(_state(request).public())


@endpoint("GET", "/api/v1/checks/{name}/history", "A check's recent results, newest first",
          query={"since": "epoch seconds", "limit": "at most this many (1-5000)"}, tag="checks",
          response=CHECK_HISTORY)
async def check_history(request: web.Request) -> web.Response:
    cs = _state(request)
    since = query_number(request, "since", 0)
    limit = int(query_number(request, "limit", 500, minimum=1, maximum=5000))
    return ok({"check": cs.check.name,
               "results": await agent_of(request).health.history(cs.check.name, since, limit)})


RUN_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"names": {"type": "array", "items": {"type": "string"}}},
}


@endpoint("POST", "/api/v1/checks/run", "Run checks now (all, or those named)", role=ADMIN,
          body=RUN_SCHEMA, tag="checks", response=CHECK_RUN)
async def run_checks(request: web.Request) -> web.Response:
    body = await json_body(request, RUN_SCHEMA)
    health = agent_of(request).health
    names = body.get("names") or list(health.checks)
    if unknown := [n for n in names if n not in health.checks]:
        raise Problem(404, f"no check named {', '.join(map(repr, unknown))}",
                      known=sorted(health.checks))
    states = await asyncio.gather(*(health.run(name) for name in names))
    return ok({"checks": [cs.public() for cs in states]})
