"""Panel rows and the fields that declare them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nebula.api import Field
from nebula_homeassistant.states import State, StateCache, name_of

if TYPE_CHECKING:  # the coordinator imports this module (through feed.py)
    from nebula_homeassistant.coordinator import ConfigCheck, Snapshot
    from nebula_homeassistant.live import Live

OVERVIEW_FIELDS = (
    Field("url", "URL"), Field("version", "Version", "", "Home Assistant's version."),
    Field("location", "Location", "", "The instance's location name."),
    Field("reachable", "Reachable"), Field("error", "Error", "", "Why the last poll failed."),
    Field("mode", "Mode", "", "running, or recovery mode / safe mode."),
    Field("user", "Token's user", "", "Whose token, and whether an administrator."),
    Field("response_ms", "Response", "ms", "Time of the last /api/config request."),
    Field("websocket", "WebSocket", "", "live, down (with why) or off."),
    Field("entities", "Entities"),
    Field("unavailable", "Unavailable/unknown", "", "Entities unavailable or unknown."),
    Field("automations_failed", "Automations failed", "", "Automation entities "
                                                          "unavailable: their config is "
                                                          "invalid."),
    Field("config", "Config check", "", "valid or invalid, from check_config."),
)
ENTITY_FIELDS = (
    Field("entity_id", "Entity"), Field("name", "Name", "", "The friendly name."),
    Field("state", "State"), Field("unit", "Unit", "", "unit_of_measurement."),
    Field("last_changed", "Last changed", "", "When the state last changed (ISO 8601)."),
)
AUTOMATION_FIELDS = (
    Field("entity_id", "Automation"), Field("name", "Name"),
    Field("state", "State", "", "on, off, or unavailable when it failed to load."),
    Field("last_triggered", "Last triggered", "", "ISO 8601."),
)
WEBHOOK_FIELDS = (
    Field("t", "Received", "s", "Epoch seconds."),
    Field("data", "Body", "", "The JSON body Home Assistant sent."),
)


def overview(url: str, snapshot: Snapshot, live: Live | None, cache: StateCache,
             ignore: Iterable[str], check: ConfigCheck | None,
             user: Mapping[str, Any] | None) -> dict[str, Any]:
    if live is None:
        websocket = "off"
    elif live.connected:
        websocket = "live"
    else:
        websocket = f"down: {live.error}" if live.error else "connecting"
    config = None
    if check is not None:
        config = check.result if check.error is None else f"not checked: {check.error}"
    who = None
    if user is not None:
        who = f"{user.get('name') or '?'} ({'admin' if user.get('is_admin') else 'not admin'})"
    return {"url": url, "version": snapshot.version, "location": snapshot.location,
            "reachable": snapshot.reachable,
            "error": str(snapshot.error) if snapshot.error else None,
            "mode": snapshot.mode, "user": who,
            "response_ms": round(snapshot.response_ms, 1) if snapshot.response_ms else None,
            "websocket": websocket, "entities": len(cache.states),
            "unavailable": len(cache.missing(ignore)),
            "automations_failed": sum(s.get("state") == "unavailable"
                                      for s in cache.domain("automation")),
            "config": config}


def entity(state: Mapping[str, Any]) -> dict[str, Any]:
    attrs = state.get("attributes") or {}
    return {"entity_id": state["entity_id"], "name": name_of(state),
            "state": state.get("state"), "unit": attrs.get("unit_of_measurement", ""),
            "last_changed": state.get("last_changed")}


def selected(cache: StateCache, entity_ids: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for entity_id in dict.fromkeys(entity_ids):
        state = cache.get(entity_id)
        rows.append(entity(state) if state else
                    {"entity_id": entity_id, "name": entity_id, "state": "not found",
                     "unit": "", "last_changed": None})
    return rows


def automation(state: State) -> dict[str, Any]:
    attrs = state.get("attributes") or {}
    return {"entity_id": state["entity_id"], "name": name_of(state),
            "state": state.get("state"), "last_triggered": attrs.get("last_triggered")}
