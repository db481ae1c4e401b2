"""What an MCP client sees: the plugins' tools (Jarvis's catalogue, each with its full JSON
Schema), one tool to follow an approval, three resources and the `diagnose` prompt.

Every call runs through the core's tool runner as `mcp:<token name>`, so a destructive
tool files the same approval (bound to its plan) any caller gets and the client is told to
ask an admin; a viewer's token sees and runs only the read-only tools. Whatever goes back
to the client passes through `SECRETS.redact` first.

The caller is whoever the HTTP request authenticated as: the agent's auth middleware let
it in, and the bridge (bridge.py) put its principal into the ASGI scope.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from nebula.actions import validate_params
from nebula.approvals import ApprovalNotFound, ApprovalStatus
from nebula.builtins.jarvis.catalogue import Catalogue, result_text
from nebula.builtins.jarvis.diagnose import CheckNotFound, check_context, instructions
from nebula.builtins.jarvis.prompt import health_lines, recent_changes
from nebula.builtins.mcp.schema import (
    APPROVAL_PARAMS,
    APPROVAL_TOOL,
    AUDIT_ROWS,
    AUDIT_URI,
    CHECKS_URI,
    EVENTS_URI,
    PRINCIPAL_KEY,
    RECENT_EVENTS,
)
from nebula.contributions import Tool
from nebula.secrets import SECRETS
from nebula.tools import TOOL_TIMEOUT, ToolNotFound

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from nebula.agent import Agent
    from nebula.roles import Principal

# A tool's answer is for a model's context window; past this it is cut (and says so).
MAX_RESULT = 100_000
RECENT_CHANGES = 10
RESOURCES = (
    (CHECKS_URI, "checks", "Every check and its current state"),
    (EVENTS_URI, "events", f"The {RECENT_EVENTS} most recent events, newest first"),
    (AUDIT_URI, "audit", f"Your own requests (this token's, as mcp:<token>), newest first, "
                         f"at most {AUDIT_ROWS}"),
)
APPROVAL_DESCRIPTION = ("What became of an approval a destructive tool filed: pending, "
                        "denied, expired, or approved with the action's real outcome.")
# Validated like any tool's arguments (never run through the runner: it reads, for one caller).
APPROVAL_SPEC = Tool(APPROVAL_TOOL, APPROVAL_DESCRIPTION, params=APPROVAL_PARAMS)


def caller(ctx: ServerRequestContext[Any, Any]) -> Principal:
    request = ctx.request
    principal = getattr(request, "scope", {}).get(PRINCIPAL_KEY)
    if principal is None:  # only the agent's /mcp route serves this server
        raise MCPError(types.INVALID_REQUEST, "no authenticated caller")
    return principal


def actor_of(principal: Principal) -> str:
    """The audited actor: `mcp:<token name>` (`token:ci` asks as `mcp:ci`)."""
    return "mcp:" + principal.name.removeprefix("token:")


def _text(text: str, *, error: bool = False, data: Any = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=SECRETS.redact(text))],
        structured_content=SECRETS.redact(data) if isinstance(data, dict) else None,
        is_error=error)


def pending_text(approval_id: str) -> str:
    return (f"pending approval {approval_id}, ask an admin (nebula approvals approve "
            f"{approval_id}); then call {APPROVAL_TOOL} with this id for the outcome")


def outcome_result(outcome: dict[str, Any]) -> types.CallToolResult:
    """A tool runner outcome as the client gets it: a destructive call's approval is news,
    not an error; invalid arguments and failures are tool errors the model can read."""
    body = {k: v for k, v in outcome.items() if k != "duration_ms"}  # _text masks it
    if outcome["status"] == "pending_approval":
        approval = outcome["approval"]
        return _text(pending_text(approval["id"]), data={
            "status": "pending_approval", "approval_id": approval["id"],
            "action": approval["action"], "plan": approval.get("plan")})
    return _text(result_text(outcome, MAX_RESULT), error=outcome["status"] != "ok",
                 data=body)


class McpHandlers:
    """The server's handlers over one agent's tools, checks, events and audit."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self.catalogue = Catalogue(agent.actions, agent.tools)

    def server(self, version: str) -> Server[Any]:
        return Server(
            "nebula-command", version=version,
            instructions="Tools of this Nebula Command host. Destructive tools do not act: "
                         "they file an approval an admin decides; follow it with "
                         f"{APPROVAL_TOOL}.",
            on_list_tools=self.list_tools, on_call_tool=self.call_tool,
            on_list_resources=self.list_resources, on_read_resource=self.read_resource,
            on_list_prompts=self.list_prompts, on_get_prompt=self.get_prompt)

    # --- tools ----------------------------------------------------------------------------

    def visible(self, principal: Principal, tool: Tool) -> bool:
        """An admin's token sees every tool; a viewer's only those that change nothing."""
        return principal.is_admin or tool.action is None

    def tool_entry(self, tool: Tool) -> types.Tool:
        destructive = self.catalogue.destructive(tool)
        return types.Tool(
            name=self.catalogue.function(tool)["function"]["name"],
            description=self.catalogue.description(tool),
            input_schema=json.loads(json.dumps(self.catalogue.params(tool), default=str)),
            annotations=types.ToolAnnotations(read_only_hint=tool.action is None,
                                              destructive_hint=destructive))

    async def list_tools(self, ctx: ServerRequestContext[Any, Any],
                         _params: Any) -> types.ListToolsResult:
        principal = caller(ctx)
        tools = [self.tool_entry(t) for t in self.catalogue.tools()
                 if self.visible(principal, t)]
        tools.append(types.Tool(name=APPROVAL_TOOL, description=APPROVAL_DESCRIPTION,
                                input_schema=dict(APPROVAL_PARAMS),
                                annotations=types.ToolAnnotations(read_only_hint=True)))
        return types.ListToolsResult(tools=tools)

    async def call_tool(self, ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        principal = caller(ctx)
        arguments = params.arguments if params.arguments is not None else {}
        if params.name == APPROVAL_TOOL:
            return await self.approval_status(principal, arguments)
        try:
            tool = self.catalogue.resolve(params.name)
        except ToolNotFound:
            # A name that is not there is the request's fault (a protocol error); arguments
            # that do not fit are the model's to fix (a tool error it reads).
            raise MCPError(types.INVALID_PARAMS,
                           f"no tool named {params.name!r}; list the tools first") from None
        if not self.visible(principal, tool):
            return _text(f"{params.name} changes things; it needs an admin's token (this "
                         f"one, {principal.name}, may only use the read-only tools)",
                         error=True)
        outcome = await self.catalogue.run(tool, arguments, actor_of(principal), TOOL_TIMEOUT)
        return outcome_result(outcome)

    async def approval_status(self, principal: Principal,
                              arguments: Any) -> types.CallToolResult:
        if not isinstance(arguments, dict):
            return _text("arguments must be a JSON object", error=True)
        if problems := validate_params(APPROVAL_SPEC, arguments):
            return _text("; ".join(f"{p.path}: {p.message}" for p in problems), error=True)
        approval_id = arguments["id"]
        try:
            approval = await self._agent.actions.approval(approval_id)
        except ApprovalNotFound:
            approval = None
        # Another caller's approvals are not this token's business (an admin sees all).
        if approval is None or not (principal.is_admin
                                    or approval["requested_by"] == actor_of(principal)):
            return _text(f"no approval {approval_id!r} of yours", error=True)
        status = approval["status"]
        data = {"approval_id": approval_id, "status": status, "action": approval["action"],
                "decided_by": approval["decided_by"], "reason": approval["reason"]}
        if status == ApprovalStatus.PENDING:
            return _text(pending_text(approval_id), data=data)
        if status == ApprovalStatus.APPROVED:
            result = approval["result"]
            if result is None:
                return _text(f"approved by {approval['decided_by']}; the action is still "
                             f"running: call {APPROVAL_TOOL} again", data=data)
            data["outcome"] = result
            return _text(f"approved by {approval['decided_by']}; outcome: "
                         + result_text(result, MAX_RESULT),
                         error=result.get("status") != "ok", data=data)
        verdict = (f"denied by {approval['decided_by']}" if status == ApprovalStatus.DENIED
                   else "expired: nobody decided in time")
        reason = f" ({approval['reason']})" if approval["reason"] else ""
        return _text(f"{verdict}{reason}; the action did not run", data=data)

    # --- resources ------------------------------------------------------------------------

    async def list_resources(self, _ctx: ServerRequestContext[Any, Any],
                             _params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[
            types.Resource(uri=uri, name=name, description=description,
                           mime_type="application/json")
            for uri, name, description in RESOURCES])

    async def read_resource(self, ctx: ServerRequestContext[Any, Any],
                            params: types.ReadResourceRequestParams
                            ) -> types.ReadResourceResult:
        principal = caller(ctx)
        uri = str(params.uri)
        if uri == CHECKS_URI:
            data: Any = [cs.public() for cs in sorted(self._agent.health.checks.values(),
                                                      key=lambda c: c.check.name)]
        elif uri == EVENTS_URI:
            rows = await self._agent.store.fetchall(
                "SELECT id, ts, topic, source, data FROM events ORDER BY id DESC LIMIT ?",
                (RECENT_EVENTS,))
            data = [{**row, "data": json.loads(row["data"])} for row in rows]
        elif uri == AUDIT_URI:
            data = await self._agent.actions.audit_log(actor=actor_of(principal),
                                                       limit=AUDIT_ROWS)
        else:
            raise MCPError(types.INVALID_PARAMS, f"no resource {uri!r}; list the resources")
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=uri, mime_type="application/json",
            text=json.dumps(SECRETS.redact(data), default=str))])

    # --- prompts --------------------------------------------------------------------------

    async def list_prompts(self, _ctx: ServerRequestContext[Any, Any],
                           _params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[types.Prompt(
            name="diagnose",
            description="Jarvis's diagnosis instructions with the host's current problems "
                        "attached (and one check's history, if named)",
            arguments=[types.PromptArgument(
                name="check", description="A check to focus on: <plugin>.<name>",
                required=False)])])

    async def get_prompt(self, _ctx: ServerRequestContext[Any, Any],
                         params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != "diagnose":
            raise MCPError(types.INVALID_PARAMS, f"no prompt {params.name!r}")
        agent = self._agent
        parts = [instructions(agent), "", "Current problems:", *health_lines(agent)]
        if changes := await recent_changes(agent, RECENT_CHANGES):
            parts += ["", "Recent check changes (newest first):", *changes]
        if check := (params.arguments or {}).get("check"):
            try:
                context = await check_context(agent, check)
            except CheckNotFound:
                raise MCPError(types.INVALID_PARAMS, f"no check named {check!r}") from None
            parts += ["", f"The check {check}:", json.dumps(context, default=str)]
        return types.GetPromptResult(
            description="Diagnose the host's problems", messages=[types.PromptMessage(
                role="user", content=types.TextContent(
                    type="text", text=SECRETS.redact("\n".join(parts))))])
