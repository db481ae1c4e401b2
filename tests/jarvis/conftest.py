"""Fixtures for Jarvis's tests: the scripted model server and an agent pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
import tomlkit

from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.jarvis.openai_server import FakeOpenAI
from tests.jarvis.ops_plugin import SECRET, Ops


@pytest.fixture
async def model():
    async with FakeOpenAI() as server:
        yield server


def write_jarvis_config(path, jarvis: dict[str, Any] | None,
                        plugins: dict[str, Any] | None = None):
    write_config(path, None, plugins)
    doc = tomlkit.parse(path.read_text())
    if jarvis is not None:
        doc["jarvis"] = jarvis
    path.write_text(tomlkit.dumps(doc))
    return path


@pytest.fixture
def jarvis_agent(tmp_path, model):
    """`async with jarvis_agent(**jarvis_keys) as (agent, ops)`: a live agent with the Ops
    plugin (its secret in config), or another test plugin under `name` with its `config`,
    and [jarvis] pointed at the fake model."""

    @contextlib.asynccontextmanager
    async def factory(ops: Any = None, name: str = "ops",
                      config: dict[str, Any] | None = None, **jarvis: Any):
        ops = ops or Ops()
        path = write_jarvis_config(
            tmp_path / "nebula.toml",
            {"base_url": model.base_url, "max_retries": 0, "timeout": 10, **jarvis},
            {name: {"api_token": SECRET} if config is None else config})
        async with run_agent(load(path), {name: ops}, schedule=False) as agent:
            yield agent, ops

    return factory


async def ask(agent, message: str, conversation_id: str | None = None) -> tuple[str, dict]:
    """Ask over HTTP and wait until the turn ends or pauses; returns (id, conversation)."""
    path = ("/api/v1/jarvis/conversations" if conversation_id is None
            else f"/api/v1/jarvis/conversations/{conversation_id}/messages")
    status, body = await agent.post(path, {"message": message})
    assert status == 202, body
    return body["conversation_id"], await settled(agent, body["conversation_id"])


async def settled(agent, conversation_id: str, timeout: float = 10) -> dict:
    """The conversation once its turn is no longer running."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, conversation = await agent.get(f"/api/v1/jarvis/conversations/{conversation_id}")
        if conversation["state"] != "running":
            return conversation
        assert asyncio.get_running_loop().time() < deadline, conversation
        await asyncio.sleep(0.02)


def events(agent, topic: str, conversation_id: str) -> list[dict]:
    return [e["data"] for e in agent.agent.bus.recent
            if e["topic"] == topic and e["data"].get("conversation_id") == conversation_id]


def tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


def tool_result(request: dict, index: int = -1) -> dict:
    return json.loads(tool_messages(request)[index]["content"])
