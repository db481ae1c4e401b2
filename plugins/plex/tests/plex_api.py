"""The agent's HTTP API as the plex tests use it."""

from __future__ import annotations

from typing import Any

CHECKS = ["plex.reachable", "plex.token", "plex.transcodes"]


async def run_checks(agent: Any) -> dict[str, dict[str, Any]]:
    """Run the plugin's checks now; each check's latest result by its short name."""
    status, body = await agent.post("/api/v1/checks/run", {"names": CHECKS})
    assert status == 200, body
    return {c["name"].removeprefix("plex."): {"status": c["last_status"],
                                             "summary": c["summary"],
                                             "metrics": c["metrics"]}
            for c in body["checks"]}


async def panel(agent: Any, name: str) -> Any:
    status, body = await agent.get(f"/api/v1/panels/plex.{name}")
    assert status == 200, body
    return body["data"]


async def run_action(agent: Any, name: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """The answer to running an action: 200 when it ran, 502 when the run failed, 202 when
    it waits for an approval."""
    return await agent.post(f"/api/v1/actions/plex.{name}/run", {"params": params})


async def approve(agent: Any, pending: dict[str, Any]) -> dict[str, Any]:
    """Approve and return the run's outcome: HTTP 200 when it succeeded, 502 when it failed
    (the outcome's `status` says which)."""
    status, outcome = await agent.post(f"/api/v1/approvals/{pending['approval']['id']}/approve")
    assert (status, outcome.get("status")) in ((200, "ok"), (502, "error")), (status, outcome)
    return outcome


async def events(agent: Any, topic: str = "plex.*") -> list[dict[str, Any]]:
    status, body = await agent.get(f"/api/v1/events?topic={topic}&limit=200")
    assert status == 200, body
    return body["events"]
