"""The MCP server's runtime: the SDK's streamable HTTP session manager, started on the
first request to /mcp (importing the SDK costs memory an agent nobody asks over MCP should
not pay) and stopped with the plugin."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula import __version__
from nebula.http.keys import principal_of, signed_in
from nebula.http.problems import Problem

if TYPE_CHECKING:
    from nebula.agent import Agent

EXTRA = "pip install 'nebula-command[mcp]'"
SDK_MISSING = f"the MCP server needs the mcp package, which is not installed: {EXTRA}"


def sdk_installed() -> bool:
    try:
        return importlib.util.find_spec("mcp") is not None
    except (ImportError, ValueError):
        return False


class McpService:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._manager: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    async def _started(self) -> Any:
        async with self._lock:
            if self._manager is None:
                from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

                from nebula.builtins.mcp.handlers import McpHandlers

                # Stateless, JSON answers: every POST stands alone, so no session of one
                # token can be picked up by another, and nothing is kept between calls.
                manager = StreamableHTTPSessionManager(
                    McpHandlers(self._agent).server(__version__), json_response=True,
                    stateless=True)
                ready = asyncio.get_running_loop().create_future()
                self._task = asyncio.create_task(self._run(manager, ready), name="mcp")
                await ready
                self._manager = manager
        return self._manager

    async def _run(self, manager: Any, ready: asyncio.Future[None]) -> None:
        try:
            async with manager.run():
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else
                                    RuntimeError("the MCP server stopped"))
            raise

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST/GET/DELETE /mcp, for a bearer token the agent already authenticated."""
        from nebula.builtins.mcp.bridge import serve_asgi
        from nebula.builtins.mcp.schema import PRINCIPAL_KEY

        if signed_in(request) is not None:
            # A browser's session cookie is for the panel; a client names its token.
            raise Problem(401, "MCP clients authenticate with a bearer token "
                               "(nebula token create NAME)")
        if not sdk_installed():
            raise Problem(503, SDK_MISSING)
        manager = await self._started()
        return await serve_asgi(manager.handle_request, request,
                                {PRINCIPAL_KEY: principal_of(request)})

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
