"""The `[plugins.system]` config schema, and the params of the top-processes query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_TOP = 50
# Keys that come as a `<key>_warning` / `<key>_critical` pair.
LIMITS = ("cpu", "memory", "swap", "disk", "load", "temperature")
# The params of a tool that takes none.
EMPTY_PARAMS: dict[str, Any] = {"type": "object", "properties": {},
                                "additionalProperties": False}


def _percent(default: float, what: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 100, "default": default,
            "description": what}


def _globs(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default,
            "description": what}


CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "interval": {"type": "number", "minimum": 1, "default": 30,
                     "description": "Seconds between checks; readings are shared for half "
                                    "of it."},
        "cpu_warning": _percent(85, "CPU busy percent that warns."),
        "cpu_critical": _percent(95, "CPU busy percent that is critical."),
        "memory_warning": _percent(85, "Memory used percent that warns."),
        "memory_critical": _percent(95, "Memory used percent that is critical."),
        "swap_warning": _percent(50, "Swap used percent that warns."),
        "swap_critical": _percent(80, "Swap used percent that is critical."),
        "disk_warning": _percent(85, "Used percent of any mount that warns."),
        "disk_critical": _percent(95, "Used percent of any mount that is critical."),
        "load_warning": {"type": "number", "minimum": 0, "default": 2.0,
                         "description": "5-minute load average per core that warns."},
        "load_critical": {"type": "number", "minimum": 0, "default": 4.0,
                          "description": "5-minute load average per core that is critical."},
        "temperature_warning": {"type": "number", "default": 80,
                                "description": "Hottest sensor, °C, that warns."},
        "temperature_critical": {"type": "number", "default": 90,
                                 "description": "Hottest sensor, °C, that is critical."},
        "ignore_mounts": _globs(
            ["/proc", "/proc/*", "/sys", "/sys/*", "/dev", "/dev/*", "/run", "/run/*",
             "/snap/*", "/var/lib/docker/*"],
            "Mount points left out of the disk check (glob patterns)."),
        "ignore_fstypes": _globs(
            ["tmpfs", "devtmpfs", "devfs", "squashfs", "overlay", "proc", "sysfs", "autofs",
             "iso9660"],
            "Filesystem types left out of the disk check."),
        "ignore_interfaces": _globs(
            ["lo", "veth*"], "Network interfaces left out of the network panel (globs)."),
        "top_n": {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": 5,
                  "description": "Processes in the top-processes panel and the default "
                                 "for the query."},
    },
}


def limit_problems(config: Mapping[str, Any]) -> list[str]:
    """Warning limits above their critical limit, which would never warn."""
    return [
        f"{key}_warning ({config[f'{key}_warning']:g}) is above "
        f"{key}_critical ({config[f'{key}_critical']:g})"
        for key in LIMITS
        if config[f"{key}_warning"] > config[f"{key}_critical"]
    ]


def top_processes_params(default_n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "by": {"enum": ["cpu", "memory"], "default": "cpu",
                   "description": "Rank by CPU percent or by memory percent."},
            "n": {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": default_n,
                  "description": "How many processes to return."},
        },
    }
