"""The `[plugins.homeassistant]` config schema and the parameter schemas of the actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.schema import timeout, tls_options
from nebula_homeassistant.allowlist import ALWAYS_SENSITIVE, TARGET_KEYS, allowed_domains

NAME = r"^[a-z0-9_]+$"
ENTITY_ID = r"^[a-z0-9_]+\.[a-z0-9_]+$"

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "token"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://[^/]+(/.*)?$",
                "description": "Home Assistant's base URL, as in the browser (e.g. "
                               "https://home.evindrake.net or http://homeassistant.local:8123); "
                               "the plugin adds /api/..."},
        "token": {"type": "string", "minLength": 1,
                  "description": "A long-lived access token (HA profile → Security); use "
                                 "${ENV} or token_file. Checking the config needs an admin "
                                 "user's token."},
        **tls_options("Home Assistant"),
        "timeout": timeout("Seconds for one request to Home Assistant."),
        "interval": {"type": "number", "minimum": 0.1, "default": 60,
                     "description": "Seconds between two polls (version, and all states "
                                    "while the WebSocket is down)."},
        "websocket": {"type": "boolean", "default": True,
                      "description": "Follow state changes live over the WebSocket API; "
                                     "without it every state comes from REST polling."},
        "ws_min_backoff": {"type": "number", "minimum": 0.05, "default": 1,
                           "description": "Seconds before the first WebSocket reconnect; "
                                          "doubles on each failure. A poll that finds Home "
                                          "Assistant answering again reconnects at once."},
        "ws_max_backoff": {"type": "number", "minimum": 0.05, "default": 15,
                           "description": "Longest wait between WebSocket reconnects (a "
                                          "restarted Home Assistant is live again within "
                                          "this)."},
        "change_window": {"type": "number", "minimum": 0.05, "default": 2,
                          "description": "Seconds over which state changes the panels show "
                                         "are gathered into one homeassistant.states_changed "
                                         "event (the first is sent at once), so the "
                                         "dashboard refreshes without an event per sensor "
                                         "tick."},
        "auth_retry": {"type": "number", "minimum": 0, "default": 300,
                       "description": "No longer used: after Home Assistant rejects the "
                                      "token the plugin stops calling it until the config "
                                      "changes (repeated bad logins get the agent's IP "
                                      "banned). Accepted so that older configs load."},
        "check_config_interval": {"type": "number", "minimum": 0, "default": 3600,
                                  "description": "Seconds between two configuration checks "
                                                 "(POST /api/config/core/check_config, "
                                                 "which re-reads every YAML file); 0 turns "
                                                 "the check off."},
        "unavailable_threshold": {"type": "integer", "minimum": 0, "default": 5,
                                  "description": "Warn when more entities than this are "
                                                 "unavailable or unknown."},
        "ignore_entities": {"type": "array", "default": [],
                            "items": {"type": "string", "minLength": 1},
                            "description": "Entity id patterns (fnmatch, e.g. "
                                           "sensor.*_battery) left out of the unavailable "
                                           "count."},
        "panel_entities": {"type": "array", "default": [],
                           "items": {"type": "string", "pattern": ENTITY_ID},
                           "description": "Entities shown on the homeassistant.entities "
                                          "panel."},
        "panel_area": {"type": "string", "minLength": 1,
                       "description": "An area (its id or name) whose entities are shown "
                                      "on the homeassistant.entities panel too; read from "
                                      "HA's registries over the WebSocket (needs websocket "
                                      "= true). One HA does not have fails the start, with "
                                      "the nearest it has."},
        "sensitive_domains": {"type": "array", "default": [],
                              "items": {"type": "string", "pattern": NAME},
                              "description": "Domains taken off the harmless list: their "
                                             "services, and calls naming their entities, "
                                             "need approval (e.g. switch, when a switch "
                                             "opens a gate)."},
        "harmless_domains": {"type": "array", "default": [],
                             "items": {"type": "string", "pattern": NAME,
                                       "not": {"enum": sorted(ALWAYS_SENSITIVE)}},
                             "description": "Domains added to the harmless list, which "
                                            "call_service runs without approval (e.g. "
                                            "climate). The always-sensitive domains (lock, "
                                            "cover, scene, script, homeassistant, ...) "
                                            "cannot be added."},
        "webhook_secret": {"type": "string", "minLength": 16,
                           "description": "Secret HA automations send in the "
                                          "X-Webhook-Secret header to POST events to "
                                          "/plugins/homeassistant/hooks/events (at least 16 "
                                          "characters; use ${ENV} or webhook_secret_file). "
                                          "Without it there is no webhook."},
    },
}

_TARGET_IDS = {"type": ["string", "array"], "items": {"type": "string", "minLength": 1},
               "minLength": 1}


# Keys of `data` that carry a lock's or an alarm's code or a password: write-only, so the
# core masks them wherever the request is shown and keeps them encrypted while an approval
# waits. HA's lock and alarm services call it `code`.
SECRET_DATA_KEYS = ("code", "pin", "password")


def service_params(sensitive: bool) -> dict[str, Any]:
    which = ("a sensitive service (anything off the harmless list: locks, covers, scenes, "
             "scripts, areas, ...); runs only after an admin approves it" if sensitive else
             "a harmless service (light, switch, fan, media_player, input_*, notify, ...) on "
             "entities of harmless domains")
    return {
        "type": "object", "additionalProperties": False, "required": ["domain", "service"],
        "description": f"Call {which}.",
        "properties": {
            "domain": {"type": "string", "pattern": NAME, "title": "Domain",
                       "description": "The integration, e.g. light, switch, lock."},
            "service": {"type": "string", "pattern": NAME, "title": "Service",
                        "description": "e.g. turn_on, toggle, unlock."},
            "data": {"type": "object", "title": "Data", "default": {},
                     "description": "Service data, e.g. {\"brightness_pct\": 40}.",
                     "properties": {key: {"type": ["string", "number"], "writeOnly": True,
                                          "description": "A code or password: masked "
                                                         "wherever the call is shown."}
                                    for key in SECRET_DATA_KEYS}},
            "target": {"type": "object", "title": "Target", "additionalProperties": False,
                       "description": "Which entities, devices, areas, floors or labels.",
                       "properties": {k: _TARGET_IDS for k in TARGET_KEYS}},
        },
    }


ENTITY_IDS_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["entity_ids"],
    "properties": {"entity_ids": {"type": "array", "minItems": 1, "maxItems": 50,
                                  "items": {"type": "string", "pattern": ENTITY_ID},
                                  "description": "Entity ids, e.g. light.living_room."}},
}
SEARCH_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "query": {"type": "string", "description": "Words found in the entity id or the "
                                                  "friendly name (case-insensitive)."},
        "domain": {"type": "string", "pattern": NAME, "description": "Only this domain."},
        "state": {"type": "string", "description": "Only entities in this state."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 25},
    },
}


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A CA bundle that cannot be used, or one set with verification off (the plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`)."""
    from nebula.helpers.net import tls_problems  # aiohttp: not while reading the manifest

    return tls_problems(config)


def harmless_domains(config: Mapping[str, Any]) -> frozenset[str]:
    """The domains call_service may call (and whose entities it may name)."""
    return allowed_domains(config["harmless_domains"], config["sensitive_domains"])
