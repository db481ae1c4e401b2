"""Driving the postgres plugin over the agent's real HTTP API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

# A running agent (nebula.testing.RunningAgent) and the fixtures that start one: a
# plugin's tests import only nebula.api from the core, so these are typed loosely.
Agent = Any
AgentFactory = Callable[..., contextlib.AbstractAsyncContextManager[Agent]]


async def run_action(agent: Agent, name: str, params: dict | None = None) -> dict[str, Any]:
    """The action's outcome: {"status": "ok", "result": ...}, an error (502: it ran and
    failed), or a pending approval."""
    status, body = await agent.post(f"/api/v1/actions/postgres.{name}/run",
                                    {"params": params or {}})
    assert status in (200, 202, 502), body
    return body


async def result_of(agent: Agent, name: str, params: dict | None = None) -> Any:
    outcome = await run_action(agent, name, params)
    assert outcome["status"] == "ok", outcome
    return outcome["result"]


async def approve(agent: Agent, outcome: dict[str, Any]) -> dict[str, Any]:
    assert outcome["status"] == "pending_approval", outcome
    status, body = await agent.post(f"/api/v1/approvals/{outcome['approval']['id']}/approve")
    assert status == 200, body
    return body


async def run_checks(agent: Agent, *names: str) -> dict[str, dict[str, Any]]:
    """name → the check's public state, judged by this run: `last_status` is this run's
    verdict and `summary` here its words (the agent serves the words of the status it
    shows, which changes only once `flap_threshold` results agree; until then this run's
    are `pending`)."""
    status, body = await agent.post("/api/v1/checks/run",
                                    {"names": [f"postgres.{n}" for n in names]})
    assert status == 200, body
    return {c["name"].removeprefix("postgres."):
            {**c, "summary": (c.get("pending") or c)["summary"]} for c in body["checks"]}


async def panel(agent: Agent, name: str) -> Any:
    status, body = await agent.get(f"/api/v1/panels/postgres.{name}")
    assert status == 200, body
    return body["data"]


async def in_state(agent: Agent, name: str, expected: str,
                   saying: str = "") -> dict[str, Any] | None:
    """The check, run now, when its verdict is `expected` and its summary says `saying`;
    else None (for `tests.waiting.eventually`)."""
    check = (await run_checks(agent, name))[name]
    return check if check["last_status"] == expected and saying in check["summary"] else None
