"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.tokens import Principal

AGENT: web.AppKey[Agent] = web.AppKey("agent")
# Serialised answers keyed by name, each with the version of the data it was made from.
RESPONSE_CACHE: web.AppKey[dict[str, tuple[int, bytes]]] = web.AppKey("response_cache")
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")


def agent_of(request: web.Request) -> Agent:
    return request.app[AGENT]


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]
