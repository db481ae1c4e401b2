"""The systemd journal through `journalctl --output=json --follow` as a child process:
each entry's MESSAGE with its PRIORITY as the level, its unit (or syslog identifier) and
host; the cursor of the last entry stored is saved with it, and a restart goes on with
`--after-cursor`, so no entry is stored twice or skipped. `file`/`directory` point it at
journal files instead of the system journal (a copied journal, a container's)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from nebula_logs.files import SourceState
from nebula_logs.lines import Line, make_line
from nebula_logs.store import Batch

RETRY = 5.0  # seconds before journalctl is started again after it ended


class JournalSource:
    def __init__(self, config: dict[str, Any], put: Callable[[Batch], Awaitable[None]],
                 position: Callable[[str], Awaitable[Any]], max_line_bytes: int) -> None:
        self.name = config["name"]
        self.config = config
        self._put = put
        self._position = position
        self.max_line_bytes = max_line_bytes
        where = config["file"] or config["directory"] or "the system journal"
        self.state = SourceState(self.name, "journal", where)
        self.key = f"journal:{self.name}"
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._kill()
        self.state.state = "stopped"

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    def command(self, cursor: str | None) -> list[str]:
        argv = ["journalctl", "--output=json", "--follow", "--no-pager"]
        if self.config["file"]:
            argv.append(f"--file={self.config['file']}")
        elif self.config["directory"]:
            argv.append(f"--directory={self.config['directory']}")
        argv += [f"--unit={unit}" for unit in self.config["units"]]
        if cursor:
            argv.append(f"--after-cursor={cursor}")
        else:
            argv.append("--lines=all" if self.config["from_start"] else "--lines=0")
        return argv

    async def _run(self) -> None:
        if shutil.which("journalctl") is None:
            self.state.state, self.state.error = "error", "journalctl is not installed"
            return
        while True:
            saved = await self._position(self.key)
            cursor = saved["cursor"] if saved else None
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *self.command(cursor), stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
                self.state.state, self.state.error = "running", ""
                await self._read(self._proc)
                stderr = await self._proc.stderr.read() if self._proc.stderr else b""
                code = await self._proc.wait()
                self.state.state = "error"
                self.state.error = (f"journalctl ended ({code}): "
                                    f"{stderr.decode('utf-8', 'replace').strip()[-300:]}")
            except OSError as exc:
                self.state.state, self.state.error = "error", f"journalctl: {exc}"
            await self._kill()
            await asyncio.sleep(RETRY)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        pending = b""
        while chunk := await proc.stdout.read(1 << 16):
            *complete, pending = (pending + chunk).split(b"\n")
            lines: list[Line] = []
            cursor = None
            for raw in complete:
                entry = _entry(raw)
                if entry is None:
                    continue
                lines.append(self._line(entry))
                cursor = entry.get("__CURSOR", cursor)
            if lines and cursor:
                await self._put(Batch(lines, (self.key, {"cursor": cursor})))

    def _line(self, entry: dict[str, Any]) -> Line:
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):  # journalctl's form of a message that is not text
            message = bytes(b & 0xFF for b in message if isinstance(b, int))
        elif not isinstance(message, str):
            message = str(message)
        try:
            ts = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        except (KeyError, ValueError):
            ts = 0.0
        priority = entry.get("PRIORITY")
        level = int(priority) if isinstance(priority, str) and priority.isdigit() else None
        unit = entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or ""
        return make_line(message, ts, self.name, self.max_line_bytes,
                         level=level if level is not None and level <= 7 else None,
                         host=str(entry.get("_HOSTNAME", "")), unit=str(unit))


def _entry(raw: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
