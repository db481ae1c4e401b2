"""Plugin webhooks at `/plugins/<name>/hooks/<hook>`: the one way a route is reachable
without a session or a token. The caller sends the webhook's shared secret in the
`X-Webhook-Secret` header, compared in constant time; anything else is a 401."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.contributions import WEBHOOK_HEADER
from nebula.http.problems import Problem
from nebula.plugins import LOADED

if TYPE_CHECKING:
    from nebula.agent import Agent


class Webhooks:
    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    async def handle(self, request: web.Request) -> web.StreamResponse:
        plugin, hook = request.match_info["plugin"], request.match_info["hook"]
        record = self._agent.manager.records.get(plugin)
        hooks = record.contributions.webhooks if record and record.state == LOADED else []
        webhook = next((w for w in hooks if w.name == f"{plugin}.{hook}"), None)
        sent = request.headers.get(WEBHOOK_HEADER, "")
        # Unknown hooks answer exactly as wrong secrets do, so callers cannot map them.
        expected = webhook.secret if webhook else "\0" * 32
        if not (hmac.compare_digest(sent.encode(), expected.encode()) and webhook):
            raise Problem(401, f"a valid {WEBHOOK_HEADER} header is required")
        if request.method not in webhook.methods:
            raise web.HTTPMethodNotAllowed(request.method, webhook.methods)
        return await webhook.handler(request)
