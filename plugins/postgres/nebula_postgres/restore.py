"""Restoring a backup: into a new database (non-destructive), or over the original.

Over the original, the backup is first restored into a new database beside it; only when
that worked are the two swapped by renaming, and the original is kept under
`<db>_pre_restore_<stamp>` until a person drops it. A failed restore leaves the original
untouched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from nebula_postgres import dumps, names
from nebula_postgres.backups import Backup, BackupError, Backups
from nebula_postgres.server import Server, one_row

TABLES_REPORTED = 100
TABLES_SQL = """
SELECT schemaname, relname FROM pg_stat_user_tables ORDER BY schemaname, relname LIMIT %s
"""


async def _exists(conn: psycopg.AsyncConnection, database: str) -> str | None:
    """The owner of `database`, or None when there is no such database."""
    cur = await conn.execute("SELECT r.rolname FROM pg_database d JOIN pg_roles r "
                             "ON r.oid = d.datdba WHERE d.datname = %s", [database])
    row = await cur.fetchone()
    return row[0] if row else None


async def into_new(backups: Backups, name: str, target: str) -> dict[str, Any]:
    """Restores backup `name` into a database `target` that must not exist yet."""
    names.identifier(target, "database name")
    backup = await asyncio.to_thread(backups.find, name)
    await backups.verify(backup)
    server = backups.server
    async with server.connect() as conn:
        if await _exists(conn, target) is not None:
            raise BackupError(f"database {target} already exists; choose a new name")
        owner = await _exists(conn, backup.database) or server.user
        await conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(target), sql.Identifier(owner)))
        try:
            await dumps.restore(server, backups.path(backup), target)
        except BaseException:
            await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(
                sql.Identifier(target)))
            raise
    return await _report(server, backup, target)


async def over_original(backups: Backups, name: str) -> dict[str, Any]:
    """Restores backup `name` over its own database, keeping the original renamed."""
    backup = await asyncio.to_thread(backups.find, name)
    database = backup.database
    stamp = f"{dt.datetime.now(dt.timezone.utc):%Y%m%d%H%M%S}"
    staging = f"{database[:40]}_restoring_{stamp}"
    kept = f"{database[:40]}_pre_restore_{stamp}"
    report = await into_new(backups, name, staging)
    server = backups.server
    async with server.connect() as conn:
        owner = await _exists(conn, database)
        if owner is not None:
            await _rename_away(conn, database, kept)
        await conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(staging), sql.Identifier(database)))
        if owner is not None:
            await conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(owner)))
    return {**report, "database": database,
            "previous_kept_as": kept if owner is not None else None}


async def _rename_away(conn: psycopg.AsyncConnection, database: str, kept: str) -> None:
    """Renames a database that may have sessions: they are ended first (new ones are kept
    out meanwhile), a few times if clients reconnect at once."""
    ident = sql.Identifier(database)
    await conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident))
    try:
        for attempt in range(5):
            await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = %s AND pid <> pg_backend_pid()", [database])
            try:
                await conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    ident, sql.Identifier(kept)))
                ident = sql.Identifier(kept)
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(ident))


async def _report(server: Server, backup: Backup, target: str) -> dict[str, Any]:
    async with server.connect(target) as db:
        cur = await db.execute(TABLES_SQL, [TABLES_REPORTED])
        tables = []
        for schema, table in await cur.fetchall():
            count = await db.execute(sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(schema, table)))
            tables.append({"table": f"{schema}.{table}", "rows": (await one_row(count))[0]})
        size = await one_row(await db.execute("SELECT pg_database_size(current_database())"))
    return {"database": target, "from_backup": backup.name,
            "backup_created_at": backup.public()["created_at"],
            "toc_entries": backup.toc_entries, "size_bytes": size[0], "tables": tables}
