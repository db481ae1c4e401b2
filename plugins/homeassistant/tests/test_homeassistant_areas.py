"""panel_area names an area of Home Assistant, which only HA knows: a misspelt one fails
the start with the nearest area's name when HA answers as the plugin starts, and is
reported by the api check when HA comes later (issue 15, 3b)."""

from __future__ import annotations

from homeassistant_helpers import check, live, panel, reload_with

from tests.loopback import Server
from tests.waiting import eventually


async def test_a_misspelt_panel_area_fails_the_start_with_a_did_you_mean(start_ha,
                                                                         ha) -> None:
    async with start_ha(panel_area="Livng Room") as agent:
        state = await agent.plugin("homeassistant")
        assert state["state"] == "failed"
        assert state["error"] == (
            "startup failed: ValueError: panel_area 'Livng Room' is not an area of this Home "
            "Assistant; did you mean 'Living Room'? (its areas: 'Garage', 'Living Room'); "
            "fix panel_area in [plugins.homeassistant]")
        # Corrected (by name, any case, or by id), it starts.
        for area in ("living room", "living_room"):
            await reload_with(agent, panel_area=area)
            assert (await agent.plugin("homeassistant"))["state"] == "loaded"
            await live(agent)
            rows = await panel(agent, "entities")
            assert [r["entity_id"] for r in rows] == ["light.living_room",
                                                      "light.reading_lamp"]
    # The plugin that failed left no connection behind.
    await eventually(lambda: not ha.sockets, timeout=5)


async def test_panel_area_without_the_websocket_is_refused(start_ha) -> None:
    async with start_ha(panel_area="Garage", websocket=False) as agent:
        state = await agent.plugin("homeassistant")
    assert state["state"] == "failed"
    assert state["error"].endswith("panel_area needs websocket = true: the areas come from "
                                   "Home Assistant's registries over the WebSocket")


async def test_a_misspelt_panel_area_is_reported_once_home_assistant_answers(
        start_ha, ha) -> None:
    server = Server(ha.app)
    await server.start()
    await server.stop()  # Home Assistant is down as the agent starts: nothing to judge by
    async with start_ha(url=server.url, panel_area="Garag") as agent:
        assert (await agent.plugin("homeassistant"))["state"] == "loaded"
        await server.start()
        try:
            await live(agent)
            _, summary = await eventually(lambda: _warning(agent), timeout=5)
            assert summary.endswith("states live over the WebSocket; but panel_area 'Garag' "
                                    "is not an area of this Home Assistant; did you mean "
                                    "'Garage'? (its areas: 'Garage', 'Living Room')")
        finally:
            await server.stop()


async def _warning(agent):
    status, summary = await check(agent, "api")
    return (status, summary) if status == "warning" else None
