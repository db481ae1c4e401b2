"""What the google tests do over the agent's HTTP API, and as the owner's browser."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.waiting import eventually


async def run_action(agent, name: str, params: dict[str, Any] | None = None) -> dict:
    return await agent.run_action(f"google.{name}", params or {})


async def result_of(agent, name: str, params: dict[str, Any] | None = None) -> Any:
    body = await run_action(agent, name, params)
    assert body["status"] == "ok", body
    return body["result"]


async def check(agent, name: str) -> tuple[str, str]:
    status, body = await agent.post("/api/v1/checks/run", {"names": [f"google.{name}"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["last_status"], state["summary"]


async def panel(agent, name: str) -> tuple[int, Any]:
    status, body = await agent.get(f"/api/v1/panels/google.{name}")
    return status, body.get("data") if status == 200 else body


async def panel_data(agent, name: str) -> Any:
    status, data = await panel(agent, name)
    assert status == 200, data
    return data


async def browse(url: str) -> tuple[int, str, str]:
    """The owner's browser: follows Google's redirect back to the loopback listener.
    Returns the final status, page text and address."""
    async with aiohttp.ClientSession() as browser, browser.get(url) as resp:
        return resp.status, await resp.text(), str(resp.url)


async def connect(agent) -> dict[str, Any]:
    """The whole loopback consent, as the owner does it; returns the final status."""
    started = await result_of(agent, "connect")
    status, page, _ = await browse(started["authorization_url"])
    assert status == 200, page
    assert "connected to Google" in page
    return await connected(agent)


async def connected(agent, timeout: float = 5) -> dict[str, Any]:
    async def done():
        state = await result_of(agent, "status")
        return state if state["connected"] and state["consent"] in (None, "connected") \
            else None
    return await eventually(done, timeout=timeout)
