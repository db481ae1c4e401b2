"""The container behind an upstream, as the docker plugin (on a real Podman engine)
reports it in its `docker.container.*` events, shown in the caddy plugin's sites panel;
and the runtime closed when the plugin stops."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

import nebula_docker.plugin
from nebula_caddy import plugin
from nebula_caddy.coordinator import Runtime
from tests.engines.caddy import running, site
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_an_upstream_dialled_by_container_name_shows_its_container(
        nebula_agent, tmp_path, podman, run_container) -> None:
    name = f"{run_container.prefix}-web"
    with running(tmp_path / "caddy", site("web.test", "{port}", f"{name}:8080")) as caddy:
        config = {"caddy": {"admin_url": caddy.admin_url, "timeout": 3},
                  "docker": {"base_url": podman.base_url, "interval": 3600}}
        async with nebula_agent({"caddy": plugin, "docker": nebula_docker.plugin},
                                config=config) as agent:
            async def row() -> dict:
                return (await agent.panel("caddy.sites"))[0]

            assert (await row())["containers"] is None
            await asyncio.to_thread(run_container, ["httpd", "-f", "-p", "8080"], name=name)

            async def shown() -> str | None:
                runtime = agent.agent.manager.records["caddy"].ctx.runtime
                runtime.state.invalidate()
                return (await row())["containers"]

            assert await eventually(shown, timeout=20) == f"{name} (running)"
            # The host cannot resolve a compose network's names: said, not hidden.
            assert (await row())["host"] == "web.test"
            assert (await row())["upstream_health"].startswith(f"{name}:8080: ")


async def test_stopping_the_plugin_ends_a_look_in_flight(nebula_agent) -> None:
    """An admin API that accepts and never answers: the look at it in flight ends when the
    plugin stops (its runtime is closed), not when its 60 s timeout would."""
    opened, closed = asyncio.Event(), asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.set()
        try:
            while await reader.read(4096):
                pass
        finally:
            closed.set()
            writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with nebula_agent({"caddy": plugin}, config={"caddy": {
                "admin_url": f"http://127.0.0.1:{port}", "timeout": 60}}) as agent:
            runtime = agent.agent.manager.records["caddy"].ctx.runtime
            assert isinstance(runtime, Runtime)
            looking = asyncio.ensure_future(runtime.snapshot())
            await asyncio.wait_for(opened.wait(), 10)
            config = agent.agent.config
            await agent.agent.reload(replace(config, plugins={
                **config.plugins, "caddy": {**config.plugins["caddy"], "enabled": False}}))
            assert (await agent.plugin("caddy"))["state"] == "disabled"
            await asyncio.wait_for(closed.wait(), 5)
            with pytest.raises(asyncio.CancelledError):
                await looking
    finally:
        server.close()
