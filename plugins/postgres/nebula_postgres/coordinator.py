"""The plugin's poll: one reading of the server shared by every check, panel and tool.

"Poll once, read many" on `nebula.helpers.coordinator.Coordinator`: a reading (a handful of
catalog queries on a pooled connection) is reused while younger than `max_age`, and so is
a failure to connect (the coordinator's backoff is held at that same age), so the checks
of one round cost one connection attempt even when the server is down, and a server that
is back is seen by the next round. Database sizes, the one costly query (it walks every
database's files: tens of ms for 50 databases), have a coordinator of their own that
keeps them for `sizes_max_age`; they change slowly.

The cache hit ratio is judged over the time between two readings (the difference of each
database's block counters), not over the counters' whole life since the last statistics
reset: one big sequential read (a nightly dump) would otherwise hold the ratio down for
weeks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nebula.api import KeyValue
from nebula.helpers.coordinator import Coordinator
from nebula_postgres import driver
from nebula_postgres.server import Server, one_row
from nebula_postgres.snapshot import (
    CacheWindow,
    ConnectionLimit,
    Replica,
    Session,
    Snapshot,
    Unreachable,
    unreachable,
)

SIZE_HISTORY_KEY = "size_history"
SIZE_STEP = 3600.0        # seconds between kept size points
SIZE_KEEP = 8 * 86400.0   # how long size points are kept
DAY = 86400.0

SERVER_SQL = """
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num')::int AS version_num,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int
           -- PostgreSQL 16 reserves more slots for pg_use_reserved_connections.
           + coalesce(current_setting('reserved_connections', true)::int, 0)
           AS reserved_connections,
       pg_is_in_recovery() AS in_recovery,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
           AS connections,
       (SELECT max(age(datfrozenxid)) FROM pg_database) AS xid_age,
       (SELECT datname FROM pg_database ORDER BY age(datfrozenxid) DESC LIMIT 1)
           AS xid_age_database,
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            -- Caught up with all it received: no lag, however idle the primary is.
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
           AS replay_lag_seconds
"""
# Client sessions are what a CONNECTION LIMIT counts that matter (the server also counts
# autovacuum workers in a database: short-lived, and no application's doing). A limit of 0
# is a database or role deliberately closed, not one about to fill up.
LIMITS_SQL = """
SELECT 'database' AS kind, d.datname AS name, d.datconnlimit AS limit, count(a.pid) AS used
FROM pg_database d
LEFT JOIN pg_stat_activity a ON a.datid = d.oid AND a.backend_type = 'client backend'
WHERE d.datconnlimit > 0 AND d.datallowconn GROUP BY d.datname, d.datconnlimit
UNION ALL
SELECT 'role', r.rolname, r.rolconnlimit, count(a.pid)
FROM pg_roles r
LEFT JOIN pg_stat_activity a ON a.usesysid = r.oid AND a.backend_type = 'client backend'
WHERE r.rolconnlimit > 0 AND r.rolcanlogin AND NOT r.rolsuper
GROUP BY r.rolname, r.rolconnlimit
ORDER BY 1, 2
"""
# Per database, with when its counters were last reset: a dropped database takes its
# counters out of any sum, so only the change of each database present in both readings
# (or all of a new or reset one) is added up.
BLOCKS_SQL = """
SELECT datid::bigint AS id, stats_reset, blks_hit, blks_read FROM pg_stat_database
"""
SIZES_SQL = """
SELECT datname AS name, pg_database_size(oid) AS size FROM pg_database
WHERE datallowconn AND NOT datistemplate ORDER BY datname
"""
ACTIVITY_SQL = """
SELECT pid, usename AS user, datname AS database, application_name AS application,
       client_addr::text AS client, state, wait_event_type, wait_event,
       extract(epoch FROM now() - query_start)::float AS query_seconds,
       extract(epoch FROM now() - xact_start)::float AS xact_seconds,
       extract(epoch FROM now() - state_change)::float AS state_seconds,
       CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) ELSE '{}' END
           AS blocked_by,
       left(query, 1000) AS query
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
ORDER BY query_start NULLS LAST
"""
REPLICAS_SQL = """
SELECT application_name AS name, client_addr::text AS client, state,
       extract(epoch FROM replay_lag)::float AS lag_seconds,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float AS lag_bytes
