"""The live picture of Home Assistant's entities: one dict of state objects, replaced by a
full fetch (REST `/api/states` or WebSocket `get_states`) and patched by `state_changed`
events. State objects are kept as HA sends them (`entity_id`, `state` (always a string),
`attributes`, `last_changed`, `last_updated`, and in current HA `last_reported` and
`context`), so either shape works. A `listener` hears every change as (old, new), None
standing for an entity that is not (or no longer) there."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

State = dict[str, Any]
MISSING = ("unavailable", "unknown")
# Entities of these domains have no state of their own: their state is the time they were
# last pressed, activated, fired or used, `unknown` until the first time (a new button,
# a scene nobody ran yet). `unknown` is normal there; `unavailable` (the device is gone)
# still counts.
STATELESS = frozenset({"button", "input_button", "scene", "event", "notify", "conversation",
                       "tts", "stt", "wake_word"})
Listener = Callable[[State | None, State | None], None]


def is_missing(state: Mapping[str, Any], ignore: Iterable[str] = ()) -> bool:
    """Whether an entity counts as unavailable or unknown: not an ignored one, and not a
    stateless one that was merely never used."""
    value, entity_id = state.get("state"), str(state.get("entity_id", ""))
    if value not in MISSING:
        return False
    if value == "unknown" and entity_id.split(".", 1)[0] in STATELESS:
        return False
    return not any(fnmatch.fnmatchcase(entity_id, p) for p in ignore)


class StateCache:
    def __init__(self, listener: Listener | None = None) -> None:
        self.states: dict[str, State] = {}
        self.loaded_at: float | None = None
        self.source = ""
        self.changes = 0
        self.listener = listener

    def replace(self, states: Iterable[Mapping[str, Any]], source: str) -> None:
        old, self.states = self.states, {s["entity_id"]: dict(s) for s in states
                                         if isinstance(s, Mapping) and "entity_id" in s}
        self.loaded_at, self.source = time.time(), source
        if self.listener is not None:
            for entity_id in old.keys() | self.states.keys():
                before, after = old.get(entity_id), self.states.get(entity_id)
                if before != after:
                    self.listener(before, after)

    def apply(self, event: Mapping[str, Any]) -> None:
        """One `state_changed` event's data: a None new_state means the entity is gone."""
        entity_id = event.get("entity_id")
        if not isinstance(entity_id, str):
            return
        new = event.get("new_state")
        old = self.states.get(entity_id)
        if new is None:
            self.states.pop(entity_id, None)
        else:
            self.states[entity_id] = dict(new)
        self.changes += 1
        if self.listener is not None:
            self.listener(old, self.states.get(entity_id))

    def get(self, entity_id: str) -> State | None:
        return self.states.get(entity_id)

    def missing(self, ignore: Iterable[str] = ()) -> list[State]:
        """Entities `unavailable` or `unknown` (`is_missing`), except those matching
        `ignore` patterns."""
        patterns = list(ignore)
        return sorted((s for s in self.states.values() if is_missing(s, patterns)),
                      key=lambda s: s["entity_id"])

    def domain(self, domain: str) -> list[State]:
        prefix = f"{domain}."
        return sorted((s for e, s in self.states.items() if e.startswith(prefix)),
                      key=lambda s: s["entity_id"])

    def search(self, query: str = "", domain: str | None = None,
               state: str | None = None) -> list[State]:
        words = query.lower().split()
        found = []
        for entity_id, s in sorted(self.states.items()):
            if domain and not entity_id.startswith(f"{domain}."):
                continue
            if state is not None and s.get("state") != state:
                continue
            text = f"{entity_id} {name_of(s)}".lower()
            if all(w in text for w in words):
                found.append(s)
        return found


def name_of(state: Mapping[str, Any]) -> str:
    return str((state.get("attributes") or {}).get("friendly_name") or state["entity_id"])
