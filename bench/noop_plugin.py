"""A plugin contributing many checks that do no work, so a benchmark measures the core
(scheduler, health engine, store, API) and not the checks, and one read-only tool that
answers at once (the MCP call bench). It uses only `nebula.api`, as a third-party plugin
would."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Check, CheckResult, Manifest, Status, Tool, hookimpl

RESULT = CheckResult(Status.OK, "nothing to see", {"value": 1.0})


class NoopChecks:
    manifest = Manifest(api_version="1.0", description="benchmark: checks that do nothing")

    def __init__(self, count: int, interval: float) -> None:
        self.count = count
        self.interval = interval

    async def _noop(self) -> CheckResult:
        return RESULT

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check(name=f"c{i}", run=self._noop, title=f"No-op {i}",
                      description="Returns ok at once.", interval=self.interval, timeout=5)
                for i in range(self.count)]

    async def _ping(self, params: Mapping[str, Any]) -> Any:
        return {"pong": True, "echo": dict(params)}

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [Tool("ping", "Answers at once.", run=self._ping)]
