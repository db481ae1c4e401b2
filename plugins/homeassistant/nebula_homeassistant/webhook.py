"""The webhook Home Assistant automations call (a `rest_command` with the shared secret in
`X-Webhook-Secret`) to push events into Nebula as `homeassistant.webhook` events."""

from __future__ import annotations

import collections
import http
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

MAX_BODY = 64 * 1024
KEPT = 50


class Inbox:
    def __init__(self, emit: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None:
        self.emit = emit
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=KEPT)

    async def handle(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY:
            return _problem(413, f"the body is over {MAX_BODY // 1024} KiB")
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _problem(413, f"the body is over {MAX_BODY // 1024} KiB")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _problem(400, "the body must be JSON")
        if not isinstance(body, dict):
            return _problem(400, "the body must be a JSON object")
        self.recent.appendleft({"t": round(time.time(), 3), "data": body})
        await self.emit("webhook", body)
        return web.json_response({"status": "accepted"}, status=202)


def _problem(status: int, detail: str) -> web.Response:
    return web.json_response({"title": http.HTTPStatus(status).phrase, "status": status,
                              "detail": detail}, status=status,
                             content_type="application/problem+json")
