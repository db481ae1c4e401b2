"""The plugin's runtime: one poll of the shares and one of the mounts, each on
`nebula.helpers.coordinator.Coordinator` ("poll once, read many"), the backup copier, and
the remount.

The two polls are apart on purpose: a stale mount makes its poll last `mount_timeout`, and
the share checks should not wait for it. Every SMB call is blocking (smbprotocol) and runs
in a worker thread; the shares of one NAS are probed one after the other in one thread, over
the one connection they share.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nebula.api import ParamError
from nebula.helpers.coordinator import Coordinator
from nebula_nas.backups import BackupCopier, RunReport, find_sources
from nebula_nas.mounts import MountState, StaleProbe, read_mounts, survey
from nebula_nas.schema import BACKUP_SCHEMA, SHARE_SCHEMA, with_defaults
from nebula_nas.smb import Probe, ShareError, SmbClient

PeerConfig = Callable[[str], Mapping[str, Any] | None]


def check_name(share: str) -> str:
    return "share_" + (re.sub(r"[^a-z0-9]+", "_", share.lower()).strip("_") or "root")


@dataclass(frozen=True)
class ShareReading:
    name: str
    probe: Probe | None = None
    error: ShareError | None = None


class NasRuntime:
    def __init__(self, config: Mapping[str, Any], log: Any, peer_config: PeerConfig,
                 smb: SmbClient | None = None) -> None:
        self.config = config
        self.share_settings = [with_defaults(s, SHARE_SCHEMA) for s in config["shares"]]
        self.backup = (with_defaults(config["backup"], BACKUP_SCHEMA)
                       if config.get("backup") else None)
        self._log = log
        self._peer_config = peer_config
        self.smb = smb or SmbClient(config["server"], config["port"], config["username"],
                                    config["password"], timeout=config["timeout"],
                                    encrypt=config["encrypt"])
        max_age = config["interval"] / 2
        self.shares: Coordinator[dict[str, ShareReading]] = Coordinator(
            self._poll_shares, max_age=max_age, name="nas.shares", log=log)
        self.mounts: Coordinator[list[MountState]] = Coordinator(
            self._poll_mounts, max_age=max_age, name="nas.mounts", log=log)
        self.stale = StaleProbe(config["mount_timeout"])
        self.last_backup: RunReport | None = None
        self._backup_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.shares.aclose()
        await self.mounts.aclose()
        await self.stale.aclose()
        await asyncio.to_thread(self.smb.close)

    # --- shares --------------------------------------------------------------------------------

    async def _poll_shares(self) -> dict[str, ShareReading]:
        return await asyncio.to_thread(self._probe_all)

    def _probe_all(self) -> dict[str, ShareReading]:
        readings = {}
        for share in self.share_settings:
            name = share["name"]
            probe_file = self._probe_file() if share["probe"] else None
            try:
                readings[name] = ShareReading(name, probe=self.smb.probe(
                    name, probe_file, self.config["probe_size"]))
            except ShareError as exc:
                readings[name] = ShareReading(name, error=exc)
        return readings

    @staticmethod
    def _probe_file() -> str:
        # Named for this host and moment: two agents probing one share never collide.
        import socket
        return f".nebula-probe-{socket.gethostname()}-{time.time_ns()}"

    # --- mounts --------------------------------------------------------------------------------

    def expected_mounts(self) -> dict[str, list[str]]:
        """Each configured mount point with the command that mounts it again."""
        return {m["path"]: list(m.get("remount") or ["mount", m["path"]])
                for m in self.config["mounts"]}

    async def _poll_mounts(self) -> list[MountState]:
        mounts = await asyncio.to_thread(read_mounts)
        return await survey(self.stale, self.expected_mounts(), self.config["mount_types"],
                            mounts)

    async def plan_remount(self, params: Mapping[str, Any]) -> dict[str, Any]:
        path = str(params["path"]).rstrip("/") or "/"
        expected = self.expected_mounts()
        if path not in expected:
            raise ParamError("path", f"{path} is not a configured mount; configured: "
                                     f"{', '.join(expected) or 'none'}")
        current = next((m for m in await asyncio.to_thread(read_mounts) if m.path == path),
                       None)
        steps = ([["umount", "-l", path]] if current else []) + [expected[path]]
        return {"path": path, "mounted": current is not None,
                "type": current.fstype if current else None,
                "source": current.source if current else None, "steps": steps}

    async def remount(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        path, steps = plan["path"], [list(s) for s in plan["steps"]]
        command = self.expected_mounts().get(path)
        # Run only what the approver saw, and only while the config still says so.
        if command is None or steps[-1] != command or any(
                s != ["umount", "-l", path] for s in steps[:-1]):
            raise RuntimeError(f"the configuration of mount {path} changed since this "
                               "remount was approved; ask again")
        done = []
        for argv in steps:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT)
            try:
                out, _ = await asyncio.wait_for(proc.communicate(),
                                                4 * self.config["mount_timeout"])
            except asyncio.TimeoutError:
                proc.kill()
                raise RuntimeError(f"{' '.join(argv)} did not finish in time") from None
            if proc.returncode != 0:
                text = out.decode(errors="replace").strip()
                raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {text}")
            done.append(" ".join(argv))
        self.mounts.invalidate()
        state = next((s for s in await self.mounts.get() if s.path == path), None)
        return {"path": path, "ran": done, "state": state.public() if state else None}

    # --- backups -------------------------------------------------------------------------------

    def copier(self) -> BackupCopier | None:
        backup = self.backup
        if not backup:
            return None
        return BackupCopier(self.smb, backup["share"], backup["path"], backup["keep"])

    async def backup_now(self) -> dict[str, Any]:
        copier, backup = self.copier(), self.backup
        if copier is None or backup is None:
            raise RuntimeError("no [plugins.nas.backup] section: nothing to copy to")
        dumps = None
        if backup["postgres"]:
            peer = self._peer_config("postgres")
            dumps = backup.get("postgres_dir") or (peer.get("backup_dir") if peer else None)
        sources = find_sources(dumps, backup.get("archive_dir"))
        async with self._backup_lock:
            report = await asyncio.to_thread(copier.run, sources)
        self.last_backup = report
        if report.errors:
            self._log.warning("nas.backup_failed", errors=report.errors)
            raise RuntimeError(f"{len(report.errors)} backup copies failed: "
                               + "; ".join(report.errors))
        self._log.info("nas.backup_done", copied=len(report.copied), skipped=report.skipped,
                       removed=len(report.removed))
        return report.public()

    async def inventory(self) -> list[dict[str, Any]]:
        copier = self.copier()
        return [] if copier is None else await asyncio.to_thread(copier.inventory)
