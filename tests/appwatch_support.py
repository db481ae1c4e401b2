"""Real stand-ins for an app that an appwatch plugin watches, shared by tests/test_appwatch.py
and the discordbot and streambot tests: an HTTP health endpoint on loopback whose answer a
test changes, a database on the session's throwaway PostgreSQL cluster built from DDL, a
client driving one watching plugin over the agent's HTTP API, and the proof that stopping
the plugin closes its runtime."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from tests.engines.postgres import Cluster
from tests.waiting import eventually

_databases = itertools.count()


class HealthEndpoint:
    """GET /health answers `status` with `body` as JSON; a test changes both at will."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {"status": "healthy"}
        self.hits = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _health(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.json_response(self.body, status=self.status)

    async def start(self) -> HealthEndpoint:
        app = web.Application()
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/health"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def health_endpoint() -> AsyncIterator[HealthEndpoint]:
    endpoint = await HealthEndpoint().start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()


@contextlib.contextmanager
def app_database(cluster: Cluster, prefix: str, ddl: str) -> Iterator[str]:
    """A fresh database on the cluster with `ddl` applied; dropped (with its roles named
    after it) on exit. Yields its name."""
    name = f"{prefix}_{next(_databases)}"
    cluster.execute(f'CREATE DATABASE "{name}"')
    try:
        with cluster.connect(name) as conn:
            conn.execute(ddl)
        yield name
    finally:
        cluster.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for (role,) in cluster.execute(
                f"SELECT rolname FROM pg_roles WHERE rolname LIKE '{name}%'"):
            cluster.execute(f'DROP ROLE IF EXISTS "{role}"')


class WatchApi:
    """One watching plugin (`plugin`) driven over a running agent's HTTP API."""

    def __init__(self, agent: Any, plugin: str) -> None:
        self.agent = agent
        self.plugin = plugin

    async def checks(self, *names: str) -> dict[str, dict[str, Any]]:
        """short name → the check's public state, run now; `last_status` is its verdict."""
        status, body = await self.agent.post(
            "/api/v1/checks/run", {"names": [f"{self.plugin}.{n}" for n in names]})
        assert status == 200, body
        return {c["name"].removeprefix(f"{self.plugin}."): c for c in body["checks"]}

    async def check(self, name: str) -> dict[str, Any]:
        return (await self.checks(name))[name]

    async def action(self, name: str, params: dict[str, Any] | None = None,
                     ) -> dict[str, Any]:
        status, body = await self.agent.post(f"/api/v1/actions/{self.plugin}.{name}/run",
                                             {"params": params or {}})
        # 200 ran, 202 waits for approval, 502 ran and failed (the body says why).
        assert status in (200, 202, 502), body
        return body

    async def approve(self, approval: dict[str, Any]) -> dict[str, Any]:
        status, body = await self.agent.post(f"/api/v1/approvals/{approval['id']}/approve")
        assert status in (200, 502), body  # the approved run went well, or failed
        return body

    async def panel(self, name: str) -> Any:
        status, body = await self.agent.get(f"/api/v1/panels/{self.plugin}.{name}")
        assert status == 200, body
        return body["data"]

    async def tool(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        status, body = await self.agent.post(f"/api/v1/tools/{self.plugin}.{name}/run",
                                             params or {})
        assert status in (200, 202), body
        return body

    async def plugin_state(self) -> dict[str, Any]:
        status, body = await self.agent.get("/api/v1/plugins")
        assert status == 200, body
        return next(p for p in body["plugins"] if p["name"] == self.plugin)


def _running_metric_queries(cluster: Cluster, db: str, plugin: str) -> int:
    return cluster.execute(
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'nebula-{plugin}' "
        f"AND datname = '{db}' AND state = 'active'")[0][0]


async def assert_stopping_cancels_a_reading(agent: Any, plugin: str, cluster: Cluster,
                                            db: str) -> None:
    """With `plugin` running on `db` with a metric that sleeps two minutes: a reading
    started now is cancelled, and its query on the server with it, as soon as a reload
    disables the plugin (the core closes the runtime its startup returned)."""
    watch = agent.agent.manager.records[plugin].ctx.runtime
    reading = asyncio.ensure_future(watch.database.get())
    await eventually(lambda: _running_metric_queries(cluster, db, plugin), timeout=10)
    config = agent.agent.config
    section = {**config.plugins[plugin], "enabled": False}
    await agent.agent.reload(replace(config, plugins={**config.plugins, plugin: section}))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reading, 5)
    await eventually(lambda: _running_metric_queries(cluster, db, plugin) == 0, timeout=10)
