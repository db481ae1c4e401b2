"""The `[plugins.postgres]` config schema and the params of the plugin's actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Keys that come as a `<key>_warning` / `<key>_critical` pair, warning below critical.
LIMITS = ("connections", "replication_lag_seconds")
PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")


def _number(default: float, what: str, minimum: float = 0) -> dict[str, Any]:
    return {"type": "number", "minimum": minimum, "default": default, "description": what}


def _string(what: str, default: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": what}
    if default is not None:
        schema["default"] = default
    return schema


DATABASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": _string("Database name."),
        "owner": _string("Owning role (created with LOGIN when missing); default: the "
                         "database's name."),
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
                    "role": _string("An existing role (or one declared as an owner)."),
                    "privileges": {"type": "array", "minItems": 1,
                                   "items": {"enum": list(PRIVILEGES)}},
                },
            },
        },
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # --- connection (a superuser) ---
        "host": _string("Server host name, IP, or a Unix socket directory.", "127.0.0.1"),
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432},
        "user": _string("A superuser (provisioning and backups need one).", "postgres"),
        "password": {"type": "string", "writeOnly": True,
                     "description": "The superuser's password: `${ENV}` or `password_file`."},
        "dbname": _string("Maintenance database the agent connects to.", "postgres"),
        "sslmode": {"enum": ["disable", "allow", "prefer", "require", "verify-ca",
                             "verify-full"], "default": "prefer"},
        "sslrootcert": _string("CA file for verify-ca / verify-full."),
        "sslcert": _string("Client certificate file."),
        "sslkey": _string("Client key file."),
        "connect_timeout": {"type": "integer", "minimum": 1, "default": 5,
                            "description": "Seconds to wait for a connection."},
        "pool_size": {"type": "integer", "minimum": 1, "maximum": 20, "default": 4,
                      "description": "Connections the agent keeps open at most."},
        "bin_dir": _string("Where pg_dump and pg_restore are; default: the installed "
                           "client matching the server's major version."),
        # --- health ---
        "interval": _number(60, "Seconds between checks; one reading serves them all.", 1),
        "sizes_interval": _number(300, "Seconds database sizes are reused: measuring them "
                                       "walks every database's files."),
        "connections_warning": _number(80, "Connections in use, percent of "
                                           "max_connections, that warns."),
        "connections_critical": _number(95, "… that is critical."),
        "long_query_seconds": _number(300, "An active query running longer warns."),
        "idle_in_transaction_seconds": _number(300, "A session idle in a transaction "
                                                    "longer warns."),
        "lock_wait_seconds": _number(30, "A lock wait longer than this warns."),
        "wraparound_warning": _number(500_000_000, "Transaction-ID age that warns."),
        "wraparound_critical": _number(1_500_000_000, "Transaction-ID age that is "
                                                      "critical (stops at 2^31)."),
        "cache_hit_warning": _number(90, "Cache hit percent below which the check warns."),
        "replication_lag_seconds_warning": _number(60, "Replica replay lag that warns."),
        "replication_lag_seconds_critical": _number(600, "… that is critical."),
        # --- provisioning ---
        "databases": {"type": "array", "items": DATABASE_SCHEMA, "default": [],
                      "description": "Databases and roles `postgres.provision` creates."},
        # --- backups ---
        "backup_dir": _string("Where dumps are kept (one folder per database); no backups "
                              "without it."),
        "backup_cron": _string("When the scheduled backups run (local time).", "15 3 * * *"),
        "backup_databases": {"type": "array", "items": {"type": "string"}, "default": [],
                             "description": "Databases backed up; default: the declared "
                                            "`databases`, else every user database."},
        "keep_daily": {"type": "integer", "minimum": 1, "default": 7,
                       "description": "Newest backup of each of the last N days kept."},
        "keep_weekly": {"type": "integer", "minimum": 0, "default": 4,
                        "description": "Newest backup of each of the last M weeks kept."},
        "backup_max_age_hours": _number(26, "Newest backup older than this is critical."),
        "backup_timeout": _number(21600, "Seconds one database's dump may take.", 1),
    },
}


def limit_problems(config: Mapping[str, Any]) -> list[str]:
    pairs = [*LIMITS, "wraparound"]
    return [f"{key}_warning ({config[f'{key}_warning']:g}) is above "
            f"{key}_critical ({config[f'{key}_critical']:g})"
            for key in pairs if config[f"{key}_warning"] > config[f"{key}_critical"]]


def params(properties: Mapping[str, Any] | None = None,
           required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An action's params schema: an object with exactly these properties."""
    return {"type": "object", "additionalProperties": False,
            "properties": dict(properties or {}), "required": list(required)}


NAME = {"type": "string", "minLength": 1, "maxLength": 200}
PID = {"type": "integer", "minimum": 1, "description": "Backend process id."}
