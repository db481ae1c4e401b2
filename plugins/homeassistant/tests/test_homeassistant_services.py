"""Service calls through the real action API: plain ones run, sensitive ones wait for an
admin's approval, and each action refuses the other's calls (the bypasses of issue 14 are in
test_homeassistant_allowlist.py); an entity HA does not have is refused before anything is
sent, and HA's own reason for refusing a call reaches the caller."""

from __future__ import annotations

import pytest
from homeassistant_helpers import live, run, runtime_of

from tests.waiting import eventually


async def test_a_service_call_reaches_home_assistant(start_ha, ha) -> None:
    async with start_ha() as agent:
        status, body = await run(agent, "call_service", domain="light", service="turn_on",
                                 data={"brightness_pct": 40},
                                 target={"entity_id": ["light.living_room",
                                                       "light.reading_lamp"]})
        assert status == 200 and body["status"] == "ok", body
        # HA's REST API takes the target inside the service data.
        assert ha.calls == [{"domain": "light", "service": "turn_on",
                             "data": {"brightness_pct": 40, "entity_id": [
                                 "light.living_room", "light.reading_lamp"]}}]
        result = body["result"]
        assert result["service"] == "light.turn_on"
        assert sorted(c["entity_id"] for c in result["changed"]) == [
            "light.living_room", "light.reading_lamp"]
        assert ha.states["light.living_room"]["state"] == "on"
        _, audit = await agent.get("/api/v1/audit?action=homeassistant.call_service")
        assert [(a["outcome"], a["params"]["domain"]) for a in audit["audit"]] == [
            ("ok", "light")]


async def test_home_assistants_bare_400_becomes_a_clear_error(start_ha, ha) -> None:
    async with start_ha() as agent:
        _, body = await run(agent, "call_service", domain="light", service="turn_of",
                            target={"entity_id": "light.kitchen"})
        assert body["status"] == "error"
        assert "Home Assistant has no service light.turn_of; did you mean " \
               "light.turn_off?" in body["error"]
        _, body = await run(agent, "call_service", domain="light", service="turn_on",
                            data={"colour": "red"}, target={"entity_id": "light.kitchen"})
        assert "refused the data for light.turn_on (400 Bad Request); its fields: " \
               "brightness, brightness_pct, color_name, transition" in body["error"]
        status, body = await run(agent, "call_service", domain="Light!", service="on")
        assert status == 422  # the payload's schema: nothing is sent
    assert ha.calls == []


async def test_a_sensitive_call_waits_for_approval_then_runs(start_ha, ha) -> None:
    async with start_ha() as agent:
        await live(agent)
        status, body = await run(agent, "call_sensitive_service", domain="lock",
                                 service="unlock", target={"entity_id": "lock.front_door"})
        assert status == 202 and body["status"] == "pending_approval", body
        approval = body["approval"]
        assert approval["action"] == "homeassistant.call_sensitive_service"
        assert ha.calls == [] and ha.states["lock.front_door"]["state"] == "locked"
        _, pending = await agent.get("/api/v1/approvals?status=pending")
        assert [a["id"] for a in pending["approvals"]] == [approval["id"]]
        status, body = await agent.post(f"/api/v1/approvals/{approval['id']}/approve")
        assert status == 200 and body["status"] == "ok", body
        assert body["result"]["changed"] == [{"entity_id": "lock.front_door",
                                              "state": "unlocked"}]
        assert ha.calls == [{"domain": "lock", "service": "unlock",
                             "data": {"entity_id": ["lock.front_door"]}}]
        # A denied one never reaches Home Assistant.
        _, body = await run(agent, "call_sensitive_service", domain="cover",
                            service="open_cover", target={"entity_id": "cover.garage_door"})
        await agent.post(f"/api/v1/approvals/{body['approval']['id']}/deny",
                         {"reason": "not now"})
    assert len(ha.calls) == 1 and ha.states["cover.garage_door"]["state"] == "closed"


