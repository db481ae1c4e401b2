"""The plugin's runtime: `nebula.helpers.ddns`'s `Updater` (one shared observation, the
update cycle, verification through DNS, limits and backoff) with ZoneEdit as the provider
of every configured host."""

from __future__ import annotations

from nebula.api import PluginContext
from nebula.helpers import nameservers
from nebula.helpers.ddns.updater import Settings, Target, Updater
from nebula_zoneedit.client import ZoneEdit
from nebula_zoneedit.schema import host_zones


def updater(ctx: PluginContext) -> Updater:
    config = ctx.config
    provider = ZoneEdit(ctx.http, config["update_url"], config["username"], config["token"],
                        timeout=config["timeout"], min_interval=config["min_interval"])
    resolvers = tuple(nameservers.parse(spec, config["dns_port"])
                      for spec in config["resolvers"])
    targets = [Target(host, zone, provider, resolvers, config["min_interval"])
               for host, zone in host_zones(config).items()]
    return Updater(ctx, targets, Settings.of(config))


__all__ = ["Updater", "updater"]
