"""Backup copies on the NAS: the postgres plugin's dumps and `nebula backup` archives,
copied to a folder of a share, each verified by reading it back.

A copy is written as `.<name>.partial`, then read back whole from the NAS; only when size and
sha256 match the local file is it renamed to `<name>`, with `<name>.sha256` beside it (so a
later run skips a file already there without reading it again, and a person can check it
with `sha256sum -c`). A copy that fails or does not match is removed: the share never holds
a half-written file under a final name. Retention keeps the newest `keep` copies of each
folder (postgres/<database>, nebula).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nebula_nas.smb import CHUNK, RemoteFile, ShareError, SmbClient

SIDECAR = ".sha256"
PARTIAL = ".partial"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Source:
    local: Path
    folder: str               # relative to the backup path on the share


def find_sources(postgres_dir: str | None, archive_dir: str | None) -> list[Source]:
    found: list[Source] = []
    if postgres_dir and Path(postgres_dir).is_dir():
        for folder in sorted(p for p in Path(postgres_dir).iterdir() if p.is_dir()):
            found += [Source(f, f"postgres/{folder.name}")
                      for f in sorted(folder.glob("*.dump")) if not f.name.startswith(".")]
    if archive_dir and Path(archive_dir).is_dir():
        found += [Source(f, "nebula")
                  for f in sorted(Path(archive_dir).glob("nebula-backup-*.tar.gz"))]
    return found


def local_digest(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as src:
        while chunk := src.read(CHUNK):
            yield chunk


@dataclass
class RunReport:
    started: float
    copied: list[str] = field(default_factory=list)
    skipped: int = 0
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"started": self.started, "copied": self.copied, "skipped": self.skipped,
                "removed": self.removed, "errors": self.errors}


class BackupCopier:
    """Blocking; the runtime runs it in a worker thread."""

    def __init__(self, smb: SmbClient, share: str, base: str, keep: int) -> None:
        self.smb = smb
        self.share = share
        self.base = base.strip("/\\")
        self.keep = keep

    def _at(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def run(self, sources: list[Source]) -> RunReport:
        report = RunReport(time.time())
        folders: dict[str, list[Source]] = {}
        for source in sources:
            folders.setdefault(source.folder, []).append(source)
        for folder, items in folders.items():
            try:
                self.smb.makedirs(self.share, self._at(folder))
                present = {f.name: f for f in self.smb.listdir(self.share, self._at(folder))}
            except ShareError as exc:
                report.errors.append(f"{folder}: {exc}")
                continue
            for source in items:
                name = f"{folder}/{source.local.name}"
                try:
                    if self._copy(source, present):
                        report.copied.append(name)
                    else:
                        report.skipped += 1
                except (ShareError, BackupError, OSError) as exc:
                    report.errors.append(f"{name}: {exc}")
            try:
                report.removed += self.prune(folder)
            except ShareError as exc:
                report.errors.append(f"{folder}: retention: {exc}")
        return report

    def _copy(self, source: Source, present: dict[str, RemoteFile]) -> bool:
        """Copy one file unless the share has it already; True when it copied."""
        name = source.local.name
        size, sha = local_digest(source.local)
        there = present.get(name)
        sidecar = self._at(source.folder, name + SIDECAR)
        if there is not None and there.size == size:
            recorded = self.smb.read_text(self.share, sidecar)
            if recorded is not None and recorded.split()[:1] == [sha]:
                return False
        partial = self._at(source.folder, f".{name}{PARTIAL}")
        try:
            self.smb.upload(self.share, partial, _chunks(source.local))
            back_size, back_sha = self.smb.digest(self.share, partial)
            if (back_size, back_sha) != (size, sha):
                raise BackupError(f"the copy read back from the NAS does not match "
                                  f"({back_size} bytes, sha256 {back_sha[:12]}…; the local "
                                  f"file has {size} bytes, sha256 {sha[:12]}…)")
            self.smb.rename(self.share, partial, self._at(source.folder, name))
        except BaseException:
            # With the NAS gone the partial stays; its name says what it is.
            with contextlib.suppress(ShareError):
                self.smb.remove(self.share, partial, missing_ok=True)
            raise
        self.smb.write_text(self.share, sidecar, f"{sha}  {name}\n")
        return True

    def copies(self, folder: str) -> list[RemoteFile]:
        """The finished copies in one folder, newest first."""
        files = [f for f in self.smb.listdir(self.share, self._at(folder))
                 if not f.name.startswith(".") and not f.name.endswith(SIDECAR)]
        return sorted(files, key=lambda f: (f.mtime, f.name), reverse=True)

    def prune(self, folder: str) -> list[str]:
        removed = []
        for old in self.copies(folder)[self.keep:]:
            self.smb.remove(self.share, self._at(folder, old.name))
            self.smb.remove(self.share, self._at(folder, old.name + SIDECAR), missing_ok=True)
            removed.append(f"{folder}/{old.name}")
        return removed

    def folders(self) -> list[str]:
        found = ["nebula"] if "nebula" in self.smb.folders(self.share, self.base) else []
        found += [f"postgres/{db}"
                  for db in sorted(self.smb.folders(self.share, self._at("postgres")))]
        return found

    def inventory(self) -> list[dict[str, Any]]:
        """Every copy on the share, newest first."""
        rows = [{"folder": folder, "name": f.name, "size": f.size, "modified": f.mtime}
                for folder in self.folders() for f in self.copies(folder)]
        return sorted(rows, key=lambda r: r["modified"], reverse=True)
