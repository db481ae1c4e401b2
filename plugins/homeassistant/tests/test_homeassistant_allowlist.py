"""call_service runs only harmless calls (issue 14): a domain on the allow-list, every
entity id anywhere in target and data (any case, nested, dict keys) of an allowed domain,
and no area, device, floor, label or `all`. Anything else is refused at request time with
a 422 naming call_sensitive_service, through the action API, the tool endpoint and a
Jarvis conversation alike, and Home Assistant receives nothing. call_sensitive_service
refuses harmless calls the same way, before any approval is filed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant_helpers import run
from homeassistant_server import HomeAssistant

from tests.jarvis.conftest import ask
from tests.jarvis.openai_server import text, tool_calls


def call(domain: str, service: str, **params: Any) -> dict[str, Any]:
    return {"domain": domain, "service": service, **params}


# Each of them ran with no approval before the allow-list, as call_service; the comment
# says what it does to a real Home Assistant.
BYPASSES: dict[str, tuple[dict[str, Any], str]] = {
    # HA lower-cases entity ids: this opens cover.garage_door.
    "upper-case cover id": (
        call("homeassistant", "turn_on", target={"entity_id": "COVER.Garage_Door"}),
        "domain homeassistant is always sensitive"),
    "upper-case cover id, harmless domain": (
        call("switch", "turn_on", target={"entity_id": ["switch.coffee_maker",
                                                        "COVER.Garage_Door"]}),
        "it names cover.garage_door"),
    # Every entity: covers open, sirens sound.
    "entity_id ALL": (
        call("homeassistant", "turn_on", target={"entity_id": "ALL"}),
        "domain homeassistant is always sensitive"),
    "entity_id ALL, harmless domain": (
        call("light", "turn_off", data={"entity_id": " ALL "}),
        "entity_id all reaches every entity"),
    # Unlocks the lock and disarms the alarm.
    "scene.apply": (
        call("scene", "apply", data={"entities": {"lock.front_door": "unlocked",
                                                  "alarm_control_panel.house": "disarmed"}}),
        "domain scene is always sensitive"),
    "entity id as a nested dict key": (
        call("light", "turn_on", data={"profile": [{"entities": {"LOCK.front_door": "x"}}]}),
        "it names lock.front_door"),
    # A group holds whatever it was given: here the garage door.
    "group target": (
        call("homeassistant", "turn_on", target={"entity_id": "group.garage"}),
        "domain homeassistant is always sensitive"),
    "group target, harmless domain": (
        call("light", "turn_on", target={"entity_id": "group.garage"}),
        "it names group.garage"),
    "homeassistant.stop": (call("homeassistant", "stop"),
                           "domain homeassistant is always sensitive"),
    "homeassistant.restart": (call("homeassistant", "restart"),
                              "domain homeassistant is always sensitive"),
    "hassio.host_shutdown": (call("hassio", "host_shutdown"),
                             "domain hassio is always sensitive"),
    "valve": (call("valve", "open_valve", target={"entity_id": "valve.main_water"}),
              "domain valve is always sensitive"),
    "siren": (call("siren", "turn_on", target={"entity_id": "siren.hallway"}),
              "domain siren is always sensitive"),
    "update.install": (call("update", "install",
                            target={"entity_id": "update.router_firmware"}),
                       "domain update is always sensitive"),
    # An area, device, floor or label may hold a lock or a cover.
    "area target": (call("light", "turn_on", target={"area_id": "garage"}),
                    "it targets area 'garage'"),
    "device in data": (call("switch", "turn_off", data={"device_id": "hue_bridge_lamp"}),
                       "it targets device 'hue_bridge_lamp'"),
    "label target": (call("light", "turn_off", target={"label_id": ["outside"]}),
                     "it targets label 'outside'"),
    # Not on the list: unknown to the allow-list is sensitive.
    "unlisted domain": (call("climate", "set_temperature",
                             data={"temperature": 30, "entity_id": "climate.hall"}),
                        "domain climate is not on the harmless list"),
    # The companion app runs `command_*` messages as commands on the phone.
    "phone command": (call("notify", "notify", data={"message": "command_launch_app"}),
                      "is a command to the phone"),
}
SENSITIVE_HINT = "use homeassistant.call_sensitive_service, which an admin must approve"


def more_house(ha: HomeAssistant) -> None:
    ha.add("valve.main_water", "closed")
    ha.add("siren.hallway", "off")
    ha.add("update.router_firmware", "on")
    ha.add("group.garage", "closed")
    ha.add("climate.hall", "heat")


def refused(status: int, body: Any, reason: str, hint: str = SENSITIVE_HINT) -> bool:
    return status == 422 and any(reason in e["message"] and hint in e["message"]
                                 for e in body.get("errors", []))


async def test_sensitive_calls_are_refused_at_request_time_and_never_reach_ha(
        start_ha, ha) -> None:
    more_house(ha)
    async with start_ha() as agent:
        wrong = {}
        for name, (params, reason) in BYPASSES.items():
            status, body = await run(agent, "call_service", **params)
            if not refused(status, body, reason):
                wrong[f"action {name}"] = (status, body)
            # The tool Jarvis calls, through the tool endpoint.
            status, body = await agent.post("/api/v1/tools/homeassistant.call_service/run",
                                            params)
            if not refused(status, body, reason):
                wrong[f"tool {name}"] = (status, body)
        assert wrong == {}
        _, approvals = await agent.get("/api/v1/approvals")
        assert approvals["approvals"] == []
    assert ha.received == []
    assert ha.states["lock.front_door"]["state"] == "locked"
    assert ha.states["cover.garage_door"]["state"] == "closed"


async def test_a_jarvis_conversation_cannot_run_a_sensitive_call(
        start_ha_jarvis, ha, model) -> None:
    more_house(ha)
    names = list(BYPASSES)
    model.add(tool_calls(*[("homeassistant__call_service", BYPASSES[n][0]) for n in names]),
              text("None of those ran."))
    async with start_ha_jarvis() as agent:
        _, conversation = await ask(agent, "open the garage, unlock the door, restart HA")
        assert conversation["state"] == "idle", conversation
        assert conversation["messages"][-1]["content"] == "None of those ran."
    results = [json.loads(m["content"]) for m in model.requests[1]["messages"]
               if m["role"] == "tool"]
    assert len(results) == len(names)
    wrong = {name: result for name, result in zip(names, results, strict=True)
             if result["status"] != "invalid" or not any(
                 BYPASSES[name][1] in e and SENSITIVE_HINT in e for e in result["errors"])}
    assert wrong == {}
    assert ha.received == []


@pytest.mark.parametrize("params", [
    call("light", "turn_on", target={"entity_id": "light.kitchen"}),
    call("switch", "toggle", data={"entity_id": "SWITCH.Coffee_Maker"}),
    call("notify", "notify", data={"message": "The laundry is done."}),
], ids=["light", "switch in data", "notify"])
async def test_the_approval_action_refuses_a_harmless_call_before_filing(
        start_ha, ha, params) -> None:
    async with start_ha() as agent:
        status, body = await run(agent, "call_sensitive_service", **params)
        assert refused(status, body, "is a harmless call",
                       "use homeassistant.call_service; no approval is needed"), body
        status, body = await agent.post(
            "/api/v1/tools/homeassistant.call_sensitive_service/run", params)
        assert status == 422, body
        _, approvals = await agent.get("/api/v1/approvals")
        assert approvals["approvals"] == []
        _, audit = await agent.get("/api/v1/audit?outcome=pending_approval")
        assert audit["audit"] == []
    assert ha.received == []


async def test_a_harmless_call_runs_on_the_lower_cased_ids(start_ha, ha) -> None:
    async with start_ha() as agent:
        status, body = await run(agent, "call_service", domain="light", service="turn_on",
                                 data={"brightness_pct": 40},
                                 target={"entity_id": "Light.Kitchen, light.living_room"})
        assert status == 200 and body["status"] == "ok", body
        assert body["result"] == {
            "service": "light.turn_on",
            "target": {"entity_id": ["light.kitchen", "light.living_room"]},
            "changed": [{"entity_id": "light.kitchen", "state": "on"},
                        {"entity_id": "light.living_room", "state": "on"}]}
    assert ha.calls == [{"domain": "light", "service": "turn_on", "data": {
        "brightness_pct": 40, "entity_id": ["light.kitchen", "light.living_room"]}}]


async def test_config_narrows_and_widens_the_list_but_not_past_the_sensitive_ones(
        start_ha, ha) -> None:
    more_house(ha)
    async with start_ha(sensitive_domains=["switch"], harmless_domains=["climate"]) as agent:
        status, body = await run(agent, "call_service", domain="switch", service="toggle",
                                 target={"entity_id": "switch.coffee_maker"})
        assert refused(status, body, "domain switch is not on the harmless list"), body
        status, body = await run(agent, "call_service", domain="light", service="turn_on",
                                 target={"entity_id": ["light.kitchen",
                                                       "switch.coffee_maker"]})
        assert refused(status, body, "it names switch.coffee_maker"), body
        # climate is harmless here: refused by HA's stand-in (no such service), not by us.
        status, body = await run(agent, "call_service", domain="climate",
                                 service="set_temperature",
                                 target={"entity_id": "climate.hall"})
        # (A run that failed: its HTTP status is the core's to choose.)
        assert body["status"] == "error" and "no service domain 'climate'" in body["error"], \
            body
    assert [c["domain"] for c in ha.received] == ["climate"]
    # An always-sensitive domain cannot be declared harmless: the config is refused.
    async with start_ha(harmless_domains=["climate", "lock"]) as agent:
        state = await agent.plugin("homeassistant")
    assert state["state"] == "failed"
    assert "harmless_domains.1: 'lock' should not be valid" in state["error"]


LOCK_CODE = "7391-Q"  # HA takes a lock's code as a string; distinctive, to search for


def nowhere_but_ha(agent: Any, *answers: Any) -> list[str]:
    """Where the lock code shows: API answers, the audit log, the events."""
    shown = {f"answer {i}": a for i, a in enumerate(answers)}
    shown["events"] = list(agent.agent.bus.recent)
    return [where for where, value in shown.items() if LOCK_CODE in json.dumps(value)]


async def test_a_lock_code_is_masked_wherever_the_call_is_shown(start_ha, ha,
                                                                tmp_path) -> None:
    async with start_ha() as agent:
        _, viewer = await agent.post("/api/v1/tokens", {"name": "ro", "role": "viewer"})
        status, requested = await run(agent, "call_sensitive_service", domain="lock",
                                      service="unlock", data={"code": LOCK_CODE},
                                      target={"entity_id": "LOCK.Front_Door"})
        assert status == 202, requested
        approval_id = requested["approval"]["id"]
        _, listed = await agent.get("/api/v1/approvals", token=viewer["token"])
        _, one = await agent.get(f"/api/v1/approvals/{approval_id}", token=viewer["token"])
        # The approver sees the call as HA will act on it, the code masked.
        assert one["plan"] == {"domain": "lock", "service": "unlock", "data": {"code": "***"},
                               "target": {"entity_id": ["lock.front_door"]}}
        assert ha.received == []
        status, approved = await agent.post(f"/api/v1/approvals/{approval_id}/approve")
        assert status == 200 and approved["status"] == "ok", approved
        assert approved["result"] == {
            "service": "lock.unlock", "target": {"entity_id": ["lock.front_door"]},
            "changed": [{"entity_id": "lock.front_door", "state": "unlocked"}]}
        _, audit = await agent.get("/api/v1/audit", token=viewer["token"])
        _, after = await agent.get(f"/api/v1/approvals/{approval_id}", token=viewer["token"])
        assert nowhere_but_ha(agent, requested, listed, one, approved, audit, after) == []
    # Home Assistant got the code it needs to unlock.
    assert ha.calls == [{"domain": "lock", "service": "unlock",
                         "data": {"code": LOCK_CODE, "entity_id": ["lock.front_door"]}}]
    # And the database holds it only sealed.
    stored = [p for p in (tmp_path / "data").rglob("*")
              if p.is_file() and LOCK_CODE.encode() in p.read_bytes()]
    assert stored == []


async def test_a_lock_code_jarvis_passes_is_masked_too(start_ha_jarvis, ha, model) -> None:
    model.add(tool_calls(("homeassistant__call_sensitive_service", {
        "domain": "lock", "service": "unlock", "data": {"code": LOCK_CODE},
        "target": {"entity_id": "lock.front_door"}})), text("It is unlocked."))
    async with start_ha_jarvis() as agent:
        _, conversation = await ask(agent, "unlock the front door")
        assert conversation["state"] == "waiting_approval", conversation
        _, audit = await agent.get("/api/v1/audit")
        _, approvals = await agent.get("/api/v1/approvals")
        assert nowhere_but_ha(agent, audit, approvals, conversation) == []


async def test_run_checks_the_call_again_without_prepare(start_ha, ha) -> None:
    """Defence in depth: whoever reaches `run` with a raw request (not the runner's plan)
    is held to the allow-list as well."""
    from nebula.api import ParamError

    async with start_ha() as agent:
        actions = agent.agent.actions.actions
        with pytest.raises(ParamError, match=r"use homeassistant\.call_sensitive_service"):
            await actions["homeassistant.call_service"].run(
                call("homeassistant", "turn_on", target={"entity_id": "COVER.Garage_Door"}))
        with pytest.raises(ParamError, match=r"use homeassistant\.call_service;"):
            await actions["homeassistant.call_sensitive_service"].run(
                call("light", "turn_on", target={"entity_id": "light.kitchen"}))
    assert ha.received == []
