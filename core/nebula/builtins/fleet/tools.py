"""Jarvis across the fleet: tools that take an optional `host` and answers that name the
host they came from. Reading goes through the tools below; anything that could change a
host goes through the action `fleet.run_on_host`, so the hub's action runner audits the
request and the target's own gate decides (a destructive action becomes a pending
approval there)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula.builtins.fleet.grants import HostRole
from nebula.builtins.fleet.hub import NoRight, ReadOnlyHost, UnknownHost
from nebula.builtins.fleet.poller import AgentError, HostPoller
from nebula.contributions import Action, ParamError, Tool
from nebula.roles import CALLER

if TYPE_CHECKING:
    from nebula.builtins.fleet.hub import Hub

HOST = {"type": "string", "description": "a fleet host's name (see fleet.hosts); "
                                        "omitted: every host"}
CHECKS_PARAMS = {"type": "object", "additionalProperties": False, "properties": {
    "host": HOST,
    "status": {"enum": ["ok", "warning", "critical", "unknown"]}}}
HOST_TOOL_PARAMS = {"type": "object", "additionalProperties": False, "required": ["tool"],
                    "properties": {
                        "tool": {"type": "string", "description": "the tool's name there, "
                                 "e.g. system.top_processes"},
                        "host": {"type": "string",
                                 "description": "the host; omitted: this hub itself"},
                        "args": {"type": "object"}}}
RUN_PARAMS = {"type": "object", "additionalProperties": False, "required": ["host", "action"],
              "properties": {"host": {"type": "string"},
                             "action": {"type": "string", "pattern": r"^[a-z0-9_]+\.[a-z0-9_]+$"},
                             "params": {"type": "object"}}}


def tools(hub: Hub, local: Any) -> list[Tool]:
    """`local` is the hub's own tool runner (for `fleet.host_tool` without a host)."""

    # Each answers with the hosts the caller (the action and tool runners set CALLER)
    # may see: nebula.builtins.fleet.grants.
    async def hosts(_params: Mapping[str, Any]) -> Any:
        return hub.overview(CALLER.get())

    def _unseen(host: str) -> dict[str, Any]:
        return {"error": f"no fleet host named {host!r} that you may see",
                "hosts": [h["name"] for h in hub.overview(CALLER.get())["hosts"]]}

    async def checks(params: Mapping[str, Any]) -> Any:
        host = params.get("host")
        if host is not None and not hub.grants.allows(CALLER.get(), host, HostRole.VIEWER):
            return _unseen(host)
        rows = [c for c in hub.checks(params.get("status"), CALLER.get())
                if host in (None, c["host"])]
        return {"host": host or "every host", "checks": rows}

    async def host_tool(params: Mapping[str, Any]) -> Any:
        name, host = params["tool"], params.get("host")
        args = dict(params.get("args") or {})
        if host is None:
            tool = local.resolve(name)
            if tool.action is not None or tool.name.startswith("fleet."):
                return {"host": "hub", "error": f"{name} is not a read-only tool"}
            return {"host": "hub", "tool": name, **await local.run(tool, args, "fleet.host_tool")}
        if host not in hub.pollers or not hub.grants.allows(CALLER.get(), host,
                                                            HostRole.VIEWER):
            return _unseen(host)
        poller = hub.poller(host)
        if not isinstance(poller, HostPoller):
            return {"host": host, "error": "an agentless host has no tools; its checks are "
                                            "in fleet.checks"}
        listing = (await poller.get("/api/v1/tools"))["tools"]
        found = next((t for t in listing if t["name"] == name), None)
        if found is None or not found.get("read_only"):
            return {"host": host, "error": f"{host} has no read-only tool {name!r}",
                    "tools": sorted(t["name"] for t in listing if t.get("read_only"))}
        status, answer = await poller.request(
            "POST", f"/api/v1/tools/{urllib.parse.quote(name, safe='')}/run", args)
        if status >= 400:
            raise AgentError(status, answer)
        return {"host": host, "tool": name, **answer}

    return [
        Tool("hosts", "Every fleet host: state (up, down), checks by status, pending "
             "approvals, last seen, version", run=hosts),
        Tool("checks", "Checks across the fleet, or on one host; each row names its host",
             params=CHECKS_PARAMS, run=checks),
        Tool("host_tool", "Run a read-only Jarvis tool on one fleet host (or on this hub "
             "when host is omitted); the answer names the host", params=HOST_TOOL_PARAMS,
             run=host_tool),
        Tool("run_on_host", "Run an action on a fleet host; that host's approval gate "
             "decides (a destructive one waits for an admin's approval there)",
             action="fleet.run_on_host"),
    ]


def actions(hub: Hub) -> list[Action]:
    async def prepare(params: Mapping[str, Any]) -> Mapping[str, Any]:
        if params["host"] not in hub.pollers:
            raise ParamError("host", f"no fleet host named {params['host']!r}")
        try:
            hub.require(CALLER.get(), params["host"], HostRole.OPERATOR)
        except NoRight as exc:
            raise ParamError("host", str(exc)) from None
        return params

    async def run_on_host(params: Mapping[str, Any]) -> Any:
        host, action = params["host"], params["action"]
        try:
            status, answer = await hub.forward(
                host, CALLER.get() or "action:fleet.run_on_host", f"fleet:{action}",
                f"/api/v1/actions/{urllib.parse.quote(action, safe='')}/run",
                {"params": dict(params.get("params") or {})},
                {"host": host, "params": dict(params.get("params") or {})},
                HostRole.OPERATOR)
        except (UnknownHost, ReadOnlyHost, NoRight) as exc:
            raise ParamError("host", str(exc)) from None
        if status >= 400 and status != 502:
            raise AgentError(status, answer)
        return {"host": host, **answer} if isinstance(answer, dict) else answer

    return [Action("run_on_host", run_on_host, title="Run an action on a fleet host",
                   description="The target's own approval gate decides; both sides audit",
                   params=RUN_PARAMS, prepare=prepare)]
