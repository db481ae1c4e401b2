"""Maintenance windows over HTTP, under /api/v1/maintenance: the list, an ad-hoc start and
a stop (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from nebula.builtins.maintenance.engine import WindowError
from nebula.builtins.maintenance.schema import START_BODY
from nebula.http.endpoints import ADMIN, Endpoint, json_body, ok
from nebula.http.keys import principal_of
from nebula.http.problems import Problem

if TYPE_CHECKING:
    from nebula.builtins.maintenance.engine import Maintenance

TAG = "maintenance"


def _problem(exc: WindowError) -> Problem:
    if exc.status == 422:
        return Problem(422, "request body is invalid",
                       errors=[{"path": exc.field, "message": str(exc)}])
    return Problem(exc.status, str(exc))


def endpoints(maintenance: Maintenance) -> list[Endpoint]:
    async def list_windows(_request: web.Request) -> web.Response:
        return ok({"windows": maintenance.snapshot()})

    async def start(request: web.Request) -> web.Response:
        body = await json_body(request, START_BODY)
        try:
            return ok(await maintenance.begin(body, principal_of(request).name), 201)
        except WindowError as exc:
            raise _problem(exc) from None

    async def stop(request: web.Request) -> web.Response:
        try:
            return ok(await maintenance.end(request.match_info["name"]))
        except WindowError as exc:
            raise _problem(exc) from None

    return [
        Endpoint("GET", "", list_windows,
                 "Every maintenance window (configured and ad-hoc): open or not, its "
                 "current or next occurrence, what it covers", tag=TAG),
        Endpoint("POST", "/start", start,
                 "Open an ad-hoc window now for `duration` over checks, plugins or "
                 "everything", role=ADMIN, body=START_BODY, tag=TAG, statuses=(201,),
                 problems=(409,)),
        Endpoint("POST", "/{name}/stop", stop,
                 "Close an ad-hoc window, or skip the open occurrence of a configured one",
                 role=ADMIN, tag=TAG, problems=(409,)),
    ]
