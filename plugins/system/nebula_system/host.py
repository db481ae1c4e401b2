"""Reading this host through psutil: one blocking call that returns a `Sample`.

psutil can stall (a hung network mount, a slow /proc), so the sampler (coordinator.py)
runs `HostReader.read` in a worker thread and never on the event loop. The reader keeps
what psutil's rates need between readings (CPU times, process objects, network counters).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import psutil

from nebula_system.readings import (
    Disk,
    Interface,
    Memory,
    Process,
    Sample,
    Swap,
    Temperature,
)

# psutil's rates (CPU, per process) need two readings; the first one is taken this long
# after a baseline so that it already shows real numbers.
PRIME_SECONDS = 0.1
PROCESS_ATTRS = ("name", "username", "cpu_percent", "memory_percent", "memory_info")


@dataclass(frozen=True)
class Filters:
    """Which mounts and interfaces a reading leaves out (glob patterns, fstype names)."""

    mounts: tuple[str, ...] = ()
    fstypes: frozenset[str] = frozenset()
    interfaces: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Filters:
        return cls(
            mounts=tuple(config.get("ignore_mounts", ())),
            fstypes=frozenset(config.get("ignore_fstypes", ())),
            interfaces=tuple(config.get("ignore_interfaces", ())),
        )

    def skips_mount(self, mount: str, fstype: str) -> bool:
        return fstype in self.fstypes or _matches(mount, self.mounts)

    def skips_interface(self, name: str) -> bool:
        return _matches(name, self.interfaces)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


class HostReader:
    def __init__(self, filters: Filters | None = None) -> None:
        self._filters = filters or Filters()
        # Serialises the worker threads: closing the sampler abandons a reading whose
        # thread runs on, and a later reading must not interleave with it.
        self._lock = threading.Lock()
        self._cpu_times: Any = None
        self._net: tuple[float, Mapping[str, Any]] | None = None
        # Kept between readings because a process's CPU percent is measured against the
        # previous call on the same psutil.Process object.
        self._processes: dict[int, psutil.Process] = {}

    def read(self) -> Sample:
        """A new reading (blocking: call it in a worker thread). The first one is taken
        `PRIME_SECONDS` after a baseline, so that its rates are already real numbers."""
        with self._lock:
            if self._cpu_times is None:
                self._cpu_percent()
                self._read_processes()
                self._read_interfaces()
                time.sleep(PRIME_SECONDS)
            return self._collect()

    def _collect(self) -> Sample:
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        load = psutil.getloadavg()
        return Sample(
            taken=time.time(),
            hostname=socket.gethostname(),
            boot_time=psutil.boot_time(),
            cpu_count=psutil.cpu_count() or 1,
            cpu_percent=self._cpu_percent(),
            memory=Memory(vm.total, vm.used, vm.available, float(vm.percent)),
            swap=Swap(sw.total, sw.used, float(sw.percent)),
            load=(float(load[0]), float(load[1]), float(load[2])),
            disks=self._read_disks(),
            interfaces=self._read_interfaces(),
            processes=self._read_processes(),
            temperatures=_read_temperatures(),
        )

    def _cpu_percent(self) -> float:
        # Computed here rather than by psutil.cpu_percent(), whose baseline is kept per
        # thread: asyncio.to_thread may hand each reading to a different worker thread.
        now = psutil.cpu_times()
        before, self._cpu_times = self._cpu_times, now
        if before is None:
            return 0.0
        total = _total_time(now) - _total_time(before)
        idle = _idle_time(now) - _idle_time(before)
        if total <= 0:
            return 0.0
        return round(min(100.0, max(0.0, 100.0 * (total - idle) / total)), 1)

    def _read_disks(self) -> tuple[Disk, ...]:
        disks: dict[str, Disk] = {}
        # Shortest mount first, so a device bind-mounted in several places is shown once,
        # under its main mount point.
        for part in sorted(psutil.disk_partitions(all=False), key=lambda p: len(p.mountpoint)):
            if part.device in disks or self._filters.skips_mount(part.mountpoint, part.fstype):
                continue
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except OSError:  # unmounted meanwhile, or not ours to read
                continue
            disks[part.device] = Disk(part.mountpoint, part.device, part.fstype, usage.total,
                                      usage.used, usage.free, float(usage.percent))
        return tuple(sorted(disks.values(), key=lambda d: d.mount))

    def _read_interfaces(self) -> tuple[Interface, ...]:
        counters = psutil.net_io_counters(pernic=True)
        now = time.monotonic()
        previous, self._net = self._net, (now, counters)
        interfaces = []
        for name, io in sorted(counters.items()):
            if self._filters.skips_interface(name):
                continue
            rx = tx = None
            if previous is not None and name in previous[1] and now > previous[0]:
                elapsed, old = now - previous[0], previous[1][name]
                rx = _rate(io.bytes_recv, old.bytes_recv, elapsed)
                tx = _rate(io.bytes_sent, old.bytes_sent, elapsed)
            interfaces.append(Interface(name, io.bytes_recv, io.bytes_sent, rx, tx))
        return tuple(interfaces)

    def _read_processes(self) -> tuple[Process, ...]:
        alive: dict[int, psutil.Process] = {}
        readings = []
        for pid in psutil.pids():
            proc = self._processes.get(pid)
            try:
                # is_running() also notices a pid reused by a new process.
                if proc is None or not proc.is_running():
                    proc = psutil.Process(pid)
                info = proc.as_dict(PROCESS_ATTRS, ad_value=None)
            except psutil.NoSuchProcess:
                continue
            alive[pid] = proc
            rss = info["memory_info"].rss if info["memory_info"] is not None else 0
            readings.append(Process(pid, info["name"] or "", info["username"],
                                    float(info["cpu_percent"] or 0.0),
                                    round(float(info["memory_percent"] or 0.0), 2), rss))
        self._processes = alive
        return tuple(readings)


def _total_time(times: Any) -> float:
    # On Linux guest time is already counted in user and nice (as psutil and htop assume).
    return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)


def _idle_time(times: Any) -> float:
    # Linux keeps iowait out of idle, though the CPU does nothing then.
    return float(times.idle + getattr(times, "iowait", 0.0))


def _rate(new: int, old: int, elapsed: float) -> float | None:
    if new < old:  # the interface was reset: no honest rate for this step
        return None
    return round((new - old) / elapsed, 1)


def _read_temperatures() -> tuple[Temperature, ...]:
    # Absent on some platforms, and it can raise on hosts with odd hwmon drivers; neither
    # is a reason to fail the reading.
    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return ()
    try:
        sensors = read()
    except (OSError, RuntimeError, ValueError):
        return ()
    return tuple(
        Temperature(sensor, entry.label or (f"#{i}" if len(entries) > 1 else ""),
                    float(entry.current))
        for sensor, entries in sorted((sensors or {}).items())
        for i, entry in enumerate(entries)
        if entry.current is not None
    )
