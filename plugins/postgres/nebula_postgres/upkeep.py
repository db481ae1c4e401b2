"""What a database needs looking after, read from the statistics views (changes nothing):
indexes never scanned, dead rows waiting for a vacuum, tables never analyzed, and how many
connections are left. Read once per database the server holds (templates aside); the
advisor plugin asks for it through `postgres.advice`."""

from __future__ import annotations

from typing import Any

from nebula_postgres.server import Server

# Indexes that enforce something (primary keys, unique) are kept even if never scanned.
UNUSED = """
SELECT s.relname AS "table", s.indexrelname AS "index",
       pg_relation_size(s.indexrelid) AS size_bytes
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
  AND pg_relation_size(s.indexrelid) >= %s
ORDER BY size_bytes DESC
"""
DEAD = """
SELECT relname AS "table", n_dead_tup AS dead_rows,
       n_dead_tup::float / greatest(n_live_tup + n_dead_tup, 1) AS dead_share,
       last_analyze IS NULL AND last_autoanalyze IS NULL AS never_analyzed,
       n_live_tup AS live_rows
FROM pg_stat_user_tables
"""


async def _rows(conn: Any, query: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cur = await conn.execute(query, args)
    columns = [column.name for column in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in await cur.fetchall()]


async def advice(server: Server, min_index_bytes: int = 1 << 20, min_dead_rows: int = 10000,
                 dead_share: float = 0.2) -> dict[str, Any]:
    async with server.connect() as conn:
        cur = await conn.execute(
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
            "ORDER BY datname")
        names = [row[0] for row in await cur.fetchall()]
        cur = await conn.execute("SELECT (SELECT count(*) FROM pg_stat_activity), "
                                 "current_setting('max_connections')::int")
        used, limit = await cur.fetchone() or (0, 0)
    unused, dead, never = [], [], []
    for name in names:
        async with server.connect(name) as conn:
            unused += [{"database": name, **row}
                       for row in await _rows(conn, UNUSED, (min_index_bytes,))]
            for row in await _rows(conn, DEAD):
                if row["dead_rows"] >= min_dead_rows and row["dead_share"] >= dead_share:
                    dead.append({"database": name, **row})
                elif row["never_analyzed"] and row["live_rows"] > 0:
                    never.append({"database": name, "table": row["table"]})
    return {"unused_indexes": unused, "dead_rows": dead, "never_analyzed": never,
            "connections": {"used": used, "max": limit}}
