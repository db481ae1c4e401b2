"""A stand-in for n8n on a loopback port, answering in the shapes of n8n's public API:
`GET /healthz`, `GET /api/v1/workflows` (cursor pagination: `data` + `nextCursor`),
`POST /api/v1/workflows/{id}/activate|deactivate`, all but /healthz behind
`X-N8N-API-KEY`."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "n8n_api_3f9c2a7b5d1e4f60"


def workflow(wid: str, name: str, active: bool) -> dict[str, Any]:
    return {"id": wid, "name": name, "active": active, "isArchived": False,
            "createdAt": "2026-01-02T03:04:05.000Z", "updatedAt": "2026-01-02T03:04:05.000Z",
            "nodes": [], "connections": {}, "settings": {}, "tags": []}


@dataclass
class FakeN8n:
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (path, query) of every API request, to see the pages the plugin walked.
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""
    # A test that sets `hold` keeps the workflow list from answering until it is set;
    # `held` is set once a request waits there.
    hold: asyncio.Event | None = None
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/api/v1/workflows", self._list)
        app.router.add_post("/api/v1/workflows/{id}/activate", self._activate)
        app.router.add_post("/api/v1/workflows/{id}/deactivate", self._deactivate)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            self.requests.append((request.path, dict(request.query)))
            if request.headers.get("X-N8N-API-KEY") != API_KEY:
                return web.json_response({"message": "unauthorized"}, status=401)
        return await handler(request)

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _list(self, request: web.Request) -> web.Response:
        if self.hold is not None:
            self.held.set()
            await self.hold.wait()
        limit = int(request.query.get("limit", "100"))
        if not 1 <= limit <= 250:
            return web.json_response({"message": "request/query/limit must be <= 250"},
                                     status=400)
        start = 0
        if cursor := request.query.get("cursor"):
            start = json.loads(base64.b64decode(cursor))["offset"]
        rows = sorted(self.workflows.values(), key=lambda w: w["id"])
        if "active" in request.query:
            rows = [w for w in rows if w["active"] == (request.query["active"] == "true")]
        page, end = rows[start:start + limit], start + limit
        next_cursor = (base64.b64encode(json.dumps({"offset": end}).encode()).decode()
                       if end < len(rows) else None)
        return web.json_response({"data": page, "nextCursor": next_cursor})

    async def _set(self, request: web.Request, active: bool) -> web.Response:
        found = self.workflows.get(request.match_info["id"])
        if found is None:
            return web.json_response({"message": "Not Found"}, status=404)
        found["active"] = active
        return web.json_response(found)

    async def _activate(self, request: web.Request) -> web.Response:
        return await self._set(request, True)

    async def _deactivate(self, request: web.Request) -> web.Response:
        return await self._set(request, False)
