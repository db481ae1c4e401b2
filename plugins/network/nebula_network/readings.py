"""What one reading of the host's network holds, and the kernel's conntrack counters."""

from __future__ import annotations

from dataclasses import dataclass

from nebula_network.interfaces import Interface
from nebula_network.sockets import SocketTable

CONNTRACK = "/proc/sys/net/netfilter/nf_conntrack_"
NOT_EXPOSED = "unknown, not exposed by this kernel"


@dataclass(frozen=True)
class Conntrack:
    count: int | None
    max: int | None

    @property
    def known(self) -> bool:
        return self.count is not None and bool(self.max)

    @property
    def percent(self) -> float | None:
        return 100 * self.count / self.max if self.count is not None and self.max else None


def read_conntrack(prefix: str = CONNTRACK) -> Conntrack:
    """The connection-tracking table's use; None where the kernel has no nf_conntrack
    (module not loaded, or a container without /proc/sys/net/netfilter)."""
    def number(name: str) -> int | None:
        try:
            with open(prefix + name, encoding="ascii") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    return Conntrack(number("count"), number("max"))


@dataclass(frozen=True)
class Reading:
    sockets: SocketTable
    interfaces: list[Interface]
    conntrack: Conntrack
