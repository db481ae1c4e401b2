"""Network mounts on this host: what /proc/mounts lists, and whether each still answers.

A stat on a mount whose server went away blocks in the kernel (a CIFS or hard NFS mount for
minutes, often unkillable). So the agent never touches a mount itself: a child process does
`statvfs` + `listdir` on it under a timeout. A child that does not answer in time makes the
mount "stale"; it is killed (SIGKILL; one stuck in the kernel dies when the kernel lets go)
and reaped in the background, and while it lives no second child is started for that mount:
a dead NAS costs one process, and the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# What the child runs: -I -S keep its start-up small (no site, no environment).
PROBE = "import os,sys; p=sys.argv[1]; os.statvfs(p); os.listdir(p)"
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    source: str
    path: str
    fstype: str
    options: str


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in mount fields as \ooo.
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounts.append(Mount(_unescape(fields[0]), _unescape(fields[1]), fields[2],
                                fields[3]))
    return mounts


def read_mounts(path: Path = Path("/proc/mounts")) -> list[Mount]:
    return parse_mounts(path.read_text(encoding="utf-8", errors="replace"))


@dataclass(frozen=True)
class MountState:
    path: str
    fstype: str | None        # None: not mounted
    source: str | None
    expected: bool
    state: str                # ok, stale, missing, error
    detail: str = ""
    ms: float | None = None

    def public(self) -> dict[str, object]:
        return {"path": self.path, "type": self.fstype or "", "source": self.source or "",
                "expected": self.expected, "state": self.state, "detail": self.detail,
                "ms": self.ms}


class StaleProbe:
    """Probes mounts in child processes, at most one child per mount at a time."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._stuck: dict[str, asyncio.subprocess.Process] = {}
        self._reapers: set[asyncio.Task[int]] = set()

    async def check(self, mount: Mount, expected: bool) -> MountState:
        stuck = self._stuck.get(mount.path)
        if stuck is not None and stuck.returncode is None:
            return MountState(mount.path, mount.fstype, mount.source, expected, "stale",
                              f"still not answering (the probe of an earlier poll is stuck, "
                              f"pid {stuck.pid})")
        self._stuck.pop(mount.path, None)
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", PROBE, mount.path,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError:
            self._abandon(mount.path, proc)
            return MountState(mount.path, mount.fstype, mount.source, expected, "stale",
                              f"no answer within {self.timeout:g} s (server gone?)")
        except asyncio.CancelledError:
            self._abandon(mount.path, proc)
            raise
        ms = round((time.perf_counter() - started) * 1000, 1)
        if proc.returncode != 0:
            last = (err or b"").decode(errors="replace").strip().splitlines()
            return MountState(mount.path, mount.fstype, mount.source, expected, "error",
                              last[-1] if last else f"probe exited {proc.returncode}", ms)
        return MountState(mount.path, mount.fstype, mount.source, expected, "ok", "", ms)

    def _abandon(self, path: str, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        self._stuck[path] = proc
        task = asyncio.ensure_future(proc.wait())
        self._reapers.add(task)
        task.add_done_callback(self._reapers.discard)

    async def aclose(self) -> None:
        for task in list(self._reapers):
            task.cancel()
        for proc in self._stuck.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        self._stuck.clear()


async def survey(probe: StaleProbe, expected: Iterable[str], types: Iterable[str],
                 mounts: list[Mount]) -> list[MountState]:
    """Every expected mount and every network mount present, each probed in parallel."""
    wanted, kinds = list(expected), set(types)
    by_path = {m.path: m for m in mounts}
    states: list[MountState] = [
        MountState(path, None, None, True, "missing", "not in /proc/mounts")
        for path in wanted if path not in by_path]
    targets = [m for m in by_path.values() if m.path in wanted or m.fstype in kinds]
    states += await asyncio.gather(*(probe.check(m, m.path in wanted) for m in targets))
    return sorted(states, key=lambda s: s.path)
