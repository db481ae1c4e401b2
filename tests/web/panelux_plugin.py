"""A plugin shaped like a process manager, for the panel's "results as data" tests: a
table panel whose rows have ids actions take (per-row buttons), a read-only listing
(result as a table, run without a confirmation), a picker fed by a read-only action, and a
destructive terminate whose prepared plan (name, command, memory) is what the approver
sees."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Field, Manifest, Panel, ParamError, hookimpl

STARTED = 1_797_000_000.0


class Procs:
    manifest = Manifest(api_version="1.0", description="processes, for the panel tests")

    def __init__(self) -> None:
        self.procs = {
            4680: {"pid": 4680, "name": "postgres", "cmdline": ["postgres", "-D", "/data"],
                   "rss": 50 * 1024**2, "cpu_percent": 12.5, "started": STARTED,
                   "ports": [5432]},
            4711: {"pid": 4711, "name": "nginx", "cmdline": ["nginx", "-g", "daemon off;"],
                   "rss": 8 * 1024**2, "cpu_percent": 0.5, "started": STARTED + 60,
                   "ports": [80, 443]},
        }
        self.terminated: list[int] = []
        self.reniced: list[int] = []

    async def _rows(self) -> list[dict[str, Any]]:
        return [dict(p) for p in self.procs.values()]

    @hookimpl
    def nebula_panels(self) -> list[Panel]:
        return [Panel("processes", "table", self._rows, title="Processes", fields=(
            Field("pid", "PID"), Field("name", "Name"), Field("cmdline", "Command"),
            Field("rss", "Memory", "bytes"), Field("cpu_percent", "CPU %", "%"),
            Field("started", "Started", "epoch s"), Field("ports", "Ports")))]

    async def _list(self, params: Mapping[str, Any]) -> Any:
        return await self._rows()

    async def _names(self, params: Mapping[str, Any]) -> Any:
        return [{"name": p["name"], "pid": p["pid"]} for p in self.procs.values()]

    async def _inspect(self, params: Mapping[str, Any]) -> Any:
        return self.procs[params["pid"]]

    async def _renice(self, params: Mapping[str, Any]) -> Any:
        self.reniced.append(params["pid"])
        return {"pid": params["pid"], "nice": 10}

    async def _prepare(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        proc = self.procs.get(params["pid"])
        if proc is None:
            raise ParamError("pid", f"no process {params['pid']}")
        return {k: proc[k] for k in ("pid", "name", "cmdline", "rss")}

    async def _terminate(self, plan: Mapping[str, Any]) -> Any:
        self.terminated.append(plan["pid"])
        self.procs.pop(plan["pid"], None)
        return {"terminated": plan["pid"], "signal": "SIGTERM", "at": time.time()}

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        pid_from_rows = {"type": "integer",
                         "x-choices": {"panel": "processes", "value": "pid", "label": "name"}}
        return [
            Action("list", self._list, title="List processes", read_only=True),
            Action("names", self._names, title="Process names", read_only=True),
            Action("inspect", self._inspect, title="Inspect", read_only=True, params={
                "type": "object", "required": ["pid"], "properties": {"pid": {
                    "type": "integer", "title": "Process",
                    "x-choices": {"action": "names", "value": "pid", "label": "name"}}}}),
            Action("renice", self._renice, title="Renice", params={
                "type": "object", "required": ["pid"], "properties": {"pid": pid_from_rows}}),
            Action("terminate", self._terminate, title="Terminate", destructive=True,
                   prepare=self._prepare, params={
                       "type": "object", "required": ["pid"],
                       "properties": {"pid": pid_from_rows}}),
        ]
