"""The n8n plugin in a real agent (nebula.testing) against a stand-in n8n server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from fake_n8n import API_KEY, FakeN8n

from nebula.testing import AgentFactory
from nebula_n8n import plugin

PLUGINS = {"n8n": plugin}


def config(n8n: FakeN8n, **extra: Any) -> dict[str, Any]:
    # page_size 2 makes the five workflows take three pages.
    return {"n8n": {"url": n8n.url, "api_key": API_KEY, "page_size": 2, **extra}}


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def test_health_check_follows_n8n(nebula_agent: AgentFactory, n8n: FakeN8n) -> None:
    async with nebula_agent(PLUGINS, config=config(n8n), schedule=False) as agent:
        check = await agent.run_check("n8n.health")
        assert (check["last_status"], check["summary"]) == ("ok", "n8n is up")
        assert "latency_ms" in check["metrics"]
    down = {"n8n": {"url": closed_port_url(), "api_key": API_KEY}}
    async with nebula_agent(PLUGINS, config=down, schedule=False) as agent:
        check = await agent.run_check("n8n.health")
        assert check["last_status"] == "critical"
        assert check["summary"].startswith("cannot reach n8n")


async def test_workflows_walk_every_page(nebula_agent: AgentFactory, n8n: FakeN8n) -> None:
    async with nebula_agent(PLUGINS, config=config(n8n), schedule=False) as agent:
        rows = await agent.panel("n8n.workflows")
        assert [(r["id"], r["name"], r["active"]) for r in rows] == [
            ("1", "Backup photos", True), ("2", "Invoice mailer", False),
            ("3", "Uptime to Discord", True), ("4", "RSS digest", False),
            ("5", "Lead import", False)]
        pages = [query for path, query in n8n.requests if path == "/api/v1/workflows"]
        assert len(pages) == 3
        assert "cursor" not in pages[0] and all("cursor" in q for q in pages[1:])

        check = await agent.run_check("n8n.workflows")
        assert check["summary"] == "5 workflows, 2 active"
        # Poll once, read many: the check and the tool reuse the panel's fetch.
        assert len(n8n.requests) == 3
        tool = await agent.call_tool("n8n.workflows", {"active": True})
        assert [r["name"] for r in tool["result"]] == ["Backup photos", "Uptime to Discord"]


async def test_a_wrong_key_is_reported_and_never_shown(
        nebula_agent: AgentFactory, n8n: FakeN8n) -> None:
    wrong = "n8n_api_wrong_0123456789abcdef"
    async with nebula_agent(PLUGINS, config=config(n8n, api_key=wrong),
                            schedule=False) as agent:
        check = await agent.run_check("n8n.workflows")
        assert check["last_status"] == "critical"
        assert check["summary"] == "n8n refused the API key (401)"
        body = await agent.plugin("n8n")
        assert wrong not in str(body) and API_KEY not in str(body)


async def test_activate_runs_and_deactivate_waits_for_approval(
        nebula_agent: AgentFactory, n8n: FakeN8n) -> None:
    async with nebula_agent(PLUGINS, config=config(n8n), schedule=False) as agent:
        outcome = await agent.run_action("n8n.activate", {"id": "2"})
        assert outcome["result"]["active"] is True
        assert n8n.workflows["2"]["active"] is True

        pending = await agent.run_action("n8n.deactivate", {"id": "1"}, expect=202)
        assert pending["status"] == "pending_approval"
        assert n8n.workflows["1"]["active"] is True  # nothing happens before approval
        # Jarvis's tool goes through the same action, so it stops at approval too.
        via_tool = await agent.call_tool("n8n.deactivate", {"id": "3"})
        assert via_tool["status"] == "pending_approval"
        assert n8n.workflows["3"]["active"] is True

        approved = await agent.approve(pending["approval"]["id"])
        assert approved["result"]["active"] is False
        assert n8n.workflows["1"]["active"] is False
        rows = await agent.panel("n8n.workflows")  # the actions refreshed the list
        assert {r["id"]: r["active"] for r in rows}["1"] is False

        missing = await agent.run_action("n8n.activate", {"id": "99"})
        assert missing["status"] == "error"
        assert "404" in missing["error"]


async def test_stopping_the_plugin_cancels_a_poll_in_flight(
        nebula_agent: AgentFactory, n8n: FakeN8n) -> None:
    n8n.hold = asyncio.Event()  # n8n hangs on the workflow list
    async with nebula_agent(PLUGINS, config=config(n8n), schedule=False) as agent:
        runtime = agent.agent.manager.records["n8n"].ctx.runtime
        reading = asyncio.ensure_future(runtime.workflows.get())
        await asyncio.wait_for(n8n.held.wait(), 5)
    # The agent stopped the plugin and the core closed its runtime: the poll is cancelled
    # at once instead of waiting on n8n (the agent's session is closed too).
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reading, 5)
