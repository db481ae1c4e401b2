"""The store's connection: every statement runs on one dedicated worker thread.

`Store` is what the rest of the agent uses (execute, executemany, changes, fetchall,
fetchone, call); `SqliteStore` is the default, one file in the data dir, and
`nebula.store.postgres.PostgresStore` serves a hub's store from PostgreSQL (`[agent]
store = "postgresql://…"`). Both run the same migrations (nebula.store.migrations) and the
same SQL with `?` placeholders: the PostgreSQL one translates them once per statement.

SQLite calls are short but blocking; running them on one thread keeps the event loop free
and serialises writers without locks. WAL with `synchronous=NORMAL` makes every committed
transaction survive the process being killed (only an OS crash or power loss can cost the
last transactions), which is the durability the agent promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from nebula.errors import NebulaError
from nebula.filemodes import create_private, private_dir
from nebula.store.migrations import MIGRATIONS

T = TypeVar("T")

# Snapshots taken before migrating (`pre-migration-<from>-<to>.db` beside the store): the
# way back when an upgrade goes wrong. Only the latest few are kept; each is a whole store.
SNAPSHOT_GLOB = "pre-migration-*.db"
SNAPSHOTS_KEPT = 3


class SchemaTooNew(NebulaError):
    """The store was migrated by a newer Nebula: this code would misread it."""


class StoreUnavailable(NebulaError):
    """The configured store cannot be opened (bad `[agent] store`, server unreachable)."""


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate a store; usable from any one thread."""
    private_dir(path.parent)
    create_private(path)  # SQLite gives the -wal and -shm files the database's mode
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def copy_store(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the open store `conn` in `target` (0600), through SQLite's
    backup API: safe while other connections write (WAL), and one self-contained file."""
    create_private(target)
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # no -wal beside the copy
    finally:
        copy.close()


def _snapshot(conn: sqlite3.Connection, path: Path, version: int) -> None:
    copy_store(conn, path.parent / f"pre-migration-{version}-{len(MIGRATIONS)}.db")
    by_age = sorted(path.parent.glob(SNAPSHOT_GLOB), key=lambda p: p.stat().st_mtime)
    for old in by_age[:-SNAPSHOTS_KEPT]:
        old.unlink(missing_ok=True)


def _too_new(path: Path, version: int) -> SchemaTooNew:
    known = len(MIGRATIONS)
    snapshots = sorted(path.parent.glob(f"pre-migration-{known}-*.db"))
    back = (f"copy {snapshots[-1]} (taken before it migrated) over {path.name}, removing "
            f"{path.name}-wal and {path.name}-shm" if snapshots
            else "restore a backup made with this version (nebula restore)")
    return SchemaTooNew(
        f"the store {path} is at schema version {version}, newer than this Nebula's "
        f"{known}: it was upgraded by a newer Nebula. Run that version, or to go back, "
        f"stop the agent and {back}")


def statements(script: str) -> list[str]:
    """A migration's statements (they hold no `;` inside a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise _too_new(path, version)
    if 0 < version < len(MIGRATIONS):  # a new, empty store has nothing to keep
        _snapshot(conn, path, version)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class Store:
    """The store's interface, and the worker thread every implementation runs on. The
    SQL it takes is the portable subset both backends read, with `?` placeholders; the
    few things that differ are methods here (`json_text`, `overwriting`). Rows are dicts
    by column name: name every computed column (`sum(n) AS n`), since the two backends
    name them differently (`sum(n)` against `sum`)."""

    kind = ""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nebula-store")

    def __str__(self) -> str:
        """Where the store is, as shown to people (never with a password)."""
        raise NotImplementedError

    async def open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        await self._close()
        self._executor.shutdown(wait=True)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; returns the new row's id (an INSERT
        into a table with an `id` key), else 0."""
        raise NotImplementedError

    async def changes(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; returns how many rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each of `rows`, all in one transaction."""
        await self.batch([(sql, rows)])

    async def batch(self, statements: Sequence[tuple[str, Iterable[Sequence[Any]]]]) -> None:
        """Run each statement once per row of its rows, all in one transaction: written
        together or not at all."""
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of `key` in the JSON object held in `column`."""
        return f"json_extract({column}, '$.{key}')"

    @contextlib.asynccontextmanager
    async def overwriting(self) -> AsyncIterator[None]:
        """Writes inside replace something sensitive: no copy of the old value is left
        in the store's files afterwards, as far as the backend allows."""
        yield


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def __str__(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        self._conn = await self.call(connect, self.path)

    async def _close(self) -> None:
        if self._conn is not None:
            await self.call(self._conn.close)
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self.call(lambda: self.conn.execute(sql, params).lastrowid or 0)

    async def changes(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self.call(lambda: self.conn.execute(sql, params).rowcount)

    async def batch(self, statements: Sequence[tuple[str, Iterable[Sequence[Any]]]]) -> None:
        def run() -> None:
            with self.conn:
                self.conn.execute("BEGIN")
                for sql, rows in statements:
                    self.conn.executemany(sql, rows)

        await self.call(run)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return await self.call(
            lambda: [dict(row) for row in self.conn.execute(sql, params).fetchall()]
        )

    @contextlib.asynccontextmanager
    async def overwriting(self) -> AsyncIterator[None]:
        # SQLite would keep the overwritten bytes in the page's free space (hence
        # secure_delete) and the old page in the WAL until a checkpoint.
        await self.execute("PRAGMA secure_delete = ON")
        try:
            yield
            await self.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await self.execute("PRAGMA secure_delete = OFF")


def is_postgres(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def store_for(agent: dict[str, Any], data_dir: Path) -> Store:
    """The store `[agent]` configures: `store = "postgresql://…"`, else (the default)
    SQLite in `<data_dir>/nebula.db`. psycopg is imported only in the first case."""
    spec = str(agent.get("store") or "")
    if is_postgres(spec):
        from nebula.store.postgres import PostgresStore

        return PostgresStore(spec)
    return SqliteStore(data_dir / "nebula.db")
