"""What one start of the plugin shares between its hooks: the server, the monitor that
reads it, and the backups on disk. `nebula_startup` returns it; the core hands it to the
other hooks and closes it (`aclose`) when the plugin stops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nebula.api import KeyValue
from nebula_postgres.backups import Backups
from nebula_postgres.coordinator import Monitor
from nebula_postgres.server import Server
from nebula_postgres.snapshot import Snapshot, Unreachable

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

    @classmethod
    async def start(cls, config: Mapping[str, Any], kv: KeyValue, log: Any) -> Runtime:
        """The server, its monitor and the backups, with the backup modes fixed, what
        interrupted backups left removed, and a first reading taken. A server that is
        down is a check result, not a failed plugin: the first reading only learns the
        server's version (for picking pg_dump) when it can."""
        server = Server(config)
        backup_dir = config.get("backup_dir")
        backups = (Backups(server, backup_dir, config["keep_daily"], config["keep_weekly"],
                           config["backup_lock_wait_timeout"])
                   if backup_dir else None)
        monitor = Monitor(server, kv, max_age=float(config["interval"]) / 2,
                          sizes_max_age=float(config["sizes_interval"]), log=log)
        runtime = cls(config, server, monitor, backups, log)
        try:
            if backups is not None:
                await backups.remove_leftovers(log)
                await backups.secure(log)
            await asyncio.wait_for(monitor.read(), config["connect_timeout"] + 1)
        except (Unreachable, asyncio.TimeoutError) as exc:
            log.warning("postgres.unreachable", host=server.host, port=server.port,
                        error=str(exc))
        except BaseException:
            # Not started, so the core has no runtime to close: this one closes itself.
            await runtime.aclose()
            raise
        return runtime

    async def snapshot(self, fresh: bool = False) -> Snapshot:
        """The shared reading; `fresh`: one taken now (or joined, if one is under way),
        the database sizes kept for their own interval."""
        if fresh:
            return await self.monitor.poll.refresh()
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

    async def aclose(self) -> None:
        """The reading under way is cancelled, then every pooled connection closed."""
        try:
            await self.monitor.aclose()
        finally:
            await self.server.close()
