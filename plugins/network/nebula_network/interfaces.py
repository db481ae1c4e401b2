"""Per-interface counters (psutil, which reads /proc/net/dev) with link state and speed
from /sys/class/net, turned into rates between two readings. Blocking: worker thread."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import psutil

SYS_NET = "/sys/class/net"
# The counters a reading turns into per-second rates, and the ones it turns into "new
# since the previous reading" (errors and drops are rare: a count reads better than 0.03/s).
RATES = (("rx_bytes_per_s", "bytes_recv"), ("tx_bytes_per_s", "bytes_sent"),
         ("rx_packets_per_s", "packets_recv"), ("tx_packets_per_s", "packets_sent"))
DELTAS = (("rx_errors", "errin"), ("tx_errors", "errout"),
          ("rx_drops", "dropin"), ("tx_drops", "dropout"))


@dataclass(frozen=True)
class Interface:
    name: str
    operstate: str          # "up", "down", "unknown" (lo, tun), "dormant", ...
    speed_mbps: int | None  # None where the driver does not say (virtual links, link down)
    mtu: int | None
    counters: dict[str, int]          # since boot: bytes_recv, errin, ...
    rates: dict[str, float] | None    # RATES and DELTAS since the previous reading


def _sys(name: str, attribute: str) -> str | None:
    try:
        with open(f"{SYS_NET}/{name}/{attribute}", encoding="ascii") as f:
            return f.read().strip()
    except (OSError, ValueError):  # EINVAL: speed of a link that is down or virtual
        return None


def _number(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


class InterfaceReader:
    def __init__(self, ignore: tuple[str, ...] = ()) -> None:
        self._ignore = ignore
        self._previous: tuple[float, dict[str, Any]] | None = None

    def read(self) -> list[Interface]:
        now = time.monotonic()
        counters = {name: c for name, c in psutil.net_io_counters(pernic=True,
                                                                  nowrap=True).items()
                    if not any(fnmatchcase(name, p) for p in self._ignore)}
        before = self._previous
        self._previous = (now, counters)
        found = []
        for name, c in sorted(counters.items()):
            rates: dict[str, float] | None = None
            if before is not None and name in before[1] and now > before[0]:
                old, elapsed = before[1][name], now - before[0]
                rates = {key: max(0, getattr(c, attr) - getattr(old, attr)) / elapsed
                         for key, attr in RATES}
                rates.update({key: float(max(0, getattr(c, attr) - getattr(old, attr)))
                              for key, attr in DELTAS})
            found.append(Interface(
                name=name, operstate=_sys(name, "operstate") or "unknown",
                speed_mbps=_number(_sys(name, "speed")), mtu=_number(_sys(name, "mtu")),
                counters=c._asdict(), rates=rates))
        return found
