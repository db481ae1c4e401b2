"""Public-IP echo services (ipify, checkip.amazonaws.com, icanhazip, ...) on one local server,
each answering in its real format (shared/protocols.md, section 6): for the zoneedit plugin's
tests, and the domains plugin's, which reads our public IP through zoneedit."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web

from tests.loopback import serving


@dataclass
class EchoServices:
    """Several echo services on one server, each in its real answer format; `ips[name]`
    is what each reports (None: it answers a captive-portal page without an address)."""

    ips: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(FORMATS))
    # What the same services answer on their IPv6 endpoints (`/v6/<name>`).
    ips6: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(FORMATS))
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{name}", self.handle)
        app.router.add_get("/v6/{name}", self.handle)
        return app

    def urls(self, *names: str, v6: bool = False) -> list[str]:
        prefix = "/v6" if v6 else ""
        return [f"{self.base}{prefix}/{name}" for name in names or FORMATS]

    def set(self, ip: str | None, **overrides: str | None) -> None:
        self.ips = {name: overrides.get(name, ip) for name in FORMATS}

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        ip = (self.ips6 if request.path.startswith("/v6/") else self.ips).get(name)
        if ip is None:
            return web.Response(text="<html><body>Please log in to the hotel Wi-Fi</body>"
                                     "</html>", content_type="text/html")
        body, ctype = FORMATS[name](ip)
        return web.Response(text=body, content_type=ctype)


@contextlib.asynccontextmanager
async def echo_services(ip: str | None) -> AsyncIterator[EchoServices]:
    """Every echo service reporting `ip`, served on a loopback port (a test's fixture)."""
    services = EchoServices()
    services.set(ip)
    async with serving(services.app()) as base:
        services.base = base
        yield services


FORMATS: dict[str, Callable[[str], tuple[str, str]]] = {
    "ipify": lambda ip: (ip, "text/plain"),
    "ipify-json": lambda ip: (json.dumps({"ip": ip}), "application/json"),
    "dyndns": lambda ip: ("<html><head><title>Current IP Check</title></head><body>Current IP "
                          f"Address: {ip}</body></html>\r\n", "text/html"),
    "aws": lambda ip: (ip + "\n", "text/plain"),
    "trace": lambda ip: (f"fl=29f1\nh=1.1.1.1\nip={ip}\nts=1700000000.1\n", "text/plain"),
}
