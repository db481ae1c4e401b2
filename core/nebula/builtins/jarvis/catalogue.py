"""The tools plugins contribute, as the model sees them: `<plugin>.<name>` is offered as
the function `<plugin>__<name>` with a compact schema. Running them is the core's tool
runner (nebula.tools): approvals and the audit log apply as for any caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from nebula.contributions import Tool
from nebula.secrets import SECRETS
from nebula.tools import ToolRunner, function_name

# Schema keywords the model can do without: constraints the runner checks anyway (it
# validates each call against the full schema and tells the model what was wrong), and
# defaults an omitted key takes anyway. The catalogue is paid for on every model call.
VALIDATION_ONLY = frozenset({"title", "pattern", "minLength", "maxLength", "minItems",
                             "maxItems", "$schema", "$id", "examples", "format", "default"})
SUB_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def compact_schema(schema: Any, top: bool = True) -> Any:
    """`schema` as the model needs it: types, properties, required, enums, bounds and
    descriptions, without the constraints the runner checks anyway."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in VALIDATION_ONLY or (key == "additionalProperties" and value is False):
            continue
        if top and key == "description":  # the tool's own description says it
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: compact_schema(sub, False) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = compact_schema(value, False)
        elif key in SUB_SCHEMA_LISTS and isinstance(value, list):
            out[key] = [compact_schema(sub, False) for sub in value]
        else:
            out[key] = value
    return out


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [truncated {len(text) - limit} of {len(text)} characters]"


class Catalogue(ToolRunner):
    """The core's tool runner, plus the `tools` list a chat-completions request carries."""

    def description(self, tool: Tool) -> str:
        """The tool's description, saying so when a call waits for an admin."""
        if self.destructive(tool) and "approv" not in tool.description:
            return tool.description + " (needs an admin's approval)"
        return tool.description

    def function(self, tool: Tool) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": function_name(tool.name), "description": self.description(tool),
            "parameters": compact_schema(self.params(tool))}}

    def functions(self, tools: Iterable[Tool] | None = None) -> list[dict[str, Any]]:
        """The request's `tools`: every tool's, or those of `tools`."""
        return [self.function(tool) for tool in (self.tools() if tools is None else tools)]


def result_text(outcome: Mapping[str, Any], limit: int) -> str:
    """A tool outcome as the model reads it: compact JSON, secrets masked, size-bounded."""
    body = {k: v for k, v in outcome.items() if k != "duration_ms"}
    return truncate(json.dumps(SECRETS.redact(body), default=str, separators=(",", ":")),
                    limit)
