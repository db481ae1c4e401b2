"""The MCP server's manifest: it claims `/mcp` on the agent's port (the streamable HTTP
transport clients expect there) and needs the `nebula-command[mcp]` extra to serve."""

from __future__ import annotations

from nebula.builtins.mcp.schema import CLAIMED_PATHS
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="MCP server: the plugins' tools for Model Context Protocol clients at /mcp "
                "and `nebula mcp serve` (needs the nebula-command[mcp] extra)",
    hooks="nebula.builtins.mcp.hooks",
    enabled_by_default=True,
    claimed_paths=CLAIMED_PATHS,
)
