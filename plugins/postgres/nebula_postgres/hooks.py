"""The postgres plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    PluginContext,
    Status,
    Tool,
)
from nebula_postgres import admin, rows
from nebula_postgres.actions import actions
from nebula_postgres.backups import Backups
from nebula_postgres.checks import CHECKS, CheckSpec, backup_age
from nebula_postgres.runtime import Runtime
from nebula_postgres.schema import limit_problems, params
from nebula_postgres.server import Server
from nebula_postgres.snapshot import Monitor, Snapshot, Unreachable

# Keyed by the context's id; the entry holds the context so the id cannot be reused.
_runtimes: dict[int, tuple[PluginContext, Runtime]] = {}


def _runtime(ctx: PluginContext) -> Runtime:
    return _runtimes[id(ctx)][1]


# --- configuration and lifecycle ---------------------------------------------------------



async def nebula_startup(ctx: PluginContext) -> None:
    if problems := limit_problems(ctx.config):
        raise ValueError("; ".join(problems))
    config = ctx.config
    server = Server(config)
    backup_dir = config.get("backup_dir")
    backups = (Backups(server, backup_dir, config["keep_daily"],
                       config["keep_weekly"]) if backup_dir else None)
    if backups is not None:
        await backups.secure(ctx.log)
    monitor = Monitor(server, ctx.kv, max_age=float(config["interval"]) / 2,
                      sizes_max_age=float(config["sizes_interval"]))
    _runtimes[id(ctx)] = (ctx, Runtime(config, server, monitor, backups, ctx.log))
    # A server that is down is a check result, not a failed plugin: the first reading
    # only learns the server's version (for picking pg_dump) when it can.
    try:
        await asyncio.wait_for(monitor.read(), config["connect_timeout"] + 1)
    except (Unreachable, asyncio.TimeoutError) as exc:
        ctx.log.warning("postgres.unreachable", host=server.host, port=server.port,
                        error=str(exc))


async def nebula_shutdown(ctx: PluginContext) -> None:
    entry = _runtimes.pop(id(ctx), None)
    if entry is not None:
        await entry[1].server.close()


# --- checks ------------------------------------------------------------------------------


def _check(rt: Runtime, spec: CheckSpec) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        try:
            snap = await rt.monitor.read()
        except Unreachable as exc:
            if spec.name == "reachable":
                return CheckResult(Status.CRITICAL, f"Cannot connect to {rt.server.host}:"
                                                    f"{rt.server.port}: {exc}")
            return CheckResult(Status.UNKNOWN, f"Server unreachable: {exc}")
        return spec.evaluate(snap, rt.config)

    return run


def _backup_check(rt: Runtime) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        if rt.backups is None:
            return backup_age({}, rt.config, time.time())
        try:
            targets = await rt.backup_targets()
        except Unreachable:
            targets = []
        listed = await asyncio.to_thread(rt.backups.list)
        newest: dict[str, float | None] = {db: None for db in targets}
        for backup in listed:  # newest first
            if newest.get(backup.database) is None and (
                    backup.database in newest or not targets):
                newest[backup.database] = backup.created
        return backup_age(newest, rt.config, time.time())

    return run


def nebula_checks(ctx: PluginContext) -> list[Check]:
    rt = _runtime(ctx)
    interval = ctx.config["interval"]
    timeout = ctx.config["connect_timeout"] + 5
    checks = [Check(name=spec.name, run=_check(rt, spec), title=spec.title,
                    description=spec.description, interval=interval, timeout=timeout)
              for spec in CHECKS]
    checks.append(Check(name="backup_age", run=_backup_check(rt), title="Last backup",
                        description="Age of the newest complete backup of every database "
                                    "backed up; critical past backup_max_age_hours.",
                        interval=interval, timeout=timeout))
    return checks


# --- actions -----------------------------------------------------------------------------


def nebula_actions(ctx: PluginContext) -> list[Action]:
    return actions(_runtime(ctx))


# --- panels and tools --------------------------------------------------------------------


def _reading(rt: Runtime, render: Callable[[Snapshot], Any]) -> Callable[[], Awaitable[Any]]:
    async def data() -> Any:
        return render(await rt.monitor.read())

    return data


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    rt = _runtime(ctx)

    async def backups() -> list[dict[str, Any]]:
        if rt.backups is None:
            return []
        return [b.public() for b in await asyncio.to_thread(rt.backups.list)]

    return [
        Panel("overview", "keyvalue", _reading(rt, rows.overview), "PostgreSQL",
              "Version, role, latency, connections, sizes, cache hit, XID age.",
              rows.OVERVIEW_FIELDS),
        Panel("databases", "table", _reading(rt, rows.sizes), "Databases",
              "Size and growth per day of every database.", rows.SIZE_FIELDS),
        Panel("activity", "table", _reading(rt, rows.activity), "Activity",
              "Client sessions, longest-running first.", rows.ACTIVITY_FIELDS),
        Panel("backups", "table", backups, "Backups",
              "Complete backups on disk, newest first, with sizes.", rows.BACKUP_FIELDS),
    ]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    rt = _runtime(ctx)

    def query(render: Callable[[Snapshot], Any]) -> Callable[[Mapping[str, Any]],
                                                              Awaitable[Any]]:
        data = _reading(rt, render)

        async def run(p: Mapping[str, Any]) -> Any:
            return await data()

        return run

    async def slow(p: Mapping[str, Any]) -> Any:
        limit = p.get("limit", 10)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError("limit must be an integer from 1 to 50")
        return await admin.slow_queries(rt.server, limit)

    return [
        Tool("activity", "PostgreSQL client sessions: pid, user, database, state, "
                                  "query and transaction seconds, lock waits, query text.",
             params(), run=query(rows.activity)),
        Tool("sizes", "Size in bytes and growth in bytes/day of every PostgreSQL "
                               "database.", params(), run=query(rows.sizes)),
        Tool("slow_queries",
             "Slowest statements by mean time from pg_stat_statements (says so plainly when "
             "the extension is not installed).",
             params({"limit": {"type": "integer", "minimum": 1, "maximum": 50,
                               "default": 10}}), run=slow),
    ]


# --- jobs --------------------------------------------------------------------------------


def nebula_jobs(ctx: PluginContext) -> list[Job]:
    rt = _runtime(ctx)
    if rt.backups is None:
        return []
    backups = rt.backups

    async def nightly() -> None:
        failed = []
        for database in await rt.backup_targets():
            try:
                result = await asyncio.wait_for(backups.run(database),
                                                rt.config["backup_timeout"])
            except Exception as exc:
                failed.append(f"{database}: {exc}")
                rt.log.error("postgres.backup_failed", database=database, error=str(exc))
                await ctx.emit("backup.failed", {"database": database, "error": str(exc)})
                continue
            rt.log.info("postgres.backed_up", database=database,
                        size=result["backup"]["size"], removed=result["removed"])
            await ctx.emit("backup.done", {"database": database, **result})
        if failed:
            raise RuntimeError("; ".join(failed))

    return [Job("backup", nightly, cron=rt.config["backup_cron"],
                timeout=float(rt.config["backup_timeout"]) * 4)]
