"""The plugin's endpoints under /api/v1/logs: search with cursor paging, the hit
histogram, a line's context, a long-polled tail for the CLI, and the sources' states."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from nebula.api import Endpoint
from nebula_logs.coordinator import Logs
from nebula_logs.present import present
from nebula_logs.query import BadParam, filters_from
from nebula_logs.store import Filters, QueryError

FILTERS = {"q": "words to find (FTS5: words, \"a phrase\", OR, NOT, prefix*)",
           "since": "an age (30m, 2h, 1d) or an ISO time", "until": "the same, the end",
           "source": "a source name or glob; repeat or comma-separate for several",
           "unit": "a unit, container or app name or glob (the same way)",
           "level": "this level or worse (err, warning, info, …)"}
LINE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "ts": {"type": "number"}, "time": {"type": "string"},
    "source": {"type": "string"}, "host": {"type": "string"}, "unit": {"type": "string"},
    "level": {"type": ["integer", "null"]}, "level_name": {"type": ["string", "null"]},
    "message": {"type": "string"},
    "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
}}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(name, f"{raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise BadParam(name, f"must be between {low} and {high}")
    return value


def names_of(request: web.Request, key: str) -> list[str]:
    """A filter given repeated or comma-separated (`source=a,b&source=c`)."""
    return [s.strip() for raw in request.query.getall(key, []) for s in raw.split(",")
            if s.strip()]


def filters_of(request: web.Request) -> Filters:
    return filters_from(request.query, names_of(request, "source"), names_of(request, "unit"))


def guarded(handler: Handler) -> Handler:
    """Bad input is the client's: a 422 problem saying what to change, never a 500."""
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (BadParam, QueryError) as exc:
            raise web.HTTPUnprocessableEntity(text=str(exc)) from None
    return run


def endpoints(logs: Logs) -> list[Endpoint]:
    redact = logs.ctx.redact

    def lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [present(row, redact) for row in rows]

    async def search(request: web.Request) -> web.Response:
        filters = filters_of(request)
        limit = _int(request, "limit", 50, 1, 500)
        cursor = _int(request, "cursor", 0, 0, 2**62) or None
        around = _int(request, "context", 0, 0, 20)
        rows, used = await logs.search(filters, limit + 1, before=cursor)
        page, more = rows[:limit], len(rows) > limit
        found = lines(page)
        if around:
            for line in found:
                near = await logs.read(logs.store.context, line["id"], around, around)
                line["before"] = lines(near["before"])
                line["after"] = lines(near["after"])
        return web.json_response({"query": used, "lines": found,
                                  "next_cursor": page[-1]["id"] if more else None})

    async def histogram(request: web.Request) -> web.Response:
        filters = filters_of(request)
        data, used = await logs.histogram(filters, _int(request, "buckets", 60, 1, 500))
        return web.json_response({"query": used, **data})

    async def context(request: web.Request) -> web.Response:
        try:
            line_id = int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(text="a line id is a number") from None
        around = _int(request, "lines", 5, 0, 100)
        try:
            near = await logs.read(logs.store.context, line_id, around, around)
        except KeyError:
            raise web.HTTPNotFound(text=f"no line {line_id} (deleted by retention?)") from None
        return web.json_response({"line": lines([near["line"]])[0],
                                  "before": lines(near["before"]),
                                  "after": lines(near["after"])})

    async def tail(request: web.Request) -> web.Response:
        """Lines past `after` (the newest id when absent) matching the filters, waiting up
        to `wait` s for one to arrive."""
        filters = filters_of(request)
        after = _int(request, "after", -1, -1, 2**62)
        if after < 0:
            return web.json_response({"lines": [], "last_id": logs.last_id})
        wait = _int(request, "wait", 20, 0, 60)
        deadline = logs.loop.time() + wait
        while True:
            seen = logs.last_id  # before the search: a commit during it is looked at next
            rows, _ = await logs.search(filters, 500, after=after)
            if rows:
                return web.json_response({"lines": lines(rows), "last_id": rows[-1]["id"]})
            after = max(after, seen)  # nothing up to `seen` matches
            remaining = deadline - logs.loop.time()
            if remaining <= 0:
                return web.json_response({"lines": [], "last_id": after})
            await logs.wait_beyond(after, remaining)

    async def sources(_request: web.Request) -> web.Response:
        figures = await logs.figures.get()
        return web.json_response({"sources": logs.sources(), "store": figures})

    page_answer = {"type": "object", "title": "LogPage", "properties": {
        "query": {"type": "string"}, "lines": {"type": "array", "items": LINE},
        "next_cursor": {"type": ["integer", "null"]}}}
    return [
        Endpoint("GET", "", guarded(search), "Search the logs, newest first",
                 query={**FILTERS, "limit": "lines per page (1-500, 50)",
                        "cursor": "next_cursor of the previous page",
                        "context": "lines of context before and after each hit (0-20)"},
                 response=page_answer, problems=(422,)),
        Endpoint("GET", "/histogram", guarded(histogram),
                 "Matching lines over time, in equal buckets",
                 query={**FILTERS, "buckets": "how many (1-500, 60)"}, problems=(422,)),
        Endpoint("GET", "/context/{id}", guarded(context),
                 "A line and its neighbours from the same source",
                 query={"lines": "before and after (0-100, 5)"}, problems=(422,)),
        Endpoint("GET", "/tail", guarded(tail),
                 "New lines past `after`, waiting up to `wait` s for them (long poll)",
                 query={**FILTERS, "after": "the last id seen (absent: the newest now)",
                        "wait": "seconds to wait for a line (0-60, 20)"}, problems=(422,)),
        Endpoint("GET", "/sources", sources, "The sources, their states and the store's "
                 "figures (back-pressure included)"),
    ]
