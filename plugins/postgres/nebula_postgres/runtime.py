"""What one start of the plugin shares between its hooks: the server, the monitor that
reads it, and the backups on disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nebula_postgres.backups import Backups
from nebula_postgres.server import Server
from nebula_postgres.snapshot import Monitor, Snapshot

# Databases the plugin itself makes while restoring; never backup targets by default.
_RESTORE_MARKS = ("_pre_restore_", "_restoring_")


@dataclass
class Runtime:
    """What one start of the plugin shares between its hooks."""

    config: Mapping[str, Any]
    server: Server
    monitor: Monitor
    backups: Backups | None
    log: Any

    async def snapshot(self, fresh: bool = False) -> Snapshot:
        if fresh:
            self.monitor.forget(sizes=False)
        return await self.monitor.read()

    async def backup_targets(self) -> list[str]:
        if self.config["backup_databases"]:
            return list(self.config["backup_databases"])
        if self.config["databases"]:
            return [d["name"] for d in self.config["databases"]]
        snap = await self.snapshot()
        return [name for name in snap.sizes
                if name != self.server.dbname and not any(m in name for m in _RESTORE_MARKS)]

    def need_backups(self) -> Backups:
        if self.backups is None:
            raise ValueError("backups are not configured: set backup_dir in "
                             "[plugins.postgres]")
        return self.backups
