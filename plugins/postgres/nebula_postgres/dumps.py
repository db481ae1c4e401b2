"""Running pg_dump and pg_restore as child processes (that end with the agent: see
`children`).

The password reaches them only as PGPASSWORD in the child's environment. Output goes
straight to a file (pg_dump -f) or is read line by line, so the agent's memory stays flat
whatever the database's size.

pg_dump first takes a share lock on every table it dumps; one session holding a
conflicting lock (an ALTER TABLE left in an open transaction) would stall it for as long
as that session lives, so it waits at most `--lock-wait-timeout` and the failure names the
table and the sessions holding its lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path

from nebula_postgres import children, driver
from nebula_postgres.server import Server

CHUNK = 1024 * 1024
STDERR_KEPT = 2000


# How pg_dump reports a lock it did not get within --lock-wait-timeout.
_LOCK_TIMEOUT = re.compile(r"canceling statement due to (?:statement|lock) timeout.*"
                           r"Query was: LOCK TABLE (?P<table>.+?) IN ACCESS SHARE MODE")
HOLDERS_SQL = """
SELECT a.pid, a.usename, a.state, extract(epoch FROM now() - a.xact_start)::float,
       left(a.query, 200)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.relation = %s::regclass AND l.granted AND l.mode = 'AccessExclusiveLock'
ORDER BY a.xact_start
"""


class DumpError(RuntimeError):
    pass


async def _run(server: Server, program: str, *args: str | Path,
               count_lines: bool = False) -> int:
    """Run a client program to its end; returns the lines of its output it counted (TOC
    entries for `pg_restore --list`). A failure raises with the program's own words; a
    cancelled caller kills the child."""
    proc = await children.start(
        server.program(program), [str(a) for a in args], server.child_env(),
        stdout=asyncio.subprocess.PIPE if count_lines else asyncio.subprocess.DEVNULL)
    assert proc.stderr is not None  # children.start always pipes stderr
    try:
        counted, stderr = await asyncio.gather(_count(proc.stdout), proc.stderr.read())
        code = await proc.wait()
    except BaseException:
        children.kill(proc)
        await proc.wait()
        raise
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
        words = " ".join(stderr.decode(errors="replace").split())[-STDERR_KEPT:]
        raise DumpError(f"{program} failed ({how}){': ' + words if words else ''}")
    return counted


async def _count(stream: asyncio.StreamReader | None) -> int:
    if stream is None:
        return 0
    count = 0
    while line := await stream.readline():
        if line.strip() and not line.startswith(b";"):
            count += 1
    return count


async def dump(server: Server, database: str, path: Path, lock_wait_timeout: float) -> None:
    """Dump into `path`, made owner-only first: pg_dump keeps the mode of a file it
    overwrites, so the dump is never readable by others, even while it is written."""
    await asyncio.to_thread(private_file, path)
    milliseconds = max(1, round(lock_wait_timeout * 1000))
    try:
        await _run(server, "pg_dump", "--format=custom", "--no-password",
                   f"--lock-wait-timeout={milliseconds}", "--dbname", database,
                   "--file", path)
    except DumpError as exc:
        if locked := _LOCK_TIMEOUT.search(str(exc)):
            table = locked.group("table")
            raise DumpError(f"pg_dump could not lock table {table} within "
                            f"{lock_wait_timeout:g} s (backup_lock_wait_timeout): "
                            f"{await _holders(server, database, table)}") from None
        raise


async def _holders(server: Server, database: str, table: str) -> str:
    """Who holds a lock on `table` that pg_dump's share lock waits behind, in words."""
    try:
        async with server.connect(database) as conn:
            cur = await conn.execute(HOLDERS_SQL, [table])
            rows = await cur.fetchall()
    except driver.errors() as exc:
        return f"could not tell who holds it ({' '.join(str(exc).split())})"
    if not rows:
        return "its lock was held by a session that has ended since"
    return "held by " + ", ".join(
        f"pid {pid} ({user}, {state}"
        f"{f', transaction open {seconds:.0f} s' if seconds is not None else ''}: {query})"
        for pid, user, state, seconds, query in rows)


async def toc_entries(server: Server, path: Path) -> int:
    """Verifies a dump can be read by pg_restore; returns its number of TOC entries."""
    return await _run(server, "pg_restore", "--list", path, count_lines=True)


async def restore(server: Server, path: Path, database: str) -> None:
    await _run(server, "pg_restore", "--exit-on-error", "--single-transaction",
               "--no-password", "--dbname", database, path)


def private_file(path: Path) -> None:
    """Create `path` empty and 0600, or truncate it and make it 0600. Blocking."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file left from a killed run keeps its old mode otherwise
    finally:
        os.close(fd)


def sha256(path: Path) -> str:
    """Blocking: run in a worker thread."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    """Blocking: run in a worker thread."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
