"""What one reading of the server holds: its settings and counters, the client sessions,
the connection limits, the replicas and the database sizes. Read by `coordinator.Monitor`,
judged by `checks`, shaped for panels and tools by `rows`. `Probe` is what the
reachability check learns on a connection of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    pid: int
    user: str | None
    database: str | None
    application: str
    client: str | None
    state: str | None
    wait_event_type: str | None
    wait_event: str | None
    query_seconds: float | None
    xact_seconds: float | None
    state_seconds: float | None
    blocked_by: tuple[int, ...]
    query: str

    @property
    def idle_in_transaction(self) -> bool:
        return (self.state or "").startswith("idle in transaction")


@dataclass(frozen=True)
class Replica:
    name: str
    client: str | None
    state: str | None
    lag_seconds: float | None
    lag_bytes: float | None


@dataclass(frozen=True)
class ConnectionLimit:
    """A database's or a role's CONNECTION LIMIT and the client sessions counted against
    it (superusers are exempt from both limits, but counted)."""

    kind: str  # "database" or "role"
    name: str
    limit: int
    used: int


@dataclass(frozen=True)
class CacheWindow:
    """Shared-buffer hits and reads between two readings (`seconds` apart), or since the
    statistics were reset when `seconds` is None (the first reading has nothing before
    it)."""

    hits: int
    reads: int
    seconds: float | None

    @property
    def percent(self) -> float | None:
        total = self.hits + self.reads
        return 100.0 * self.hits / total if total else None


@dataclass(frozen=True)
class Snapshot:
    taken: float
    latency_ms: float
    version: str
    version_num: int
    in_recovery: bool
    max_connections: int
    # Slots only superusers may take (superuser_reserved_connections, plus
    # reserved_connections from PostgreSQL 16): other roles are refused before
    # max_connections is reached.
    reserved_connections: int
    connections: int
    xid_age: int
    xid_age_database: str
    cache: CacheWindow
    replay_lag_seconds: float | None
    sizes: Mapping[str, int]
    growth: Mapping[str, float | None]  # bytes per day, None without an older point
    sessions: tuple[Session, ...] = ()
    replicas: tuple[Replica, ...] = ()
    limits: tuple[ConnectionLimit, ...] = ()

    @property
    def cache_hit_percent(self) -> float | None:
        return self.cache.percent

    @property
    def app_connections(self) -> int:
        """Client connections at which roles other than superusers are refused."""
        return self.max_connections - self.reserved_connections


@dataclass(frozen=True)
class Probe:
    """A fresh connection to the server and one query on it."""

    version: str
    version_num: int
    in_recovery: bool
    connect_ms: float
    latency_ms: float


class Unreachable(Exception):
    """The server could not be read; the message is the server's (or libpq's)."""


def unreachable(exc: BaseException) -> Unreachable:
    """An Unreachable with the server's own words, on one line."""
    return Unreachable(" ".join(str(exc).split()) or type(exc).__name__)
