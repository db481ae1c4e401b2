"""The plugin's runtime (plugin API 1.2): what `nebula_startup` returns is kept by the core,
handed to the hooks, and closed when the plugin stops, which ends the WebSocket task and
its connection to Home Assistant; a restart leaves exactly one connection."""

from __future__ import annotations

from homeassistant_helpers import live, reload_with, runtime_of

from tests.waiting import eventually


async def test_stopping_the_plugin_ends_its_websocket(start_ha, ha) -> None:
    async with start_ha() as agent:
        await live(agent)
        first = runtime_of(agent)
        assert first.live is not None and first.live.running and len(ha.sockets) == 1

        # A new section restarts the plugin: the old runtime is closed, a new one connects.
        await reload_with(agent, interval=1800)
        assert not first.live.running
        second = runtime_of(agent)
        assert second is not first
        await live(agent)
        await eventually(lambda: len(ha.sockets) == 1, timeout=5)

        await reload_with(agent, enabled=False)
        assert (await agent.plugin("homeassistant"))["state"] == "disabled"
        assert second.live is not None and not second.live.running
        # Home Assistant sees the connection closed.
        await eventually(lambda: not ha.sockets, timeout=5)
