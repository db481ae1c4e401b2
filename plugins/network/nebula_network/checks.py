"""The health checks, as pure functions of one reading and the plugin's config."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from nebula.api import CheckResult, Status, Unit, human, plural
from nebula.helpers.checks import Config, Threshold
from nebula_network import listeners
from nebula_network.coordinator import WanReading
from nebula_network.readings import NOT_EXPOSED, Reading

# Interface metrics: `<interface>.<key>`; rates per second, errors and drops new since the
# previous reading, speed in bits per second (what /sys gives in Mb/s, times a million).
RATE_KEYS = ("rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s", "tx_packets_per_s")
DELTA_KEYS = ("rx_errors", "tx_errors", "rx_drops", "tx_drops")
SHOWN = 5  # exposures a summary names; the listeners action lists them all


def interface_units(names: Iterable[str]) -> dict[str, Unit]:
    """The unit of each metric `interfaces` reports for these interfaces (declared with the
    check, so an interface that appears later has series without a unit)."""
    units: dict[str, Unit] = {}
    for name in names:
        units.update({f"{name}.{key}": Unit.BYTES_PER_S for key in RATE_KEYS[:2]})
        units.update({f"{name}.{key}": Unit.NONE for key in RATE_KEYS[2:]})  # packets/s
        units.update({f"{name}.{key}": Unit.COUNT for key in DELTA_KEYS})
        units[f"{name}.up"] = Unit.NONE
        units[f"{name}.speed_bps"] = Unit.NONE  # bits per second: no Unit says bits
    return units


EXPOSURE_UNITS = {"listeners": Unit.COUNT, "exposed": Unit.COUNT, "unexpected": Unit.COUNT}
CONNECTION_UNITS = {
    **{f"tcp.{state}": Unit.COUNT for state in (
        "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close",
        "close_wait", "last_ack", "closing", "new_syn_recv", "total")},
    "udp.connected": Unit.COUNT, "peers": Unit.COUNT, "conntrack.count": Unit.COUNT,
    "conntrack.max": Unit.COUNT, "conntrack.percent": Unit.PERCENT}
GATEWAY_UNITS = {"up": Unit.NONE, "latency_s": Unit.SECONDS}


def dns_units(resolvers: Iterable[str]) -> dict[str, Unit]:
    return {f"{label}.latency_s": Unit.SECONDS for label in resolvers}


def interfaces(reading: Reading, config: Config) -> CheckResult:
    metrics: dict[str, float] = {}
    down, errors = [], []
    for nic in reading.interfaces:
        up = nic.operstate in ("up", "unknown")  # "unknown": lo, tun, ... carry traffic
        metrics[f"{nic.name}.up"] = float(up)
        if nic.speed_mbps is not None:
            metrics[f"{nic.name}.speed_bps"] = nic.speed_mbps * 1e6
        if nic.rates is not None:
            metrics.update({f"{nic.name}.{k}": v for k, v in nic.rates.items()})
            if (new := nic.rates["rx_errors"] + nic.rates["tx_errors"]) > 0:
                errors.append(f"{nic.name} {plural(new, 'new error')}")
        if not up:
            down.append(nic.name)
    present = {nic.name for nic in reading.interfaces}
    required = config["required_interfaces"]
    missing = [p for p in required if not any(fnmatchcase(n, p) for n in present)]
    bad = [n for n in down if any(fnmatchcase(n, p) for p in required)] + \
          [f"{p} (absent)" for p in missing]
    busiest = max((nic for nic in reading.interfaces if nic.rates),
                  key=lambda nic: (nic.rates or {}).get("rx_bytes_per_s", 0)
                  + (nic.rates or {}).get("tx_bytes_per_s", 0), default=None)
    parts = [f"{len(reading.interfaces) - len(down)} of "
             f"{plural(len(reading.interfaces), 'interface')} up"]
    if busiest is not None and busiest.rates:
        rx, tx = (human(busiest.rates[key], Unit.BYTES_PER_S)
                  for key in ("rx_bytes_per_s", "tx_bytes_per_s"))
        parts.append(f"busiest {busiest.name} ↓{rx} ↑{tx}")
    if bad:
        return CheckResult(Status.CRITICAL, f"Required interface down: {', '.join(bad)}; "
                                            + "; ".join(parts), metrics)
    if errors:
        return CheckResult(Status.WARNING, f"Errors since the previous reading: "
                                           f"{', '.join(errors)}; " + "; ".join(parts),
                           metrics)
    return CheckResult(Status.OK, "; ".join(parts), metrics)


def exposure(reading: Reading, config: Config) -> CheckResult:
    table = reading.sockets
    found = listeners.pairs(table, config["expected_ports"])
    beyond = [(row, sock) for row, sock in found if row["scope"] != "loopback"]
    # Newest first: the summary names what just appeared before what was there already.
    unexpected = sorted(((row, sock) for row, sock in beyond if not row["expected"]),
                        key=lambda pair: -table.first_seen.get(pair[1].inode, 0.0))
    metrics = {"listeners": float(len(found)), "exposed": float(len(beyond)),
               "unexpected": float(len(unexpected))}
    if unexpected:
        shown = "; ".join(listeners.describe(row) for row, _ in unexpected[:SHOWN])
        more = f"; and {len(unexpected) - SHOWN} more" if len(unexpected) > SHOWN else ""
        return CheckResult(Status.WARNING,
                           f"{plural(len(unexpected), 'unexpected exposure')} (not in "
                           f"expected_ports, newest first): {shown}{more}", metrics)
    return CheckResult(Status.OK, f"{plural(len(found), 'listener')}, "
                                  f"{len(beyond)} beyond loopback, all expected", metrics)


def connections(reading: Reading, config: Config) -> CheckResult:
    table = reading.sockets
    metrics = {f"tcp.{state.lower()}": float(n) for state, n in table.states.items()}
    metrics["tcp.total"] = float(sum(table.states.values()))
    metrics["udp.connected"] = float(table.udp_connected)
    metrics["peers"] = float(table.peer_count)
    summary = (f"{plural(int(metrics['tcp.total']), 'TCP connection')} "
               f"({table.states.get('ESTABLISHED', 0)} established, "
               f"{table.states.get('TIME_WAIT', 0)} time-wait) with "
               f"{plural(table.peer_count, 'peer')}")
    track = reading.conntrack
    if track.percent is None:
        return CheckResult(Status.OK, f"{summary}; conntrack: {NOT_EXPOSED}", metrics)
    metrics.update({"conntrack.count": float(track.count or 0),
                    "conntrack.max": float(track.max or 0),
                    "conntrack.percent": track.percent})
    status, judged = Threshold.of(config, "conntrack").judge("conntrack", track.percent)
    return CheckResult(status, f"{judged} ({track.count} of {track.max}); {summary}",
                       metrics)


def dns(reading: WanReading, config: Config) -> CheckResult:
    if not reading.dns:
        return CheckResult(Status.UNKNOWN, "No resolvers: none configured and no nameserver "
                                           "in /etc/resolv.conf")
    metrics = {f"{p.resolver}.latency_s": p.ms / 1000 for p in reading.dns if p.ms is not None}
    failed = [f"{p.resolver}: {p.error}" for p in reading.dns if p.ms is None]
    refused = [f"{p.resolver} answered {p.rcode} for {config['dns_name']}"
               for p in reading.dns if p.ms is not None and p.rcode not in ("NOERROR",
                                                                           "NXDOMAIN")]
    slow = [f"{p.resolver} {p.ms:.0f} ms" for p in reading.dns
            if p.ms is not None and p.ms >= config["dns_slow_ms"]]
    answered = [f"{p.resolver} {p.ms:.0f} ms" for p in reading.dns if p.ms is not None]
    if len(failed) == len(reading.dns):
        return CheckResult(Status.CRITICAL, "No resolver answers: " + "; ".join(failed),
                           metrics)
    problems = failed + refused + [f"slow: {s} (warning at {config['dns_slow_ms']:g} ms)"
                                   for s in slow]
    if problems:
        return CheckResult(Status.WARNING, "; ".join(problems), metrics)
    return CheckResult(Status.OK, "Resolved by " + ", ".join(answered), metrics)


def gateway(reading: WanReading, config: Config) -> CheckResult:
    found = reading.gateway
    if found.reach is None:
        return CheckResult(Status.UNKNOWN, f"No gateway to check: {found.reason}")
    reach = found.reach
    via = f" via {found.interface}" if found.interface else ""
    metrics = {"up": float(reach.reachable)}
    if reach.ms is not None:
        metrics["latency_s"] = reach.ms / 1000
    if not reach.reachable:
        return CheckResult(Status.CRITICAL, f"Gateway {reach.address}{via} unreachable "
                                            f"({reach.method}): {reach.detail}", metrics)
    return CheckResult(Status.OK, f"Gateway {reach.address}{via} answers in {reach.ms:.1f} ms "
                                  f"({reach.method}: {reach.detail})", metrics)