async def test_a_call_on_an_area_waits_for_approval_then_runs(start_ha, ha) -> None:
    async with start_ha() as agent:
        status, body = await run(agent, "call_sensitive_service", domain="light",
                                 service="turn_on", target={"area_id": "living_room"})
        assert status == 202, body
        assert body["approval"]["plan"]["target"] == {"area_id": ["living_room"]}
        assert ha.received == []
        status, body = await agent.post(
            f"/api/v1/approvals/{body['approval']['id']}/approve")
        assert status == 200 and body["status"] == "ok", body
        assert sorted(c["entity_id"] for c in body["result"]["changed"]) == [
            "light.living_room", "light.reading_lamp"]
    assert ha.calls == [{"domain": "light", "service": "turn_on",
                         "data": {"area_id": ["living_room"]}}]


async def test_the_plain_action_refuses_sensitive_calls(start_ha, ha) -> None:
    async with start_ha(sensitive_domains=["switch"]) as agent:
        refusals = [
            ({"domain": "lock", "service": "unlock",
              "target": {"entity_id": "lock.front_door"}}, "domain",
             "domain lock is always sensitive"),
            ({"domain": "alarm_control_panel", "service": "alarm_disarm",
              "data": {"code": "1234"}}, "domain",
             "domain alarm_control_panel is always sensitive"),
            ({"domain": "switch", "service": "turn_on",
              "target": {"entity_id": "switch.coffee_maker"}}, "domain",
             "domain switch is not on the harmless list"),
            ({"domain": "light", "service": "turn_off",
              "target": {"entity_id": ["light.kitchen", "cover.garage_door"]}},
             "target/entity_id/1", "it names cover.garage_door"),
        ]
        for params, path, reason in refusals:
            status, body = await run(agent, "call_service", **params)
            assert status == 422, body
            [error] = body["errors"]
            assert error["path"] == path
            assert reason in error["message"]
            assert "use homeassistant.call_sensitive_service, which an admin must " \
                   "approve" in error["message"]
            # A write-only code stays out of the answer.
            assert "1234" not in str(body)
    assert ha.received == []


async def test_jarvis_tools_read_states_and_route_calls_through_the_actions(
        start_ha, ha) -> None:
    async with start_ha() as agent:
        tools = agent.agent.tools
        found = await tools["homeassistant.get_states"].run(
            {"entity_ids": ["light.kitchen", "light.nowhere"]})
        assert [s["state"] for s in found["states"]] == ["off"]
        assert found["not_found"] == ["light.nowhere"]
        lights_on = await tools["homeassistant.search_entities"].run(
            {"domain": "light", "state": "on"})
        assert [e["entity_id"] for e in lights_on["entities"]] == ["light.reading_lamp"]
        by_name = await tools["homeassistant.search_entities"].run({"query": "garage door"})
        assert [e["entity_id"] for e in by_name["entities"]] == ["cover.garage_door"]
        # A call through the tool is the action's: approvals apply to Jarvis too.
        pending = await agent.call_tool("homeassistant.call_sensitive_service", {
            "domain": "lock", "service": "unlock", "target": {"entity_id": "lock.front_door"}})
        assert pending["status"] == "pending_approval"
        done = await agent.call_tool("homeassistant.call_service", {
            "domain": "switch", "service": "toggle",
            "target": {"entity_id": "switch.coffee_maker"}})
        assert done["result"]["changed"] == [{"entity_id": "switch.coffee_maker",
                                              "state": "on"}]
        assert [c["domain"] for c in ha.received] == ["switch"]
        _, listed = await agent.get("/api/v1/tools")
        routed = {t["name"]: t["action"] for t in listed["tools"]
                  if t["name"].startswith("homeassistant.call")}
        assert routed == {
            "homeassistant.call_service": "homeassistant.call_service",
            "homeassistant.call_sensitive_service": "homeassistant.call_sensitive_service"}
        _, actions = await agent.get("/api/v1/actions")
        destructive = {a["name"]: a["destructive"] for a in actions["actions"]
                       if a["plugin"] == "homeassistant"}
        assert destructive == {"homeassistant.call_service": False,
                               "homeassistant.call_sensitive_service": True,
                               "homeassistant.check_config": False}


