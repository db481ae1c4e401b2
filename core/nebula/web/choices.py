"""Pickers and per-row buttons from one schema annotation (docs/plugins.md, "Choices").

An action's parameter may say where its valid values come from:

    "id": {"type": "string",
           "x-choices": {"panel": "containers", "value": "id", "label": "name"}}
    "name": {"type": "string", "x-choices": {"action": "list_databases", "value": "name"}}

`panel` names a table panel of the same plugin, `action` a read-only action of the same
plugin whose result is a list (of objects, or of plain values when `value` is left out).
The action's form shows a drop-down of those values instead of a text box, and the named
table panel gets a button on each row that runs the action with that row's value, when
the action needs nothing else (every other required parameter has a default) and the
annotation does not say `"row": false` (a drop-down only).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nebula.contributions import Action
from nebula.web.html import e
from nebula.web.values import text

KEY = "x-choices"
TIMEOUT = 5.0  # seconds a listing action may take while a page renders
MAX = 500  # choices a drop-down offers at most

Choice = tuple[Any, str]  # (the value sent, what the option reads)


@dataclass(frozen=True)
class Source:
    param: str
    panel: str | None
    action: str | None
    value: str | None
    label: str | None
    row: bool = True


def sources(action: Action) -> list[Source]:
    props = (action.params or {}).get("properties") or {}
    out = []
    for param, prop in props.items():
        spec = prop.get(KEY) if isinstance(prop, Mapping) else None
        if isinstance(spec, Mapping) and ("panel" in spec or "action" in spec):
            out.append(Source(param, spec.get("panel"), spec.get("action"), spec.get("value"),
                              spec.get("label"), spec.get("row", True) is not False))
    return out


def choices(items: Any, source: Source) -> list[Choice]:
    """The (value, label) pairs a listing gives, in its order, without repeats."""
    out: list[Choice] = []
    seen: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            value = item.get(source.value) if source.value else None
            shown = item.get(source.label) if source.label else None
            label = (f"{text(shown)} ({text(value)})" if shown not in (None, "", value)
                     else text(value))
        else:
            value, label = item, text(item)
        key = json.dumps(value, default=str)
        if value is None or value == "" or key in seen:
            continue
        seen.add(key)
        out.append((value, label))
    return out[:MAX]


async def listing(action: Action) -> Any:
    """A read-only action's answer, run directly: rendering a page is no request of anyone's
    (no run, no audit row), so only actions marked read_only are ever called here."""
    if not action.read_only:
        raise ValueError(f"{action.name} is not read-only, so it is not run to list choices")
    return await asyncio.wait_for(action.run({}), TIMEOUT)


async def resolve(plugin: str, actions: Sequence[Action], all_actions: Mapping[str, Action],
                  panel_data: Mapping[str, Any]) -> dict[str, dict[str, list[Choice] | str]]:
    """action name -> param -> its choices, or why they could not be listed (a string).
    `panel_data` is the data of the plugin's panels by short name, already fetched."""
    out: dict[str, dict[str, list[Choice] | str]] = {}
    cache: dict[str, Any] = {}
    for action in actions:
        for source in sources(action):
            try:
                if source.panel is not None:
                    if source.panel not in panel_data:
                        raise LookupError(f"no panel {plugin}.{source.panel}")
                    items = panel_data[source.panel]
                else:
                    name = f"{plugin}.{source.action}"
                    if name not in cache:
                        if name not in all_actions:
                            raise LookupError(f"no action {name}")
                        cache[name] = await listing(all_actions[name])
                    items = cache[name]
                if isinstance(items, BaseException):
                    raise items
                out.setdefault(action.name, {})[source.param] = choices(items, source)
            except Exception as exc:
                reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc)
                out.setdefault(action.name, {})[source.param] = reason
    return out


def _needs_only(action: Action, param: str) -> bool:
    props = (action.params or {}).get("properties") or {}
    required = set((action.params or {}).get("required") or [])
    return all(k == param or "default" in (props.get(k) or {}) for k in required)


@dataclass(frozen=True)
class RowAction:
    action: Action
    source: Source


def row_actions(panel: str, actions: Sequence[Action]) -> list[RowAction]:
    """The actions a table panel's rows get a button for (`panel` is its short name)."""
    return [RowAction(a, s) for a in actions for s in sources(a)
            if s.panel == panel and s.value and s.row and _needs_only(a, s.param)]


def row_buttons(row: Mapping[str, Any], found: Sequence[RowAction], admin: bool) -> str:
    buttons = []
    for ra in found:
        value = row.get(ra.source.value or "")
        if value is None or value == "":
            continue
        action = ra.action
        what = text(row.get(ra.source.label or "") or value)
        title = action.title or action.name.split(".", 1)[1].replace("_", " ").capitalize()
        # An ellipsis: more follows (an approval) before anything happens.
        shown = f"{title}…" if action.destructive else title
        disabled = "" if admin else " disabled"
        danger = " danger" if action.destructive else ""
        params = json.dumps({ra.source.param: value})
        buttons.append(
            f'<button type="button" class="btn small row-action{danger}"'
            f' data-action="{e(action.name)}" data-params="{e(params)}"'
            f' data-destructive="{"true" if action.destructive else "false"}"'
            f' data-read-only="{"true" if action.read_only else "false"}"'
            f' aria-label="{e(f"{title} {what}")}"{disabled}>{e(shown)}</button>')
    return " ".join(buttons)
