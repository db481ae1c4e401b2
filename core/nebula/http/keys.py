"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.http.plugin_endpoints import PluginEndpoints
    from nebula.roles import Principal
    from nebula.surfaces import Authenticator, Endpoint, SignedIn


@dataclass(frozen=True)
class RouteTable:
    """Every route the app serves: the core's, and the surfaces serving the running
    plugins' endpoints and pages (what the openapi built-in documents)."""

    core: Sequence[Endpoint]
    surfaces: Sequence[PluginEndpoints]

    def plugins(self) -> list[tuple[str, Endpoint]]:
        """(plugin, endpoint with its full path) of every running plugin, now."""
        return [pair for surface in self.surfaces for pair in surface.running_by_plugin()]


AGENT: web.AppKey[Agent] = web.AppKey("agent")
# Serialised answers keyed by name, each with the version of the data it was made from.
RESPONSE_CACHE: web.AppKey[dict[str, tuple[int, bytes]]] = web.AppKey("response_cache")
ROUTE_TABLE: web.AppKey[RouteTable] = web.AppKey("route_table")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
# A browser's credential, when a plugin's authenticator (not a bearer token) let it in.
SIGNED_IN: web.RequestKey[tuple[Authenticator, SignedIn]] = web.RequestKey("signed_in")


def agent_of(request: web.Request) -> Agent:
    return request.app[AGENT]


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def signed_in(request: web.Request) -> tuple[Authenticator, SignedIn] | None:
    """How a browser signed in (its authenticator and credential); None for a token."""
    return request.get(SIGNED_IN)
