"""Self-healing policies over HTTP, under /api/v1/remediation: their state, and a hand
reset of a policy's circuit breaker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from nebula.http.endpoints import ADMIN, Endpoint, ok
from nebula.http.problems import Problem

if TYPE_CHECKING:
    from nebula.builtins.remediation.engine import Remediation

TAG = "remediation"


def endpoints(remediation: Remediation) -> list[Endpoint]:
    async def list_policies(_request: web.Request) -> web.Response:
        return ok({"policies": remediation.snapshot()})

    async def reset_policy(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            return ok(await remediation.reset(name))
        except KeyError:
            raise Problem(404, f"no remediation policy named {name!r}",
                          known=sorted(remediation.policies)) from None

    return [
        Endpoint("GET", "", list_policies,
                 "Every remediation policy: its definition, whether it is valid, its streak, "
                 "rate window and circuit breaker", tag=TAG),
        Endpoint("POST", "/{name}/reset", reset_policy,
                 "Close a policy's circuit breaker (needed when its breaker_reset is 0)",
                 role=ADMIN, tag=TAG),
    ]
