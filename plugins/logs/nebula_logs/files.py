"""File and glob sources: follow files as `tail -F` does, in one thread, and save each
file's read position with the lines read up to it (store.Batch.position).

- A file renamed away (logrotate's default `create` rotation) is read to its end under
  its old inode before the new file at the path is opened from its start.
- A file truncated in place (logrotate's `copytruncate`) is noticed by its size falling
  below the read position, and read again from 0. Lines written between logrotate's copy
  and its truncate are lost to every reader of the file: that is copytruncate's own flaw.
- After a restart a file resumes from its saved position when its inode is the same; when
  the path now holds another file (rotated while the agent was down), the old inode is
  looked for beside it (`app.log.1`), read to its end from the saved position, and the new
  file is read from its start.
- Only complete lines are taken: an unfinished last line waits for its newline (or for
  the file's rotation). A line longer than `max_line_bytes` is stored cut, and the rest of
  it skipped up to its newline (`skipping` is part of the saved position).
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nebula_logs.lines import Line, make_line
from nebula_logs.store import Batch

READ_CHUNK = 1 << 20  # bytes read from one file per turn, so one busy file cannot starve others
BATCH_LINES = 2000


@dataclass
class FileSpec:
    name: str  # the source name lines carry
    pattern: str  # a path or a glob
    from_start: bool = True  # a file never seen before: read it whole, or only what comes


@dataclass
class Followed:
    path: str
    key: str  # the position's key in the store
    fd: int
    dev: int
    ino: int
    offset: int  # the file offset the lines handed in so far end at
    skipping: bool = False  # inside an over-long line, dropping bytes up to its newline
    partial: bytes = b""

    def position(self) -> dict[str, Any]:
        return {"dev": self.dev, "ino": self.ino, "offset": self.offset,
                "skipping": self.skipping}


@dataclass
class SourceState:
    name: str
    kind: str
    target: str
    state: str = "starting"
    error: str = ""
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target,
                "state": self.state, "error": self.error, "files": list(self.files)}


class FileFollower:
    """Follows every file source's files in one thread, polling every `interval` s while a
    live tail watches (`watching()`), every `idle_interval` s (default: `interval`) when
    none does. A file that has lines to read is read again at once either way."""

    def __init__(self, specs: list[FileSpec], submit: Callable[[Batch, threading.Event], bool],
                 position: Callable[[str], Any], *, max_line_bytes: int,
                 interval: float = 0.1, idle_interval: float | None = None) -> None:
        self.specs = specs
        self._submit = submit
        self._position = position
        self.max_line_bytes = max_line_bytes
        self.interval = interval
        self.idle_interval = max(interval, idle_interval or interval)
        self._watchers = 0
        self._nudge = threading.Event()  # ends the wait between two polls early
        self.states = {s.name: SourceState(s.name, "file", s.pattern) for s in specs}
        self._followed: dict[str, Followed] = {}
        self._looked: set[str] = set()  # sources whose files were all seen once already
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logs-files", daemon=True)

    def start(self) -> None:
        if self.specs:
            self._thread.start()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """While in it, files are looked at every `interval` s (a live tail's latency); the
        next look comes at once."""
        self._watchers += 1
        self._nudge.set()
        try:
            yield
        finally:
            self._watchers -= 1

    def stop(self) -> None:
        self._stop.set()
        self._nudge.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for followed in self._followed.values():
            with contextlib.suppress(OSError):
                os.close(followed.fd)
        self._followed.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            for spec in self.specs:
                try:
                    busy |= self._poll(spec)
                except OSError as exc:
                    state = self.states[spec.name]
                    state.state, state.error = "error", f"{type(exc).__name__}: {exc}"
            if not busy:
                self._nudge.wait(self.interval if self._watchers else self.idle_interval)
                self._nudge.clear()

    # --- one source -------------------------------------------------------------------------

    def _poll(self, spec: FileSpec) -> bool:
        state = self.states[spec.name]
        paths = sorted(glob.glob(spec.pattern)) if glob.has_magic(spec.pattern) else (
            [spec.pattern] if os.path.exists(spec.pattern) else [])
        busy = False
        for path in paths:
            followed = self._followed.get(path)
            if followed is None:
                followed = self._open(spec, path)
                if followed is None:
                    continue
            busy |= self._follow(spec, followed)
        for path in [p for p in self._followed if p not in paths and
                     self._followed[p].key.startswith(f"file:{spec.name}:")]:
            # Gone (renamed or deleted): read what is left under the old inode, then drop it.
            self._read(spec, self._followed[path], final=True)
            os.close(self._followed.pop(path).fd)
        self._looked.add(spec.name)
        state.files = [p for p in paths if p in self._followed]
        state.state = "running" if state.files else "waiting"
        state.error = "" if state.files else f"no file matches {spec.pattern}"
        return busy

    def _open(self, spec: FileSpec, path: str) -> Followed | None:
        key = f"file:{spec.name}:{path}"
        followed = self._open_fresh(path, key)
        if followed is None:
            return None
        st = os.fstat(followed.fd)
        saved = self._position(key)
        if saved is None:
            # Without from_start, what a file held when the agent started is skipped; a
            # file that appears later is new, and read whole.
            first_look = spec.name not in self._looked
            followed.offset = 0 if spec.from_start or not first_look else st.st_size
        elif (saved["dev"], saved["ino"]) == (st.st_dev, st.st_ino):
            followed.offset = saved["offset"] if saved["offset"] <= st.st_size else 0
            followed.skipping = saved["skipping"] and followed.offset != 0
        else:
            self._drain_rotated(spec, path, key, saved)
        os.lseek(followed.fd, followed.offset, os.SEEK_SET)
        return followed

    def _drain_rotated(self, spec: FileSpec, path: str, key: str, saved: dict[str, Any]) -> None:
        """The file we were reading was rotated while we were away: finish it first."""
        folder = os.path.dirname(path) or "."
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if (st.st_dev, st.st_ino) == (saved["dev"], saved["ino"]) and entry.is_file():
                    fd = os.open(entry.path, os.O_RDONLY)
                    old = Followed(entry.path, key, fd, st.st_dev, st.st_ino,
                                   min(saved["offset"], st.st_size), saved["skipping"])
                    os.lseek(fd, old.offset, os.SEEK_SET)
                    try:
                        self._read(spec, old, final=True)
                    finally:
                        os.close(fd)
                    return

    def _follow(self, spec: FileSpec, followed: Followed) -> bool:
        try:
            st = os.stat(followed.path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) != (followed.dev, followed.ino):
            # Renamed away and a new file made at the path: the old one to its end first.
            self._read(spec, followed, final=True)
            os.close(followed.fd)
            del self._followed[followed.path]
            new = self._open_fresh(followed.path, followed.key)
            return new is not None and self._read(spec, new)
        size = os.fstat(followed.fd).st_size
        if size < followed.offset:  # truncated in place (copytruncate)
            followed.offset, followed.partial, followed.skipping = 0, b"", False
            os.lseek(followed.fd, 0, os.SEEK_SET)
        return self._read(spec, followed)

    def _open_fresh(self, path: str, key: str) -> Followed | None:
        """Follow `path` from its start."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        st = os.fstat(fd)
        followed = Followed(path, key, fd, st.st_dev, st.st_ino, 0)
        self._followed[path] = followed
        return followed

    def _read(self, spec: FileSpec, followed: Followed, final: bool = False) -> bool:
        """Hand in the complete lines available; whether a whole chunk was read (more may
        be waiting). `final`: the file is finished, its unfinished last line counts too."""
        chunk = os.read(followed.fd, READ_CHUNK)
        more = len(chunk) == READ_CHUNK
        while final and more:
            rest = os.read(followed.fd, READ_CHUNK)
            chunk, more = chunk + rest, len(rest) == READ_CHUNK
        if not chunk and not (final and followed.partial):
            return False
        data = followed.partial + chunk
        now = time.time()
        lines: list[Line] = []
        start = 0
        end_offset = followed.offset - len(followed.partial)
        while True:
            newline = data.find(b"\n", start)
            if newline < 0:
                break
            if followed.skipping:
                followed.skipping = False
            else:
                lines.append(make_line(data[start:newline], now, spec.name, self.max_line_bytes,
                                       unit=os.path.basename(followed.path)))
            start = newline + 1
        rest = data[start:]
        consumed = end_offset + start
        if final and rest:
            if not followed.skipping:
                lines.append(make_line(rest, now, spec.name, self.max_line_bytes,
                                       unit=os.path.basename(followed.path)))
            consumed, rest, followed.skipping = consumed + len(rest), b"", False
        elif len(rest) > self.max_line_bytes:
            # An over-long line without its end yet: store it cut now, skip the rest of it.
            if not followed.skipping:
                lines.append(make_line(rest, now, spec.name, self.max_line_bytes,
                                       unit=os.path.basename(followed.path)))
            consumed, rest, followed.skipping = consumed + len(rest), b"", True
        followed.partial = rest
        followed.offset = consumed + len(rest)
        position = (followed.key, {**followed.position(), "offset": consumed})
        for i in range(0, max(len(lines), 1), BATCH_LINES):
            part = lines[i:i + BATCH_LINES]
            last = i + BATCH_LINES >= len(lines)
            if (part or last) and not self._submit(Batch(part, position if last else None),
                                                   self._stop):
                return False
        return more


def file_specs(config: list[dict[str, Any]]) -> list[FileSpec]:
    return [FileSpec(c["name"], str(Path(c["path"]).expanduser()), c["from_start"])
            for c in config]
