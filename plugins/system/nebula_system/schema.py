"""The `[plugins.system]` config schema, and the params of the top-processes query."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.helpers.checks import ordered_limits
from nebula.helpers.schema import config_schema, integer, interval, limit_pair, params

MAX_TOP = 50
# Keys that come as a `<key>_warning` / `<key>_critical` pair.
LIMITS = ("cpu", "memory", "swap", "disk", "load", "temperature")


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say: a warning limit past its critical one would never warn
    (the plugin's `nebula_validate_config`: before every start, and in config validate)."""
    return ordered_limits(config, LIMITS)


def _globs(default: list[str], what: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": default,
            "description": what}


CONFIG_SCHEMA: dict[str, Any] = config_schema({
    "interval": interval(30, "Seconds between checks; readings are shared for half of it."),
    **limit_pair("cpu", 85, 95, "CPU busy percent", maximum=100),
    **limit_pair("memory", 85, 95, "Memory used percent", maximum=100),
    **limit_pair("swap", 50, 80, "Swap used percent", maximum=100),
    **limit_pair("disk", 85, 95, "Used percent of any mount", maximum=100),
    **limit_pair("load", 2.0, 4.0, "5-minute load average per core"),
    # No minimum: a sensor can read below zero.
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
    "top_n": integer(5, "Processes in the top-processes panel and the default for the "
                        "query.", minimum=1, maximum=MAX_TOP),
})


def top_processes_params(default_n: int) -> dict[str, Any]:
    return params({
        "by": {"enum": ["cpu", "memory"], "default": "cpu",
               "description": "Rank by CPU percent or by memory percent."},
        "n": integer(default_n, "How many processes to return.", minimum=1, maximum=MAX_TOP),
    })
