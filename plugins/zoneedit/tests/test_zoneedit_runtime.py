"""The plugin's runtime (plugin API 1.2): what `nebula_startup` returns is kept by the core,
handed to the hooks, and closed when the plugin stops. An observation in flight (here an
echo service that never answers) ends then, not when its request times out."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from nebula.helpers.ddns.updater import Updater
from tests.waiting import eventually


class Silent:
    """A TCP server that takes a request and never answers: an echo service that hangs.
    Counts the connections opened, and those the client closed."""

    def __init__(self) -> None:
        self.opened = self.closed = 0
        self.url = ""

    async def __aenter__(self) -> Silent:
        self.server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/ip"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        try:
            while await reader.read(4096):  # until the client hangs up
                pass
        finally:
            self.closed += 1
            writer.close()


async def test_stopping_the_plugin_ends_an_observation_in_flight(start_zoneedit,
                                                                  echo) -> None:
    async with Silent() as silent, start_zoneedit(
            timeout=60, ipv4_services=[*echo.urls(), silent.url]) as agent:
        runtime = agent.agent.manager.records["zoneedit"].ctx.runtime
        assert isinstance(runtime, Updater)
        reading = asyncio.ensure_future(runtime.observe())
        await eventually(lambda: silent.opened == 1)

        config = agent.agent.config
        await agent.agent.reload(replace(config, plugins={
            **config.plugins, "zoneedit": {**config.plugins["zoneedit"], "enabled": False}}))
        assert (await agent.plugin("zoneedit"))["state"] == "disabled"
        # The request was dropped with the runtime, not left to its 60 s timeout.
        await eventually(lambda: silent.closed == 1, timeout=5)
        with pytest.raises(asyncio.CancelledError):
            await reading


async def test_each_start_gets_its_own_runtime(start_zoneedit) -> None:
    async with start_zoneedit() as agent:
        record: Any = agent.agent.manager.records["zoneedit"]
        first = record.ctx.runtime
        config = agent.agent.config
        await agent.agent.reload(replace(config, plugins={
            **config.plugins, "zoneedit": {**config.plugins["zoneedit"], "interval": 1800}}))
        assert isinstance(record.ctx.runtime, Updater) and record.ctx.runtime is not first
        assert record.ctx.runtime.config["interval"] == 1800
