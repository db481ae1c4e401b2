"""nebula mcp serve|tools: the MCP server from the terminal."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from nebula.cli.common import State, json_option, pass_state, running_agent, table

if TYPE_CHECKING:
    from nebula.cli.client import Client


@click.group()
def mcp() -> None:
    """The MCP server: the plugins' tools for Model Context Protocol clients (docs/mcp.md)."""


def _agent(state: State) -> Client:
    from nebula.builtins.mcp.runtime import SDK_MISSING, sdk_installed

    if not sdk_installed():
        raise click.ClickException(SDK_MISSING)
    client = running_agent(state)
    if client is None:
        raise click.ClickException(
            "no running agent: start it (nebula run), or point at one with NEBULA_URL and "
            "NEBULA_TOKEN (a token from `nebula token create NAME`)")
    return client


@mcp.command()
@pass_state
def serve(state: State) -> None:
    """Serve MCP over stdin/stdout for a local client, relayed to the running agent's /mcp.

    The agent's token is used (NEBULA_TOKEN, else the one this user's agent published):
    its role decides the tools offered, and its name is the audited actor (mcp:NAME)."""
    client = _agent(state)  # before the SDK's import: its absence is explained there
    import anyio

    from nebula.builtins.mcp.proxy import serve_stdio

    anyio.run(serve_stdio, client.url, client.token)


@mcp.command()
@json_option
@pass_state
def tools(state: State, as_json: bool) -> None:
    """The tools an MCP client of the running agent sees with this token."""
    client = _agent(state)
    import anyio

    from nebula.builtins.mcp.proxy import upstream


    async def listing() -> list[dict[str, object]]:
        async with upstream(client.url, client.token) as mcp_client:
            result = await mcp_client.list_tools()
        return [{"name": t.name, "read_only": bool(t.annotations and
                                                   t.annotations.read_only_hint),
                 "destructive": bool(t.annotations and t.annotations.destructive_hint),
                 "description": t.description or ""} for t in result.tools]

    found = anyio.run(listing)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    table([[t["name"], "destructive" if t["destructive"] else
            "read-only" if t["read_only"] else "action", str(t["description"])[:70]]
           for t in found], ["NAME", "KIND", "DESCRIPTION"])
