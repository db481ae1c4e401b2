"""The names this agent answers to (`[agent] allowed_hosts`): a defence against DNS rebinding.

A page on `evil.example` can point that name at 127.0.0.1 once the browser has loaded it;
from then on the browser treats the agent as same-origin with the page, and only the Host
header (`evil.example`) still tells the two apart. So every request whose Host is not one
of ours is refused with 421 before authentication, the login form or any handler sees it.

Default: the bind address, `localhost`, `127.0.0.1`, `::1` and the host of `public_url`.
When the agent binds every interface (`0.0.0.0` or `::`) it is reached by whatever address
the network gives it, so it then also accepts this machine's host name and any IP address
as Host: a rebinding page always sends a name, never an address. `["*"]` turns the check
off. `/healthz` answers whatever the Host: monitors and container health checks call it by
odd names, and it says only "ok".
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from nebula.http.endpoints import Handler
from nebula.http.problems import problem
from nebula.logs import get_logger

ANY = "*"
EXEMPT_PATHS = frozenset({"/healthz"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
log = get_logger(component="http")


def host_name(value: str) -> str:
    """The host part of a Host header (or an `allowed_hosts` entry), in the one form we
    compare: lower-case, without the port, IPv6 brackets or a trailing dot, an IP address
    in its canonical spelling."""
    value = value.strip().lower()
    if value.startswith("["):  # [v6]:port
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # name:port (a bare v6 address has several colons)
        value = value.partition(":")[0]
    value = value.rstrip(".")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _host_of_url(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:  # "https://[nebula": the config check lets it through
        log.warning("http.public_url_invalid", public_url=url)
        return None


class AllowedHosts:
    def __init__(self, agent: Mapping[str, Any]) -> None:
        entries: Iterable[str] | None = agent.get("allowed_hosts")
        bind = str(agent.get("bind", ""))
        self.any_address = False
        if entries is None:
            entries = [bind, "localhost", "127.0.0.1", "::1"]
            if public := _host_of_url(agent.get("public_url") or ""):
                entries.append(public)
            if bind in WILDCARD_BINDS:
                entries.append(socket.gethostname())
                self.any_address = True
        self.any = ANY in entries
        self.names = frozenset(host_name(e) for e in entries if e not in WILDCARD_BINDS)

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        if not header:
            return False
        name = host_name(header)
        return name in self.names or (self.any_address and _is_address(name))


ALLOWED_HOSTS: web.AppKey[AllowedHosts] = web.AppKey("allowed_hosts")


@web.middleware
async def hosts_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Host")
    if request.path in EXEMPT_PATHS or request.app[ALLOWED_HOSTS].allows(header):
        return await handler(request)
    # Escaped: the header may hold any bytes a client sent.
    shown = header.encode("utf-8", "backslashreplace").decode() if header else header
    log.warning("http.host_refused", host=shown, method=request.method, path=request.path,
                remote=request.remote)
    if header is None:
        return problem(400, "a Host header is required")
    return problem(421, "this agent does not answer to that host name; add it to "
                        "[agent] allowed_hosts (or set public_url) if it is yours")
