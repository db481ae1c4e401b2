"""The tools plugins contribute, as the model sees them and as the agent runs them.

A tool named `<plugin>.<name>` is offered to the model as the function `<plugin>__<name>`
(function names must match ^[a-zA-Z0-9_-]+$). A read-only tool runs directly under a
timeout; an action-backed tool goes through the action runner, so a destructive one comes
back `pending_approval` whoever asked. Every call, either kind, lands in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nebula import write_only
from nebula.actions import (
    ActionNotFound,
    ActionUnavailable,
    InvalidParams,
    timed_outcome,
    validate_params,
)
from nebula.contributions import Tool
from nebula.secrets import SECRETS

if TYPE_CHECKING:
    from nebula.agent import Agent

SEPARATOR = "__"
DEFAULT_PARAMS = {"type": "object"}
# Schema keywords the model can do without: constraints the runner checks anyway (it
# validates each call against the full schema and tells the model what was wrong), and
# defaults an omitted key takes anyway. The catalogue is paid for on every model call.
VALIDATION_ONLY = frozenset({"title", "pattern", "minLength", "maxLength", "minItems",
                             "maxItems", "$schema", "$id", "examples", "format", "default"})
SUB_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


class ToolNotFound(KeyError):
    pass


def function_name(tool_name: str) -> str:
    return tool_name.replace(".", SEPARATOR, 1)


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


class Catalogue:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    def tools(self) -> list[Tool]:
        return sorted(self._agent.tools.values(), key=lambda t: t.name)

    def resolve(self, name: str) -> Tool:
        """A tool by its address (`docker.list_containers`) or its function name."""
        tools = self._agent.tools
        tool = tools.get(name) or tools.get(name.replace(SEPARATOR, ".", 1))
        if tool is None:
            raise ToolNotFound(name)
        return tool

    def params(self, tool: Tool) -> Mapping[str, Any]:
        """The schema the model fills in: the tool's own, or, for a tool that only names
        an action, that action's (the one the runner validates against)."""
        if tool.action and dict(tool.params) == DEFAULT_PARAMS:
            action = self._agent.actions.actions.get(tool.action)
            if action is not None:
                return action.params
        return tool.params

    def shown_arguments(self, name: str, arguments: Any) -> Any:
        """A tool call's arguments as events and the stored conversation keep them:
        write-only values (a lock's code) masked. A JSON string stays a string."""
        try:
            tool = self.resolve(name)
        except ToolNotFound:
            return arguments
        if isinstance(arguments, str):
            try:
                parsed = json.loads(arguments or "{}")
            except json.JSONDecodeError:
                return arguments
            return json.dumps(write_only.mask(self.params(tool), parsed))
        return write_only.mask(self.params(tool), arguments)

    def destructive(self, tool: Tool) -> bool:
        action = self._agent.actions.actions.get(tool.action or "")
        return bool(action and action.destructive)

    def functions(self) -> list[dict[str, Any]]:
        """The `tools` list of a chat-completions request."""
        out = []
        for tool in self.tools():
            description = tool.description
            if self.destructive(tool) and "approv" not in description:
                description += " (needs an admin's approval)"
            out.append({"type": "function", "function": {
                "name": function_name(tool.name), "description": description,
                "parameters": compact_schema(self.params(tool))}})
        return out

    async def run(self, tool: Tool, params: Any, actor: str, timeout: float) -> dict[str, Any]:
        """Run one call. The outcome is {"status": "ok", "result"}, {"status": "error",
        "error"}, {"status": "invalid", "errors"} or {"status": "pending_approval",
        "approval"}; never an exception for a bad call."""
        if not isinstance(params, Mapping):
            return await self._invalid(tool, {}, actor, ["arguments must be a JSON object"])
        if tool.action:
            try:
                return await self._agent.actions.request(tool.action, params, actor)
            except InvalidParams as exc:
                return await self._invalid(tool, params, actor,
                                           [f"{p.path}: {p.message}" for p in exc.problems])
            except ActionNotFound:
                return await self._invalid(tool, params, actor,
                                           [f"action {tool.action} is not available"])
            except ActionUnavailable as exc:
                return {"status": "error", "error": str(exc)}
        if problems := validate_params(tool, params):
            return await self._invalid(tool, params, actor,
                                       [f"{p.path}: {p.message}" for p in problems])
        run = tool.run
        assert run is not None
        outcome = await timed_outcome(lambda: run(params), timeout)
        await self._audit(actor, tool.name, params, outcome["status"], outcome["duration_ms"],
                          outcome.get("error", ""))
        return outcome

    async def _invalid(self, tool: Tool, params: Mapping[str, Any], actor: str,
                       errors: list[str]) -> dict[str, Any]:
        errors = SECRETS.redact(errors)
        await self._audit(actor, tool.action or tool.name, params, "invalid",
                          None, "; ".join(errors))
        return {"status": "invalid", "errors": errors}

    async def _audit(self, actor: str, name: str, params: Mapping[str, Any], outcome: str,
                     duration_ms: float | None, detail: str) -> None:
        # One audit format for every caller: the runner's own writer, not a copy of it.
        tool = self._agent.tools.get(name)
        shown = write_only.mask(tool.params, params) if tool else params
        await self._agent.actions.audit(actor, name, shown, outcome, duration_ms, None,
                                         detail)


def result_text(outcome: Mapping[str, Any], limit: int) -> str:
    """A tool outcome as the model reads it: compact JSON, secrets masked, size-bounded."""
    body = {k: v for k, v in outcome.items() if k != "duration_ms"}
    return truncate(json.dumps(SECRETS.redact(body), default=str, separators=(",", ":")),
                    limit)
