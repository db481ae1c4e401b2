"""A local stand-in for ZoneEdit's dynamic-update endpoint, following the protocol in
shared/protocols.md (section 3). The echo services are in `tests.echo_services`."""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

OnUpdate = Callable[[str, str], Awaitable[None]]

# The zone the tests keep up to date: every record starts on OLD_IP, the echo services
# report NEW_IP. Defined here, not in conftest.py, which pytest imports under another name.
OLD_IP, NEW_IP = "198.51.100.1", "203.0.113.7"
ZONE = "zone.test"
HOSTS = {"home.zone.test": ZONE, "www.zone.test": ZONE, "deep.sub.zone.test": ZONE}


@dataclass
class ZoneEdit:
    """`GET /auth/dynamic.html?host=a[,b]&dnsto=ip[&zone=z]` with Basic auth, answering one
    pseudo-XML tag per host (plus the surplus trailing SUCCESS the real one sometimes adds).

    `hosts` maps each known host to its zone. Within `min_interval` of a host's last
    update (per address family) it answers 707 "Too frequent" (or 707 "Duplicate" for the
    same IP); with `rate_limited` set it answers 702 with PARAM="600" to everything."""

    username: str
    token: str
    hosts: dict[str, str]
    on_update: OnUpdate
    min_interval: float = 600.0
    rate_limited: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, tuple[float, str]] = field(default_factory=dict)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/auth/dynamic.html", self.handle)
        return app

    def _credentials(self, request: web.Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return user, token

    async def handle(self, request: web.Request) -> web.Response:
        q = request.query
        creds = self._credentials(request)
        self.requests.append({"query": dict(q), "user": creds[0] if creds else None,
                              "authorized": creds == (self.username, self.token)})
        if creds is None:
            return web.Response(status=401, text="<html><head><title>Authentication Failed "
                                                 "</title></head></html>",
                                content_type="text/html")
        names = [h for h in q.get("host", "").split(",") if h]
        zone = q.get("zone", "")
        if creds != (self.username, self.token):
            return self._answer([f'<ERROR CODE="708" TEXT="Login/authorization error" '
                                 f'ZONE="{zone}">'])
        if not names:
            return self._answer(['<ERROR CODE="703" TEXT="one of either parameters '
                                 "'zones' or 'host' are required.\">"])
        if self.rate_limited:
            return self._answer(['<ERROR CODE="702" PARAM="600" TEXT="Minimum 600 seconds '
                                 f'between requests" ZONE="{zone}">'])
        ip = q.get("dnsto") or request.remote or ""
        tags = [await self._update(host, ip) for host in names]
        # The real service sometimes appends a surplus SUCCESS (ddclient PR #543).
        tags.append('<SUCCESS CODE="200" TEXT="Update succeeded.">')
        return self._answer(tags)

    async def _update(self, host: str, ip: str) -> str:
        zone = self.hosts.get(host)
        if zone is None:
            return f'<ERROR CODE="709" TEXT="invalid hostname" ZONE="" HOST="{host}">'
        now = time.time()
        key = f"{host}/{'ipv6' if ':' in ip else 'ipv4'}"
        if key in self.last and now - self.last[key][0] < self.min_interval:
            text = ("Duplicate updates for the same host/ip, adjust client settings"
                    if self.last[key][1] == ip
                    else "Too frequent updates for the same host, adjust client settings")
            return f'<ERROR CODE="707" TEXT="{text}" ZONE="{zone}" HOST="{host}">'
        self.last[key] = (now, ip)
        await self.on_update(host, ip)
        return (f'<SUCCESS CODE="200" TEXT="Update succeeded." ZONE="{zone}" HOST="{host}" '
                f'IP="{ip}">')

    @staticmethod
    def _answer(tags: list[str]) -> web.Response:
        # Two tags share a line, as the real answers sometimes do.
        return web.Response(text=" ".join(tags) + "\n", content_type="text/html")

    def updates(self) -> list[tuple[str, str]]:
        return [(r["query"]["host"], r["query"].get("dnsto", "")) for r in self.requests]
