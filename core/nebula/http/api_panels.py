"""Panels (declared data for the dashboard) and Jarvis tools, as plugins contributed them."""

from __future__ import annotations

import asyncio

from aiohttp import web

from nebula.http.endpoints import endpoint, ok
from nebula.http.keys import agent_of
from nebula.http.problems import Problem
from nebula.http.schemas import OBJECT
from nebula.secrets import SECRETS
from nebula.views import PANEL_TIMEOUT
from nebula.views import describe_panel as describe


@endpoint("GET", "/api/v1/panels", "Every panel's declaration (fields with units)",
          query={"plugin": "only this plugin's panels"}, tag="panels",
          response=OBJECT)
async def list_panels(request: web.Request) -> web.Response:
    plugin = request.query.get("plugin")
    panels = [describe(p) for p in agent_of(request).panels.values()
              if plugin in (None, p.name.split(".")[0])]
    return ok({"panels": panels})


@endpoint("GET", "/api/v1/panels/{name}", "One panel's declaration and current data",
          tag="panels", response=OBJECT, problems=(502, 504))
async def get_panel(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    panel = agent_of(request).panels.get(name)
    if panel is None:
        raise Problem(404, f"no panel named {name!r}")
    try:
        data = await asyncio.wait_for(panel.data(), PANEL_TIMEOUT)
    except asyncio.TimeoutError:
        raise Problem(504, f"panel {name} did not answer within {PANEL_TIMEOUT:g}s") from None
    except Exception as exc:
        raise Problem(502, SECRETS.redact(
            f"panel {name} failed: {type(exc).__name__}: {exc}")) from None
    return ok({**describe(panel), "data": SECRETS.redact(data)})


@endpoint("GET", "/api/v1/tools", "Jarvis tools with their parameter schemas", tag="panels",
          response=OBJECT)
async def list_tools(request: web.Request) -> web.Response:
    tools = agent_of(request).tools.values()
    return ok({"tools": [
        {"name": t.name, "description": t.description, "params": t.params,
         "action": t.action, "read_only": t.action is None}
        for t in sorted(tools, key=lambda t: t.name)
    ]})
