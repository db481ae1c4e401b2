"""Plugin routes under `/plugins/<name>/`, resolved per request.

aiohttp freezes its router when the server starts, but plugins come and go on reload; so one
catch-all route hands each request to a small router built from the plugin's current
`RouteTableDef` (rebuilt only when the plugin restarts with new routes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.contributions import reveal_key
from nebula.http.keys import principal_of
from nebula.http.problems import Problem
from nebula.plugins import LOADED
from nebula.secrets import StreamRedactor

if TYPE_CHECKING:
    from nebula.agent import Agent

# Made here, at import: aiohttp names a key after the module whose top level creates it and
# fails when none is on the stack (the first answer, inside a request's task, had none).
REVEAL = reveal_key()


class PluginRoutes:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self._routers: dict[str, tuple[Any, web.UrlDispatcher]] = {}

    def _router(self, plugin: str, table: Any) -> web.UrlDispatcher:
        cached = self._routers.get(plugin)
        if cached is not None and cached[0] is table:
            return cached[1]
        router = web.UrlDispatcher()
        for route in table:
            if isinstance(route, web.RouteDef):
                router.add_route(route.method, f"/plugins/{plugin}{route.path}", route.handler,
                                 **route.kwargs)
        self._routers[plugin] = (table, router)
        return router

    async def handle(self, request: web.Request) -> web.StreamResponse:
        plugin = request.match_info["plugin"]
        record = self._agent.manager.records.get(plugin)
        table = record.contributions.routes if record and record.state == LOADED else None
        if not table:
            raise Problem(404, f"plugin {plugin!r} serves no routes (not loaded?)")
        match = await self._router(plugin, table).resolve(request)
        if match.http_exception is not None:
            raise match.http_exception
        # The plugin's handler reads its own path parameters from match_info, which the
        # outer request has already resolved (and cached); a clone carries the inner one.
        inner = request.clone()
        inner._match_info = match
        return redacted(await match.handler(inner), principal_of(request).is_admin)


def redacted(response: web.StreamResponse, admin: bool) -> web.StreamResponse:
    """A plugin's whole-body answer with every known secret masked, unless the plugin marked
    it a reveal (`nebula.api.reveal`), which only an admin receives. A streamed answer is
    already on the wire: a plugin streams through `StreamRedactor` (nebula.api)."""
    if response.get(REVEAL):
        if not admin:
            raise Problem(403, "this answer reveals a secret; it needs an admin")
        return response
    if isinstance(response, web.Response) and isinstance(response.body, bytes):
        redactor = StreamRedactor()
        masked = redactor.feed(response.body) + redactor.flush()
        if masked != response.body:
            response.body = masked
    return response
