"""Running pg_dump and pg_restore as child processes.

The password reaches them only as PGPASSWORD in the child's environment. Output goes
straight to a file (pg_dump -f) or is read line by line, so the agent's memory stays flat
whatever the database's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path

from nebula_postgres.server import Server

CHUNK = 1024 * 1024
STDERR_KEPT = 2000


class DumpError(RuntimeError):
    pass


async def _run(server: Server, program: str, *args: str | Path,
               count_lines: bool = False) -> int:
    """Run a client program to its end; returns the lines of its output it counted (TOC
    entries for `pg_restore --list`). A failure raises with the program's own words; a
    cancelled caller kills the child."""
    proc = await asyncio.create_subprocess_exec(
        server.program(program), *map(str, args), env=server.child_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if count_lines else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        counted, stderr = await asyncio.gather(_count(proc.stdout), proc.stderr.read())
        code = await proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
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


async def dump(server: Server, database: str, path: Path) -> None:
    """Dump into `path`, made owner-only first: pg_dump keeps the mode of a file it
    overwrites, so the dump is never readable by others, even while it is written."""
    await asyncio.to_thread(private_file, path)
    await _run(server, "pg_dump", "--format=custom", "--no-password", "--dbname", database,
               "--file", path)


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
