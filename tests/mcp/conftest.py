"""Fixtures for the MCP server's tests: a live agent with the Ops test plugin and named
tokens, and MCP clients (the SDK's own) over either transport: streamable HTTP at /mcp,
or `nebula mcp serve` in a subprocess speaking stdio."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from nebula.config import load
from nebula.testing import RunningAgent, run_agent, write_config
from tests.agent_process import isolated_env
from tests.jarvis.ops_plugin import SECRET, Ops

TRANSPORTS = ("http", "stdio")


@dataclass
class McpHost:
    agent: RunningAgent
    ops: Ops
    tokens: dict[str, str]
    tmp: Path
    transport: str

    def client(self, token_name: str = "ci") -> Client:
        """The SDK's client of this agent's MCP server, as the named token."""
        token = self.tokens[token_name]
        if self.transport == "http":
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
            return Client(streamable_http_client(self.agent.url + "/mcp", http_client=http),
                          cache=None)
        env = isolated_env(self.tmp, NEBULA_URL=self.agent.url, NEBULA_TOKEN=token)
        return Client(StdioServerParameters(command=sys.executable,
                                            args=["-m", "nebula", "mcp", "serve"], env=env),
                      cache=None)


@pytest.fixture(params=TRANSPORTS)
async def mcp_host(request, tmp_path) -> AsyncIterator[McpHost]:
    """An agent with the Ops plugin (its secret in config) and two tokens: `ci` (admin) and
    `watcher` (viewer); clients over the transport this test is parametrized with."""
    ops = Ops()
    path = write_config(tmp_path / "nebula.toml", None, {"ops": {"api_token": SECRET}})
    async with run_agent(load(path), {"ops": ops}, schedule=False) as agent:
        tokens = {}
        for name, role in (("ci", "admin"), ("watcher", "viewer")):
            status, body = await agent.post("/api/v1/tokens", {"name": name, "role": role})
            assert status == 201, body
            tokens[name] = body["token"]
        yield McpHost(agent, ops, tokens, tmp_path, request.param)


@contextlib.asynccontextmanager
async def connected(host: McpHost, token_name: str = "ci") -> AsyncIterator[Client]:
    async with host.client(token_name) as client:
        yield client
