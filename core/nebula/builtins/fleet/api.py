"""The hub over HTTP, under /api/v1/fleet: enrollment (its two public routes: the CA and
the enroll call, which a one-time code authorises), the overview, one host, the
cross-host views, and actions and approvals forwarded to a host's own gate."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.builtins.fleet.grants import EVERY_HOST, ROLE_NAMES, HostRole, principal_name
from nebula.builtins.fleet.hub import EnrollRefused, NoRight, ReadOnlyHost, UnknownHost
from nebula.builtins.fleet.schema import (
    APPROVE_SCHEMA,
    CODE_SCHEMA,
    DENY_SCHEMA,
    ENROLL_SCHEMA,
    GRANT_SCHEMA,
    PROMETHEUS_SCHEMA,
    RUN_SCHEMA,
)
from nebula.http.endpoints import ADMIN, PUBLIC, Endpoint, json_body, ok
from nebula.http.keys import principal_of
from nebula.http.problems import Problem
from nebula.tokens import LOCAL_ADMIN

if TYPE_CHECKING:
    from nebula.builtins.fleet.hub import Hub

TAG = "fleet"
STATUSES = ("ok", "warning", "critical", "unknown")


def _unknown(name: str, hub: Hub, caller: str | None) -> Problem:
    known = [p["name"] for p in hub.overview(caller)["hosts"]]
    return Problem(404, f"no enrolled host named {name!r}", known=known)


def _caller(request: web.Request) -> str:
    return principal_of(request).name


def endpoints(hub: Hub) -> list[Endpoint]:
    async def ca(_request: web.Request) -> web.Response:
        return web.Response(text=hub.ca.pem, content_type="application/x-pem-file")

    async def new_code(request: web.Request) -> web.Response:
        await json_body(request, CODE_SCHEMA)
        return ok(await hub.new_code(), 201)

    async def enroll(request: web.Request) -> web.Response:
        body = await json_body(request, ENROLL_SCHEMA)
        try:
            return ok(await hub.enroll(body), 201)
        except EnrollRefused as exc:
            raise Problem(403, str(exc)) from None

    async def overview(request: web.Request) -> web.Response:
        return ok(hub.overview(_caller(request)))

    async def host(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            return ok(hub.host(name, _caller(request)))
        except UnknownHost:
            raise _unknown(name, hub, _caller(request)) from None
        except NoRight as exc:
            raise Problem(403, str(exc)) from None

    async def remove(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            return ok(await hub.remove(name, _caller(request)))
        except UnknownHost:
            raise _unknown(name, hub, _caller(request)) from None
        except NoRight as exc:
            raise Problem(403, str(exc)) from None
        except ReadOnlyHost as exc:
            raise Problem(409, str(exc)) from None

    async def checks(request: web.Request) -> web.Response:
        status = request.query.get("status")
        if status is not None and status not in STATUSES:
            raise Problem(400, f"status must be one of {', '.join(STATUSES)}")
        return ok({"checks": hub.checks(status, _caller(request))})

    async def approvals(request: web.Request) -> web.Response:
        return ok({"approvals": hub.approvals(_caller(request))})

    async def grants(_request: web.Request) -> web.Response:
        return ok({"grants": hub.grants.listing(), "roles": list(ROLE_NAMES)})

    def _owner_only(request: web.Request) -> None:
        if _caller(request) != LOCAL_ADMIN:
            raise Problem(403, "only the hub's owner (the local admin: nebula fleet grant on "
                               "the hub's machine) changes per-host rights")

    async def grant(request: web.Request) -> web.Response:
        body = await json_body(request, GRANT_SCHEMA)
        _owner_only(request)
        host = body["host"]
        if host != EVERY_HOST and host not in hub.pollers:
            raise _unknown(host, hub, _caller(request))
        who = principal_name(body["principal"])
        return ok(await hub.grants.grant(who, host, HostRole.named(body["role"])), 201)

    async def ungrant(request: web.Request) -> web.Response:
        _owner_only(request)
        who = principal_name(request.match_info["principal"])
        if not await hub.grants.revoke(who, request.match_info["host"]):
            raise Problem(404, f"{who} has no grant on {request.match_info['host']!r}")
        return ok({"principal": who, "host": request.match_info["host"], "revoked": True})

    async def _forward(request: web.Request, what: str, path: str, body: dict[str, Any],
                       shown: dict[str, Any], needed: HostRole) -> web.Response:
        name = request.match_info["name"]
        try:
            status, answer = await hub.forward(name, _caller(request), what, path, body,
                                               shown, needed)
        except UnknownHost:
            raise _unknown(name, hub, _caller(request)) from None
        except NoRight as exc:
            raise Problem(403, str(exc)) from None
        except ReadOnlyHost as exc:
            raise Problem(409, str(exc)) from None
        except Exception as exc:
            raise Problem(502, f"host {name} could not be reached: {exc}") from None
        if isinstance(answer, dict):
            answer = {**answer, "host": name}
        return ok(answer, status)

    async def run_action(request: web.Request) -> web.Response:
        body = await json_body(request, RUN_SCHEMA)
        action = request.match_info["action"]
        quoted = urllib.parse.quote(action, safe="")
        return await _forward(request, f"fleet:{action}", f"/api/v1/actions/{quoted}/run",
                              body, {"host": request.match_info["name"],
                                     "params": body.get("params", {})}, HostRole.OPERATOR)

    async def decide(request: web.Request, verb: str, schema: dict[str, Any]
                     ) -> web.Response:
        body = await json_body(request, schema)
        approval = urllib.parse.quote(request.match_info["id"], safe="")
        return await _forward(request, f"fleet:{verb}", f"/api/v1/approvals/{approval}/{verb}",
                              body, {"host": request.match_info["name"],
                                     "approval": request.match_info["id"]}, HostRole.ADMIN)

    async def approve(request: web.Request) -> web.Response:
        return await decide(request, "approve", APPROVE_SCHEMA)

    async def deny(request: web.Request) -> web.Response:
        return await decide(request, "deny", DENY_SCHEMA)

    async def prometheus(request: web.Request) -> web.Response:
        body = await json_body(request, PROMETHEUS_SCHEMA)
        if not hub.grants.allows(_caller(request), EVERY_HOST, HostRole.ADMIN):
            raise Problem(403, "the scrape certificate reads every host: it needs admin on "
                               "every host (a grant on '*')")
        try:
            return ok(hub.prometheus(body["csr"]))
        except EnrollRefused as exc:
            raise Problem(422, str(exc)) from None

    return [
        Endpoint("GET", "/ca", ca, "The hub's CA certificate (PEM), checked by an enrolling "
                 "host against the fingerprint in its code", PUBLIC, tag=TAG),
        Endpoint("POST", "/enroll", enroll, "Enroll a host with a one-time code: signs its "
                 "CSR, pins the certificate, records the host", PUBLIC, body=ENROLL_SCHEMA,
                 tag=TAG, statuses=(201,)),
        Endpoint("POST", "/codes", new_code, "A one-time enrollment code", role=ADMIN,
                 body=CODE_SCHEMA, tag=TAG, statuses=(201,)),
        Endpoint("GET", "/hosts", overview, "Every enrolled host: state, check counts, last "
                 "seen, version", tag=TAG),
        Endpoint("GET", "/hosts/{name}", host, "One host: its status, checks and pending "
                 "approvals as last read", tag=TAG),
        Endpoint("DELETE", "/hosts/{name}", remove, "Remove (revoke) a host at once",
                 role=ADMIN, tag=TAG),
        Endpoint("GET", "/checks", checks, "Every host's checks (?status=warning)",
                 query={"status": "ok, warning, critical or unknown"}, tag=TAG),
        Endpoint("GET", "/approvals", approvals, "Every host's pending approvals", tag=TAG),
        Endpoint("POST", "/hosts/{name}/actions/{action}/run", run_action,
                 "Run an action on a host: its own approval gate decides", role=ADMIN,
                 body=RUN_SCHEMA, tag=TAG, statuses=(200, 202, 502), problems=(409,)),
        Endpoint("POST", "/hosts/{name}/approvals/{id}/approve", approve,
                 "Approve a host's pending action (the host runs its filed plan)",
                 role=ADMIN, body=APPROVE_SCHEMA, tag=TAG, statuses=(200, 202, 502)),
        Endpoint("POST", "/hosts/{name}/approvals/{id}/deny", deny,
                 "Deny a host's pending action", role=ADMIN, body=DENY_SCHEMA, tag=TAG),
        Endpoint("GET", "/grants", grants, "Per-host rights: who has which role on which "
                 "host ('*': every host)", role=ADMIN, tag=TAG),
        Endpoint("POST", "/grants", grant, "Give a caller a role on a host (the hub's owner "
                 "only)", role=ADMIN, body=GRANT_SCHEMA, tag=TAG, statuses=(201,)),
        Endpoint("DELETE", "/grants/{principal}/{host}", ungrant, "Take a caller's role on a "
                 "host away (the hub's owner only)", role=ADMIN, tag=TAG),
        Endpoint("POST", "/prometheus", prometheus, "Prometheus file_sd targets for every "
                 "host, and a scrape certificate signed from the body's CSR", role=ADMIN,
                 body=PROMETHEUS_SCHEMA, tag=TAG),
    ]
