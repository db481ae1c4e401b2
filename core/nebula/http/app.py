"""The one app factory: `create_app(config, plugins=...)` builds the agent and its server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config
from nebula.http import api_actions, api_agent, api_checks, api_events, api_panels, api_tokens
from nebula.http.endpoints import ADMIN, ENDPOINTS, PUBLIC, Endpoint, Handler, ok
from nebula.http.keys import AGENT, PRINCIPAL, RESPONSE_CACHE, principal_of
from nebula.http.metrics import Metrics
from nebula.http.openapi import document
from nebula.http.plugin_routes import PluginRoutes
from nebula.http.problems import Problem, problem
from nebula.logs import get_logger

# Importing the handler modules fills ENDPOINTS; the tuple keeps that dependency visible.
_HANDLER_MODULES = (api_actions, api_agent, api_checks, api_events, api_panels, api_tokens)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = get_logger(component="http")


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.text if exc.text and exc.text != exc.reason else "",
                       **({"allow": sorted(exc.allowed_methods)}
                          if isinstance(exc, web.HTTPMethodNotAllowed) else {}))
    except Exception:
        log.exception("http.unhandled", method=request.method, path=request.path)
        return problem(500, "internal error; the agent log has the details")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/healthz":
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "a bearer token is required (nebula token create)")
    principal = await request.app[AGENT].tokens.authenticate(token.strip())
    if principal is None:
        raise Problem(401, "the token is unknown or revoked")
    if request.method not in SAFE_METHODS and not principal.is_admin:
        raise Problem(403, f"{principal.name} may only read")
    request[PRINCIPAL] = principal
    return await handler(request)


def _guard(ep: Endpoint) -> Handler:
    if ep.role != ADMIN:
        return ep.handler

    async def admin_only(request: web.Request) -> web.StreamResponse:
        if not principal_of(request).is_admin:
            raise Problem(403, "this needs an admin token")
        return await ep.handler(request)

    return admin_only


async def healthz(_request: web.Request) -> web.Response:
    return ok({"status": "ok"})


def create_app(
    config: Config, plugins: Mapping[str, Any] | None = None, *, discover: bool = True,
    agent: Agent | None = None, schedule: bool = True,
) -> web.Application:
    """The agent's web application; the agent starts and stops with it."""
    agent = agent or Agent(config, plugins, discover=discover)
    app = web.Application(middlewares=[problems_middleware, auth_middleware],
                          client_max_size=1024 * 1024)
    app[AGENT] = agent
    app[RESPONSE_CACHE] = {}
    metrics = Metrics(agent)
    endpoints = [
        Endpoint("GET", "/healthz", healthz, "Liveness: 200 while the agent runs", PUBLIC),
        Endpoint("GET", "/metrics", metrics.handler, "Prometheus metrics", tag="metrics"),
        *ENDPOINTS,
        Endpoint("*", "/plugins/{plugin}/{tail:.*}", PluginRoutes(agent).handle,
                 "A plugin's own routes (behind the same authentication)", tag="plugins"),
    ]
    openapi: dict[str, Any] = {}

    async def openapi_handler(_request: web.Request) -> web.Response:
        return ok(openapi)

    endpoints.append(Endpoint("GET", "/api/v1/openapi.json", openapi_handler,
                              "This document: every route of the agent"))
    openapi.update(document(endpoints))
    for ep in endpoints:
        app.router.add_route(ep.method, ep.path, _guard(ep))

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await agent.start(schedule=schedule)
        yield
        await agent.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
