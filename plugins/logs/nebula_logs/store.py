"""The log store: its own SQLite database (WAL) with an FTS5 index over the messages,
written by one writer thread so ingestion never blocks the agent's event loop.

Sources hand in `Batch`es through a bounded queue. The writer takes whatever is queued (up
to `batch_lines`), inserts it in one transaction and commits; a batch may carry its
source's read position, saved in that same transaction, so after a crash (kill -9
included) the store holds exactly the lines up to the saved position: a restarted source
reads on from there, losing none and repeating none. When the queue is full a source that
can wait (a file) waits, and the time it waited is counted; one that cannot (a UDP
datagram) is refused, and the refusal is counted. Nothing is dropped silently.

Reads (search, context, histogram) use their own connection, in a worker thread, under a
time budget (`QueryTooSlow`): no query runs unbounded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nebula_logs.lines import Line

SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    source TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    level INTEGER,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lines_ts ON lines (ts);
CREATE INDEX IF NOT EXISTS lines_source ON lines (source, id);
CREATE VIRTUAL TABLE IF NOT EXISTS lines_fts USING fts5 (
    message, content='lines', content_rowid='id', tokenize='unicode61'
);
CREATE TRIGGER IF NOT EXISTS lines_ad AFTER DELETE ON lines BEGIN
    INSERT INTO lines_fts (lines_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
CREATE TABLE IF NOT EXISTS positions (source TEXT PRIMARY KEY, data TEXT NOT NULL);
"""
COLUMNS = "l.id, l.ts, l.source, l.host, l.unit, l.level"
# Marks around a hit in a highlighted message: control characters, which `lines.clean`
# never lets into a stored message, so they cannot be forged by a log line.
MARK_START, MARK_END = "\x02", "\x03"
RETENTION_EVERY = 30.0  # seconds between two retention passes of the writer
RETENTION_CHUNK = 20000  # rows deleted per transaction, so a pass never stalls the writer


class QueryError(ValueError):
    """The query cannot run as written (an FTS5 syntax error); the message says why."""


class QueryTooSlow(QueryError):
    pass


@dataclass
class Batch:
    lines: list[Line]
    # (source key, JSON-able position) saved with the lines, in one transaction.
    position: tuple[str, Any] | None = None


