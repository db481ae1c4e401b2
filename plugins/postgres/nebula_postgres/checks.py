"""The health checks, as pure functions of one reading and the plugin's config (the
reachability check: of a probe on a connection of its own)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from nebula.api import CheckResult, Status, Unit, plural
from nebula.helpers.checks import CheckSpec, Config, level
from nebula_postgres.snapshot import ConnectionLimit, Probe, Session, Snapshot

GB = 1024 ** 3


def reachable(probe: Probe, config: Config) -> CheckResult:
    role = "replica" if probe.in_recovery else "primary"
    return CheckResult(Status.OK, f"PostgreSQL {probe.version} ({role}), connected in "
                                  f"{probe.connect_ms:.1f} ms, round trip "
                                  f"{probe.latency_ms:.1f} ms",
                       {"latency_ms": probe.latency_ms, "connect_ms": probe.connect_ms,
                        "server_version_num": probe.version_num})


def _limit_problem(entry: ConnectionLimit, config: Config) -> tuple[Status, str] | None:
    """A database or role near or at its CONNECTION LIMIT, judged by the same percent
    limits as the server's; at the limit its new connections are refused."""
    what = f"{entry.kind} {entry.name}"
    if entry.used >= entry.limit:
        return Status.CRITICAL, (f"{what} is at its CONNECTION LIMIT: {entry.used} of "
                                 f"{entry.limit} connections, new ones are refused")
    percent = 100.0 * entry.used / entry.limit
    status = level(percent, config["connections_warning"], config["connections_critical"])
    if status is Status.OK:
        return None
    return status, (f"{what} uses {entry.used} of its CONNECTION LIMIT {entry.limit} "
                    f"({percent:.0f}%)")


def connections(snap: Snapshot, config: Config) -> CheckResult:
    """Against max_connections, against the slots left to roles other than superusers
    (superuser_reserved_connections), and against every database's and role's own
    CONNECTION LIMIT: each refuses applications with its own error."""
    percent = 100.0 * snap.connections / snap.max_connections
    status = level(percent, config["connections_warning"], config["connections_critical"])
    parts = [f"{snap.connections} of {snap.max_connections} connections in use "
             f"({percent:.0f}%; warning at {config['connections_warning']:g}%, critical at "
             f"{config['connections_critical']:g}%)"]
    if snap.reserved_connections and snap.connections >= snap.app_connections:
        status = Status.CRITICAL
        parts.append(f"only the {snap.reserved_connections} slots reserved for superusers "
                     f"are left (superuser_reserved_connections): other roles are refused "
                     f"from {snap.app_connections} connections on")
    for entry in snap.limits:
        if problem := _limit_problem(entry, config):
            status = max(status, problem[0], key=lambda s: s.severity)
            parts.append(problem[1])
    return CheckResult(status, "; ".join(parts),
                       {"connections": float(snap.connections),
                        "max_connections": float(snap.max_connections),
                        "connections_percent": round(percent, 2),
                        "reserved_connections": float(snap.reserved_connections),
                        "limits_reached": float(sum(e.used >= e.limit for e in snap.limits))})


def database_sizes(snap: Snapshot, config: Config) -> CheckResult:
    metrics: dict[str, float] = {}
    for name, size in snap.sizes.items():
        metrics[f"{name}.size_bytes"] = float(size)
        if (growth := snap.growth.get(name)) is not None:
            metrics[f"{name}.growth_bytes_per_day"] = round(growth, 1)
    total = sum(snap.sizes.values())
    largest = max(snap.sizes, key=lambda n: snap.sizes[n]) if snap.sizes else None
    summary = f"{plural(len(snap.sizes), 'database')}, {total / GB:.2f} GiB in all"
    if largest is not None:
        summary += f"; largest {largest} {snap.sizes[largest] / GB:.2f} GiB"
        if (growth := snap.growth.get(largest)) is not None:
            summary += f" ({growth / 1024 ** 2:+.1f} MiB/day)"
    return CheckResult(Status.OK, summary, metrics)