FROM pg_stat_replication ORDER BY application_name
"""


Blocks = dict[int, tuple[Any, int, int]]  # database id → (stats_reset, hits, reads)


def cache_window(before: Blocks | None, after: Blocks, seconds: float) -> CacheWindow:
    """Hits and reads between two readings of the block counters; without an earlier
    reading, the counters since the statistics were reset."""
    if before is None:
        return CacheWindow(sum(b[1] for b in after.values()),
                           sum(b[2] for b in after.values()), None)
    hits = reads = 0
    for db, (reset, hit, read) in after.items():
        old = before.get(db)
        if old is None or old[0] != reset or hit < old[1] or read < old[2]:
            hits, reads = hits + hit, reads + read  # new, or reset since: all of it is new
        else:
            hits, reads = hits + hit - old[1], reads + read - old[2]
    return CacheWindow(hits, reads, seconds)


@dataclass(frozen=True)
class Sizes:
    sizes: dict[str, int]
    growth: Mapping[str, float | None]  # bytes per day, None without an older point


class Monitor:
    """Builds the reading of the server; `poll` shares it, `sizes` the database sizes."""

    def __init__(self, server: Server, kv: KeyValue, max_age: float,
                 sizes_max_age: float = 0.0, log: Any = None) -> None:
        self.server = server
        self._kv = kv
        self._history: list[dict[str, Any]] | None = None
        self._blocks: tuple[float, Blocks] | None = None  # at the last reading
        self.poll: Coordinator[Snapshot] = Coordinator(
            self._read, max_age=max_age, backoff=max_age, max_backoff=max_age,
            name="postgres", log=log)
        # No backoff of its own: sizes are measured only within a reading, which paces
        # the retries.
        self.sizes: Coordinator[Sizes] = Coordinator(
            self._measure_sizes, max_age=sizes_max_age, backoff=0, max_backoff=0,
            name="postgres.sizes", log=log)

    async def read(self) -> Snapshot:
        """A reading no older than `max_age`; raises Unreachable when the server is not."""
        return await self.poll.get()

    def forget(self, sizes: bool = True) -> None:
        """The next read asks the server again (after an action changed something);
        `sizes=False` keeps the database sizes for their own interval."""
        self.poll.invalidate()
        if sizes:
            self.sizes.invalidate()

    async def aclose(self) -> None:
        """Cancels a reading under way (the plugin is stopping)."""
        await self.poll.aclose()
        await self.sizes.aclose()

    async def _read(self) -> Snapshot:
        # A pooled connection may have died with a server restart since it was last used;
        # the pool drops it on the error, and a second try opens a new one.
        reused = self.server.pool.idle > 0
        try:
            return await self._attempt()
        except Unreachable:
            if not reused:
                raise
        await self.server.pool.clear()  # the other idle ones died with it
        return await self._attempt()

    async def _attempt(self) -> Snapshot:
        try:
            async with self.server.pool.connection() as conn:
                from psycopg.rows import dict_row  # loaded: a server answered

                started = time.perf_counter()
                await conn.execute("SELECT 1")
                latency_ms = (time.perf_counter() - started) * 1000
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(SERVER_SQL)
                head = await one_row(cur)
                await cur.execute(LIMITS_SQL)
                limits = tuple(ConnectionLimit(**row) for row in await cur.fetchall())
                await cur.execute(BLOCKS_SQL)
                blocks = {row["id"]: (row["stats_reset"], int(row["blks_hit"] or 0),
                                      int(row["blks_read"] or 0))
                          for row in await cur.fetchall()}
                read_at = time.monotonic()
                await cur.execute(ACTIVITY_SQL)
                sessions = tuple(Session(**{**row, "blocked_by": tuple(row["blocked_by"])})
                                 for row in await cur.fetchall())
                replicas: tuple[Replica, ...] = ()
                if not head["in_recovery"]:
                    await cur.execute(REPLICAS_SQL)
                    replicas = tuple(Replica(**row) for row in await cur.fetchall())
            measured = await self.sizes.get()
        except driver.errors() as exc:
            raise unreachable(exc) from exc
        self.server.version_num = head["version_num"]
        if self._blocks is None:
            cache = cache_window(None, blocks, 0.0)
        else:
            earlier_at, earlier = self._blocks
            cache = cache_window(earlier, blocks, read_at - earlier_at)
        self._blocks = (read_at, blocks)
        return Snapshot(
            taken=time.time(), latency_ms=round(latency_ms, 3), version=head["version"],
            version_num=head["version_num"], in_recovery=head["in_recovery"],
            max_connections=head["max_connections"],
            reserved_connections=head["reserved_connections"],
            connections=head["connections"],
            xid_age=int(head["xid_age"] or 0), xid_age_database=head["xid_age_database"],
            cache=cache,
            replay_lag_seconds=None if head["replay_lag_seconds"] is None
            else float(head["replay_lag_seconds"]),
            sizes=measured.sizes, growth=measured.growth, sessions=sessions,
            replicas=replicas, limits=limits)

    async def _measure_sizes(self) -> Sizes:
        async with self.server.pool.connection() as conn:
            from psycopg.rows import dict_row  # loaded: a server answered

            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SIZES_SQL)
            sizes = {row["name"]: int(row["size"]) for row in await cur.fetchall()}
        return Sizes(sizes, await self._growth(time.time(), sizes))

    async def _growth(self, now: float, sizes: Mapping[str, int]) -> dict[str, float | None]:
        """Bytes per day since the kept point nearest to a day ago (at least an hour old);
        a point is kept every hour, in the store, so growth survives restarts."""
        if self._history is None:
            self._history = list(await self._kv.get(SIZE_HISTORY_KEY, []))
        history = self._history
        older = [p for p in history if now - p["t"] >= SIZE_STEP]
        base = min(older, key=lambda p: abs(now - DAY - p["t"])) if older else None
        growth: dict[str, float | None] = {}
        for name, size in sizes.items():
            if base is None or name not in base["sizes"]:
                growth[name] = None
            else:
                growth[name] = (size - base["sizes"][name]) * DAY / (now - base["t"])
        if not history or now - history[-1]["t"] >= SIZE_STEP:
            history.append({"t": now, "sizes": dict(sizes)})
            self._history = [p for p in history if now - p["t"] <= SIZE_KEEP]
            await self._kv.set(SIZE_HISTORY_KEY, self._history)
        return growth
