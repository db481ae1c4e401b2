"""Helpers the sunshine tests share."""

from __future__ import annotations

from typing import Any

from nebula_sunshine.coordinator import SunshineRuntime


def runtime_of(agent: Any) -> SunshineRuntime:
    runtime = agent.agent.manager.records["sunshine"].ctx.runtime
    assert isinstance(runtime, SunshineRuntime)
    return runtime


async def fresh_check(agent: Any, name: str) -> dict[str, Any]:
    runtime_of(agent).invalidate()
    result: dict[str, Any] = await agent.run_check(name)
    return result
