"""The agent's HTTP server: the /api/v1 JSON API, /healthz, plugin routes and
endpoints, and the authentication in front of all of them (bearer tokens, then the
running plugins' authenticators). The web panel's pages are handed in by
`nebula.server.create_app`, which composes the two: this package never imports the panel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from nebula.agent import Agent
from nebula.config import Config
from nebula.http import (
    api_actions,
    api_agent,
    api_checks,
    api_events,
    api_panels,
    api_tokens,
    api_tools,
)
from nebula.http.client_certs import certificate_missing, scraper
from nebula.http.decoding import decoding_middleware
from nebula.http.endpoints import ADMIN, ENDPOINTS, PUBLIC, Endpoint, Handler, ok
from nebula.http.hosts import ALLOWED_HOSTS, AllowedHosts, hosts_middleware
from nebula.http.keys import (
    AGENT,
    PRINCIPAL,
    RESPONSE_CACHE,
    ROUTE_TABLE,
    SIGNED_IN,
    RouteTable,
    principal_of,
)
from nebula.http.limits import (
    LIMITS,
    OPEN_STREAMS,
    Limits,
    body_middleware,
    close_after_taken_bodies,
    close_streams,
    streams_middleware,
)
from nebula.http.plugin_endpoints import PluginEndpoints, first_segments, full_paths
from nebula.http.plugin_routes import PluginRoutes
from nebula.http.problems import Problem, problem
from nebula.http.schemas import HEALTH
from nebula.http.security import (
    CALLER,
    PROXIES,
    SAFE_METHODS,
    Proxies,
    add_security_headers,
)
from nebula.http.webhooks import WEBHOOKS, Webhooks
from nebula.logs import get_logger
from nebula.plugins import PluginRecord
from nebula.roles import Principal
from nebula.surfaces import PAGE_TAG, SESSION_TAG
from nebula.tokens import hash_token

# Importing the handler modules fills ENDPOINTS; the tuple keeps that dependency visible.
_HANDLER_MODULES = (api_actions, api_agent, api_checks, api_events, api_panels, api_tokens,
                    api_tools)
API = "/api/v1/"


@dataclass(frozen=True)
class Panel:
    """What the web panel hands the HTTP app (nebula.server): its pages are `ENDPOINTS`
    tagged `PAGE_TAG`; these say how a running plugin's pages are served and what a
    signed-out browser asking for a page gets (sent to sign in, or told how to enable it)."""

    plugin_pages: Callable[[PluginRecord], list[Endpoint]]
    signed_out: Handler


PANEL: web.AppKey[Panel] = web.AppKey("panel")
# Routes (canonical paths) reachable without a token or session, the panel's pages (an
# unauthenticated browser is sent to sign in), and writes any role may make. Plugins'
# endpoints and pages say the same of themselves (their role and tag).
PUBLIC_PATHS: web.AppKey[frozenset[str]] = web.AppKey("public_paths")
PAGE_PATHS: web.AppKey[frozenset[str]] = web.AppKey("page_paths")
ANY_ROLE_WRITES: web.AppKey[frozenset[str]] = web.AppKey("any_role_writes")
# The catch-all routes of plugins' API endpoints and pages (canonical path -> dispatcher),
# whose requests are judged by the plugin endpoint serving them.
SURFACES: web.AppKey[dict[str, PluginEndpoints]] = web.AppKey("surfaces")
log = get_logger(component="http")


# Answers to input the client got wrong (malformed, too slow, too large, unreadable): one
# log line each, so a fuzzer or a broken client shows up without a traceback.
BAD_INPUT = frozenset({400, 408, 413, 415})


@web.middleware
async def problems_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as exc:
        _log_bad_input(request, exc.status, exc.detail)
        return exc.response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = exc.text if exc.text and exc.text != exc.reason else ""
        _log_bad_input(request, exc.status, detail)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            allow = sorted(exc.allowed_methods)
            response = problem(405, f"{request.method} is not allowed here; use "
                                    f"{', '.join(allow)}", allow=allow)
            response.headers["Allow"] = ", ".join(allow)
            return response
        return problem(exc.status, detail)
    except Exception:
        log.exception("http.unhandled", method=request.method, path=request.path)
        return problem(500, "internal error; the agent log has the details")


def _log_bad_input(request: web.Request, status: int, detail: str) -> None:
    if status in BAD_INPUT:
        log.info("http.bad_request", status=status, method=request.method,
                 path=request.path, detail=detail)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else None
    surface = request.app[SURFACES].get(path or "")
    inner = await surface.endpoint_for(request) if surface is not None else None
    if path in request.app[PUBLIC_PATHS] or (inner is not None and inner.role == PUBLIC):
        return await handler(request)
    # The scrape certificate is matched on the URL's own path: `/metrics` is a built-in's
    # page, routed by the panel's catch-all resource.
    principal = scraper(request, request.path) or await find_principal(request)
    if principal is None:
        if (path in request.app[PAGE_PATHS] or (inner is not None and inner.tag == PAGE_TAG)) \
                and request.method == "GET":
            return await request.app[PANEL].signed_out(request)
        raise Problem(401, "a bearer token is required (nebula token create)")
    any_role = path in request.app[ANY_ROLE_WRITES] or (
        inner is not None and inner.tag == SESSION_TAG)
    if request.method not in SAFE_METHODS and not principal.is_admin and not any_role:
        raise Problem(403, f"{principal.name} may only read")
    request[PRINCIPAL] = principal
    return await handler(request)


async def find_principal(request: web.Request) -> Principal | None:
    """A bearer token when the request has an Authorization header (scripts), else whatever
    credential of its own (the panel's session cookie) a running plugin's authenticator
    honours (browsers)."""
    agent = request.app[AGENT]
    if "Authorization" not in request.headers:
        for authenticator in agent.manager.authenticators():
            found = await authenticator.authenticate(request)
            if found is not None:
                request[SIGNED_IN] = (authenticator, found)
                request[CALLER] = found.caller or f"principal:{found.principal.name}"
                return found.principal
        return None
    scheme, _, token = request.headers["Authorization"].partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "a bearer token is required (nebula token create)")
    principal = await agent.tokens.authenticate(token.strip())
    if principal is None:
        raise Problem(401, "the token is unknown or revoked")
    if refused := certificate_missing(request, principal):
        raise Problem(401, refused)
    request[CALLER] = f"token:{hash_token(token.strip())}"
    return principal


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


def build_app(config: Config, agent: Agent, panel: Panel, *, schedule: bool = True
              ) -> web.Application:
    """The agent's web application, serving `ENDPOINTS` (the API's and the panel's) and the
    plugins' surfaces; the agent starts and stops with it."""
    limits = Limits.from_config(config.agent)
    # Host first: a request for another name gets no further, not even to the login form.
    app = web.Application(
        middlewares=[hosts_middleware, problems_middleware, body_middleware,
                     decoding_middleware, auth_middleware, streams_middleware],
        client_max_size=1024 * 1024, handler_args=limits.handler_args())
    app[ALLOWED_HOSTS] = AllowedHosts(config.agent)
    app[LIMITS] = limits
    app[OPEN_STREAMS] = {}
    app.on_shutdown.append(close_streams)
    app[AGENT] = agent
    app[PANEL] = panel
    app[RESPONSE_CACHE] = {}
    app[PROXIES] = Proxies(config.agent["trusted_proxies"])
    app[WEBHOOKS] = Webhooks(agent)
    app.on_response_prepare.append(add_security_headers)
    app.on_response_prepare.append(close_after_taken_bodies)
    endpoints = [
        Endpoint("GET", "/healthz", healthz, "Liveness: 200 while the agent runs", PUBLIC,
                 response=HEALTH),
        *ENDPOINTS,
        # Before the catch-all below, which would otherwise take these paths.
        Endpoint("*", "/plugins/{plugin}/hooks/{hook}", app[WEBHOOKS].handle,
                 "A plugin's webhook: no token, its shared secret in X-Webhook-Secret",
                 PUBLIC, tag="plugins"),
        Endpoint("*", "/plugins/{plugin}/{tail:.*}", PluginRoutes(agent).handle,
                 "A plugin's own routes (behind the same authentication)", tag="plugins"),
    ]
    # Plugins' endpoints and pages sit under their names, so a name the core uses there
    # is not a plugin's (the manager fails a plugin of that name that contributes some).
    core_paths = [ep.path for ep in endpoints]
    reserved = {"api": first_segments(core_paths, API), "pages": first_segments(core_paths, "/")}
    agent.manager.reserved = reserved
    api = PluginEndpoints(agent, API, lambda r: full_paths(API, r, r.contributions.endpoints))
    pages = PluginEndpoints(agent, "/", panel.plugin_pages)
    surfaces = (api, pages)
    endpoints += [
        # A dot in the API's names: a built-in may claim a file name (`openapi.json`); not
        # in the pages', where `/favicon.ico` would otherwise get the sign-in page.
        Endpoint("*", api.route_path(reserved["api"], "[A-Za-z0-9_.-]+"), api.handle,
                 "A plugin's API endpoints (each is documented under its own path)",
                 tag="plugins", problems=(503,)),
        Endpoint("*", pages.route_path(reserved["pages"]), pages.handle,
                 "A plugin's pages in the web panel (and their forms)", tag=PAGE_TAG),
    ]
    app[ROUTE_TABLE] = RouteTable(endpoints, surfaces)
    app[SURFACES] = {}
    # By the canonical path the router matches, which for a path with a regex (the
    # surfaces' catch-alls) is not the path as written.
    canonical: list[tuple[Endpoint, str]] = []
    for ep in endpoints:
        route = app.router.add_route(ep.method, ep.path, _guard(ep))
        assert route.resource is not None
        canonical.append((ep, route.resource.canonical))
        for surface in surfaces:
            if ep.handler == surface.handle:
                app[SURFACES][route.resource.canonical] = surface
    app[PUBLIC_PATHS] = frozenset(p for ep, p in canonical if ep.role == PUBLIC)
    app[PAGE_PATHS] = frozenset(p for ep, p in canonical if ep.tag == PAGE_TAG)
    app[ANY_ROLE_WRITES] = frozenset(p for ep, p in canonical if ep.tag == SESSION_TAG)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        await agent.start(schedule=schedule)
        yield
        await agent.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


def open_routes(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route answered without a credential now: the core's and
    the running plugins' (the sign-in pages)."""
    core = {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None and r.resource.canonical in app[PUBLIC_PATHS]
            and r.method != "HEAD"}
    plugins = {(ep.method, ep.path) for surface in set(app[SURFACES].values())
               for ep in surface.running() if ep.role == PUBLIC}
    return core | plugins
