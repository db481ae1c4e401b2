"""What one reading of the server holds: its settings and counters, the client sessions,
the replicas and the database sizes. Read by `coordinator.Monitor`, judged by `checks`,
shaped for panels and tools by `rows`."""

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
class Snapshot:
    taken: float
    latency_ms: float
    version: str
    version_num: int
    in_recovery: bool
    max_connections: int
    connections: int
    xid_age: int
    xid_age_database: str
    blks_hit: int
    blks_read: int
    replay_lag_seconds: float | None
    sizes: Mapping[str, int]
    growth: Mapping[str, float | None]  # bytes per day, None without an older point
    sessions: tuple[Session, ...] = ()
    replicas: tuple[Replica, ...] = ()

    @property
    def cache_hit_percent(self) -> float | None:
        total = self.blks_hit + self.blks_read
        return 100.0 * self.blks_hit / total if total else None


class Unreachable(Exception):
    """The server could not be read; the message is the server's (or libpq's)."""
