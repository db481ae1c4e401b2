"""Checks: current state (served from a cache between changes), recent results, metric and
status history (nebula.history), and runs now."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.http.endpoints import ADMIN, dumps, endpoint, json_body, ok, query_number
from nebula.http.keys import RESPONSE_CACHE, agent_of
from nebula.http.problems import Problem
from nebula.http.schemas import CHECK, CHECK_HISTORY, CHECK_LIST, CHECK_RUN, CHECK_SPANS

if TYPE_CHECKING:
    from nebula.health import CheckState


@endpoint("GET", "/api/v1/checks", "Every check with its current state", tag="checks",
          response=CHECK_LIST)
async def list_checks(request: web.Request) -> web.Response:
    health = agent_of(request).health
    # One serialisation per change, however many clients poll in between.
    cache = request.app[RESPONSE_CACHE]
    cached = cache.get("checks")
    if cached is None or cached[0] != health.version:
        body = dumps({"summary": health.summary(),
                      "checks": [cs.public() for cs in health.checks.values()]}).encode()
        cached = cache["checks"] = (health.version, body)
    return web.Response(body=cached[1], content_type="application/json")


def _state(request: web.Request) -> CheckState:
    name = request.match_info["name"]
    try:
        return agent_of(request).health.checks[name]
    except KeyError:
        raise Problem(404, f"no check named {name!r}") from None


@endpoint("GET", "/api/v1/checks/{name}", "One check's current state", tag="checks",
          response=CHECK)
async def get_check(request: web.Request) -> web.Response:
    return ok(_state(request).public())


RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400,
          "365d": 365 * 86400}


def _range(request: web.Request) -> tuple[str, float, float]:
    """The `range` asked for (default 24h) as (name, since, until)."""
    name = request.query.get("range", "24h")
    if name not in RANGES:
        raise Problem(422, f"range must be one of {', '.join(RANGES)}", known=list(RANGES))
    until = time.time()
    return name, until - RANGES[name], until


@endpoint("GET", "/api/v1/checks/{name}/history",
          "A metric's history (with `metric`), or the check's recent results, newest first",
          query={"metric": "a metric of the check: answer its samples over `range`",
                 "range": "1h, 24h (default), 7d, 30d, 90d or 365d (with metric)",
                 "points": "about this many samples (10-2000, default 300; with metric)",
                 "since": "epoch seconds (results)", "limit": "at most this many (1-5000)"},
          tag="checks", response=CHECK_HISTORY, problems=(422,))
async def check_history(request: web.Request) -> web.Response:
    cs = _state(request)
    health = agent_of(request).health
    if "metric" not in request.query and "range" not in request.query:
        since = query_number(request, "since", 0)
        limit = int(query_number(request, "limit", 500, minimum=1, maximum=5000))
        return ok({"check": cs.check.name,
                   "results": await health.results(cs.check.name, since, limit)})
    name, since, until = _range(request)
    points = int(query_number(request, "points", 300, minimum=10, maximum=2000))
    await health.flush()  # results still waiting for their batch are part of the answer
    known = [metric for _, metric in await health.history.metrics(cs.check.name)]
    metric = request.query.get("metric", "")
    if metric not in known:
        raise Problem(422, f"{cs.check.name} has no stored metric {metric!r}", known=known)
    unit = cs.check.units.get(metric) or await health.history.unit(cs.check.name, metric)
    samples = await health.history.series(cs.check.name, metric, since, until, points)
    return ok({"check": cs.check.name, "metric": metric, "unit": unit and unit.value,
               "range": name, "since": since, "until": until,
               "samples": [[s.ts, s.min, s.avg, s.max] for s in samples]})


@endpoint("GET", "/api/v1/checks/{name}/spans",
          "A check's status spans over a range, and the seconds spent in each status",
          query={"range": "1h, 24h (default), 7d, 30d, 90d or 365d"}, tag="checks",
          response=CHECK_SPANS, problems=(422,))
async def check_spans(request: web.Request) -> web.Response:
    cs = _state(request)
    name, since, until = _range(request)
    health = agent_of(request).health
    await health.flush()
    spans = await health.history.spans(cs.check.name, since, until)
    return ok({"check": cs.check.name, "range": name, "since": since, "until": until,
               "spans": [asdict(span) | {"status": span.status.value} for span in spans],
               "status_seconds": await health.history.status_seconds(cs.check.name, since,
                                                                     until)})


RUN_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"names": {"type": "array", "items": {"type": "string"}}},
}


@endpoint("POST", "/api/v1/checks/run", "Run checks now (all, or those named)", role=ADMIN,
          body=RUN_SCHEMA, tag="checks", response=CHECK_RUN)
async def run_checks(request: web.Request) -> web.Response:
    body = await json_body(request, RUN_SCHEMA)
    health = agent_of(request).health
    names = body.get("names") or list(health.checks)
    if unknown := [n for n in names if n not in health.checks]:
        raise Problem(404, f"no check named {', '.join(map(repr, unknown))}",
                      known=sorted(health.checks))
    states = await asyncio.gather(*(health.run(name) for name in names))
    return ok({"checks": [cs.public() for cs in states]})
