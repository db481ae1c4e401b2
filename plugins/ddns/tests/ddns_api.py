"""Driving the ddns plugin through the agent's HTTP API, as the owner's tools would."""

from __future__ import annotations

import json
from typing import Any


async def update(agent: Any, **params: Any) -> dict[tuple[str, str], dict[str, Any]]:
    status, body = await agent.post("/api/v1/actions/ddns.update/run", {"params": params})
    assert status == 200, body
    assert body["status"] == "ok", body
    return {(r["host"], r["family"]): r for r in body["result"]}


async def check(agent: Any) -> tuple[str, str]:
    status, body = await agent.post("/api/v1/checks/run", {"names": ["ddns.records"]})
    assert status == 200, body
    state = body["checks"][0]
    return state["last_status"], state["summary"]


async def panel(agent: Any, name: str) -> list[dict[str, Any]]:
    status, body = await agent.get(f"/api/v1/panels/ddns.{name}")
    assert status == 200, body
    return body["data"]


async def everything_shown(agent: Any, *extra: Any) -> list[str]:
    """Every API answer a secret could leak into, as text."""
    seen = [json.dumps(await agent.get(path)) for path in (
        "/api/v1/panels/ddns.history", "/api/v1/panels/ddns.records", "/api/v1/audit",
        "/api/v1/config", "/api/v1/plugins/ddns", "/api/v1/events", "/api/v1/checks")]
    return seen + [json.dumps(e) for e in extra]
