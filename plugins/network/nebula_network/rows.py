"""Readings as plain JSON rows, with the fields that declare them. Panels and Jarvis
tools serve the same rows, so the dashboard and the model see the same keys and units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Field, Unit, human
from nebula_network.coordinator import WanReading
from nebula_network.readings import NOT_EXPOSED, Reading

INTERFACE_FIELDS = (
    Field("interface", "Interface", "", "Network interface name."),
    Field("state", "Link", "", "Operational state from /sys/class/net (up, down, unknown "
                               "for links without carrier detection such as lo)."),
    Field("speed", "Speed", "", "Negotiated link speed; empty where the driver does not "
                                "say (virtual links, a link that is down)."),
    Field("rx", "Receive", "", "Received per second since the previous reading."),
    Field("tx", "Send", "", "Sent per second since the previous reading."),
    Field("rx_packets_per_s", "Packets in", "/s", "Packets received per second."),
    Field("tx_packets_per_s", "Packets out", "/s", "Packets sent per second."),
    Field("errors", "Errors", "", "Receive and send errors since the previous reading."),
    Field("drops", "Drops", "", "Packets dropped since the previous reading."),
    Field("mtu", "MTU", "", "Largest packet the link carries, in bytes."),
)

LISTENER_FIELDS = (
    Field("proto", "Proto", "", "tcp or udp (an unconnected UDP socket takes datagrams "
                                "from anyone)."),
    Field("address", "Address", "", "The address the socket is bound to."),
    Field("port", "Port", "", ""),
    Field("scope", "Reach", "", "loopback: this host only; lan: one address of this "
                                "host; all: every address, so every network the host is on."),
    Field("pid", "PID", "", "Owning process; empty for kernel sockets or a process the "
                            "agent may not read."),
    Field("process", "Process", "", ""),
    Field("cmdline", "Command line", "", ""),
    Field("container", "Container", "", "Container id (docker, podman, containerd) where "
                                        "the owner runs in one."),
    Field("expected", "Expected", "", "Loopback, or listed in expected_ports; false is an "
                                      "exposure."),
)

STATE_FIELDS = (
    Field("state", "State", "", "TCP state (LISTEN sockets are in the listeners table)."),
    Field("count", "Connections", "", ""),
)

PEER_FIELDS = (
    Field("peer", "Remote address", "", ""),
    Field("connections", "Connections", "", "TCP connections in any state and connected "
                                            "UDP sockets with this peer."),
)

WAN_FIELDS = (
    Field("public_ipv4", "Public IPv4", "", "As the DDNS plugin last saw it."),
    Field("public_ipv6", "Public IPv6", "", ""),
    Field("gateway", "Gateway", "", "Default route's gateway and whether it answers."),
    Field("dns", "DNS", "", "Resolution latency per resolver."),
    Field("conntrack", "Conntrack", "", "Connection-tracking table in use."),
)


def _speed(mbps: int | None) -> str:
    if mbps is None:
        return ""
    return f"{mbps / 1000:g} Gb/s" if mbps >= 1000 else f"{mbps} Mb/s"


def interfaces(reading: Reading) -> list[dict[str, Any]]:
    found = []
    for nic in reading.interfaces:
        rates = nic.rates or {}
        row: dict[str, Any] = {
            "interface": nic.name, "state": nic.operstate, "speed": _speed(nic.speed_mbps),
            "speed_mbps": nic.speed_mbps, "mtu": nic.mtu,
            "rx": human(rates["rx_bytes_per_s"], Unit.BYTES_PER_S) if rates else "",
            "tx": human(rates["tx_bytes_per_s"], Unit.BYTES_PER_S) if rates else "",
            "errors": int(rates["rx_errors"] + rates["tx_errors"]) if rates else None,
            "drops": int(rates["rx_drops"] + rates["tx_drops"]) if rates else None,
            "rx_bytes": nic.counters["bytes_recv"], "tx_bytes": nic.counters["bytes_sent"],
        }
        for key in ("rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s",
                    "tx_packets_per_s"):
            row[key] = round(rates[key], 1) if rates else None
        found.append(row)
    return found


def states(reading: Reading) -> list[dict[str, Any]]:
    return [{"state": state, "count": n}
            for state, n in reading.sockets.states.most_common()]


def peers(reading: Reading, top: int) -> list[dict[str, Any]]:
    return [{"peer": peer, "connections": n}
            for peer, n in reading.sockets.top_peers(top)]


def conntrack(reading: Reading) -> dict[str, Any]:
    track = reading.conntrack
    if track.percent is None:
        return {"count": None, "max": None, "percent": None, "note": NOT_EXPOSED}
    return {"count": track.count, "max": track.max, "percent": round(track.percent, 1)}


def _public(reading: WanReading, family: str) -> str:
    info = reading.public_ip.get(family)
    if isinstance(info, Mapping):
        return str(info.get("ip") or f"unknown: {info.get('reason') or 'no answer'}")
    return f"unknown: {reading.public_ip.get('reason') or 'not published'}"


def wan(reading: WanReading, network: Reading) -> dict[str, Any]:
    gw = reading.gateway
    if gw.reach is None:
        gateway = f"unknown: {gw.reason}"
    else:
        r = gw.reach
        gateway = (f"{r.address} up, {r.ms:.1f} ms ({r.method})" if r.reachable
                   else f"{r.address} unreachable ({r.method}: {r.detail})")
    dns = ", ".join(f"{p.resolver} {p.ms:.0f} ms" if p.ms is not None
                    else f"{p.resolver} failed ({p.error})" for p in reading.dns)
    track = network.conntrack
    return {"public_ipv4": _public(reading, "ipv4"),
            "public_ipv6": _public(reading, "ipv6") if "ipv6" in reading.public_ip else "",
            "gateway": gateway, "dns": dns or "no resolvers",
            "conntrack": NOT_EXPOSED if track.percent is None
            else f"{track.count} of {track.max} ({track.percent:.0f} %)"}


def wan_detail(reading: WanReading) -> dict[str, Any]:
    """The way out as data (the Jarvis tool's answer)."""
    gw = reading.gateway
    return {
        "public_ip": dict(reading.public_ip),
        "gateway": None if gw.reach is None else {
            "address": gw.reach.address, "interface": gw.interface,
            "method": gw.reach.method, "reachable": gw.reach.reachable, "ms": gw.reach.ms,
            "detail": gw.reach.detail},
        "gateway_reason": gw.reason,
        "dns": [p.row() for p in reading.dns],
    }
