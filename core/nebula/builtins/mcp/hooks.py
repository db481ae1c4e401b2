"""The MCP server's hooks: its runtime, the /mcp route on the agent's port and the
`nebula mcp` commands. Nothing heavy is imported here (the SDK loads on first use)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from nebula.builtins.mcp.runtime import McpService
    from nebula.context import PluginContext
    from nebula.surfaces import Endpoint


@hookimpl
async def nebula_startup(ctx: PluginContext) -> McpService:
    from nebula.builtins import agent_of
    from nebula.builtins.mcp.runtime import McpService

    return McpService(agent_of(ctx))


@hookimpl
def nebula_web_pages(runtime: McpService) -> Iterable[Endpoint]:
    from nebula.builtins.mcp.schema import PATH
    from nebula.surfaces import SESSION_TAG, Endpoint

    # Any role may POST here: which tools a token may call is the MCP server's decision
    # (a viewer's sees and runs only the read-only ones), not the route's. Stateless, the
    # server has nothing to push and keeps no session: no GET stream (a GET answers 405,
    # as the transport allows), no DELETE.
    return [Endpoint("POST", PATH, runtime.handle,
                     "MCP streamable HTTP: one JSON-RPC message, answered as JSON",
                     tag=SESSION_TAG)]


@hookimpl
def nebula_cli_commands() -> Iterable[click.Command]:
    from nebula.helpers.cli import lazy_command

    return [lazy_command("mcp", "nebula.builtins.mcp.cli:mcp",
                         "The MCP server: serve it over stdio to a local client "
                         "(docs/mcp.md).")]
