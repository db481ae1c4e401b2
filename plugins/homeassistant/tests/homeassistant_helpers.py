"""What the homeassistant tests ask the agent, over its HTTP API."""

from __future__ import annotations

import secrets
from typing import Any

from tests.waiting import eventually

# Defined here, not in conftest.py, which pytest imports under another module name.
WEBHOOK_SECRET = "hook-" + secrets.token_hex(12)
# Every check result is reported at once: the tests follow state changes one run apart.
AGENT = {"flap_threshold": 1}


async def check(agent: Any, name: str) -> tuple[str, str]:
    status, body = await agent.post("/api/v1/checks/run",
                                    {"names": [f"homeassistant.{name}"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["last_status"], state["summary"]


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
