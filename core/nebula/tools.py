"""Running the tools plugins contribute, for whoever calls them: a person through
`POST /api/v1/tools/{name}/run`, or a model through Jarvis.

A read-only tool runs directly under a timeout; an action-backed tool goes through the
action runner, so a destructive one comes back `pending_approval` whoever asked. Every
call, either kind, valid or not, lands in the audit log. A tool is addressed as
`<plugin>.<name>`, or by the function name a model sees, `<plugin>__<name>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nebula import write_only
from nebula.actions import (
    ActionNotFound,
    ActionRunner,
    ActionUnavailable,
    InvalidParams,
    timed_outcome,
    validate_params,
)
from nebula.contributions import Tool
from nebula.errors import NebulaError
from nebula.roles import CALLER
from nebula.secrets import SECRETS

SEPARATOR = "__"
DEFAULT_PARAMS = {"type": "object"}
# Seconds a read-only tool may take when its caller sets no limit of its own.
TOOL_TIMEOUT = 30.0


class ToolNotFound(NebulaError, KeyError):
    pass


def function_name(tool_name: str) -> str:
    """`docker.logs` as a model's function name: `docker__logs` (^[a-zA-Z0-9_-]+$)."""
    return tool_name.replace(".", SEPARATOR, 1)


class ToolRunner:
    def __init__(self, actions: ActionRunner, tools: Mapping[str, Tool]) -> None:
        self._actions = actions
        self._tools = tools

    def tools(self) -> list[Tool]:
        return sorted(self._tools.values(), key=lambda t: t.name)

    def resolve(self, name: str) -> Tool:
        """A tool by its address (`docker.list_containers`) or its function name."""
        tool = self._tools.get(name) or self._tools.get(name.replace(SEPARATOR, ".", 1))
        if tool is None:
            raise ToolNotFound(name)
        return tool

    def params(self, tool: Tool) -> Mapping[str, Any]:
        """The schema a caller fills in: the tool's own, or, for a tool that only names an
        action, that action's (the one the runner validates against)."""
        if tool.action and dict(tool.params) == DEFAULT_PARAMS:
            action = self._actions.actions.get(tool.action)
            if action is not None:
                return action.params
        return tool.params

    def shown_arguments(self, name: str, arguments: Any) -> Any:
        """A tool call's arguments as events and stored conversations keep them:
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
        action = self._actions.actions.get(tool.action or "")
        return bool(action and action.destructive)

    async def run(self, tool: Tool, params: Any, actor: str,
                  timeout: float = TOOL_TIMEOUT) -> dict[str, Any]:
        """Run one call. The outcome is {"status": "ok", "result"}, {"status": "error",
        "error"}, {"status": "invalid", "errors"} or {"status": "pending_approval",
        "approval"}; never an exception for a bad call."""
        if not isinstance(params, Mapping):
            return await self._invalid(tool, {}, actor, ["arguments must be a JSON object"])
        CALLER.set(actor)
        if tool.action:
            try:
                return await self._actions.request(tool.action, params, actor)
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
        tool = self._tools.get(name)
        shown = write_only.mask(tool.params, params) if tool else params
        await self._actions.audit(actor, name, shown, outcome, duration_ms, None, detail)
