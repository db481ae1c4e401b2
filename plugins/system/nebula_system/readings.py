"""What one reading of the host holds: plain frozen values, never live psutil objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProcessKey = Literal["cpu", "memory"]


@dataclass(frozen=True)
class Memory:
    total: int
    used: int
    available: int
    percent: float


@dataclass(frozen=True)
class Swap:
    total: int
    used: int
    percent: float


@dataclass(frozen=True)
class Disk:
    mount: str
    device: str
    fstype: str
    total: int
    used: int
    free: int
    percent: float


@dataclass(frozen=True)
class Interface:
    name: str
    rx_bytes: int
    tx_bytes: int
    # None until there is an earlier reading to compare with, or after a counter reset.
    rx_rate: float | None
    tx_rate: float | None


@dataclass(frozen=True)
class Process:
    pid: int
    name: str
    user: str | None
    # Percent of one core, as `top` shows it: a busy multi-threaded process exceeds 100.
    cpu_percent: float
    memory_percent: float
    memory_rss: int


@dataclass(frozen=True)
class Temperature:
    sensor: str
    label: str
    current: float

    @property
    def name(self) -> str:
        return f"{self.sensor} {self.label}".strip()


@dataclass(frozen=True)
class Point:
    """One step of the timeseries kept between readings."""

    t: float
    cpu: float
    memory: float


@dataclass(frozen=True)
class Sample:
    taken: float  # epoch seconds
    hostname: str
    boot_time: float
    cpu_count: int
    cpu_percent: float
    memory: Memory
    swap: Swap
    load: tuple[float, float, float]
    disks: tuple[Disk, ...]
    interfaces: tuple[Interface, ...]
    processes: tuple[Process, ...]
    temperatures: tuple[Temperature, ...]

    @property
    def uptime(self) -> float:
        # A clock stepped back after boot would otherwise give a negative uptime.
        return max(0.0, self.taken - self.boot_time)

    def top(self, by: ProcessKey, n: int) -> list[Process]:
        """The `n` processes using the most CPU or memory, the other resource breaking ties."""
        if by == "cpu":
            return sorted(self.processes, key=lambda p: (p.cpu_percent, p.memory_percent),
                          reverse=True)[:n]
        return sorted(self.processes, key=lambda p: (p.memory_percent, p.cpu_percent),
                      reverse=True)[:n]
