"""Endpoints plugins contribute — API endpoints under `/api/v1/<plugin>/...`, panel pages
under `/<plugin>/...` (or, for a built-in, under the top-level names it claims: the auth
plugin's `/login`, `/api/v1/users`) — resolved per request.

aiohttp freezes its router when the server starts, but plugins come and go on reload; so one
route per surface takes every path under a name the core does not use itself, and hands the
request to a small router built from that plugin's current endpoints (rebuilt only when the
plugin restarts with new ones). The auth middleware asks `endpoint_for` which endpoint will
serve a request, so a plugin's endpoint is guarded by its own role, as the core's are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.http.keys import principal_of
from nebula.http.problems import Problem
from nebula.plugins import LOADED, Contributions, PluginRecord
from nebula.surfaces import ADMIN, Endpoint

if TYPE_CHECKING:
    from nebula.agent import Agent

# The inner endpoint and match a request resolved to, kept for its handler.
MATCH: web.RequestKey[tuple[Endpoint, web.UrlMappingMatchInfo] | None] = web.RequestKey(
    "plugin_match")
_FIRST_SEGMENT = re.compile(r"^/([^/{]+)")


def first_segments(paths: Iterable[str], prefix: str) -> frozenset[str]:
    """The names right after `prefix` in the core's own paths: a plugin cannot have them."""
    return frozenset(m.group(1) for path in paths if path.startswith(prefix)
                     if (m := _FIRST_SEGMENT.match("/" + path[len(prefix):].lstrip("/"))))


class PluginEndpoints:
    """One surface: plugin endpoints under `prefix` + `<plugin>`, built from the running
    plugins' contributions by `endpoints_of` (which also gives them their full paths)."""

    def __init__(self, agent: Agent, prefix: str,
                 endpoints_of: Callable[[PluginRecord], list[Endpoint]]) -> None:
        self._agent = agent
        self.prefix = prefix
        self._endpoints_of = endpoints_of
        self._routers: dict[str, tuple[Contributions, list[Endpoint], web.UrlDispatcher,
                                       dict[Any, Endpoint]]] = {}

    def route_path(self, reserved: frozenset[str], names: str = "[A-Za-z0-9_-]+") -> str:
        """The catch-all path: any name (matching `names`) but the core's, then the rest
        (or nothing)."""
        taken = "|".join(re.escape(name) for name in sorted(reserved))
        guard = f"(?!(?:{taken})(?:/|$))" if taken else ""
        return f"{self.prefix}{{plugin:{guard}{names}}}{{tail:(?:/.*)?}}"

    def _table(self, record: PluginRecord) -> tuple[list[Endpoint], web.UrlDispatcher,
                                                    dict[Any, Endpoint]]:
        cached = self._routers.get(record.name)
        if cached is not None and cached[0] is record.contributions:
            return cached[1:]
        endpoints = self._endpoints_of(record)
        router = web.UrlDispatcher()
        served = {router.add_route(ep.method, ep.path, ep.handler): ep for ep in endpoints}
        self._routers[record.name] = (record.contributions, endpoints, router, served)
        return endpoints, router, served

    def running(self) -> list[Endpoint]:
        """Every endpoint of every running plugin, with its full path."""
        return [ep for _, ep in self.running_by_plugin()]

    def running_by_plugin(self) -> list[tuple[str, Endpoint]]:
        """(plugin, endpoint with its full path) for every running plugin (for OpenAPI)."""
        return [(record.name, ep) for record in sorted(self._agent.manager.records.values(),
                                                       key=lambda r: r.name)
                if record.state == LOADED for ep in self._table(record)[0]]

    async def endpoint_for(self, request: web.Request) -> Endpoint | None:
        """The plugin endpoint serving this request, resolved once per request; None when
        none does (no such plugin, path or method, or the plugin is not running)."""
        if MATCH not in request:
            request[MATCH] = await self._resolve(request)
        found = request[MATCH]
        return found[0] if found else None

    def _record(self, request: web.Request) -> PluginRecord | None:
        manager = self._agent.manager
        return manager.records.get(manager.path_owner(request.match_info["plugin"]))

    async def _resolve(self, request: web.Request
                       ) -> tuple[Endpoint, web.UrlMappingMatchInfo] | None:
        record = self._record(request)
        if record is None or record.state != LOADED:
            return None
        _, router, served = self._table(record)
        match = await router.resolve(request)
        if match.http_exception is not None:
            return None
        for app in request.match_info.apps:  # as aiohttp does: `request.app` works inside
            match.add_app(app)
        match.freeze()
        return served[match.route], match

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if await self.endpoint_for(request) is None:
            raise await self._missing(request)
        endpoint, match = request[MATCH]  # type: ignore[misc]
        if endpoint.role == ADMIN and not principal_of(request).is_admin:
            raise Problem(403, "this needs an admin token")
        # The handler reads its own path parameters from match_info: the inner match, for
        # as long as it runs (a clone cannot carry it once a middleware read the body).
        # `match_info` is cached on first read (aiohttp's reify), so both are swapped.
        outer = request._match_info, request._cache.get("match_info")
        request._match_info = request._cache["match_info"] = match
        try:
            return await endpoint.handler(request)
        finally:
            request._match_info, request._cache["match_info"] = outer

    async def _missing(self, request: web.Request) -> Exception:
        """Why nothing serves this request: no such plugin (404), a plugin that is not
        running (503, with its state and error), or no such path or method in it."""
        record = self._record(request)
        if record is None:
            return Problem(404, f"no plugin named {request.match_info['plugin']!r}")
        name = record.name
        if record.state != LOADED:
            why = f": {record.error}" if record.error else ""
            return Problem(503, f"plugin {name} is {record.state}{why}", plugin=name,
                           state=record.state)
        match = await self._table(record)[1].resolve(request)
        return match.http_exception or Problem(404, f"plugin {name} serves no such path")


def mounted(prefix: str, record: PluginRecord, path: str) -> str:
    """Where a plugin's endpoint or page `path` is served: under `prefix` + its name, or
    right under `prefix` when the plugin is a built-in claiming its first segment."""
    first = path.lstrip("/").split("/", 1)[0]
    if first and first in record.claimed_paths:
        return prefix + path.lstrip("/")
    return f"{prefix}{record.name}{path}"


def full_paths(prefix: str, record: PluginRecord, endpoints: Iterable[Endpoint],
               **changes: Any) -> list[Endpoint]:
    """A plugin's endpoints where they are served, tagged with its name unless they say."""
    return [replace(ep, path=mounted(prefix, record, ep.path),
                    tag=record.name if ep.tag == "agent" else ep.tag, **changes)
            for ep in endpoints]
