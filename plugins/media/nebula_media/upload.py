"""Receiving an upload: streamed to a quarantine file, checked, then placed in a library.

The body is read as it arrives and written in 1 MiB blocks (from a worker thread) to
`.upload-<random>.part`, created 0600 with O_EXCL in a 0700 quarantine folder: the agent
never holds more than a block, and nothing readable by others exists until the file passed.
Its kind is decided from the first 8 KiB (`sniff`), as soon as they are in, so an
executable is refused without reading the rest. Past `max_bytes` the upload is refused.
Whatever ends the upload early (refused, too large, the client gone, the agent stopping)
removes the partial file: an interrupted upload leaves nothing, in quarantine or library.

Placing never replaces a file: a hard link to the final name (which fails if the name is
taken) then the quarantine name removed; across file systems, a copy to a hidden partial
name in the library folder, fsync, then the same link. The final file gets `file_mode`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from nebula_media import sniff

BLOCK = 1 << 20


class TooLarge(ValueError):
    pass


class Taken(FileExistsError):
    pass


class Body(Protocol):
    async def readany(self) -> bytes: ...


@runtime_checkable
class Direct(Body, Protocol):
    """A body whose rest, once the head is in, can be written to the file without passing
    through Python (`direct.SocketBody`), `length` bytes in all."""
    length: int

    async def rest_to(self, sink: Sink) -> int: ...


class FileBody:
    """A local file read as an upload's body (an import from a mounted share)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")

    async def readany(self) -> bytes:
        return await asyncio.to_thread(self._file.read, BLOCK)

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    mime: str


WRITE_BEHIND = 8 << 20


class Sink:
    """The quarantine file being written, from one worker thread at a time.

    Write-behind: every `WRITE_BEHIND` bytes, the kernel is told to start writing what came
    since to disk (`posix_fadvise(DONTNEED)` starts the writeback of a range's dirty pages
    without waiting for it, and lets the page cache drop them once written, so a large
    upload does not push out what the host had cached). The disk then writes while the
    network delivers, and the fsync before the file enters the library finds little left.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = 0
        self._behind = 0

    def write(self, chunks: list[bytes]) -> None:
        # os.writev releases the GIL, so writing a block overlaps with the loop receiving
        # the next one; the chunks go as they came, never copied into one buffer.
        views = [memoryview(c) for c in chunks]
        while views:
            written = os.writev(self.fd, views[:1024])   # IOV_MAX
            self.wrote(written)
            while views and written >= len(views[0]):
                written -= len(views.pop(0))
            if written:
                views[0] = views[0][written:]

    def wrote(self, count: int) -> None:
        """`count` more bytes are in the file (written here or spliced into it)."""
        self.size += count
        if self.size - self._behind >= WRITE_BEHIND:
            os.posix_fadvise(self.fd, self._behind, self.size - self._behind,
                             os.POSIX_FADV_DONTNEED)
            self._behind = self.size


async def receive(body: Body, quarantine: Path, name: str, kinds: list[str],
                  max_bytes: int) -> Received:
    await asyncio.to_thread(make_quarantine, quarantine)
    path = quarantine / f".upload-{secrets.token_hex(8)}.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    sink = Sink(fd)
    size, head, pending, held = 0, bytearray(), [], 0
    mime: str | None = None
    # One block is written (in a thread) while the next one arrives: double buffering.
    writing: asyncio.Future[None] | None = None
    try:
        while chunk := await body.readany():
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"the upload is larger than max_bytes ({max_bytes} bytes)")
            if mime is None:
                head += chunk[:sniff.HEAD - len(head)]
                if len(head) >= sniff.HEAD:
                    mime = sniff.check(name, bytes(head), kinds)
            pending.append(chunk)
            held += len(chunk)
            if mime is not None and isinstance(body, Direct):
                if body.length > max_bytes:
                    raise TooLarge(f"the upload is larger than max_bytes ({max_bytes} bytes)")
                if writing is not None:
                    await writing
                    writing = None
                await asyncio.to_thread(sink.write, pending)
                size += await body.rest_to(sink)
                pending, held = [], 0
                continue   # the next read finds the body's end
            if held >= BLOCK:
                block, pending, held = pending, [], 0
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(asyncio.to_thread(sink.write, block))
        if writing is not None:
            await writing
        if pending:
            await asyncio.to_thread(sink.write, pending)
        if mime is None:
            mime = sniff.check(name, bytes(head), kinds)
        await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        if writing is not None:
            # The thread cannot be stopped mid-write: let it finish before the fd closes.
            with contextlib.suppress(BaseException):
                await asyncio.shield(writing)
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return Received(path, size, mime)


def make_quarantine(quarantine: Path) -> None:
    quarantine.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(quarantine, 0o700)


def prepare_quarantine(quarantine: Path) -> list[str]:
    """At start: an existing quarantine folder made owner-only, and what an agent that died
    mid-upload left there removed (returns the names). A missing one is made at the first
    upload, not here: a plugin that starts makes nothing on disk."""
    if not quarantine.is_dir():
        return []
    os.chmod(quarantine, 0o700)
    left = sorted(quarantine.glob(".upload-*.part"))
    for path in left:
        path.unlink(missing_ok=True)
    return [p.name for p in left]


NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP)


def _link(source: Path, target: Path) -> bool:
    """Give `source` the name `target` without replacing a file there; False when this file
    system cannot (another one: EXDEV; a share without hard links: EPERM, ENOTSUP)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise Taken(f"{target.name} is already in that folder") from None
    except OSError as exc:
        if exc.errno not in NO_LINK:
            raise
        return False
    return True


def place(source: Path, target: Path, mode: int) -> Path:
    """Move `source` to `target` (never replacing a file); returns `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(source, mode)
    if not _link(source, target):
        _copy_across(source, target, mode)
    source.unlink()
    return target


def _copy_across(source: Path, target: Path, mode: int) -> None:
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with source.open("rb") as src, open(
                os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            shutil.copyfileobj(src, out, BLOCK)
            out.flush()
            os.fsync(out.fileno())
        if not _link(partial, target):
            # A share that cannot hard-link (CIFS without unix extensions): rename, after
            # checking the name is free (the narrow race is the share's limit).
            if target.exists():
                raise Taken(f"{target.name} is already in that folder")
            os.rename(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
