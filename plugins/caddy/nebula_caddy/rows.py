"""Panel rows and their fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Field
from nebula.helpers.tlscert import CertState
from nebula_caddy.coordinator import Runtime, Snapshot

SITE_FIELDS = (
    Field("host", "Host"), Field("server", "Server"), Field("port", "Port"),
    Field("upstreams", "Upstreams"),
    Field("upstream_health", "Upstream health",
          description="ok, or each unhealthy upstream and why"),
    Field("tls", "TLS", description="the certificate as a client sees it, or no TLS"),
    Field("hours_left", "Cert hours left", "h"),
    Field("containers", "Containers",
          description="the container behind each upstream dialled by container name, as "
                      "the docker plugin reports it"),
    Field("managed", "Added here", description="added by this plugin's add_site"),
)
UPSTREAM_FIELDS = (
    Field("address", "Address"), Field("sites", "Sites"),
    Field("num_requests", "In flight", description="Caddy's requests in flight"),
    Field("fails", "Recent fails", description="Caddy's passive failure count"),
    Field("reachable", "Reachable", description="the agent can connect"),
    Field("error", "Error"),
)
TLS_FIELDS = (
    Field("host", "Host"), Field("address", "Checked at"), Field("trusted", "Trusted"),
    Field("issuer", "Issuer"), Field("hours_left", "Hours left", "h"),
    Field("lifetime_left", "Lifetime left", description="fraction of the lifetime ahead"),
    Field("error", "Error"),
)


def _tls(state: CertState | None, tls: bool) -> str:
    if not tls:
        return "no TLS"
    if state is None:
        return "not checked yet"
    return f"trusted, {state.issuer}" if state.trusted else str(state.error)


def site_rows(runtime: Runtime, snap: Snapshot, certs: Mapping[str, CertState],
              now: float) -> list[dict[str, Any]]:
    upstreams = {row["address"]: row for row in snap.upstream_rows()}
    rows = []
    for site in snap.sites:
        bad = [f"{d}: {upstreams[d]['error'] or str(upstreams[d]['fails']) + ' fails'}"
               for d in site.upstreams if d in upstreams
               and (not upstreams[d]["reachable"] or upstreams[d]["fails"])]
        state = certs.get(site.host)
        containers = []
        for dial in site.upstreams:
            if (found := runtime.container_for(dial)) is not None:
                health = f", {found['health']}" if found.get("health") else ""
                containers.append(f"{dial.rpartition(':')[0]} ({found['state']}{health})")
        rows.append({"host": site.host, "server": site.server, "port": site.port(),
                     "upstreams": ", ".join(site.upstreams),
                     "upstream_health": "; ".join(bad) or "ok",
                     "tls": _tls(state, site.tls),
                     "hours_left": None if state is None
                     else state.public(now)["hours_left"],
                     "containers": ", ".join(containers) or None,
                     "managed": site.managed})
    return rows


def tls_rows(certs: Mapping[str, CertState], now: float) -> list[dict[str, Any]]:
    return [certs[h].public(now) for h in sorted(certs)]
