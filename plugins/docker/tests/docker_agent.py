"""Starting the docker plugin in a real agent, and small HTTP helpers the tests share."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

import nebula_docker.plugin
from tests.waiting import eventually

PLUGIN = {"docker": nebula_docker.plugin}
SECONDS = 1_000_000_000  # the engine's healthcheck durations are nanoseconds

# A "database" built from the local busybox image: httpd serving its volume, with the
# password in its environment as a real database image takes it.
TESTDB = {
    "image": "localhost/busybox:test", "port": 8080, "volume_path": "/data",
    "user": "tester", "database": "main",
    "env": {"DB_PASSWORD": "{password}", "DB_USER": "{user}"},
    # Careless like some images are: it prints its password at start.
    "command": ["sh", "-c", "echo started with $DB_PASSWORD; exec httpd -f -p 8080 -h /data"],
    "healthcheck": ["CMD", "true"],
    "connection": "http://{user}:{password}@{host}:{port}/{database}",
}


def docker_config(podman: Any, **overrides: Any) -> dict[str, Any]:
    return {"docker": {"base_url": podman.base_url, "interval": 3600,
                       "templates": {"testdb": TESTDB}, **overrides}}


async def run_check(agent: Any, name: str) -> dict[str, Any]:
    status, body = await agent.post("/api/v1/checks/run", {"names": [f"docker.{name}"]})
    assert status == 200, body
    (result,) = body["checks"]
    return result


async def run_action(agent: Any, name: str, params: dict[str, Any] | None = None,
                     ) -> tuple[int, dict[str, Any]]:
    return await agent.post(f"/api/v1/actions/docker.{name}/run", {"params": params or {}})


async def approved(agent: Any, name: str, params: dict[str, Any] | None = None,
                   ) -> dict[str, Any]:
    """A destructive action through its whole flow: 202 pending, then an admin approves."""
    status, body = await run_action(agent, name, params)
    assert status == 202 and body["status"] == "pending_approval", body
    status, outcome = await agent.post(f"/api/v1/approvals/{body['approval']['id']}/approve")
    assert status == 200, outcome
    return outcome


async def panel(agent: Any, name: str) -> Any:
    status, body = await agent.get(f"/api/v1/panels/docker.{name}")
    assert status == 200, body
    return body["data"]


async def row_of(agent: Any, container: str, **expect: Any) -> dict[str, Any]:
    """The container's row in the containers panel, once it shows `expect`."""
    async def matching() -> dict[str, Any] | None:
        for row in await panel(agent, "containers"):
            if row["name"] == container and all(row[k] == v for k, v in expect.items()):
                return row
        return None

    return await eventually(matching, timeout=10, interval=0.05)


def dumps(*values: Any) -> str:
    return json.dumps(values, default=str)


def since() -> float:
    return time.time()


def nano(seconds: float) -> int:
    """A healthcheck duration as the engine takes it."""
    return int(seconds * SECONDS)


@contextlib.asynccontextmanager
async def published(agent: Any, topic: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Every event on `topic` the agent publishes while inside, in a list kept current."""
    seen: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {agent.token}"}
    async with agent.session.ws_connect(f"{agent.url}/api/v1/events?topic={topic}",
                                        headers=headers) as ws:
        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    seen.append(json.loads(msg.data))

        reader = asyncio.create_task(read())
        try:
            yield seen
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def of(events: list[dict[str, Any]], topic: str, name: str) -> list[dict[str, Any]]:
    """The data of the events on `topic` about the container `name`, in order."""
    return [e["data"] for e in events if e["topic"] == topic and e["data"].get("name") == name]


async def streaming(agent: Any) -> None:
    """Until the plugin follows the engine's event stream."""
    runtime = agent.agent.manager.records["docker"].ctx.runtime
    await eventually(lambda: runtime.monitor.events_connected, timeout=10)