@dataclass
class Filters:
    q: str = ""
    since: float | None = None
    until: float | None = None
    sources: Sequence[str] = ()
    max_level: int | None = None  # this severity or worse (lower numbers)
    units: Sequence[str] = ()  # unit, container or app name (globs allowed)

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.since is not None:
            clauses.append("l.ts >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("l.ts < ?")
            args.append(self.until)
        for column, names in (("source", self.sources), ("unit", self.units)):
            if names:
                clauses.append(_any_of(f"l.{column}", names, args))
        if self.max_level is not None:
            clauses.append("l.level <= ?")
            args.append(self.max_level)
        return clauses, args


def _any_of(column: str, names: Sequence[str], args: list[Any]) -> str:
    """`column` equal to one of `names` or matching one that is a glob."""
    globbed = [n for n in names if any(c in n for c in "*?[")]
    exact = [n for n in names if n not in globbed]
    parts = []
    if exact:
        parts.append(f"{column} IN ({','.join('?' * len(exact))})")
        args.extend(exact)
    for pattern in globbed:
        parts.append(f"{column} GLOB ?")
        args.append(pattern)
    return "(" + " OR ".join(parts) + ")"


@dataclass
class Counters:
    """What the writer has done, for the `ingest` check, the panel and /metrics-like views."""

    received: int = 0  # lines handed in and accepted into the queue
    committed: int = 0
    batches: int = 0
    refused: int = 0  # lines refused because the queue was full (sources that cannot wait)
    waits: int = 0  # times a source had to wait for room in the queue
    waited_seconds: float = 0.0
    retention_deleted: int = 0
    last_commit_ms: float = 0.0
    errors: int = 0
    last_error: str = ""
    by_source: dict[str, int] = field(default_factory=dict)


class LogStore:
    def __init__(self, path: Path, *, queue_lines: int = 50000, batch_lines: int = 5000,
                 max_age_days: float = 14, max_bytes: int = 1 << 30,
                 query_seconds: float = 5.0,
                 on_commit: Callable[[list[tuple[int, Line]]], None] | None = None) -> None:
        self.path = path
        self.batch_lines = batch_lines
        self.max_age_days = max_age_days
        self.max_bytes = max_bytes
        self.query_seconds = query_seconds
        self.on_commit = on_commit
        self.counters = Counters()
        # Bounded in lines (`_queued_lines`, checked by offer and submit), not in batches: a
        # put never blocks, so the event loop never waits on it, however small the batches
        # (one UDP datagram each).
        self._queue: queue.Queue[Batch | None] = queue.Queue()
        self._queue_lines = queue_lines
        self._queued_lines = 0
        self._room = threading.Condition()
        self._thread: threading.Thread | None = None
        self._read: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._last_retention = 0.0
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------

    def open(self) -> None:
        """Create the database (0600) if needed, start the writer; blocking (run it in a
        thread)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            import os

            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        write = self._connect(check_same_thread=False)  # made here, used by the writer
        # FTS5 merges its index segments in the page cache: a bigger one for the writer.
        write.execute("PRAGMA cache_size = -16384")
        # Incremental vacuum gives retention's freed pages back to the file system; it must
        # be set before the first table exists.
        write.execute("PRAGMA auto_vacuum = INCREMENTAL")
        write.executescript(SCHEMA)
        self._read = self._connect(check_same_thread=False)
        self._thread = threading.Thread(target=self._run, args=(write,), name="logs-writer",
                                        daemon=True)
        self._thread.start()

    def _connect(self, check_same_thread: bool = True) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None,
                               check_same_thread=check_same_thread, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL with synchronous=NORMAL: a committed transaction survives the process being
        # killed (it is in the WAL file); only a power cut may lose the last ones.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def close(self) -> None:
        """Commit what is queued and stop the writer; blocking."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self._read is not None:
            with self._read_lock:
                self._read.close()

    # --- handing lines in -----------------------------------------------------------------

    @property
    def queued_lines(self) -> int:
        return self._queued_lines

    @property
    def queue_capacity(self) -> int:
        return self._queue_lines

    def offer(self, batch: Batch, refusal_counts: bool = True) -> bool:
        """Queue `batch` if there is room now; otherwise refuse it (counted, unless the
        caller will wait and offer it again: `refusal_counts=False`). For sources on the
        event loop: a datagram, a container's stream."""
        with self._room:
            # A batch bigger than the whole queue still goes in once the queue is empty.
            if self._closed or (self._queued_lines
                                and self._queued_lines + len(batch.lines) > self._queue_lines):
                if refusal_counts:
                    self.counters.refused += len(batch.lines)
                return False
            self._queued_lines += len(batch.lines)
        self._queue.put(batch)
        self.counters.received += len(batch.lines)
        return True

    def submit(self, batch: Batch, stop: threading.Event | None = None) -> bool:
        """Queue `batch`, waiting (in the caller's thread) while the queue is full; the
        wait is counted. False when the store closed (or `stop` was set) meanwhile."""
        with self._room:
            if self._queued_lines + len(batch.lines) > self._queue_lines:
                self.counters.waits += 1
                started = time.monotonic()
                while (self._queued_lines + len(batch.lines) > self._queue_lines
                       and self._queued_lines and not self._closed
                       and not (stop and stop.is_set())):
                    self._room.wait(0.1)
                self.counters.waited_seconds += time.monotonic() - started
            if self._closed or (stop and stop.is_set()):
                return False
            self._queued_lines += len(batch.lines)
        self._queue.put(batch)
        self.counters.received += len(batch.lines)
        return True

    # --- the writer ------------------------------------------------------------------------

    def _run(self, conn: sqlite3.Connection) -> None:
        try:
            stop = False
            while not stop:
                batches: list[Batch] = []
                # Idle, it sleeps until the next retention pass is due (not a 1 s tick).
                due = self._last_retention + RETENTION_EVERY - time.monotonic()
                with contextlib.suppress(queue.Empty):
                    batches, stop = self._drain(self._queue.get(timeout=max(0.01, due)))
                if batches:
                    self._write(conn, batches)
                try:
                    self._maybe_retention(conn)
                except sqlite3.Error as exc:  # counted and shown; the writer goes on
                    self.counters.errors += 1
                    self.counters.last_error = f"retention: {type(exc).__name__}: {exc}"
        finally:
            conn.close()

    def _drain(self, first: Batch | None) -> tuple[list[Batch], bool]:
        if first is None:
            return [], True
        batches, size = [first], len(first.lines)
        while size < self.batch_lines:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return batches, True
            batches.append(more)
            size += len(more.lines)
        return batches, False

    def _write(self, conn: sqlite3.Connection, batches: list[Batch]) -> None:
        started = time.perf_counter()
        lines = [line for batch in batches for line in batch.lines]
        positions = {b.position[0]: b.position[1] for b in batches if b.position}
        try:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.execute("SELECT coalesce(max(id), 0) FROM lines")
            first_id = cursor.fetchone()[0] + 1
            conn.executemany(
                "INSERT INTO lines (id, ts, source, host, unit, level, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(first_id + i, ln.ts, ln.source, ln.host, ln.unit, ln.level, ln.message)
                 for i, ln in enumerate(lines)])
            # One statement indexes the whole batch: twice as fast as a per-row trigger.
            conn.execute("INSERT INTO lines_fts (rowid, message) SELECT id, message FROM lines "
                         "WHERE id >= ?", (first_id,))
            conn.executemany("INSERT OR REPLACE INTO positions (source, data) VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in positions.items()])
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self.counters.errors += 1
            self.counters.last_error = f"{type(exc).__name__}: {exc}"
            committed: list[tuple[int, Line]] = []
        else:
            committed = [(first_id + i, ln) for i, ln in enumerate(lines)]
            self.counters.committed += len(lines)
            self.counters.batches += 1
            for ln in lines:
                self.counters.by_source[ln.source] = self.counters.by_source.get(ln.source,
                                                                                 0) + 1
        self.counters.last_commit_ms = (time.perf_counter() - started) * 1000
        with self._room:
            self._queued_lines -= len(lines)
            self._room.notify_all()
        if committed and self.on_commit is not None:
            self.on_commit(committed)

    # --- retention --------------------------------------------------------------------------

    def _maybe_retention(self, conn: sqlite3.Connection) -> None:
        now = time.monotonic()
        if now - self._last_retention < RETENTION_EVERY:
            return
        self._last_retention = now
        self.apply_retention(conn)

    def apply_retention(self, conn: sqlite3.Connection | None = None) -> int:
        """Delete lines older than `max_age_days`, then the oldest while the database is
        over `max_bytes` (whichever limit is reached first); returns how many went.
        Deletes go in chunks, each its own transaction."""
        own = conn is None
        conn = conn or self._connect()
        deleted = 0
        try:
            cutoff = time.time() - self.max_age_days * 86400
            while True:
                n = self._delete(conn, "WHERE ts < ? ORDER BY id LIMIT ?",
                                 (cutoff, RETENTION_CHUNK))
                deleted += n
                if n < RETENTION_CHUNK:
                    break
            for _ in range(50):  # bounded: a pass frees at most 50 chunks by size
                used, rows = self._used_bytes(conn), self._count_estimate(conn)
                if used <= self.max_bytes or rows == 0:
                    break
                per_row = max(1.0, used / rows)
                excess = int((used - self.max_bytes * 0.9) / per_row) + 1
                n = self._delete(conn, "ORDER BY id LIMIT ?", (min(excess, RETENTION_CHUNK),))
                deleted += n
                conn.execute("PRAGMA incremental_vacuum")
                if n == 0:
                    break
            if deleted:
                conn.execute("PRAGMA incremental_vacuum")
        finally:
            if own:
                conn.close()
        self.counters.retention_deleted += deleted
        return deleted

    @staticmethod
    def _delete(conn: sqlite3.Connection, tail: str, args: tuple[Any, ...]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(f"DELETE FROM lines WHERE id IN (SELECT id FROM lines {tail})",
                                  args)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return cursor.rowcount

    @staticmethod
    def _used_bytes(conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    @staticmethod
    def _count_estimate(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT min(id), max(id) FROM lines").fetchone()
        return 0 if row[0] is None else row[1] - row[0] + 1

    # --- reading ------------------------------------------------------------------------------

    def _query(self, sql: str, args: Iterable[Any]) -> list[tuple[Any, ...]]:
        assert self._read is not None, "store not open"
        deadline = time.monotonic() + self.query_seconds
        with self._read_lock:
            self._read.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            try:
                return self._read.execute(sql, list(args)).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise QueryTooSlow(f"the query took longer than {self.query_seconds:g} s; "
                                       "narrow it (a time range, a source, more words)"
                                       ) from None
                raise QueryError(_fts_message(str(exc))) from None
            finally:
                self._read.set_progress_handler(None, 0)

    def position(self, source: str) -> Any:
        rows = self._query("SELECT data FROM positions WHERE source = ?", (source,))
        return json.loads(rows[0][0]) if rows else None

    def search(self, filters: Filters, limit: int = 50, before: int | None = None,
               after: int | None = None) -> list[dict[str, Any]]:
        """Lines matching `filters` with ids below `before` (the cursor), newest first; or,
        given `after`, the oldest lines past it first (what a tail sends next)."""
        clauses, args = filters.where()
        # The cursor bounds the FTS table's own rowid when there is a query: FTS5 then
        # starts its doclist scan at the cursor instead of filtering from the newest line.
        rowid = "lines_fts.rowid" if filters.q else "l.id"
        if before is not None:
            clauses.append(f"{rowid} < ?")
            args.append(before)
        if after is not None:
            clauses.append(f"{rowid} > ?")
            args.append(after)
        order = "ASC" if after is not None else "DESC"
        if filters.q:
            sql = (f"SELECT {COLUMNS}, highlight(lines_fts, 0, '{MARK_START}', '{MARK_END}') "
                   "FROM lines_fts JOIN lines l ON l.id = lines_fts.rowid "
                   f"WHERE lines_fts MATCH ? {''.join(' AND ' + c for c in clauses)} "
                   f"ORDER BY lines_fts.rowid {order} LIMIT ?")
            rows = self._query(sql, [filters.q, *args, limit])
        else:
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = self._query(f"SELECT {COLUMNS}, l.message FROM lines l {where} "
                               f"ORDER BY l.id {order} LIMIT ?", [*args, limit])
        return [_row(r) for r in rows]

    def context(self, line_id: int, before: int = 5, after: int = 5) -> dict[str, Any]:
        """The line `line_id` and its neighbours from the same source."""
        rows = self._query(f"SELECT {COLUMNS}, l.message FROM lines l WHERE l.id = ?",
                           (line_id,))
        if not rows:
            raise KeyError(line_id)
        hit = _row(rows[0])
        older = self._query(f"SELECT {COLUMNS}, l.message FROM lines l WHERE l.source = ? "
                            "AND l.id < ? ORDER BY l.id DESC LIMIT ?",
                            (hit["source"], line_id, before))
        newer = self._query(f"SELECT {COLUMNS}, l.message FROM lines l WHERE l.source = ? "
                            "AND l.id > ? ORDER BY l.id LIMIT ?",
                            (hit["source"], line_id, after))
        return {"line": hit, "before": [_row(r) for r in reversed(older)],
                "after": [_row(r) for r in newer]}

    def histogram(self, filters: Filters, buckets: int = 60) -> dict[str, Any]:
        """Counts of matching lines in `buckets` equal slices of [since, until)."""
        until = filters.until if filters.until is not None else time.time()
        since = filters.since if filters.since is not None else until - 86400
        width = max((until - since) / buckets, 1e-3)
        bounded = dataclasses.replace(filters, since=since, until=until)
        clauses, args = bounded.where()
        where = " AND ".join(clauses)
        if filters.q:
            sql = ("SELECT CAST((l.ts - ?) / ? AS INTEGER) AS b, count(*) FROM lines_fts "
                   "JOIN lines l ON l.id = lines_fts.rowid WHERE lines_fts MATCH ? "
                   f"AND {where} GROUP BY b")
            rows = self._query(sql, [since, width, filters.q, *args])
        else:
            rows = self._query("SELECT CAST((l.ts - ?) / ? AS INTEGER) AS b, count(*) "
                               f"FROM lines l WHERE {where} GROUP BY b",
                               [since, width, *args])
        counts = [0] * buckets
        for bucket, count in rows:
            if 0 <= bucket < buckets:
                counts[bucket] += count
        return {"since": since, "until": until, "width": width,
                "buckets": [{"ts": since + i * width, "count": c}
                            for i, c in enumerate(counts)]}

    def count_since(self, q: str, since: float, sources: Sequence[str] = (),
                    limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
        """How many lines matching `q` arrived since `since`, and the newest `limit` of
        them: an alert rule's window."""
        filters = Filters(q, since, None, sources)
        clauses, args = filters.where()
        extra = "".join(" AND " + c for c in clauses)
        total = self._query("SELECT count(*) FROM lines_fts JOIN lines l ON "
                            f"l.id = lines_fts.rowid WHERE lines_fts MATCH ?{extra}",
                            [q, *args])[0][0]
        return int(total), self.search(filters, limit) if total else []

    def last_id(self) -> int:
        return int(self._query("SELECT coalesce(max(id), 0) FROM lines", ())[0][0])

    def stats(self) -> dict[str, Any]:
        rows = self._query("SELECT count(*), min(ts), max(ts) FROM lines", ())
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")
                   if p.is_file())
        count, oldest, newest = rows[0]
        return {"lines": count, "oldest": oldest, "newest": newest, "bytes": size}


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    line_id, ts, source, host, unit, level, message = row
    return {"id": line_id, "ts": ts, "source": source, "host": host, "unit": unit,
            "level": level, "message": message}


def _fts_message(raw: str) -> str:
    if not any(word in raw for word in ("locked", "disk", "I/O", "readonly", "corrupt")):
        return (f"the search query cannot be read ({raw}); FTS5 syntax: words, \"a phrase\","
                " AND, OR, NOT, prefix*; put words with punctuation in double quotes")
    return raw


def unmark(text: str) -> tuple[str, list[list[int]]]:
    """A highlighted message without its marks, and the [start, end) of each hit in it."""
    spans: list[list[int]] = []
    out: list[str] = []
    length, start = 0, 0
    for part in text.split(MARK_START):
        hit, _, rest = part.partition(MARK_END) if MARK_END in part else ("", "", part)
        if hit:
            start = length
            out.append(hit)
            length += len(hit)
            spans.append([start, length])
        out.append(rest)
        length += len(rest)
    return "".join(out), spans
