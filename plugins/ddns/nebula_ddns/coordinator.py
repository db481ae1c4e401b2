"""The plugin's runtime: `nebula.helpers.ddns`'s `Updater` over every configured account,
each host kept by its entry's provider and read back from its entry's resolvers (an rfc2136
entry's own server unless it names others)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import PluginContext
from nebula.helpers import nameservers
from nebula.helpers.ddns.updater import Provider, Settings, Target, Updater
from nebula_ddns.cloudflare import Cloudflare
from nebula_ddns.duckdns import DuckDns
from nebula_ddns.schema import DUCKDNS_MIN_INTERVAL, entries, fqdn


def _provider(ctx: PluginContext, kind: str, index: int,
              entry: Mapping[str, Any]) -> Provider:
    timeout = ctx.config["timeout"]
    if kind == "rfc2136":
        # dnspython's update and TSIG modules load only for an account that needs them.
        from nebula_ddns.rfc2136 import Rfc2136

        return Rfc2136(nameservers.parse(entry["server"], 53), entry["zone"],
                       entry["key_name"], entry.get("key_algorithm", "hmac-sha256"),
                       entry["key_secret"], ttl=entry.get("ttl", 60), timeout=timeout)
    if kind == "cloudflare":
        return Cloudflare(ctx.http, entry.get("api_url", "https://api.cloudflare.com/client/v4"),
                          entry["api_token"], index, zone=entry.get("zone"), timeout=timeout)
    return DuckDns(ctx.http, entry.get("update_url", "https://www.duckdns.org/update"),
                   entry["token"], entry.get("domain", "duckdns.org"), index, timeout=timeout)


def _min_interval(kind: str, entry: Mapping[str, Any]) -> float:
    default = DUCKDNS_MIN_INTERVAL if kind == "duckdns" else 0.0
    return float(entry.get("min_interval", default))


def updater(ctx: PluginContext) -> Updater:
    config = ctx.config
    port = config["dns_port"]
    plugin_resolvers = tuple(nameservers.parse(s, port) for s in config["resolvers"])
    targets = []
    for kind, index, entry in entries(config):
        provider = _provider(ctx, kind, index, entry)
        if entry.get("resolvers"):
            resolvers = tuple(nameservers.parse(s, port) for s in entry["resolvers"])
        elif kind == "rfc2136":  # verified by a query to the server that took the update
            resolvers = (nameservers.parse(entry["server"], 53),)
        else:
            resolvers = plugin_resolvers
        zone = entry.get("zone") or (entry.get("domain") if kind == "duckdns" else None)
        targets += [Target(fqdn(kind, entry, host), zone, provider, resolvers,
                           _min_interval(kind, entry)) for host in entry["hosts"]]
    return Updater(ctx, targets, Settings.of(config), show_provider=True)


__all__ = ["Updater", "updater"]
