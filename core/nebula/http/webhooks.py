"""Plugin webhooks at `/plugins/<name>/hooks/<hook>`: the one way a route is reachable
without a session or a token. The caller sends the webhook's shared secret in the
`X-Webhook-Secret` header, compared in constant time; anything else is a 401.

Being open, they are rate-limited in a sliding window: calls per webhook, calls per
client address, and, far more strictly, wrong secrets per address. An address that has
guessed wrong too often is refused (429) even with the right secret until its window
passes, so guessing the secret is slow; other addresses are not affected.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.contributions import WEBHOOK_HEADER
from nebula.http.problems import Problem
from nebula.http.security import PROXIES
from nebula.logs import get_logger
from nebula.plugins import LOADED

if TYPE_CHECKING:
    from nebula.agent import Agent

log = get_logger(component="http")


@dataclass
class Limits:
    window: float = 60.0
    per_hook: int = 120  # accepted calls of one webhook, from anywhere
    per_ip: int = 240  # calls of any webhook from one address
    wrong_per_ip: int = 10  # wrong secrets (or unknown hooks) from one address


class Window:
    """Timestamps of recent events per key; `full` says whether a key reached a limit."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}

    def _recent(self, key: str, window: float, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - window:
            events.popleft()
        return events

    def full(self, key: str, limit: int, window: float, now: float) -> float | None:
        """Seconds until the key is below its limit again, or None when it is already."""
        events = self._recent(key, window, now)
        if len(events) < limit:
            return None
        return events[-limit] + window - now

    def add(self, key: str, now: float) -> None:
        self._events.setdefault(key, deque()).append(now)
        if len(self._events) > 10_000:  # bounded under a spray of addresses
            for stale in [k for k, v in self._events.items() if not v or v[-1] < now - 3600]:
                del self._events[stale]


def _too_many(retry_after: float, detail: str) -> Problem:
    exc = Problem(429, detail, retry_after=math.ceil(retry_after))
    exc.response.headers["Retry-After"] = str(math.ceil(retry_after))
    return exc


class Webhooks:
    def __init__(self, agent: Agent, limits: Limits | None = None) -> None:
        self._agent = agent
        self.limits = limits or Limits()
        self._calls = Window()
        self._wrong = Window()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        plugin, hook = request.match_info["plugin"], request.match_info["hook"]
        ip = request.app[PROXIES].client_ip(request)
        limits, now = self.limits, time.monotonic()
        # Checked before the secret: a locked-out address learns nothing, right or wrong.
        if (wait := self._wrong.full(ip, limits.wrong_per_ip, limits.window, now)) is not None:
            raise _too_many(wait, "too many wrong webhook secrets from this address")
        if (wait := self._calls.full(f"ip:{ip}", limits.per_ip, limits.window, now)) is not None:
            raise _too_many(wait, "too many webhook calls from this address")
        self._calls.add(f"ip:{ip}", now)
        record = self._agent.manager.records.get(plugin)
        hooks = record.contributions.webhooks if record and record.state == LOADED else []
        webhook = next((w for w in hooks if w.name == f"{plugin}.{hook}"), None)
        sent = request.headers.get(WEBHOOK_HEADER, "")
        # Unknown hooks answer exactly as wrong secrets do, so callers cannot map them.
        expected = webhook.secret if webhook else "\0" * 32
        if not (hmac.compare_digest(sent.encode(), expected.encode()) and webhook):
            self._wrong.add(ip, now)
            log.warning("http.webhook_refused", ip=ip, plugin=plugin, hook=hook)
            raise Problem(401, f"a valid {WEBHOOK_HEADER} header is required")
        wait = self._calls.full(webhook.name, limits.per_hook, limits.window, now)
        if wait is not None:
            raise _too_many(wait, f"webhook {webhook.name} is called too often")
        self._calls.add(webhook.name, now)
        if request.method not in webhook.methods:
            raise web.HTTPMethodNotAllowed(request.method, webhook.methods)
        return await webhook.handler(request)


WEBHOOKS: web.AppKey[Webhooks] = web.AppKey("webhooks")
