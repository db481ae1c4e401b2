"""Running one tool by hand: the same runner (validation, approvals, audit) Jarvis's model
goes through, but no model needed."""

from __future__ import annotations

from aiohttp import web

from nebula.http.endpoints import ADMIN, endpoint, json_body, ok
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem
from nebula.http.schemas import OBJECT
from nebula.tools import ToolNotFound


@endpoint("POST", "/api/v1/tools/{name}/run",
          "Run a tool with the body as its arguments; an action-backed destructive one "
          "answers 202 with a pending approval", role=ADMIN, body={"type": "object"},
          tag="panels", response=OBJECT, statuses=(200, 202))
async def run_tool(request: web.Request) -> web.Response:
    params = await json_body(request, {"type": "object"})
    runner = agent_of(request).tool_runner
    try:
        tool = runner.resolve(request.match_info["name"])
    except ToolNotFound:
        raise Problem(404, f"no tool named {request.match_info['name']!r}") from None
    outcome = await runner.run(tool, params, principal_of(request).name)
    if outcome["status"] == "invalid":
        raise Problem(422, "invalid tool arguments",
                      errors=[{"path": e.partition(":")[0], "message": e.partition(": ")[2]}
                              for e in outcome["errors"]])
    return ok(outcome, 202 if outcome["status"] == "pending_approval" else 200)
