"""A plugin for Jarvis's tests: a check the test sets, read-only tools whose output the
test controls (a secret, an injection), and safe and destructive actions exposed as tools."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Manifest,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)

SECRET = "s3cr3t-ops-token-4242"
NAME_PARAMS = {"type": "object", "additionalProperties": False, "required": ["name"],
               "properties": {"name": {"type": "string"}}}


class Ops:
    manifest = Manifest(api_version="1.1", description="jarvis test plugin")

    def __init__(self) -> None:
        self.status = Status.OK
        self.summary = "web answers"
        self.logs = "GET / 200\nGET /health 200"
        self.deleted: list[str] = []
        self.restarted: list[str] = []
        self.cleared = 0
        self.tool_delay = 0.0

    @hookimpl
    def nebula_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"api_token": {"type": "string"}}}

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def _check(self) -> CheckResult:
        return CheckResult(self.status, self.summary)

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("web", self._check, title="Web", interval=3600, timeout=2)]

    async def _restart(self, params: Mapping[str, Any]) -> Any:
        self.restarted.append(params["name"])
        return f"restarted {params['name']}"

    async def _delete(self, params: Mapping[str, Any]) -> Any:
        self.deleted.append(params["name"])
        return f"deleted volume {params['name']}"

    async def _clear(self, params: Mapping[str, Any]) -> Any:
        self.cleared += 1
        return "cache cleared"

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [Action("restart", self._restart, params=NAME_PARAMS, destructive=True),
                Action("delete_volume", self._delete, params=NAME_PARAMS, destructive=True),
                Action("clear_cache", self._clear)]

    async def _status(self, params: Mapping[str, Any]) -> Any:
        await asyncio.sleep(self.tool_delay)
        return {"service": "web", "state": self.summary,
                "config": {"url": f"https://u:{SECRET}@web.local"}}

    async def _logs(self, params: Mapping[str, Any]) -> Any:
        return self.logs

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [
            Tool("service_status", "State of the web service.", run=self._status),
            Tool("logs", "Recent log lines of the web service.", run=self._logs),
            Tool("restart", "Restart a service.", action="ops.restart"),
            Tool("delete_volume", "Delete a volume and its data.", action="ops.delete_volume"),
            Tool("clear_cache", "Clear the web cache.", action="ops.clear_cache"),
        ]
