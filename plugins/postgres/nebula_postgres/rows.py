"""Readings shaped for panels and tools, with the fields that describe them."""

from __future__ import annotations

from typing import Any

from nebula.api import Field
from nebula_postgres.snapshot import Snapshot

OVERVIEW_FIELDS = (
    Field("version", "Version"), Field("role", "Role", description="primary or replica"),
    Field("latency_ms", "Round trip", "ms"),
    Field("connections", "Connections", description="client connections in use"),
    Field("max_connections", "Max connections"),
    Field("databases", "Databases"), Field("total_size_bytes", "Total size", "bytes"),
    Field("cache_hit_percent", "Cache hit", "%",
          "between the last two readings (the first: since the statistics were reset)"),
    Field("xid_age", "Oldest XID age"),
)
SIZE_FIELDS = (
    Field("database", "Database"), Field("size_bytes", "Size", "bytes"),
    Field("growth_bytes_per_day", "Growth", "bytes/day",
          "since the kept reading nearest to a day ago; empty until one exists"),
)
ACTIVITY_FIELDS = (
    Field("pid", "PID"), Field("user", "User"), Field("database", "Database"),
    Field("state", "State"), Field("wait", "Waiting on"),
    Field("query_seconds", "Query time", "s"), Field("xact_seconds", "Transaction time", "s"),
    Field("blocked_by", "Blocked by", description="pids holding the lock it waits for"),
    Field("query", "Query"),
)
BACKUP_FIELDS = (
    Field("database", "Database"), Field("name", "File"),
    Field("created_at", "Created", description="UTC"), Field("age_hours", "Age", "h"),
    Field("size", "Size", "bytes"), Field("toc_entries", "TOC entries",
                                          description="objects pg_restore --list found"),
    Field("seconds", "Took", "s"), Field("sha256", "SHA-256"),
)


def overview(snap: Snapshot) -> dict[str, Any]:
    ratio = snap.cache_hit_percent
    return {"version": snap.version, "role": "replica" if snap.in_recovery else "primary",
            "latency_ms": snap.latency_ms, "connections": snap.connections,
            "max_connections": snap.max_connections, "databases": len(snap.sizes),
            "total_size_bytes": sum(snap.sizes.values()),
            "cache_hit_percent": round(ratio, 2) if ratio is not None else None,
            "xid_age": snap.xid_age}


def sizes(snap: Snapshot) -> list[dict[str, Any]]:
    return [{"database": name, "size_bytes": size,
             "growth_bytes_per_day": None if (g := snap.growth.get(name)) is None
             else round(g)}
            for name, size in sorted(snap.sizes.items(), key=lambda kv: -kv[1])]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def activity(snap: Snapshot) -> list[dict[str, Any]]:
    return [{"pid": s.pid, "user": s.user, "database": s.database, "state": s.state,
             "application": s.application, "client": s.client,
             "wait": f"{s.wait_event_type}:{s.wait_event}" if s.wait_event_type else None,
             "query_seconds": _seconds(s.query_seconds),
             "xact_seconds": _seconds(s.xact_seconds),
             "blocked_by": list(s.blocked_by), "query": s.query}
            for s in snap.sessions]
