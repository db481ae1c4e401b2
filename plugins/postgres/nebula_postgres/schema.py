"""The `[plugins.postgres]` config schema and the params of the plugin's actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from nebula.helpers.checks import ordered_limits
from nebula.helpers.schema import (
    config_schema,
    integer,
    interval,
    limit_pair,
    number,
    string,
)
from nebula_postgres import names

# Keys that come as a `<key>_warning` / `<key>_critical` pair, warning below critical
# (`limit_pair` in the schema, checked at start).
LIMITS = ("connections", "replication_lag_seconds", "wraparound")
# Session ages whose warning limit is `<key>` (its name from before they had a critical
# one) and critical limit `<key>_critical`; also checked at start.
SESSION_LIMITS = ("long_query_seconds", "idle_in_transaction_seconds", "lock_wait_seconds")
PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(key path, why)` for what the schema cannot say: limits that could never warn, and
    names that reach SQL but would be refused there (names.py). The plugin's
    `nebula_validate_config`: before every start, and in `nebula config validate`."""
    found = ordered_limits(config, LIMITS)
    found += ordered_limits(config, SESSION_LIMITS, warning="{key}", critical="{key}_critical")

    database = partial(names.identifier, what="database name")
    role = partial(names.identifier, what="role name")

    def check(path: str, valid: Callable[[str], str], name: str) -> None:
        try:
            valid(name)
        except names.InvalidName as exc:
            found.append((path, str(exc)))

    for i, entry in enumerate(config["databases"]):
        check(f"databases.{i}.name", database, entry["name"])
        if entry.get("owner"):
            check(f"databases.{i}.owner", role, entry["owner"])
        for j, extension in enumerate(entry.get("extensions", ())):
            check(f"databases.{i}.extensions.{j}", names.extension, extension)
        for j, grant in enumerate(entry.get("grants", ())):
            check(f"databases.{i}.grants.{j}.role", role, grant["role"])
    for i, name in enumerate(config["backup_databases"]):
        check(f"backup_databases.{i}", database, name)
    return found


DATABASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": string(None, "Database name."),
        "owner": string(None, "Owning role (created with LOGIN when missing); default: "
                              "the database's name."),
        "password": {"type": "string", "writeOnly": True,
                     "description": "The owner's password: `${ENV}` or `password_file`."},
        "extensions": {"type": "array", "items": {"type": "string"}, "default": [],
                       "description": "Extensions created in the database."},
        "grants": {
            "type": "array", "default": [],
            "description": "Extra database privileges for other roles.",
            "items": {
                "type": "object", "additionalProperties": False,
                "required": ["role", "privileges"],
                "properties": {
                    "role": string(None, "An existing role (or one declared as an owner)."),
                    "privileges": {"type": "array", "minItems": 1,
                                   "items": {"enum": list(PRIVILEGES)}},
                },
            },
        },
    },
}

CONFIG_SCHEMA: dict[str, Any] = config_schema({
    # --- connection (a superuser) ---
    "host": string("127.0.0.1", "Server host name, IP, or a Unix socket directory."),
    "port": integer(5432, "", 1, 65535),
    "user": string("postgres", "A superuser (provisioning and backups need one)."),
    "password": {"type": "string", "writeOnly": True,
                 "description": "The superuser's password: `${ENV}` or `password_file`."},
    "dbname": string("postgres", "Maintenance database the agent connects to."),
    "sslmode": {"enum": ["disable", "allow", "prefer", "require", "verify-ca",
                         "verify-full"], "default": "prefer"},
    "sslrootcert": string(None, "CA file for verify-ca / verify-full."),
    "sslcert": string(None, "Client certificate file."),
    "sslkey": string(None, "Client key file."),
    "connect_timeout": integer(5, "Seconds to wait for a connection.", 1),
    "statement_timeout": number(5, "Seconds the reachability check's query may take.",
                                0.1),
    "pool_size": integer(4, "Connections the agent keeps open at most.", 1, 20),
    "bin_dir": string(None, "Where pg_dump and pg_restore are; default: the installed "
                            "client matching the server's major version."),
    # --- health ---
    "interval": interval(60, "Seconds between checks; one reading serves them all."),
    "sizes_interval": number(300, "Seconds database sizes are reused: measuring them walks "
                                  "every database's files."),
    **limit_pair("connections", 80, 95, "Connections in use, percent of max_connections,"),
    "long_query_seconds": number(300, "An active query running longer warns."),
    "long_query_seconds_critical": number(1800, "An active query running longer is "
                                                "critical."),
    "idle_in_transaction_seconds": number(300, "A session idle in a transaction longer "
                                               "warns."),
    "idle_in_transaction_seconds_critical": number(1800, "A session idle in a transaction "
                                                         "longer is critical."),
    "lock_wait_seconds": number(30, "A lock wait longer than this warns."),
    "lock_wait_seconds_critical": number(300, "A lock wait longer than this is critical."),
    **limit_pair("wraparound", 500_000_000, 1_500_000_000,
                 "Transaction-ID age (the server stops at 2^31)"),
    "cache_hit_warning": number(90, "Cache hit percent below which the check warns."),
    **limit_pair("replication_lag_seconds", 60, 600, "Replica replay lag in seconds"),
    # --- provisioning ---
    "databases": {"type": "array", "items": DATABASE_SCHEMA, "default": [],
                  "description": "Databases and roles `postgres.provision` creates."},
    # --- backups ---
    "backup_dir": string(None, "Where dumps are kept (one folder per database); no backups "
                               "without it."),
    "backup_cron": string("15 3 * * *", "When the scheduled backups run (local time)."),
    "backup_databases": {"type": "array", "items": {"type": "string"}, "default": [],
                         "description": "Databases backed up; default: the declared "
                                        "`databases`, else every user database."},
    "keep_daily": integer(7, "Newest backup of each of the last N days kept.", 1),
    "keep_weekly": integer(4, "Newest backup of each of the last M weeks kept."),
    "backup_max_age_hours": number(26, "Newest backup older than this is critical."),
    "backup_timeout": number(21600, "Seconds one database's dump may take.", 1),
    "backup_lock_wait_timeout": number(60, "Seconds pg_dump waits for each table's lock "
                                           "(--lock-wait-timeout) before the backup fails "
                                           "naming the table and who holds it.", 0.1),
})

NAME = {"type": "string", "minLength": 1, "maxLength": 200}
PID = {"type": "integer", "minimum": 1, "description": "Backend process id."}