def helpers(ha) -> None:
    ha.add("input_select.house_mode", "home", options=["home", "away", "night"])
    ha.add("input_number.target_temperature", "20.0", min=5, max=30, step=0.5)


async def test_home_assistants_own_reason_for_refusing_a_call_is_shown(start_ha, ha) -> None:
    helpers(ha)
    async with start_ha() as agent:
        _, body = await run(agent, "call_service", domain="input_select",
                            service="select_option", data={"option": "party"},
                            target={"entity_id": "input_select.house_mode"})
        assert body["status"] == "error"
        assert body["error"].endswith("Home Assistant refused input_select.select_option: "
                                      "Invalid option: party (possible options: home, away, "
                                      "night)")
        _, body = await run(agent, "call_service", domain="input_number",
                            service="set_value", data={"value": 45},
                            target={"entity_id": "input_number.target_temperature"})
        assert body["error"].endswith("Home Assistant refused input_number.set_value: Invalid "
                                      "value for input_number.target_temperature: 45 (range "
                                      "5.0 - 30.0)")
        _, body = await run(agent, "call_service", domain="input_number",
                            service="set_value", data={"value": 21.5},
                            target={"entity_id": "input_number.target_temperature"})
        assert body["status"] == "ok"
        assert body["result"]["changed"] == [
            {"entity_id": "input_number.target_temperature", "state": "21.5"}]
        # Older versions answer the same refusal with a bare 500: say so, and where to look.
        ha.legacy_service_errors = True
        _, body = await run(agent, "call_service", domain="input_select",
                            service="select_option", data={"option": "party"},
                            target={"entity_id": "input_select.house_mode"})
        assert "input_select.select_option failed in Home Assistant (500 Internal Server " \
               "Error) and it did not say why" in body["error"]
        assert "HA's log (Settings → System → Logs) names the cause" in body["error"]
        assert "Server got itself in trouble" not in body["error"]


@pytest.mark.parametrize("websocket", [True, False], ids=["live states", "polled states"])
async def test_an_entity_home_assistant_does_not_have_is_refused_at_request_time(
        start_ha, ha, websocket) -> None:
    async with start_ha(websocket=websocket) as agent:
        if websocket:
            await live(agent)
        status, body = await run(agent, "call_service", domain="light", service="turn_on",
                                 target={"entity_id": ["light.kitchen", "light.kichen"]})
        assert status == 422, body
        assert body["errors"] == [{
            "path": "target/entity_id/1",
            "message": "Home Assistant has no entity light.kichen; did you mean "
                       "light.kitchen?; it would take the call and change nothing"}]
        # A sensitive call too, before an approval is filed.
        status, body = await run(agent, "call_sensitive_service", domain="lock",
                                 service="unlock", target={"entity_id": "lock.front_dor"})
        assert status == 422, body
        assert "no entity lock.front_dor; did you mean lock.front_door?" in \
            body["errors"][0]["message"]
        _, approvals = await agent.get("/api/v1/approvals")
        assert approvals["approvals"] == []
        # One that appeared since the states were read is found.
        await ha.appear("light.porch", "off")
        if websocket:
            await eventually(lambda: "light.porch" in runtime_of(agent).cache.states)
        status, body = await run(agent, "call_service", domain="light", service="turn_on",
                                 target={"entity_id": "light.porch"})
        assert status == 200 and body["result"]["changed"] == [
            {"entity_id": "light.porch", "state": "on"}], body
    assert [c["data"] for c in ha.calls] == [{"entity_id": ["light.porch"]}]
