"""A reading as plain JSON rows, with the fields that declare them. Panels and Jarvis
tools both serve these, so the dashboard and the model see the same keys and units."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nebula.api import Field
from nebula_system.readings import Point, Process, Sample

OVERVIEW_FIELDS = (
    Field("hostname", "Host", "", "The host's name."),
    Field("uptime", "Uptime", "s", "Seconds since boot."),
    Field("cpu_count", "CPUs", "", "Logical CPU cores."),
    Field("cpu_percent", "CPU", "%", "Busy CPU percent across all cores."),
    Field("memory_percent", "Memory", "%", "Memory in use."),
    Field("swap_percent", "Swap", "%", "Swap in use."),
    Field("load_1", "Load 1 min", "", "1-minute load average."),
    Field("load_5", "Load 5 min", "", "5-minute load average."),
    Field("load_15", "Load 15 min", "", "15-minute load average."),
)

USAGE_FIELDS = (
    Field("t", "Time", "s", "Epoch seconds of the reading."),
    Field("cpu", "CPU", "%", "Busy CPU percent across all cores."),
    Field("memory", "Memory", "%", "Memory in use."),
)

DISK_FIELDS = (
    Field("mount", "Mount", "", "Where the filesystem is mounted."),
    Field("device", "Device", "", "The device or source behind the mount."),
    Field("fstype", "Type", "", "Filesystem type."),
    Field("size", "Size", "bytes", "Total size."),
    Field("used", "Used", "bytes", "Space in use."),
    Field("free", "Free", "bytes", "Space available to unprivileged users."),
    Field("percent", "Used %", "%", "Used percent, as df shows it."),
)

INTERFACE_FIELDS = (
    Field("interface", "Interface", "", "Network interface name."),
    Field("rx_bytes_per_s", "Receive", "bytes/s",
          "Bytes received per second since the previous reading; empty on the first."),
    Field("tx_bytes_per_s", "Send", "bytes/s",
          "Bytes sent per second since the previous reading; empty on the first."),
    Field("rx_bytes", "Received", "bytes", "Bytes received since boot."),
    Field("tx_bytes", "Sent", "bytes", "Bytes sent since boot."),
)

PROCESS_FIELDS = (
    Field("pid", "PID", "", "Process id."),
    Field("name", "Name", "", "Process name."),
    Field("user", "User", "", "Owner; empty when the agent may not see it."),
    Field("cpu_percent", "CPU", "%",
          "Percent of one core since the previous reading (can exceed 100 on several cores)."),
    Field("memory_percent", "Memory", "%", "Resident memory as a percent of the total."),
    Field("memory_rss", "RSS", "bytes", "Resident memory."),
)


def overview(sample: Sample) -> dict[str, Any]:
    one, five, fifteen = sample.load
    return {
        "hostname": sample.hostname,
        "uptime": round(sample.uptime),
        "cpu_count": sample.cpu_count,
        "cpu_percent": sample.cpu_percent,
        "memory_percent": sample.memory.percent,
        "swap_percent": sample.swap.percent,
        "load_1": round(one, 2),
        "load_5": round(five, 2),
        "load_15": round(fifteen, 2),
    }


def usage(points: Iterable[Point]) -> list[dict[str, float]]:
    return [{"t": p.t, "cpu": p.cpu, "memory": p.memory} for p in points]


def disks(sample: Sample) -> list[dict[str, Any]]:
    return [{"mount": d.mount, "device": d.device, "fstype": d.fstype, "size": d.total,
             "used": d.used, "free": d.free, "percent": d.percent} for d in sample.disks]


def interfaces(sample: Sample) -> list[dict[str, Any]]:
    return [{"interface": i.name, "rx_bytes_per_s": i.rx_rate, "tx_bytes_per_s": i.tx_rate,
             "rx_bytes": i.rx_bytes, "tx_bytes": i.tx_bytes} for i in sample.interfaces]


def processes(procs: Iterable[Process]) -> list[dict[str, Any]]:
    return [{"pid": p.pid, "name": p.name, "user": p.user, "cpu_percent": p.cpu_percent,
             "memory_percent": p.memory_percent, "memory_rss": p.memory_rss} for p in procs]


def summary(sample: Sample) -> dict[str, Any]:
    """The headline numbers in one answer, for Jarvis."""
    fullest = max(sample.disks, key=lambda d: d.percent, default=None)
    hottest = max(sample.temperatures, key=lambda t: t.current, default=None)
    return {
        **overview(sample),
        "taken": sample.taken,
        "memory_used": sample.memory.used,
        "memory_total": sample.memory.total,
        "fullest_disk": ({"mount": fullest.mount, "percent": fullest.percent}
                         if fullest else None),
        "hottest_sensor": ({"name": hottest.name, "celsius": hottest.current}
                           if hottest else None),
    }
