"""The homeassistant plugin in a real agent against the Home Assistant stand-in: health,
live states over the WebSocket, REST fallback, reconnects, the events that keep the
dashboard live, and reachability that follows the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json

from homeassistant_helpers import DAMPED, check, check_state, live, panel, states_by_id

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


# --- the dashboard follows HA live (issue 15, 3b) ------------------------------------------


@contextlib.asynccontextmanager
async def events(agent, topic: str = "homeassistant.*"):
    """The agent's event stream, as the dashboard reads it (`/api/v1/events` WebSocket)."""
    headers = {"Authorization": f"Bearer {agent.token}"}
    async with agent.session.ws_connect(f"{agent.url}/api/v1/events?topic={topic}",
                                        headers=headers) as ws:
        yield ws


async def next_event(ws, topic: str, timeout: float = 5) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        msg = await asyncio.wait_for(ws.receive(), max(left, 0.01))
        event = json.loads(msg.data)
        if event["topic"] == topic:
            return event


async def test_a_state_change_the_panels_show_is_published_for_the_dashboard(
        start_ha, ha) -> None:
    async with start_ha(panel_entities=["light.kitchen"], change_window=1) as agent:
        await live(agent)
        # The states loading on connect is one event, published at the end of its change
        # window: subscribed before that, the stream would start with it.
        await eventually(lambda: _published(agent) == 1, timeout=5)
        published = _published(agent)
        async with events(agent) as ws:
            # A sensor nobody shows ticks; then the shown light changes.
            await ha.set_state("sensor.outside_temperature", "11.7")
            await ha.set_state("light.kitchen", "on")
            event = await next_event(ws, "homeassistant.states_changed")
            assert event["source"] == "homeassistant"  # the plugin's panels refresh on it
            assert event["data"] == {"entities": ["light.kitchen"], "count": 1}
            # A burst is one event per window, naming each entity once.
            for state in ("off", "on", "off", "on", "off"):
                await ha.set_state("light.kitchen", state)
            await ha.set_state("switch.coffee_maker", "unavailable")  # the problems panel
            await ha.set_state("automation.night_lock", "on")         # the automations panel
            burst: list[list[str]] = []
            while {e for ids in burst for e in ids} != {
                    "automation.night_lock", "light.kitchen", "switch.coffee_maker"}:
                burst.append((await next_event(ws, "homeassistant.states_changed")
                              )["data"]["entities"])
            assert len(burst) <= 2, burst  # seven changes, a window or two (a slow machine)
            assert all(len(ids) == len(set(ids)) for ids in burst)
        assert _published(agent) == published + 1 + len(burst)
        assert await states_by_id(agent) == {"light.kitchen": "off"}


def _published(agent) -> int:
    return sum(e["topic"] == "homeassistant.states_changed" for e in agent.agent.bus.recent)


async def test_the_connection_coming_and_going_is_published(start_ha, ha) -> None:
    async with Server(ha.app) as server, start_ha(url=server.url,
                                                  change_window=0.1) as agent:
        await live(agent)
        async with events(agent) as ws:
            await server.stop()
            down = await next_event(ws, "homeassistant.connection")
            assert down["data"]["websocket"] == "down"
            await server.start()
            up = await next_event(ws, "homeassistant.connection")
            assert up["data"] == {"websocket": "live", "error": None}


# --- reconnecting, and reachability following the connection (issue 15, 3b) --------------


async def test_a_down_home_assistant_is_critical_at_the_first_check(start_ha, ha) -> None:
    # The agent's default damping (two agreeing results) and an hour between polls: the
    # check alone has to notice.
    async with Server(ha.app) as server, start_ha(url=server.url,
                                                  agent=DAMPED) as agent:
        await live(agent)
        assert await check_state(agent, "api") == await check_state(agent, "api")
        assert (await check_state(agent, "api"))[0] == "ok"
        await server.stop()
        await eventually(lambda: _websocket_is(agent, "down"), timeout=5)
        status, summary = await check_state(agent, "api")
        assert (status, summary) == ("critical", (
            f"connection refused by 127.0.0.1:{server.port}: Home Assistant is not listening "
            f"there; check the URL's host and port, and that it is running"))
        await server.start()
        await live(agent)
        status, summary = await check_state(agent, "api")
        assert status == "ok" and "states live over the WebSocket" in summary


async def test_the_reachability_check_runs_when_the_connection_drops(start_ha, ha) -> None:
    # Checks scheduled an hour apart: only the connection dropping can run it (an outage
    # shorter than the interval raised nothing).
    async with Server(ha.app) as server, start_ha(url=server.url, agent=DAMPED,
                                                  schedule=True) as agent:
        await live(agent)
        await eventually(lambda: _api_tile(agent, "ok"), timeout=5)
        await server.stop()
        await eventually(lambda: _api_tile(agent, "critical"), timeout=5)
        await server.start()
        await eventually(lambda: _api_tile(agent, "ok"), timeout=10)


async def _api_tile(agent, status):
    _, body = await agent.get("/api/v1/checks")
    tile = next(c for c in body["checks"] if c["name"] == "homeassistant.api")
    return tile["status"] == status


async def _websocket_is(agent, word):
    return (await panel(agent, "overview"))["websocket"].startswith(word)


async def test_home_assistant_back_means_the_websocket_is_back_at_once(start_ha, ha) -> None:
    # A first retry 30 s away: only the poll finding HA again can bring the socket back in
    # time.
    async with Server(ha.app) as server, start_ha(
            url=server.url, ws_min_backoff=30, ws_max_backoff=60, interval=0.1,
            schedule=True, panel_entities=["light.kitchen"]) as agent:
        await live(agent)
        await server.stop()
        await eventually(lambda: _websocket_is(agent, "down"), timeout=5)
        await server.start()
        await eventually(lambda: _websocket_is(agent, "live"), timeout=10)
        await ha.set_state("light.kitchen", "on")
        await eventually(lambda: _is(agent, "light.kitchen", "on"), timeout=5)


async def test_reconnects_are_capped_low_by_default(start_ha) -> None:
    async with start_ha(ws_min_backoff=None, ws_max_backoff=None) as agent:
        config = (await agent.plugin("homeassistant"))["config"]
    assert config["ws_min_backoff"] == 1 and config["ws_max_backoff"] <= 30
