"""Backups of Nebula's own state: the store, the secret key and the config, in one archive.

An archive is a gzipped tar of flat members: `manifest.json` first, then `nebula.db` (a
consistent copy made with SQLite's backup API, safe while the agent writes: WAL readers see
one committed state), `secret.key` (without it the secrets and pending approvals in the
store cannot be decrypted) and `nebula.toml` (the config, when there is one). The manifest
names the versions (Nebula's, the store's schema, the archive format) and the size and
SHA-256 of every member, so a restore checks the whole archive before it touches anything.

The archive holds the key that decrypts the store's secrets: it is written 0600 and should
be kept like the data dir itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nebula import __version__
from nebula.errors import NebulaError
from nebula.filemodes import FILE_MODE
from nebula.store.db import copy_store
from nebula.store.migrations import MIGRATIONS

FORMAT = 1
MANIFEST = "manifest.json"
DB, KEY, CONFIG = "nebula.db", "secret.key", "nebula.toml"
MEMBERS = (DB, KEY, CONFIG)
CHUNK = 1 << 20


class BackupError(NebulaError):
    """A backup could not be made, or an archive is not one that can be restored."""


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def default_name() -> str:
    return f"nebula-backup-{timestamp()}.tar.gz"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _schema_version(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    finally:
        conn.close()
    if problems != ["ok"]:
        raise BackupError(f"the store copy is damaged: {'; '.join(problems[:3])}")
    return version


def _snapshot_store(db: Path, target: Path) -> None:
    if not db.is_file():
        raise BackupError(f"no store at {db}: nothing to back up (wrong data dir?)")
    # Not nebula.store.connect: a backup must not migrate (or create) the store it copies.
    source = sqlite3.connect(db, timeout=30)
    try:
        copy_store(source, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the store {db}: {exc}") from None
    finally:
        source.close()


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Members owned by nobody in particular, owner-only: the archive is restored as
    whichever user runs the agent there."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = FILE_MODE
    return info


def write_backup(data_dir: Path, config: Path | None, target: Path) -> dict[str, Any]:
    """Write the archive to `target` (0600; an existing file is never replaced) and return
    its manifest."""
    with tempfile.TemporaryDirectory(prefix="nebula-backup-") as tmp:
        staged = Path(tmp)
        _snapshot_store(data_dir / DB, staged / DB)
        files = {DB: staged / DB}
        if (data_dir / KEY).is_file():  # made on first use: a new agent may have none yet
            files[KEY] = data_dir / KEY
        if config is not None and config.is_file():
            files[CONFIG] = config
        manifest = {
            "format": FORMAT, "nebula_version": __version__,
            "schema_version": _schema_version(staged / DB),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "data_dir": str(data_dir.resolve()),
            "config": str(config.resolve()) if CONFIG in files and config else None,
            "members": {name: {"size": path.stat().st_size, "sha256": _sha256(path)}
                        for name, path in files.items()},
        }
        _write_archive(target, manifest, files)
    return manifest


def _write_archive(target: Path, manifest: dict[str, Any], files: dict[str, Path]) -> None:
    target = target.absolute()
    # mkstemp: 0600 from the first byte; linked into place so nothing is overwritten and
    # no half-written archive ever carries the final name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            body = json.dumps(manifest, indent=2).encode()
            info = _normalised(tarfile.TarInfo(MANIFEST))
            info.size, info.mtime = len(body), int(time.time())
            tar.addfile(info, io.BytesIO(body))
            for name, path in files.items():
                # Through the open file: a config reached by a symlink goes in as its text.
                with path.open("rb") as handle:
                    tar.addfile(_normalised(tar.gettarinfo(arcname=name, fileobj=handle)),
                                handle)
            raw.flush()
            os.fsync(raw.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise BackupError(f"{target} exists; name another file") from None
    finally:
        os.unlink(tmp)


@dataclass(frozen=True)
class Verified:
    """An archive checked member by member, its members extracted into `folder`."""

    manifest: dict[str, Any]
    folder: Path

    def path(self, name: str) -> Path | None:
        return self.folder / name if name in self.manifest["members"] else None


def _bad(archive: Path, why: str) -> BackupError:
    return BackupError(f"{archive} is not a usable Nebula backup: {why}; nothing was changed")


def _read_manifest(archive: Path, tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        handle = tar.extractfile(MANIFEST)
        manifest = json.loads(handle.read()) if handle else None
    except KeyError:
        raise _bad(archive, f"it has no {MANIFEST}") from None
    except ValueError as exc:
        raise _bad(archive, f"its {MANIFEST} is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("members"), dict):
        raise _bad(archive, f"its {MANIFEST} is not a Nebula backup manifest")
    if manifest.get("format") != FORMAT:
        raise _bad(archive, f"archive format {manifest.get('format')!r}, this Nebula "
                            f"reads format {FORMAT}")
    if DB not in manifest["members"] or not set(manifest["members"]) <= set(MEMBERS):
        raise _bad(archive, f"its members are {sorted(manifest['members'])}, not "
                            f"{DB} with optional {KEY} and {CONFIG}")
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or schema > len(MIGRATIONS):
        raise _bad(archive, f"its store is at schema version {schema}, newer than this "
                            f"Nebula's {len(MIGRATIONS)} (made by Nebula "
                            f"{manifest.get('nebula_version')}); restore it with that version")
    return manifest


def _extract(archive: Path, tar: tarfile.TarFile, manifest: dict[str, Any],
             folder: Path) -> None:
    """Copy each listed member out by name (never tar's own extraction: no path in the
    archive decides where a file goes) and check its size and SHA-256."""
    present = {info.name: info for info in tar.getmembers()}
    extra = set(present) - {MANIFEST, *manifest["members"]}
    if extra:
        raise _bad(archive, f"members not in its manifest: {sorted(extra)}")
    for name, expected in manifest["members"].items():
        info = present.get(name)
        if info is None or not info.isfile():
            raise _bad(archive, f"{name} is missing")
        source = tar.extractfile(info)
        assert source is not None  # a regular file, checked above
        digest = hashlib.sha256()
        target = folder / name
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE),
                       "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if (target.stat().st_size, digest.hexdigest()) != (expected.get("size"),
                                                           expected.get("sha256")):
            raise _bad(archive, f"{name} does not match its checksum (damaged or altered)")


@contextlib.contextmanager
def verified(archive: Path) -> Iterator[Verified]:
    """Check the whole archive (readable, manifest, every member's checksum, the store's
    integrity and schema version) and yield its members extracted in a private temporary
    folder, removed afterwards. Raises BackupError, having changed nothing, otherwise."""
    with tempfile.TemporaryDirectory(prefix="nebula-restore-") as tmp:
        folder = Path(tmp)
        try:
            with tarfile.open(archive, mode="r:gz") as tar:
                manifest = _read_manifest(archive, tar)
                _extract(archive, tar, manifest, folder)
        except FileNotFoundError:
            raise BackupError(f"{archive}: no such file") from None
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise _bad(archive, f"it cannot be read ({exc})") from None
        try:
            schema = _schema_version(folder / DB)
        except (sqlite3.Error, BackupError) as exc:
            raise _bad(archive, f"its store is damaged ({exc})") from None
        if schema != manifest["schema_version"]:
            raise _bad(archive, f"its store is at schema {schema}, the manifest says "
                                f"{manifest['schema_version']}")
        yield Verified(manifest, folder)


@dataclass(frozen=True)
class Restored:
    data_dir: Path
    data_aside: Path | None
    config: Path | None
    config_aside: Path | None


def _aside(path: Path, stamp: str) -> Path | None:
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.before-restore-{stamp}")
    if aside.exists():
        raise BackupError(f"{aside} exists already; move it away and try again")
    path.rename(aside)
    return aside


def install(backup: Verified, data_dir: Path, config: Path | None,
            lock: Callable[[Path], AbstractContextManager[Any]]) -> Restored:
    """Put a verified archive in place: the data dir's store and key (the old data dir kept
    whole as `<data_dir>.before-restore-<time>`), and the config at `config` when given
    (the old one kept the same way). `lock(data_dir)` is held throughout: it refuses when
    an agent runs on that data dir."""
    data_dir = data_dir.absolute()
    stamp = timestamp()
    with lock(data_dir) if data_dir.exists() else contextlib.nullcontext():
        # Built beside the data dir first, so the swap itself is two renames.
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=f".{data_dir.name}.new-"))
        try:
            for name in (DB, KEY):
                if (source := backup.path(name)) is not None:
                    shutil.copyfile(source, fresh / name)
                    os.chmod(fresh / name, FILE_MODE)
            data_aside = _aside(data_dir, stamp)
            fresh.rename(data_dir)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        source = backup.path(CONFIG)
        if config is None or source is None:
            return Restored(data_dir, data_aside, None, None)
        config_aside = _aside(config, stamp)
        config.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, config)
        os.chmod(config, FILE_MODE)
    return Restored(data_dir, data_aside, config, config_aside)
