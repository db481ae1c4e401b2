"""The nas plugin's hooks, imported when the plugin first starts. Startup returns the
`NasRuntime`; the core hands it to the other hooks and closes it when the plugin stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Field, Job, Panel, PluginContext, hookimpl
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_nas import checks
from nebula_nas.coordinator import NasRuntime, check_name
from nebula_nas.schema import REMOUNT_PARAMS

# Imported by the first SMB call to a NAS that answers (smb.py); missing, the plugin fails
# here, at start, naming the extra.
require("smbprotocol")


@hookimpl
def nebula_startup(ctx: PluginContext) -> NasRuntime:
    ctx.add_secret(ctx.config["password"])
    return NasRuntime(ctx.config, ctx.log, ctx.peer_config)


def _share_check(ctx: PluginContext, runtime: NasRuntime, settings: Mapping[str, Any]
                 ) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        readings = await runtime.shares.get()
        return checks.share(readings.get(settings["name"]), settings, ctx.config)
    return run


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: NasRuntime) -> list[Check]:
    config = ctx.config
    # One poll probes every share in turn, each bounded by `timeout` per request.
    share_timeout = 4 * config["timeout"] * max(1, len(config["shares"])) + 5
    found = [Check(name=check_name(s["name"]), run=_share_check(ctx, runtime, s),
                   title=f"NAS share {s['name']}",
                   description="Reachable and authenticated over SMB, free space against "
                               "its limits, probe file write/read latency.",
                   interval=config["interval"], timeout=share_timeout)
             for s in runtime.share_settings]

    async def mounts() -> CheckResult:
        return checks.mounts(await runtime.mounts.get())

    found.append(Check(name="mounts", run=mounts, title="NAS mounts",
                       description="Expected mounts present; every network mount answers "
                                   "within mount_timeout (probed in a child process).",
                       interval=config["interval"], timeout=config["mount_timeout"] + 10))
    if backup := runtime.backup:
        async def backups() -> CheckResult:
            return checks.backups(await runtime.inventory(), runtime.last_backup, backup)
        found.append(Check(name="backups", run=backups, title="NAS backups",
                           description="The newest verified copy on the share is younger "
                                       "than max_age_hours; the last copy run succeeded.",
                           interval=config["interval"], timeout=4 * config["timeout"] + 5))
    return found


SHARE_FIELDS = (Field("name", "Share"), Field("state", "State"),
                Field("free_gib", "Free", "GiB"), Field("total_gib", "Total", "GiB"),
                Field("free_percent", "Free", "%"), Field("write_ms", "Write", "ms"),
                Field("read_ms", "Read", "ms"))
MOUNT_FIELDS = (Field("path", "Mount point"), Field("type", "Type"), Field("source", "Source"),
                Field("state", "State"), Field("detail", "Detail"), Field("ms", "Answer", "ms"))
BACKUP_FIELDS = (Field("folder", "Folder"), Field("name", "Copy"),
                 Field("size", "Size", "bytes"), Field("modified", "Written", "epoch s"))


@hookimpl
def nebula_panels(runtime: NasRuntime) -> list[Panel]:
    async def shares() -> list[dict[str, Any]]:
        rows = []
        for name, r in (await runtime.shares.get()).items():
            p = r.probe
            rows.append({"name": name, "state": r.error.kind.value if r.error else "ok",
                         "free_gib": round(p.free / checks.GIB, 2) if p else None,
                         "total_gib": round(p.total / checks.GIB, 2) if p else None,
                         "free_percent": round(p.free_percent, 1) if p else None,
                         "write_ms": p.write_ms if p else None,
                         "read_ms": p.read_ms if p else None})
        return rows

    async def mounts() -> list[dict[str, object]]:
        return [s.public() for s in await runtime.mounts.get()]

    return [
        Panel(name="shares", kind="table", title="NAS shares", data=shares,
              description="Each share's state, space and probe latency.", fields=SHARE_FIELDS),
        Panel(name="mounts", kind="table", title="NAS mounts", data=mounts,
              description="Network mounts on this host and whether they answer.",
              fields=MOUNT_FIELDS),
        Panel(name="backups", kind="table", title="Backup copies on the NAS",
              data=runtime.inventory, fields=BACKUP_FIELDS,
              description="Verified copies on the backup share, newest first."),
    ]


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: NasRuntime) -> list[Action]:
    async def backup_now(params: Mapping[str, Any]) -> Any:
        return await runtime.backup_now()

    return [
        Action(name="remount", run=runtime.remount, prepare=runtime.plan_remount,
               params=REMOUNT_PARAMS, title="Remount",
               description="Lazily unmount a configured mount (stale or not) and mount it "
                           "again. Programs with files open on it lose them.",
               destructive=True, timeout=10 * ctx.config["mount_timeout"] + 10),
        Action(name="backup_now", run=backup_now, params=EMPTY_PARAMS, title="Back up now",
               description="Copy new postgres dumps and nebula backup archives to the NAS, "
                           "verify each by reading it back, apply retention.",
               timeout=3600),
    ]


@hookimpl
def nebula_jobs(ctx: PluginContext, runtime: NasRuntime) -> list[Job]:
    backup = runtime.backup
    if not backup:
        return []

    async def run() -> None:
        await runtime.backup_now()
    return [Job(name="backup", run=run, cron=backup["cron"], timeout=3600)]