def _sessions(sessions: list[Session], what: str, seconds: Callable[[Session], float | None],
              config: Config, key: str) -> CheckResult:
    """Sessions over the `<key>` limit warn; one over `<key>_critical` is critical."""
    warning, critical = config[key], config.get(f"{key}_critical")
    over = sorted((s for s in sessions if (seconds(s) or 0) > warning),
                  key=lambda s: seconds(s) or 0, reverse=True)
    metrics = {"count": float(len(over)),
               "longest_seconds": round(seconds(over[0]) or 0, 1) if over else 0.0}
    if not over:
        return CheckResult(Status.OK, f"No {what} over {warning:g}s", metrics)
    worst = over[0]
    longest = seconds(worst) or 0
    status, note = Status.WARNING, ""
    if critical is not None:
        if longest > critical:
            status = Status.CRITICAL
            count = sum((seconds(s) or 0) > critical for s in over)
            note = f" ({count} over {critical:g}s, critical)"
        else:
            note = f" (critical over {critical:g}s)"
    return CheckResult(status, f"{len(over)} {what} over {warning:g}s{note}; longest pid "
                               f"{worst.pid} ({worst.user}@{worst.database}) "
                               f"{longest:.0f}s: {worst.query[:120]}", metrics)


def long_queries(snap: Snapshot, config: Config) -> CheckResult:
    found = [s for s in snap.sessions if s.state == "active"]
    return _sessions(found, "running queries", lambda s: s.query_seconds, config,
                     "long_query_seconds")


def idle_in_transaction(snap: Snapshot, config: Config) -> CheckResult:
    found = [s for s in snap.sessions if s.idle_in_transaction]
    return _sessions(found, "sessions idle in transaction", lambda s: s.state_seconds,
                     config, "idle_in_transaction_seconds")


def lock_waits(snap: Snapshot, config: Config) -> CheckResult:
    # state_change is when the waiting statement started, for an active session.
    found = [s for s in snap.sessions if s.blocked_by
             and (s.state_seconds or 0) > config["lock_wait_seconds"]]
    result = _sessions(found, "lock waits", lambda s: s.state_seconds, config,
                       "lock_wait_seconds")
    if found:
        blockers = sorted({pid for s in found for pid in s.blocked_by})
        return CheckResult(result.status,
                           result.summary + f"; blocked by pid {', '.join(map(str, blockers))}",
                           result.metrics)
    return result


def wraparound(snap: Snapshot, config: Config) -> CheckResult:
    status = level(snap.xid_age, config["wraparound_warning"], config["wraparound_critical"])
    percent = 100.0 * snap.xid_age / 2 ** 31
    return CheckResult(status, f"Oldest transaction-ID age {snap.xid_age:,} in "
                               f"{snap.xid_age_database} ({percent:.1f}% of wraparound)",
                       {"xid_age": float(snap.xid_age), "xid_wraparound_percent":
                        round(percent, 3)})


def cache_hit(snap: Snapshot, config: Config) -> CheckResult:
    """Over the time since the previous reading: a big read (a dump) shows while it
    happens and is gone from the next window, where the ratio since the statistics were
    reset would stay down until the next reset. The first reading has no window: its
    ratio since the reset is shown, not judged (after a restart that followed a dump, it
    would warn about the past)."""
    window = snap.cache
    ratio = window.percent
    if window.seconds is None:
        shown = "no block accesses" if ratio is None else f"cache hit ratio {ratio:.2f}%"
        return CheckResult(Status.OK, f"First reading: {shown} since the statistics were "
                                      f"reset; judged between readings from the next one on")
    since = f"over the last {window.seconds:.0f}s"
    if ratio is None:
        return CheckResult(Status.OK, f"No shared-buffer accesses {since}")
    limit = config["cache_hit_warning"]
    status = Status.WARNING if ratio < limit else Status.OK
    return CheckResult(status, f"Cache hit ratio {ratio:.2f}% {since}, {window.reads:,} of "
                               f"{window.hits + window.reads:,} blocks read from disk "
                               f"(warning below {limit:g}%)",
                       {"cache_hit_percent": round(ratio, 3),
                        "blocks_read": float(window.reads),
                        "blocks_hit": float(window.hits)})


