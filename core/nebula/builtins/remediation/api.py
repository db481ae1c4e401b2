"""Self-healing policies: their state, and a hand reset of a policy's circuit breaker."""

from __future__ import annotations

from aiohttp import web

from nebula.http.endpoints import ADMIN, endpoint, ok
from nebula.http.keys import agent_of
from nebula.http.problems import Problem


@endpoint("GET", "/api/v1/remediation",
          "Every remediation policy: its definition, whether it is valid, its streak, rate "
          "window and circuit breaker", tag="remediation")
async def list_policies(request: web.Request) -> web.Response:
    return ok({"policies": agent_of(request).remediation.snapshot()})


@endpoint("POST", "/api/v1/remediation/{name}/reset",
          "Close a policy's circuit breaker (needed when its breaker_reset is 0)", role=ADMIN,
          tag="remediation")
async def reset_policy(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    remediation = agent_of(request).remediation
    try:
        return ok(await remediation.reset(name))
    except KeyError:
        raise Problem(404, f"no remediation policy named {name!r}",
                      known=sorted(remediation.policies)) from None
