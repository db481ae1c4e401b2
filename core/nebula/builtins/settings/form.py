"""A plugin's settings as a form: its JSON Schema's top-level keys drawn as inputs, and
what a browser posts back read into values of the schema's types.

Only keys the admin changed are written, so a value the file takes from the environment
(`"${PG_PASSWORD}"`) or a `*_file` stays as written unless replaced. A secret (writeOnly)
is never shown: its input starts empty and an empty one leaves the value as it is; a new
one is written sealed with the agent's key (`${sealed:…}`), not in clear. Keys whose value
holds a secret deeper down (an array of channels with webhook URLs) are left to the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.web.html import e, schema_input

# Form field names the form itself uses; a plugin key of the same name is drawn as usual.
CSRF, PLUGIN = "csrf", "plugin"


def _holds_secret(prop: Mapping[str, Any]) -> bool:
    items = prop.get("items")
    return bool(prop.get("writeOnly")) or any(
        _holds_secret(p) for p in (prop.get("properties") or {}).values()) or (
        isinstance(items, Mapping) and _holds_secret(items))


def _nested_secret(prop: Mapping[str, Any]) -> bool:
    """Whether a secret hides inside an array or table value (not a secret string)."""
    return prop.get("type") in ("array", "object") and _holds_secret(prop)


@dataclass
class Submitted:
    """What a posted form changes: keys to set, keys to drop back to their default, and
    what could not be read (key -> message), with the text as typed so nothing is lost."""

    changes: dict[str, Any] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)


def editable(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {key: prop for key, prop in (schema.get("properties") or {}).items()
            if key != "enabled" and not _nested_secret(prop)}


def left_to_file(schema: Mapping[str, Any]) -> list[str]:
    return [key for key, prop in (schema.get("properties") or {}).items()
            if _nested_secret(prop)]


def fields(plugin: str, schema: Mapping[str, Any], current: Mapping[str, Any],
           typed: Mapping[str, str], errors: Mapping[str, str]) -> str:
    """The inputs, each showing the file's value (a secret: only whether one is set)."""
    required = set(schema.get("required", []))
    out = []
    for key, prop in editable(schema).items():
        shown = dict(prop)
        if prop.get("writeOnly"):
            shown["default"] = None
            state = "set; leave empty to keep it" if key in current else "not set"
            shown["description"] = f"{prop.get('description', '')} (secret: {state})".strip()
        elif key in typed:
            shown["default"] = typed[key]
        elif key in current:
            shown["default"] = current[key]
        html = schema_input(f"settings-{plugin}", key, shown, key in required and
                            not prop.get("writeOnly"))
        if key in errors:
            html += f'<p class="error" role="alert">{e(errors[key])}</p>'
        out.append(f'<div class="field">{html}</div>')
    return "".join(out)


def _read(prop: Mapping[str, Any], text: str) -> Any:
    kind = prop.get("type")
    if "enum" in prop:
        value = json.loads(text)
        if value not in prop["enum"]:
            raise ValueError("pick one of the listed choices")
        return value
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    if kind == "string":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from None


def submitted(schema: Mapping[str, Any], current: Mapping[str, Any],
              form: Mapping[str, str], seal: Any) -> Submitted:
    """Read a posted form against the schema; `seal(text)` encrypts a new secret."""
    out = Submitted()
    required = set(schema.get("required", []))
    for key, prop in editable(schema).items():
        if prop.get("type") == "boolean":
            value: Any = key in form
            if value != current.get(key, prop.get("default", False)):
                out.changes[key] = value
            continue
        text = form.get(key, "")
        if prop.get("writeOnly"):
            if text:
                out.changes[key] = "${sealed:" + seal(text) + "}"
            continue
        out.typed[key] = text
        if not text.strip() and key not in required:
            # An emptied input gives the key back to its default.
            if key in current:
                out.removed.append(key)
            continue
        try:
            value = _read(prop, text)
        except ValueError as exc:
            out.errors[key] = str(exc)
            continue
        if value != current.get(key):
            out.changes[key] = value
    return out