def replication(snap: Snapshot, config: Config) -> CheckResult:
    warning = config["replication_lag_seconds_warning"]
    critical = config["replication_lag_seconds_critical"]
    if snap.in_recovery:
        lag = snap.replay_lag_seconds
        if lag is None:
            return CheckResult(Status.WARNING, "Replica has replayed nothing yet")
        return CheckResult(level(lag, warning, critical),
                           f"Replica replay lag {lag:.1f}s", {"replay_lag_seconds": lag})
    if not snap.replicas:
        return CheckResult(Status.OK, "No replicas", {"replicas": 0.0})
    lags = [(r.lag_seconds or 0.0, r) for r in snap.replicas]
    lag, worst = max(lags, key=lambda item: item[0])
    streaming = sum(r.state == "streaming" for r in snap.replicas)
    status = level(lag, warning, critical)
    if streaming < len(snap.replicas):
        status = max(status, Status.WARNING, key=lambda s: s.severity)
    return CheckResult(status, f"{streaming} of {len(snap.replicas)} replicas streaming; "
                               f"worst lag {lag:.1f}s ({worst.name})",
                       {"replicas": float(len(snap.replicas)), "max_lag_seconds": lag})


REACHABLE = CheckSpec[Probe](
    "reachable", "PostgreSQL reachable",
    "A new connection (connect_timeout) and one query on it (statement_timeout): version, "
    "connect time and round trip; critical with the server's message when it cannot "
    "connect or answer.", reachable)

C, P, S = Unit.COUNT, Unit.PERCENT, Unit.SECONDS
SESSION_UNITS = {"count": C, "longest_seconds": S}
CHECKS: tuple[CheckSpec[Snapshot], ...] = (
    CheckSpec("connections", "Connections",
              "Client connections against max_connections, the slots reserved for "
              "superusers, and every database's and role's CONNECTION LIMIT.", connections,
              {"connections": C, "max_connections": C, "connections_percent": P,
               "reserved_connections": C, "limits_reached": C}),
    CheckSpec("database_sizes", "Database sizes", "Size and growth per day of every "
                                                  "database.", database_sizes),
    CheckSpec("long_queries", "Long-running queries",
              "Active queries running longer than long_query_seconds (critical past "
              "long_query_seconds_critical).", long_queries, SESSION_UNITS),
    CheckSpec("idle_in_transaction", "Idle in transaction",
              "Sessions idle inside a transaction longer than idle_in_transaction_seconds "
              "(critical past idle_in_transaction_seconds_critical).", idle_in_transaction,
              SESSION_UNITS),
    CheckSpec("lock_waits", "Blocked lock waits",
              "Sessions waiting on a lock longer than lock_wait_seconds, with their blockers "
              "(critical past lock_wait_seconds_critical).", lock_waits, SESSION_UNITS),
    CheckSpec("wraparound", "Transaction-ID wraparound",
              "Age of the oldest unfrozen transaction ID of any database.", wraparound,
              {"xid_age": C, "xid_wraparound_percent": P}),
    CheckSpec("cache_hit", "Cache hit ratio", "Shared-buffer hits over all block accesses "
                                              "between two readings.", cache_hit,
              {"cache_hit_percent": P, "blocks_read": C, "blocks_hit": C}),
    CheckSpec("replication", "Replication", "Replay lag of each replica (or of this server, "
                                            "when it is one).", replication,
              {"replay_lag_seconds": S, "replicas": C, "max_lag_seconds": S}),
)


def backup_age(newest: Mapping[str, float | None], config: Config,
               now: float) -> CheckResult:
    """`newest`: each database to back up, with the creation time of its newest complete
    backup (None: none yet)."""
    if not config.get("backup_dir"):
        return CheckResult(Status.WARNING, "Backups are not configured (set backup_dir)")
    if not newest:
        return CheckResult(Status.WARNING, "No database to back up")
    limit = config["backup_max_age_hours"]
    ages = {db: None if created is None else (now - created) / 3600
            for db, created in newest.items()}
    metrics = {f"{db}.age_hours": round(age, 3) for db, age in ages.items() if age is not None}
    missing = sorted(db for db, age in ages.items() if age is None)
    if missing:
        return CheckResult(Status.CRITICAL, f"No backup yet of {', '.join(missing)}", metrics)
    oldest = max(ages, key=lambda db: ages[db] or 0)
    age = ages[oldest] or 0
    status = Status.CRITICAL if age > limit else Status.OK
    return CheckResult(status, f"Oldest last backup: {oldest}, {age:.1f} h ago (critical "
                               f"past {limit:g} h); {plural(len(ages), 'database')}", metrics)
