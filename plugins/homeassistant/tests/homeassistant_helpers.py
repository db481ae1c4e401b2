"""What the homeassistant tests ask the agent, over its HTTP API."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from nebula_homeassistant.coordinator import Runtime
from tests.waiting import eventually

# Defined here, not in conftest.py, which pytest imports under another module name.
WEBHOOK_SECRET = "hook-" + secrets.token_hex(12)
# Every check result is reported at once: the tests follow state changes one run apart.
AGENT = {"flap_threshold": 1}
# The agent's default: a reported state moves after two agreeing results.
DAMPED = {"flap_threshold": 2}


async def check(agent: Any, name: str) -> tuple[str, str]:
    status, body = await agent.post("/api/v1/checks/run",
                                    {"names": [f"homeassistant.{name}"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["last_status"], state["summary"]


async def check_state(agent: Any, name: str) -> tuple[str, str]:
    """Run a check once; the state it reports (damped by flap_threshold, as the dashboard's
    tile shows it) and the summary shown with it."""
    status, body = await agent.post("/api/v1/checks/run",
                                    {"names": [f"homeassistant.{name}"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["status"], state["summary"]


async def panel(agent: Any, name: str) -> Any:
    status, body = await agent.get(f"/api/v1/panels/homeassistant.{name}")
    assert status == 200, body
    return body["data"]


async def run(agent: Any, action: str, **params: Any) -> tuple[int, Any]:
    return await agent.post(f"/api/v1/actions/homeassistant.{action}/run", {"params": params})


def live(agent: Any) -> Any:
    """The plugin's WebSocket connection, as its overview panel reports it."""
    async def connected() -> bool:
        return (await panel(agent, "overview"))["websocket"] == "live"
    return eventually(connected, timeout=5)


async def states_by_id(agent: Any, panel_name: str = "entities") -> dict[str, str]:
    return {row["entity_id"]: row["state"] for row in await panel(agent, panel_name)}


def runtime_of(agent: Any) -> Runtime:
    runtime = agent.agent.manager.records["homeassistant"].ctx.runtime
    assert isinstance(runtime, Runtime)
    return runtime


async def reload_with(agent: Any, **section: Any) -> None:
    """Reload the agent with the plugin's section changed (the plugin restarts)."""
    config = agent.agent.config
    plugins = {**config.plugins, "homeassistant": {**config.plugins["homeassistant"],
                                                   **section}}
    await agent.agent.reload(replace(config, plugins=plugins))


async def job_runs(agent: Any, name: str) -> int:
    _, body = await agent.get("/api/v1/jobs")
    return next(j["runs"] for j in body["jobs"] if j["name"] == name)
