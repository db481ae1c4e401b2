"""The plugin's runtime (plugin API 1.2): what `nebula_startup` returns is kept by the core,
handed to the hooks, and closed when the plugin stops: a check in flight (here waiting on a
resolver that never answers) ends then, and the plugin's DNS sockets are closed."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import psutil
import pytest
from domains_zone import SILENT, ZONE

from nebula_domains.coordinator import Monitor
from tests.waiting import eventually


def sockets_to(address: str, port: int) -> int:
    """This process's UDP sockets connected to `address:port`."""
    return sum(1 for c in psutil.Process().net_connections(kind="udp")
               if c.raddr and (c.raddr.ip, c.raddr.port) == (address, port))


async def test_stopping_the_plugin_ends_checks_in_flight_and_closes_its_sockets(
        start_domains, zone) -> None:
    host = f"valid.{ZONE}"
    async with start_domains([host], resolvers=[SILENT], dns_timeout=60) as agent:
        runtime = agent.agent.manager.records["domains"].ctx.runtime
        assert isinstance(runtime, Monitor)
        checking = asyncio.ensure_future(runtime.report(host, max_age=0))
        await eventually(lambda: sockets_to(SILENT, zone.port) == 1)  # the query is out

        config = agent.agent.config
        await agent.agent.reload(replace(config, plugins={
            **config.plugins, "domains": {**config.plugins["domains"], "enabled": False}}))
        assert (await agent.plugin("domains"))["state"] == "disabled"
        # Not left to the 60 s DNS timeout: cancelled with the runtime, its socket closed.
        await eventually(lambda: sockets_to(SILENT, zone.port) == 0, timeout=5)
        with pytest.raises(asyncio.CancelledError):
            await checking
