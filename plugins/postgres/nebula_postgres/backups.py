"""Backups on disk: one folder per database, `<db>-<UTC stamp>.dump` with a JSON record
beside it (`.json`: when, size, sha256, TOC entries).

A dump is written under a temporary name (`.<name>.dump.partial`), verified with
`pg_restore --list` and checksummed, fsynced, and only then renamed into place, so a
failed, killed or partial dump never replaces or hides a good one. The record is written
before the rename: a dump without a record is never listed. A temporary file a run could
not remove (the agent was killed mid-dump) is removed when the plugin starts and by the
next retention pass of its database.

Backups are as secret as the databases: the folders are 0700 and every file 0600 whatever
the agent's umask, and at start `secure` takes group and other bits off what an older
version (or a hand) left readable, with one warning per path.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime as dt
import fcntl
import json
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nebula_postgres import dumps, names
from nebula_postgres.server import Server

SUFFIX = ".dump"
PARTIAL = ".partial"
DIR_MODE = 0o700
# What the plugin writes in a database's folder; only these have their modes fixed.
OWN_FILES = (f"*{SUFFIX}", f"*{SUFFIX}.json", f".*{PARTIAL}")


@dataclass(frozen=True)
class Backup:
    database: str
    name: str
    created: float
    size: int
    sha256: str
    toc_entries: int
    seconds: float

    def public(self) -> dict[str, Any]:
        created = dt.datetime.fromtimestamp(self.created, dt.timezone.utc)
        return {**asdict(self), "created_at": created.isoformat(timespec="seconds"),
                "age_hours": round((time.time() - self.created) / 3600, 2)}


def keep(backups: Iterable[Backup], daily: int, weekly: int) -> set[str]:
    """Names kept: the newest backup of each of the last `daily` days that have one, and
    of each of the last `weekly` ISO weeks that have one (UTC)."""
    kept: set[str] = set()
    days: set[dt.date] = set()
    weeks: set[tuple[int, int]] = set()
    for backup in sorted(backups, key=lambda b: b.created, reverse=True):
        when = dt.datetime.fromtimestamp(backup.created, dt.timezone.utc)
        iso = when.isocalendar()
        day, week = when.date(), (iso.year, iso.week)
        if day not in days and len(days) < daily:
            days.add(day)
            kept.add(backup.name)
        if week not in weeks and len(weeks) < weekly:
            weeks.add(week)
            kept.add(backup.name)
    return kept


class BackupError(RuntimeError):
    pass


class Backups:
    def __init__(self, server: Server, root: str | Path, keep_daily: int,
                 keep_weekly: int, lock_wait_timeout: float = 60) -> None:
        self.server = server
        self.root = Path(root).expanduser()
        self.keep_daily = keep_daily
        self.keep_weekly = keep_weekly
        self.lock_wait_timeout = lock_wait_timeout
        self._locks: dict[str, asyncio.Lock] = {}

    def folder(self, database: str) -> Path:
        return self.root / names.identifier(database, "database name")

    # --- reading (blocking: in a worker thread) -------------------------------------------

    def list(self, database: str | None = None) -> list[Backup]:
        """Every complete backup, newest first."""
        folders = [self.folder(database)] if database else (
            sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else [])
        found = []
        for folder in folders:
            for record in folder.glob(f"*{SUFFIX}.json") if folder.is_dir() else ():
                dump = record.with_suffix("")
                if not dump.is_file():
                    continue
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    found.append(Backup(**json.loads(record.read_text(encoding="utf-8"))))
        return sorted(found, key=lambda b: b.created, reverse=True)

    def find(self, name: str) -> Backup:
        for backup in self.list():
            if backup.name == name:
                return backup
        raise BackupError(f"no backup named {name!r}")

    def path(self, backup: Backup) -> Path:
        return self.folder(backup.database) / backup.name

    # --- writing --------------------------------------------------------------------------

    async def run(self, database: str) -> dict[str, Any]:
        """Dump one database; returns the new backup, the names retention removed, and the
        temporary files interrupted runs left ("leftovers", removed too)."""
        folder = self.folder(database)
        lock = self._locks.setdefault(database, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(self._make_folder, folder)
            started = time.time()
            stamp = dt.datetime.fromtimestamp(started, dt.timezone.utc)
            name = f"{database}-{stamp:%Y%m%dT%H%M%S%f}Z{SUFFIX}"
            final, temp = folder / name, folder / f".{name}{PARTIAL}"
            claim = await asyncio.to_thread(_claim, temp)
            try:
                await dumps.dump(self.server, database, temp, self.lock_wait_timeout)
                entries = await dumps.toc_entries(self.server, temp)
                digest = await asyncio.to_thread(dumps.sha256, temp)
                await asyncio.to_thread(dumps.fsync, temp)
                backup = Backup(database, name, started, temp.stat().st_size, digest, entries,
                                round(time.time() - started, 3))
                await asyncio.to_thread(self._publish, backup, temp, final)
            except BaseException as exc:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                if isinstance(exc, dumps.DumpError):
                    raise BackupError(f"backup of {database} failed, previous backups kept: "
                                      f"{exc}") from None
                raise
            finally:
                os.close(claim)
            removed = await asyncio.to_thread(self.prune, database)
            leftovers = await asyncio.to_thread(self._remove_partials, folder)
        return {"backup": backup.public(), "removed": removed,
                "leftovers": [path.name for path, _ in leftovers]}

    def _publish(self, backup: Backup, temp: Path, final: Path) -> None:
        record = final.with_name(final.name + ".json")
        staged = record.with_name(f".{record.name}{PARTIAL}")
        dumps.private_file(staged)
        staged.write_text(json.dumps(asdict(backup)), encoding="utf-8")
        os.replace(staged, record)
        os.replace(temp, final)
        _fsync_dir(final.parent)

    def _make_folder(self, folder: Path) -> None:
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        folder.mkdir(mode=DIR_MODE, exist_ok=True)

    # --- modes ----------------------------------------------------------------------------

    async def secure(self, log: Any) -> None:
        """At start: the backup dir, the database folders and the files the plugin wrote
        there lose their group and other bits; one warning per path fixed or not fixable."""
        fixed, failed = await asyncio.to_thread(self._owner_only)
        for path, was, now in fixed:
            log.warning("postgres.backup_mode_fixed", path=str(path), was=f"{was:04o}",
                        now=f"{now:04o}", why="was readable by other users")
        for path, error in failed:
            log.warning("postgres.backup_mode_not_fixed", path=str(path), error=error)

    def _owner_only(
        self,
    ) -> tuple[builtins.list[tuple[Path, int, int]], builtins.list[tuple[Path, str]]]:
        if not self.root.is_dir():
            return [], []
        paths = [self.root]
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and not folder.is_symlink():
                ours = sorted({p for pattern in OWN_FILES for p in folder.glob(pattern)})
                paths += [folder, *ours] if ours else []
        fixed, failed = [], []
        for path in paths:
            try:
                st = path.lstat()
                was = stat.S_IMODE(st.st_mode)
                # A symlink is not followed: what it points at need not be ours.
                if stat.S_ISLNK(st.st_mode) or not was & 0o077:
                    continue
                os.chmod(path, was & 0o700)
                fixed.append((path, was, was & 0o700))
            except OSError as exc:
                failed.append((path, exc.strerror or str(exc)))
        return fixed, failed

    # --- leftovers --------------------------------------------------------------------------

    async def remove_leftovers(self, log: Any) -> None:
        """At start, before any backup runs: the temporary files of runs that ended with
        the agent (`kill -9`, power loss) go, with one warning each."""
        for path, size in await asyncio.to_thread(self._leftovers):
            log.warning("postgres.backup_leftover_removed", path=str(path), size=size,
                        why="left by a backup that was interrupted")

    def _leftovers(self) -> builtins.list[tuple[Path, int]]:
        if not self.root.is_dir():
            return []
        return [found for folder in sorted(self.root.iterdir())
                if folder.is_dir() and not folder.is_symlink()
                for found in self._remove_partials(folder)]

    @staticmethod
    def _remove_partials(folder: Path) -> builtins.list[tuple[Path, int]]:
        """Removes the temporary files in a database's folder that no run is writing (see
        `_claim`); returns them with their sizes."""
        removed = []
        for path in sorted(folder.glob(f".*{PARTIAL}")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:  # gone since, or a symlink (not the plugin's own file)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # a run (of this agent or another on the same folder) writes it
            try:
                size = os.fstat(fd).st_size
                path.unlink(missing_ok=True)
                removed.append((path, size))
            finally:
                os.close(fd)
        return removed

    def prune(self, database: str) -> builtins.list[str]:
        """Applies retention to one database's backups; returns the names removed."""
        backups = self.list(database)
        kept = keep(backups, self.keep_daily, self.keep_weekly)
        removed = []
        for backup in backups:
            if backup.name in kept:
                continue
            path = self.path(backup)
            # The record goes first: a dump without one is never listed.
            path.with_name(path.name + ".json").unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            removed.append(backup.name)
        return removed

    async def verify(self, backup: Backup) -> None:
        """The dump on disk is the one recorded, and pg_restore can read it."""
        path = self.path(backup)
        digest = await asyncio.to_thread(dumps.sha256, path)
        if digest != backup.sha256:
            raise BackupError(f"backup {backup.name} does not match its checksum "
                              f"(recorded {backup.sha256[:12]}…, now {digest[:12]}…)")
        await dumps.toc_entries(self.server, path)


def _claim(path: Path) -> int:
    """Creates a run's temporary file (0600) and holds an exclusive lock on it for the
    run: the sweeps for leftovers pass over a file someone holds. The kernel drops the
    lock with the process, so what a killed agent left is free to remove. Blocking."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
