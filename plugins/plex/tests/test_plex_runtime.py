"""The plugin's runtime (plugin API 1.2) is the `Poller` its startup returns: the core closes
it when the plugin stops, and closing is prompt even while a poll waits on a server that
does not answer (issue 15: a plugin whose shutdown hung made every one-shot CLI command
wait for the core to give up on it)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import psutil
import pytest
from plex_server import PlexStandIn

from nebula_plex.coordinator import Poller
from tests.waiting import eventually

# Far below the 60 s request timeout the tests configure and the 5 s the core waits for a
# plugin before it gives up; above what a loaded CI machine needs to cancel a few requests.
PROMPT = 0.5
SILENT = "/status/sessions"  # the stand-in holds its answer to this path


def _runtime(agent: Any) -> Poller:
    runtime = agent.agent.manager.records["plex"].ctx.runtime
    assert isinstance(runtime, Poller)
    return runtime


def _client_ports(server_port: int) -> set[int]:
    """Local ports of this process's open TCP connections to the stand-in."""
    return {c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == server_port}


def _held(plex: PlexStandIn) -> dict[str, Any] | None:
    return next((r for r in plex.requests if r["path"] == SILENT), None)


async def _poll_in_flight(agent: Any, plex: PlexStandIn, server_port: int
                          ) -> tuple[asyncio.Future[Any], int]:
    """A reading of the runtime whose poll waits for the stand-in's answer to SILENT; and
    the local port of that request's connection."""
    reading = asyncio.ensure_future(_runtime(agent).snapshot())
    held = await eventually(lambda: _held(plex), timeout=5)
    assert held["client_port"] in _client_ports(server_port)
    return reading, held["client_port"]


async def test_disabling_the_plugin_cancels_its_poll_and_closes_the_connection(
        start_plex, plex, plex_site) -> None:
    released = plex.holds[SILENT] = asyncio.Event()
    async with start_plex(timeout=60) as agent:
        reading, port = await _poll_in_flight(agent, plex, plex_site.port)

        config = agent.agent.config
        disabled = {**config.plugins["plex"], "enabled": False}
        started = time.perf_counter()
        await agent.agent.reload(replace(config, plugins={**config.plugins,
                                                          "plex": disabled}))
        assert time.perf_counter() - started < PROMPT
        assert (await agent.plugin("plex"))["state"] == "disabled"
        assert agent.agent.manager.records["plex"].ctx.runtime is None
        # Not left to the 60 s timeout: the poll ends with the runtime, its request too.
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(reading, 5)
        await eventually(lambda: port not in _client_ports(plex_site.port), timeout=5)
        released.set()
        status, _ = await agent.get("/healthz")
        assert status == 200  # only the plugin stopped


async def test_stopping_the_agent_during_a_poll_is_prompt(start_plex, plex,
                                                          plex_site) -> None:
    released = plex.holds[SILENT] = asyncio.Event()
    async with start_plex(timeout=60) as agent:
        reading, port = await _poll_in_flight(agent, plex, plex_site.port)
        started = time.perf_counter()
    assert time.perf_counter() - started < 2 * PROMPT
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reading, 5)
    await eventually(lambda: port not in _client_ports(plex_site.port), timeout=5)
    released.set()
