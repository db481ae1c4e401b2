"""psycopg (and the libpq, libssl and libcrypto of its binary package, ~9 MB) is loaded only
once a server answers (nebula_postgres/driver.py): an agent whose server is absent never
imports it, through check rounds, panels, tools and actions, and still says why the server
cannot be reached. Each agent runs in a fresh interpreter, where sys.modules tells."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engines.postgres import Cluster

AGENT = r"""
import asyncio, json, sys
from pathlib import Path
from nebula.config import load
from nebula.testing import run_agent, write_config
import nebula_postgres.plugin

CHECKS = ["postgres." + name for name in (
    "reachable", "connections", "database_sizes", "long_queries", "idle_in_transaction",
    "lock_waits", "wraparound", "cache_hit", "replication", "backup_age")]

async def main(folder, section):
    path = write_config(Path(folder) / "nebula.toml", None, {"postgres": section})
    async with run_agent(load(path), {"postgres": nebula_postgres.plugin},
                         schedule=False) as agent:
        for _ in range(3):  # check rounds
            status, body = await agent.post("/api/v1/checks/run", {"names": CHECKS})
            assert status == 200, body
        panel, _ = await agent.get("/api/v1/panels/postgres.overview")
        action = await agent.post("/api/v1/actions/postgres.databases/run", {})
        tool = await agent.call_tool("postgres.slow_queries", {})  # as Jarvis calls it
        _, states = await agent.get("/api/v1/checks")
    reachable = [c for c in states["checks"] if c["name"] == "postgres.reachable"][0]
    print(json.dumps({
        "psycopg": sorted(m for m in sys.modules if m.split(".")[0].startswith("psycopg")),
        "reachable": [reachable["status"], reachable["summary"]],
        "action": [action[0], action[1].get("status"), action[1].get("error")],
        "panel": panel, "tool": tool}))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


def _agent(tmp_path: Path, section: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", AGENT, str(tmp_path), json.dumps(section)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port held bound but not listening: every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.e2e  # an agent in a fresh interpreter, where sys.modules tells
def test_an_absent_server_never_loads_psycopg(tmp_path: Path, closed_port: int) -> None:
    seen = _agent(tmp_path, {"host": "127.0.0.1", "port": closed_port, "connect_timeout": 2})
    assert seen["psycopg"] == []
    status, summary = seen["reachable"]
    assert status == "critical"
    assert summary == (f'Cannot connect to 127.0.0.1:{closed_port}: connection to server at '
                       f'"127.0.0.1", port {closed_port} failed: Connection refused')
    # An action, a panel and a tool fail with the same words, still without the driver.
    refused = f'"127.0.0.1", port {closed_port} failed: Connection refused'
    assert seen["action"][:2] == [502, "error"] and refused in seen["action"][2]
    assert seen["panel"] == 502
    assert seen["tool"]["status"] == "error" and refused in seen["tool"]["error"]


def test_a_server_that_answers_loads_it(tmp_path: Path, cluster: Cluster) -> None:
    seen = _agent(tmp_path, cluster.config(connect_timeout=2))
    assert "psycopg" in seen["psycopg"]
    assert seen["reachable"][0] == "ok", seen["reachable"]
    assert seen["action"][:2] == [200, "ok"]
    assert seen["panel"] == 200 and seen["tool"]["status"] == "ok"
