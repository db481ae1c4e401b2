"""The postgres plugin's hooks, imported and registered when the plugin first starts (the
manifest in plugin.py names this module). Startup returns the `Runtime`; the core hands it
to the other hooks and closes it when the plugin stops."""

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
    hookimpl,
)
from nebula.helpers.checks import CheckSpec
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS, params
from nebula_postgres import rows
from nebula_postgres.actions import actions, speaking
from nebula_postgres.checks import CHECKS, REACHABLE, backup_age
from nebula_postgres.runtime import Runtime
from nebula_postgres.schema import config_problems
from nebula_postgres.snapshot import Snapshot, Unreachable

# Not imported here: psycopg loads once a server answers (driver.py);
# an install without it still fails the start, naming the extra.
require("psycopg")

# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Runtime:
    return await Runtime.start(ctx.config, ctx.kv, ctx.log)


# --- checks ------------------------------------------------------------------------------


def _check(rt: Runtime, spec: CheckSpec[Snapshot]) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        try:
            snap = await rt.monitor.read()
        except Unreachable as exc:
            return CheckResult(Status.UNKNOWN, f"Server unreachable: {exc}")
        return spec.evaluate(snap, rt.config)

    return run


def _reachable_check(rt: Runtime) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        try:
            probe = await rt.server.probe()
        except Unreachable as exc:
            return CheckResult(Status.CRITICAL, f"Cannot connect to {rt.server.host}:"
                                                f"{rt.server.port}: {exc}")
        return REACHABLE.evaluate(probe, rt.config)

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


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    interval = runtime.config["interval"]
    timeout = runtime.config["connect_timeout"] + 5
    # The probe gives up by itself past both of its timeouts; the core's limit is later.
    probe_timeout = timeout + runtime.config["statement_timeout"] + 1
    checks = [Check(name=REACHABLE.name, run=_reachable_check(runtime), title=REACHABLE.title,
                    description=REACHABLE.description, interval=interval,
                    timeout=probe_timeout)]
    checks += [Check(name=spec.name, run=_check(runtime, spec), title=spec.title,
                     description=spec.description, interval=interval, timeout=timeout,
                     units=spec.units_for(None))
               for spec in CHECKS]
    checks.append(Check(name="backup_age", run=_backup_check(runtime), title="Last backup",
                        description="Age of the newest complete backup of every database "
                                    "backed up; critical past backup_max_age_hours.",
                        interval=interval, timeout=timeout))
    return checks


# --- actions -----------------------------------------------------------------------------


@hookimpl
def nebula_actions(runtime: Runtime) -> list[Action]:
    return actions(runtime)


# --- panels and tools --------------------------------------------------------------------


def _reading(rt: Runtime, render: Callable[[Snapshot], Any]) -> Callable[[], Awaitable[Any]]:
    async def data() -> Any:
        return render(await rt.monitor.read())

    return data


@hookimpl
def nebula_panels(runtime: Runtime) -> list[Panel]:
    async def backups() -> list[dict[str, Any]]:
        if runtime.backups is None:
            return []
        return [b.public() for b in await asyncio.to_thread(runtime.backups.list)]

    return [
        Panel("overview", "keyvalue", _reading(runtime, rows.overview), "PostgreSQL",
              "Version, role, latency, connections, sizes, cache hit, XID age.",
              rows.OVERVIEW_FIELDS),
        Panel("databases", "table", _reading(runtime, rows.sizes), "Databases",
              "Size and growth per day of every database.", rows.SIZE_FIELDS),
        Panel("activity", "table", _reading(runtime, rows.activity), "Activity",
              "Client sessions, longest-running first.", rows.ACTIVITY_FIELDS),
        Panel("backups", "table", backups, "Backups",
              "Complete backups on disk, newest first, with sizes.", rows.BACKUP_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: Runtime) -> list[Tool]:
    def query(render: Callable[[Snapshot], Any]) -> Callable[[Mapping[str, Any]],
                                                              Awaitable[Any]]:
        data = _reading(runtime, render)

        async def run(p: Mapping[str, Any]) -> Any:
            return await data()

        return run

    async def slow(p: Mapping[str, Any]) -> Any:
        limit = p.get("limit", 10)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ValueError("limit must be an integer from 1 to 50")
        return await (await speaking(runtime.server, "admin")).slow_queries(runtime.server,
                                                                            limit)

    return [
        Tool("activity", "PostgreSQL client sessions: pid, user, database, state, "
                                  "query and transaction seconds, lock waits, query text.",
             EMPTY_PARAMS, run=query(rows.activity)),
        Tool("sizes", "Size in bytes and growth in bytes/day of every PostgreSQL "
                               "database.", EMPTY_PARAMS, run=query(rows.sizes)),
        Tool("slow_queries",
             "Slowest statements by mean time from pg_stat_statements (says so plainly when "
             "the extension is not installed).",
             params({"limit": {"type": "integer", "minimum": 1, "maximum": 50,
                               "default": 10}}), run=slow),
    ]


# --- jobs --------------------------------------------------------------------------------


@hookimpl
def nebula_jobs(ctx: PluginContext, runtime: Runtime) -> list[Job]:
    rt = runtime
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
