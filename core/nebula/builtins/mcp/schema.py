"""Plain data of the MCP server: where it is served, its own tool's params, its resources."""

from __future__ import annotations

from typing import Any

# `/mcp` right on the agent's port, where MCP clients look for streamable HTTP.
CLAIMED_PATHS = ("mcp",)
PATH = "/mcp"
# Where the bridge leaves the caller the agent authenticated, in the ASGI scope.
PRINCIPAL_KEY = "nebula.principal"

# The one tool the server adds to the plugins': what became of an approval it filed.
APPROVAL_TOOL = "approval_status"
APPROVAL_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["id"],
    "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 64,
                          "description": "The approval id a destructive tool answered with"}}}

CHECKS_URI = "nebula://checks"
EVENTS_URI = "nebula://events"
AUDIT_URI = "nebula://audit"
RECENT_EVENTS = 50
AUDIT_ROWS = 100
