"""The plugin's actions, each a thin wrapper over admin, provision, backups or restore.

admin, provision and restore speak psycopg (its SQL composition and error classes), so they
are imported when an action first runs and the server answers: an agent whose server is
absent never loads the driver (driver.py), not even to fail an action."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any

from nebula.api import Action, ParamError
from nebula.helpers.schema import EMPTY_PARAMS, params
from nebula_postgres import rows
from nebula_postgres.runtime import Runtime
from nebula_postgres.schema import NAME, PID
from nebula_postgres.server import Server


async def speaking(server: Server, module: str) -> ModuleType:
    """`nebula_postgres.<module>`, one of those that speak psycopg, once the server answers;
    raises Unreachable when it does not."""
    await server.ready()
    return importlib.import_module(f"nebula_postgres.{module}")


def actions(rt: Runtime) -> list[Action]:
    server = rt.server

    async def do_provision(p: Mapping[str, Any]) -> Any:
        provision = await speaking(server, "provision")
        result = await provision.provision(server, rt.config["databases"],
                                           p.get("dry_run", False))
        rt.log.info("postgres.provisioned", changed=result["changed"],
                    dry_run=not result["applied"])
        rt.monitor.forget()
        return result

    async def do_backup(p: Mapping[str, Any]) -> Any:
        backups = rt.need_backups()
        targets = [p["database"]] if p.get("database") else await rt.backup_targets()
        return [await backups.run(db) for db in targets]

    async def do_backups(p: Mapping[str, Any]) -> Any:
        listed = await asyncio.to_thread(rt.need_backups().list, p.get("database"))
        return [b.public() for b in listed]

    async def do_restore(p: Mapping[str, Any]) -> Any:
        restore = await speaking(server, "restore")
        result = await restore.into_new(rt.need_backups(), p["backup"], p["target"])
        rt.log.info("postgres.restored", backup=p["backup"], database=p["target"])
        return result

    async def do_restore_replace(p: Mapping[str, Any]) -> Any:
        restore = await speaking(server, "restore")
        result = await restore.over_original(rt.need_backups(), p["backup"])
        rt.log.warning("postgres.restored_over_original", backup=p["backup"],
                       database=result["database"], kept=result["previous_kept_as"])
        return result

    async def do_advice(p: Mapping[str, Any]) -> Any:
        return await (await speaking(server, "upkeep")).advice(server)

    async def do_activity(p: Mapping[str, Any]) -> Any:
        return rows.activity(await rt.snapshot(fresh=True))

    def admin(call: Callable[[Any, Mapping[str, Any]], Awaitable[Any]]) -> Callable[
            [Mapping[str, Any]], Awaitable[Any]]:
        """An action calling the admin module (`call(admin, params)`)."""
        async def run(p: Mapping[str, Any]) -> Any:
            return await call(await speaking(server, "admin"), p)

        return run

    async def plan_drop(p: Mapping[str, Any]) -> Any:
        admin_module = await speaking(server, "admin")
        try:
            return await admin_module.drop_plan(server, p["database"])
        except LookupError as exc:
            raise ParamError("database", str(exc)) from None

    async def do_drop(plan: Mapping[str, Any]) -> Any:
        result = await (await speaking(server, "admin")).drop_database(server, dict(plan))
        rt.log.warning("postgres.database_dropped", **result)
        rt.monitor.forget()
        return result

    dry_run = {"dry_run": {"type": "boolean", "default": False,
                           "description": "Only show the plan."}}
    # Offered from the panels that list them (x-choices, docs/plugins.md): a drop-down in
    # the form, and a button on each row where nothing else is needed.
    database = {"database": {**NAME, "description": "Database name.",
                             "x-choices": {"panel": "databases", "value": "database"}}}
    database_no_row = {"database": {**database["database"], "x-choices": {
        "panel": "databases", "value": "database", "row": False}}}
    pid = {"pid": {**PID, "x-choices": {"panel": "activity", "value": "pid",
                                        "label": "query"}}}
    backup_file = {**NAME, "description": "Backup file name.",
                   "x-choices": {"panel": "backups", "value": "name", "row": False}}
    backup_timeout = float(rt.config["backup_timeout"])
    return [
        Action("provision", do_provision, "Provision databases and roles",
               "Create or change the databases, roles, extensions and grants declared in "
               "config; shows the plan, applies it under an advisory lock. A second run "
               "changes nothing.", params(dry_run), timeout=300),
        Action("databases", admin(lambda m, p: m.databases(server)), "List databases",
               "Every database with owner, encoding, size and connections.", EMPTY_PARAMS,
               read_only=True),
        Action("roles", admin(lambda m, p: m.roles(server)), "List roles",
               "Every role (but pg_*) with its attributes and memberships.", EMPTY_PARAMS,
               read_only=True),
        Action("activity", do_activity, "Show activity",
               "Client sessions: state, durations, lock waits and query.", EMPTY_PARAMS,
               read_only=True),
        Action("cancel_query", admin(lambda m, p: m.signal_backend(server, p["pid"], False)),
               "Cancel a query", "pg_cancel_backend: stops the running query, keeps the "
                                 "session.", params(pid, ("pid",))),
        Action("terminate_backend", admin(lambda m, p: m.signal_backend(server, p["pid"], True)),
               "Terminate a backend", "pg_terminate_backend: ends the session (its open "
                                      "transaction is rolled back).",
               params(pid, ("pid",)), destructive=True),
        Action("advice", do_advice, "Upkeep advice",
               "Indexes never scanned, dead rows waiting for a vacuum, tables never "
               "analyzed and connection headroom, in every database; changes nothing.",
               EMPTY_PARAMS, read_only=True),
        Action("vacuum", admin(lambda m, p: m.vacuum(server, p["database"])), "VACUUM (ANALYZE)",
               "VACUUM (ANALYZE) a whole database.", params(database, ("database",)),
               timeout=3600),
        Action("create_database",
               admin(lambda m, p: m.create_database(server, p["name"], p.get("owner"))),
               "Create database and role",
               "A new database owned by a new login role with a generated password; the "
               "DSN is returned once and kept nowhere.",
               params({"name": {**NAME, "description": "New database name."},
                       "owner": {**NAME, "description": "New role; default: the name."}},
                      ("name",))),
        Action("drop_database", do_drop, "Drop database",
               "Drop a database (its sessions ended) and, when it owns nothing else, the "
               "role that owns it, as create_database made them (needs approval).",
               params(database_no_row, ("database",)), destructive=True, prepare=plan_drop),
        Action("backup", do_backup, "Back up now",
               "pg_dump -Fc of one database (or of every backed-up one), verified and "
               "checksummed; retention applies.", params(database), timeout=backup_timeout),
        Action("backups", do_backups, "List backups", "Complete backups, newest first.",
               params(database_no_row), read_only=True),
        Action("restore", do_restore, "Restore into a new database",
               "Restores a backup into a database that does not exist yet (non-destructive).",
               params({"backup": backup_file,
                       "target": {**NAME, "description": "New database name."}},
                      ("backup", "target")), timeout=backup_timeout),
        Action("restore_replace", do_restore_replace, "Restore over the original",
               "Restores a backup over its own database; the current one is kept renamed "
               "<db>_pre_restore_<stamp>.",
               params({"backup": backup_file}, ("backup",)),
               destructive=True, timeout=backup_timeout),
    ]
