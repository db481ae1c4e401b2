"""What Caddy's JSON config says about sites, and the edits the plugin makes to it.

A site is a host name in a route's `host` matcher of an HTTP server; its upstreams are the
`dial` addresses of every `reverse_proxy` handler under that route (through subroutes, as
the Caddyfile adapter nests them). The functions here are pure: they read or return config
dicts and never talk to Caddy."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Config = dict[str, Any]
DEFAULT_HTTP_PORT = 80


class EditError(ValueError):
    """The requested edit does not fit the running config (names what is wrong)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Site:
    host: str
    server: str
    listen: tuple[str, ...]
    upstreams: tuple[str, ...]
    tls: bool
    managed: bool  # added by this plugin (its route carries our @id)

    def port(self) -> int:
        """The port the site answers on (the first listener's)."""
        return _port(self.listen[0]) if self.listen else 443


def route_id(host: str) -> str:
    return f"nebula-site-{host}"


def _servers(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((config.get("apps") or {}).get("http") or {}).get("servers") or {}


def _port(listen: str) -> int:
    """`":443"`, `"127.0.0.1:8443"`, `"tcp/[::1]:443"` → the port (a range: its first)."""
    port = listen.rsplit(":", 1)[-1].split("-")[0]
    return int(port) if port.isdigit() else 443


def _serves_tls(config: Mapping[str, Any], server: Mapping[str, Any]) -> bool:
    """Automatic HTTPS covers every server not (only) on the HTTP port, unless disabled."""
    if (server.get("automatic_https") or {}).get("disable"):
        return bool(server.get("tls_connection_policies"))
    http_port = ((config.get("apps") or {}).get("http") or {}).get("http_port",
                                                                    DEFAULT_HTTP_PORT)
    return any(_port(listen) != http_port for listen in server.get("listen") or [])


def _dials(handlers: Any) -> Iterator[str]:
    for handler in handlers or []:
        if handler.get("handler") == "reverse_proxy":
            for upstream in handler.get("upstreams") or []:
                if dial := upstream.get("dial"):
                    yield str(dial)
        for route in handler.get("routes") or []:  # subroute
            yield from _dials(route.get("handle"))


def sites(config: Mapping[str, Any]) -> list[Site]:
    """Every (host, server) the config serves, sorted by host."""
    found: dict[tuple[str, str], Site] = {}
    for name, server in _servers(config).items():
        listen = tuple(server.get("listen") or ())
        tls = _serves_tls(config, server)
        for route in server.get("routes") or []:
            upstreams = tuple(dict.fromkeys(_dials(route.get("handle"))))
            for matcher in route.get("match") or []:
                for host in matcher.get("host") or []:
                    key = (host, name)
                    if key not in found:
                        found[key] = Site(host, name, listen, upstreams, tls,
                                          route.get("@id") == route_id(host))
    return sorted(found.values(), key=lambda s: (s.host, s.server))


def tls_servers(config: Mapping[str, Any]) -> list[str]:
    return sorted(n for n, s in _servers(config).items() if _serves_tls(config, s))


def pick_server(config: Mapping[str, Any], wanted: str | None) -> str:
    """The server a new site goes to: the one asked for, else the only TLS server."""
    servers = _servers(config)
    if wanted:
        if wanted not in servers:
            raise EditError("server", f"Caddy has no server {wanted!r}; it has: "
                                      f"{', '.join(sorted(servers)) or 'none'}")
        return wanted
    candidates = tls_servers(config)
    if len(candidates) != 1:
        raise EditError("server", "say which server the site goes to: Caddy has "
                                  f"{len(candidates)} HTTPS servers "
                                  f"({', '.join(candidates) or 'none'})")
    return candidates[0]


def add_site(config: Mapping[str, Any], host: str, upstreams: list[str], server: str,
             internal_tls: bool) -> Config:
    """A copy of `config` with a reverse-proxy route for `host` first in `server` (an exact
    host is the most specific match, so it goes before any wildcard or catch-all), and with
    `internal_tls` a TLS automation policy issuing its certificate from Caddy's internal
    CA."""
    if any(s.host == host for s in sites(config)):
        raise EditError("host", f"Caddy already serves {host}")
    new: Config = copy.deepcopy(dict(config))
    srv = new["apps"]["http"]["servers"][server]
    route = {"@id": route_id(host), "match": [{"host": [host]}],
             "handle": [{"handler": "subroute", "routes": [{"handle": [
                 {"handler": "reverse_proxy",
                  "upstreams": [{"dial": dial} for dial in upstreams]}]}]}],
             "terminal": True}
    srv["routes"] = [route, *(srv.get("routes") or [])]
    if internal_tls:
        tls = new["apps"].setdefault("tls", {})
        policies = tls.setdefault("automation", {}).setdefault("policies", [])
        policies.insert(0, {"subjects": [host], "issuers": [{"module": "internal"}]})
    return new


def remove_site(config: Mapping[str, Any], host: str) -> Config:
    """A copy of `config` without `host`: dropped from every route's host matcher (a route
    left matching no host goes), and from TLS automation policies' subjects (a policy left
    with none goes: an empty list would make it apply to every name)."""
    if not any(s.host == host for s in sites(config)):
        raise EditError("host", f"Caddy serves no site {host}")
    new: Config = copy.deepcopy(dict(config))
    for server in _servers(new).values():
        kept = []
        for route in server.get("routes") or []:
            matchers = route.get("match") or []
            left = []
            for matcher in matchers:
                if host in (matcher.get("host") or []):
                    matcher["host"] = [h for h in matcher["host"] if h != host]
                    if not matcher["host"]:
                        continue  # a set that named only this host served no one else
                left.append(matcher)
            if matchers and not left:
                continue
            if matchers:
                route["match"] = left
            kept.append(route)
        server["routes"] = kept
    automation = ((new.get("apps") or {}).get("tls") or {}).get("automation") or {}
    policies = []
    for policy in automation.get("policies") or []:
        subjects = policy.get("subjects")
        if subjects and host in subjects:
            policy["subjects"] = [s for s in subjects if s != host]
            if not policy["subjects"]:
                continue
        policies.append(policy)
    if "policies" in automation:
        automation["policies"] = policies
    return new


def summary(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[str]]:
    """Which sites a change adds, removes or re-points (what a reload's plan shows)."""
    old = {(s.host, s.server): s for s in sites(before)}
    new = {(s.host, s.server): s for s in sites(after)}
    changed = [f"{h} ({srv}): {', '.join(old[(h, srv)].upstreams) or '-'} -> "
               f"{', '.join(new[(h, srv)].upstreams) or '-'}"
               for h, srv in sorted(old.keys() & new.keys())
               if old[(h, srv)].upstreams != new[(h, srv)].upstreams]
    return {"added": [f"{h} ({s})" for h, s in sorted(new.keys() - old.keys())],
            "removed": [f"{h} ({s})" for h, s in sorted(old.keys() - new.keys())],
            "changed": changed}
