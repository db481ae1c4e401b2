"""The homeassistant plugin in a real agent against the Home Assistant stand-in: health,
live states over the WebSocket, REST fallback, reconnects."""

from __future__ import annotations

from homeassistant_helpers import check, live, panel, states_by_id

from tests.loopback import Server
from tests.waiting import eventually


async def test_healthy_instance_reports_version_entities_and_the_selected_panel(
        start_ha, ha) -> None:
    async with start_ha(panel_entities=["sensor.outside_temperature", "light.missing"],
                        panel_area="Living Room") as agent:
        await live(agent)
        status, summary = await check(agent, "api")
        assert status == "ok"
        assert summary.startswith("Home Assistant 2024.5.3 (Home) answers in ")
        assert "states live over the WebSocket" in summary
        assert await check(agent, "entities") == ("ok", "all 10 entities available")
        assert await check(agent, "automations") == ("ok", "2 automations loaded (1 on, 1 off)")
        assert await check(agent, "config") == ("ok", "configuration valid")
        overview = await panel(agent, "overview")
        assert (overview["version"], overview["reachable"], overview["entities"],
                overview["config"]) == ("2024.5.3", True, 10, "valid")
        # The configured entities, then the area's: one by its own area, one by its device.
        rows = await panel(agent, "entities")
        assert [(r["entity_id"], r["state"]) for r in rows] == [
            ("sensor.outside_temperature", "11.5"), ("light.missing", "not found"),
            ("light.living_room", "off"), ("light.reading_lamp", "on")]
        assert rows[0]["unit"] == "°C" and rows[0]["name"] == "Outside Temperature"
        automations = {r["entity_id"]: r for r in await panel(agent, "automations")}
        assert automations["automation.morning_lights"]["last_triggered"].startswith("2024")
    assert {"/api/config", "/api/config/core/check_config"} <= {
        r["path"] for r in ha.requests if r["authorized"]}


async def test_a_state_change_arrives_over_the_websocket(start_ha, ha) -> None:
    async with start_ha(panel_entities=["light.kitchen"]) as agent:
        await live(agent)
        assert await states_by_id(agent) == {"light.kitchen": "off"}
        polls = sum(r["path"] == "/api/states" for r in ha.requests)
        await ha.set_state("light.kitchen", "on")
        await eventually(lambda: _is(agent, "light.kitchen", "on"), timeout=5)
        # Nothing was polled for it (interval is an hour): the event carried it.
        assert sum(r["path"] == "/api/states" for r in ha.requests) == polls


async def _is(agent, entity_id, state, panel_name="entities"):
    return (await states_by_id(agent, panel_name)).get(entity_id) == state


async def test_server_down_mid_cycle_then_back(start_ha, ha) -> None:
    async with Server(ha.app) as server, start_ha(
            url=server.url, panel_entities=["switch.coffee_maker"], interval=0.2,
            schedule=True) as agent:
        await live(agent)
        assert (await check(agent, "api"))[0] == "ok"
        await server.stop()  # Home Assistant goes away: the socket closes, the port refuses
        _, summary = await eventually(lambda: _critical(agent), timeout=5)
        assert summary == (f"connection refused by 127.0.0.1:{server.port}: Home Assistant "
                           f"is not listening there; check the URL's host and port, and that "
                           f"it is running")
        assert (await check(agent, "entities"))[0] == "unknown"
        overview = await panel(agent, "overview")
        assert overview["reachable"] is False and overview["websocket"].startswith("down: ")
        # It comes back, with a change made while the agent could not see it.
        ha.states["switch.coffee_maker"]["state"] = "on"
        await server.start()
        await live(agent)
        assert (await check(agent, "api"))[0] == "ok"
        assert await states_by_id(agent) == {"switch.coffee_maker": "on"}
        await ha.set_state("switch.coffee_maker", "off")
        await eventually(lambda: _is(agent, "switch.coffee_maker", "off"), timeout=5)


async def _critical(agent):
    status, summary = await check(agent, "api")
    return (status, summary) if status == "critical" else None


async def test_rest_polling_keeps_states_fresh_while_the_websocket_is_refused(
        start_ha, ha) -> None:
    ha.strip_upgrade = True  # a proxy in front drops the Upgrade header
    async with start_ha(panel_entities=["light.kitchen"], interval=0.2,
                        schedule=True) as agent:
        status, summary = await eventually(lambda: _websocket_down(agent), timeout=5)
        assert status == "ok"
        assert "refused the WebSocket upgrade (400)" in summary
        assert "must pass the Upgrade and Connection headers" in summary
        assert "polling states every 0.2s meanwhile" in summary
        ha.states["light.kitchen"] = {**ha.states["light.kitchen"], "state": "on"}
        await eventually(lambda: _is(agent, "light.kitchen", "on"), timeout=5)
        # The proxy is fixed: the plugin goes back to live updates.
        ha.strip_upgrade = False
        await live(agent)
        await ha.set_state("light.kitchen", "off")
        await eventually(lambda: _is(agent, "light.kitchen", "off"), timeout=5)


async def _websocket_down(agent):
    status, summary = await check(agent, "api")
    return (status, summary) if "WebSocket down" in summary else None


async def test_without_websocket_everything_comes_from_rest(start_ha, ha) -> None:
    async with start_ha(websocket=False) as agent:
        status, summary = await check(agent, "api")
        assert status == "ok" and "states polled every 3600s (websocket = false)" in summary
        assert (await panel(agent, "overview"))["websocket"] == "off"
    assert not any(r["path"] == "/api/websocket" for r in ha.requests)
