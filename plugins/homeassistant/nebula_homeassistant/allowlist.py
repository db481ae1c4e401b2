"""Which Home Assistant service calls are harmless (`call_service` runs them at once) and
which are sensitive (`call_sensitive_service`, which an admin approves).

The rule is an allow-list: a call is harmless only when its domain is on the list, every
entity id it names anywhere (target, data, nested values, dict keys) is of a domain on the
list, and it names no area, device, floor, label or `all`. Everything else, unknown
domains included, is sensitive. The README's "Which calls are harmless" explains each
choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Services of these domains act only on their own entities and only switch, dim, play or
# show something: nothing opens, unlocks, disarms, installs or runs other actions.
HARMLESS_DOMAINS = frozenset({
    "light", "switch", "fan", "media_player",
    "input_boolean", "input_number", "input_select", "input_text", "input_datetime",
    "notify", "persistent_notification",
})

# Never harmless, whatever the config says (`harmless_domains` cannot name them): physical
# security, services that act on entities of any domain or on the server itself, and
# services whose only effect is whatever they are wired to (run code, press a button, send
# a raw device command, speak an intent).
ALWAYS_SENSITIVE = frozenset({
    # doors, alarms, water and sirens
    "lock", "alarm_control_panel", "cover", "valve", "siren",
    # run other actions, or set states of any domain (scene.apply)
    "scene", "script", "automation", "group", "homeassistant", "conversation",
    # the server, its add-ons and host, firmware, history
    "hassio", "update", "recorder",
    # a press or a raw command does whatever it is wired to
    "button", "input_button", "remote", "mqtt", "zwave_js", "zha",
    "shell_command", "rest_command", "python_script", "pyscript",
    # presence and cameras feed security automations
    "device_tracker", "camera",
})

TARGET_KEYS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")
BROAD_KEYS = TARGET_KEYS[1:]  # any of them may hold a lock
ENTITY_MATCH_ALL, ENTITY_MATCH_NONE = "all", "none"
ENTITY_MATCHES = (ENTITY_MATCH_ALL, ENTITY_MATCH_NONE)
# HA lower-cases entity ids before it matches them (cv.entity_id); integration domains are
# Python package names, so they start with a letter ("1.5" is not an entity id).
ENTITY_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")
# The companion apps treat a notification whose message is `command_*` as a command to
# the phone (launch an app, broadcast an intent, change the ringer): not a message.
PHONE_COMMAND = "command_"


@dataclass(frozen=True)
class Sensitive:
    """Why a call is sensitive: the param path that makes it so, and a sentence."""

    path: str
    reason: str


def allowed_domains(harmless: Iterable[str], sensitive: Iterable[str]) -> frozenset[str]:
    """The built-in list, plus the config's `harmless_domains`, minus its
    `sensitive_domains`; the always-sensitive domains never get in."""
    return (HARMLESS_DOMAINS | frozenset(harmless)) - frozenset(sensitive) - ALWAYS_SENSITIVE


def entity_ids(value: Any) -> list[str]:
    """Entity ids as HA reads them: a comma-separated string or a list, stripped and
    lower-cased (`" COVER.garage"` is `cover.garage`)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return []
    return [s for item in items if isinstance(item, str) and (s := item.strip().lower())]


def _leaves(value: Any) -> Iterator[tuple[str, Any, str | None]]:
    """Every scalar in `value` and every dict key, as (path, value, the key it is under),
    at any depth; iterative, so a deeply nested request cannot exhaust the stack."""
    stack: list[tuple[str, Any, str | None]] = [("", value, None)]
    while stack:
        where, item, under = stack.pop()
        if isinstance(item, Mapping):
            for key, sub in item.items():
                path = f"{where}/{key}".lstrip("/")
                yield path, str(key), None
                stack.append((path, sub, str(key).lower()))
        elif isinstance(item, list):
            stack.extend((f"{where}/{i}", sub, under) for i, sub in enumerate(item))
        else:
            yield where, item, under


def sensitive(call: Mapping[str, Any], allowed: frozenset[str]) -> Sensitive | None:
    """Why `call` ({"domain", "service", "data", "target"}) is sensitive, or None when it
    is harmless."""
    domain = call["domain"]
    if domain not in allowed:
        kind = ("always sensitive" if domain in ALWAYS_SENSITIVE
                else "not on the harmless list")
        return Sensitive("domain", f"domain {domain} is {kind}")
    for path, leaf, under in _leaves({"target": call.get("target") or {},
                                      "data": call.get("data") or {}}):
        if under in BROAD_KEYS and leaf is not None:
            # HA reads a number here as an id too (cv.string).
            return Sensitive(path, f"it targets {under.removesuffix('_id')} {leaf!r}, which "
                                   f"may hold a lock, a cover or an alarm")
        for entity in entity_ids(leaf):
            if under == "entity_id" and entity == ENTITY_MATCH_ALL:
                return Sensitive(path, "entity_id all reaches every entity, locks and "
                                       "covers included")
            if ENTITY_ID.match(entity):
                if entity.split(".", 1)[0] not in allowed:
                    return Sensitive(path, f"it names {entity}, of a domain not on the "
                                           f"harmless list")
            elif under == "entity_id" and entity != ENTITY_MATCH_NONE:
                return Sensitive(path, f"{leaf!r} is not an entity id")
    message = (call.get("data") or {}).get("message")
    if domain == "notify" and isinstance(message, str) and \
            message.strip().lower().startswith(PHONE_COMMAND):
        return Sensitive("data/message", f"{message.strip()!r} is a command to the phone, "
                                         f"not a message")
    return None
