"""The plugin's runtime (plugin API 1.2): what `nebula_startup` returns is kept by the core,
handed to the hooks, and closed when the plugin stops, which ends the WebSocket task and
its connection to Home Assistant, and drops a dashboard event still waiting for its window;
a restart leaves exactly one connection."""

from __future__ import annotations

import asyncio

from homeassistant_helpers import live, reload_with, runtime_of

from tests.waiting import eventually


async def test_stopping_the_plugin_ends_its_websocket(start_ha, ha) -> None:
    async with start_ha() as agent:
        await live(agent)
        first = runtime_of(agent)
        assert first.live is not None and first.live.running and len(ha.sockets) == 1

        # A new section restarts the plugin: the old runtime is closed, a new one connects.
        await ha.set_state("light.kitchen", "on")  # a dashboard event on its way
        await reload_with(agent, interval=1800)
        assert not first.live.running
        assert not first.feed.sending
        second = runtime_of(agent)
        assert second is not first
        await live(agent)
        await eventually(lambda: len(ha.sockets) == 1, timeout=5)

        await reload_with(agent, enabled=False)
        assert (await agent.plugin("homeassistant"))["state"] == "disabled"
        assert second.live is not None and not second.live.running
        # Home Assistant sees the connection closed.
        await eventually(lambda: not ha.sockets, timeout=5)


async def test_stopping_is_prompt_even_when_a_cancellation_is_lost(start_ha, ha) -> None:
    """Python before 3.12 loses a cancellation that arrives as a `wait_for` finishes (the
    set-up commands on connect use it): stopping must not hang on a task that goes on
    reading (issue 15: a shutdown that times out costs every CLI command seconds)."""
    async with start_ha() as agent:
        await live(agent)
        runtime = runtime_of(agent)
        assert runtime.live is not None
        swallowed = asyncio.Event()

        async def set_up_that_loses_the_cancellation() -> None:
            try:
                await asyncio.Event().wait()  # a set-up that never ends by itself
            except asyncio.CancelledError:
                swallowed.set()  # what wait_for does when its inner await just finished

        runtime.live.on_connect = set_up_that_loses_the_cancellation
        await ha.drop_websockets()  # it reconnects and runs the set-up
        await eventually(lambda: runtime.live.connects == 2, timeout=5)
        # Well within the core's stop timeout (5 s), which a hanging stop would run out.
        await asyncio.wait_for(reload_with(agent, enabled=False), timeout=4)
        assert swallowed.is_set() and not runtime.live.running
        await eventually(lambda: not ha.sockets, timeout=5)
