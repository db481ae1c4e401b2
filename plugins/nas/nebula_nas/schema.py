"""The `[plugins.nas]` config schema and the params of the plugin's actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.schema import (
    Schema,
    config_schema,
    integer,
    interval,
    number,
    params,
    string,
    timeout,
)

SHARE_NAME = "^[A-Za-z0-9][A-Za-z0-9_.$ -]*$"

SHARE_SCHEMA: Schema = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": SHARE_NAME, "maxLength": 80,
                 "description": "The share's name on the NAS (as in \\\\nas\\<name>)."},
        "probe": {"type": "boolean", "default": True,
                  "description": "Write, read back and delete a small probe file each poll "
                                 "(read/write latency; needs write access)."},
        "free_warning_percent": number(15, "Free space (percent) below which the share's "
                                           "check warns.", 0, 100),
        "free_critical_percent": number(5, "Free space (percent) below which it is "
                                           "critical.", 0, 100),
    },
}

MOUNT_SCHEMA: Schema = {
    "type": "object", "additionalProperties": False, "required": ["path"],
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "Where the share is "
                 "mounted on this host (it must appear in /proc/mounts)."},
        "remount": {"type": "array", "items": {"type": "string", "minLength": 1},
                    "minItems": 1, "description": "The command that mounts it again after "
                    "`umount -l` (default: `mount <path>`, from /etc/fstab)."},
    },
}

BACKUP_SCHEMA: Schema = {
    "type": "object", "additionalProperties": False, "required": ["share"],
    "properties": {
        "share": {"type": "string", "pattern": SHARE_NAME,
                  "description": "The share the copies go to."},
        "path": string("nebula-backups", "Folder on the share (created when missing).",
                       min_length=1),
        "postgres": {"type": "boolean", "default": True,
                     "description": "Copy the postgres plugin's dumps (its backup_dir)."},
        "postgres_dir": string(None, "The dumps' folder when the postgres plugin does not "
                                     "run in this agent (default: its backup_dir)."),
        "archive_dir": string(None, "A folder of `nebula backup` archives "
                                    "(nebula-backup-*.tar.gz) to copy."),
        "keep": integer(7, "Copies kept per folder on the share (newest first).", 1),
        "max_age_hours": number(26, "The newest copy older than this is critical."),
        "cron": string("45 3 * * *", "When the copy job runs (local time)."),
    },
}

CONFIG_SCHEMA: Schema = config_schema({
    "server": {"type": "string", "minLength": 1,
               "description": "The NAS's host name or IP address."},
    "port": integer(445, "Its SMB port.", 1, 65535),
    "username": {"type": "string", "minLength": 1, "description": "The NAS user."},
    "password": {"type": "string", "writeOnly": True, "description": "Its password; use "
                 "password_file or ${ENV}, never a literal."},
    "encrypt": {"type": "boolean", "default": False,
                "description": "Require SMB3 encryption of every message."},
    "timeout": timeout("Seconds for connecting and for one SMB request."),
    "interval": interval(60, "Seconds between two polls of the shares and mounts."),
    "shares": {"type": "array", "items": SHARE_SCHEMA, "default": [],
               "description": "The shares watched, one check each (share_<name>)."},
    "probe_size": integer(4096, "Bytes of the probe file.", 1, 1 << 20),
    "probe_warning_ms": number(1000, "Probe write or read slower than this warns."),
    "mounts": {"type": "array", "items": MOUNT_SCHEMA, "default": [],
               "description": "Mounts of the NAS expected on this host."},
    "mount_types": {"type": "array", "items": {"type": "string", "minLength": 1},
                    "default": ["cifs", "smb3", "nfs", "nfs4"],
                    "description": "File system types (/proc/mounts) taken as network "
                                   "mounts and checked for staleness."},
    "mount_timeout": timeout("Seconds a mount may take to answer before it is stale.", 5),
    "backup": BACKUP_SCHEMA,
}, required=["server", "username", "password"])

REMOUNT_PARAMS = params({
    "path": {"type": "string", "pattern": "^/", "title": "Mount point",
             "description": "One of the configured mounts."},
}, required=["path"])


def with_defaults(item: Mapping[str, Any] | None, schema: Schema) -> dict[str, Any]:
    """An array item or sub-object with its schema's defaults filled in (the config loader
    fills only the section's own keys)."""
    filled = {key: prop["default"] for key, prop in schema["properties"].items()
              if "default" in prop}
    return {**filled, **(item or {})}
