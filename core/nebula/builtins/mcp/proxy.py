"""`nebula mcp serve`: MCP over stdio for a local client (Claude Desktop, an IDE), relayed
to the running agent's /mcp with the CLI's token. The agent does the work and the checking
(roles, approvals, audit, redaction); this process only carries messages, so the two
transports cannot drift apart."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from nebula import __version__
from nebula.builtins.mcp.schema import PATH

# A destructive tool answers at once (it files an approval); a read-only one may take the
# tool runner's 30 s; this leaves room for both.
TIMEOUT = httpx2.Timeout(10.0, read=120.0)


@contextlib.asynccontextmanager
async def upstream(url: str, token: str) -> AsyncIterator[Client]:
    """An MCP client of the agent at `url` (its base URL), as `token`."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    async with http, Client(streamable_http_client(url.rstrip("/") + PATH, http_client=http),
                            cache=None) as client:
        yield client


def relay(client: Client) -> Server[Any]:
    """A server answering every request with the agent's answer to it."""

    async def list_tools(_ctx: Any, params: types.PaginatedRequestParams | None
                         ) -> types.ListToolsResult:
        return await client.list_tools(cursor=params.cursor if params else None)

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams
                        ) -> types.CallToolResult:
        return await client.call_tool(params.name, params.arguments)

    async def list_resources(_ctx: Any, params: types.PaginatedRequestParams | None
                             ) -> types.ListResourcesResult:
        return await client.list_resources(cursor=params.cursor if params else None)

    async def read_resource(_ctx: Any, params: types.ReadResourceRequestParams
                            ) -> types.ReadResourceResult:
        return await client.read_resource(str(params.uri))

    async def list_prompts(_ctx: Any, params: types.PaginatedRequestParams | None
                           ) -> types.ListPromptsResult:
        return await client.list_prompts(cursor=params.cursor if params else None)

    async def get_prompt(_ctx: Any, params: types.GetPromptRequestParams
                         ) -> types.GetPromptResult:
        return await client.get_prompt(params.name, params.arguments)

    return Server("nebula-command", version=__version__, instructions=client.instructions,
                  on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_resources=list_resources, on_read_resource=read_resource,
                  on_list_prompts=list_prompts, on_get_prompt=get_prompt)


async def serve_stdio(url: str, token: str) -> None:
    async with upstream(url, token) as client, stdio_server() as (read, write):
        server = relay(client)
        await server.run(read, write, server.create_initialization_options())
