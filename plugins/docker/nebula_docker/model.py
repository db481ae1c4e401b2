"""What the plugin knows about one container: plain frozen values built from the engine's
inspect and stats answers, never live SDK objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
TEMPLATE_LABEL = "nebula.docker.template"

# Podman's state between a container's exit and its cleanup, which Docker does not have: the
# process is gone and the exit code known, so it is shown as what it becomes. (A loaded
# host takes seconds to clean up; the table said `stopped` and the exited check, which
# knows Docker's words, left it out.)
STATES = {"stopped": "exited", "configured": "created"}


def state_of(status: str | None) -> str:
    """An engine's container state in Docker's words."""
    return STATES.get(status or "", status or "unknown")


@dataclass(frozen=True)
class Usage:
    cpu_percent: float | None  # of one core, as `docker stats` shows it
    memory_bytes: int | None
    memory_limit: int | None


NO_USAGE = Usage(None, None, None)


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    image: str
    state: str  # created, running, paused, restarting, exited, dead
    health: str | None  # starting, healthy, unhealthy; None without a healthcheck
    exit_code: int
    restart_count: int
    started_at: float | None  # epoch seconds
    finished_at: float | None
    created_at: float | None
    ports: tuple[str, ...]  # "127.0.0.1:8080->80/tcp"
    labels: Mapping[str, str]
    usage: Usage = NO_USAGE
    log_path: str = ""  # the log file on the engine's host ("" for journald and the like)
    log_bytes: int | None = None  # its size on disk; None when not measured


    @property
    def project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT)

    @property
    def service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def uptime(self, now: float) -> float | None:
        if not self.running or self.started_at is None:
            return None
        return max(0.0, now - self.started_at)

    def with_usage(self, usage: Usage) -> Container:
        return replace(self, usage=usage)

    def with_log_bytes(self, size: int | None) -> Container:
        return replace(self, log_bytes=size)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def _epoch(stamp: str | None) -> float | None:
    """Epoch seconds of an engine's RFC 3339 time (nanoseconds, which datetime cannot
    parse on 3.10); the zero time means "never"."""
    match = _STAMP.match(stamp or "")
    if match is None or match.string.startswith("0001-"):
        return None
    whole, frac, tz = match.groups()
    zone = "+00:00" if tz in (None, "Z") else tz
    return datetime.fromisoformat(whole + zone).timestamp() + float(f"0.{frac or 0}")


def _ports(bindings: Mapping[str, Any] | None) -> tuple[str, ...]:
    out = []
    for inside, published in sorted((bindings or {}).items()):
        for item in published or ():
            host = item.get("HostIp") or "0.0.0.0"
            out.append(f"{host}:{item.get('HostPort')}->{inside}")
    return tuple(out)


def from_inspect(data: Mapping[str, Any]) -> Container:
    state = data.get("State") or {}
    config = data.get("Config") or {}
    health = (state.get("Health") or {}).get("Status") or None
    if not config.get("Healthcheck") and health in ("", "none"):
        health = None
    return Container(
        id=data["Id"],
        name=(data.get("Name") or "").lstrip("/"),
        image=config.get("Image") or data.get("Image", ""),
        state=state_of(state.get("Status")),
        health=health,
        exit_code=int(state.get("ExitCode") or 0),
        restart_count=int(data.get("RestartCount") or 0),
        started_at=_epoch(state.get("StartedAt")),
        finished_at=_epoch(state.get("FinishedAt")),
        created_at=_epoch(data.get("Created")),
        ports=_ports((data.get("NetworkSettings") or {}).get("Ports")),
        labels=dict(config.get("Labels") or {}),
        log_path=str(data.get("LogPath") or ""),
    )


def cpu_counters(stats: Mapping[str, Any]) -> tuple[int, float] | None:
    """(container CPU ns, epoch seconds of the reading) from one stats answer."""
    total = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    read = _epoch(stats.get("read"))
    if total is None or read is None:
        return None
    return int(total), read


def usage_from_stats(stats: Mapping[str, Any], previous: tuple[int, float] | None) -> Usage:
    """CPU percent of one core between this answer and the previous one for the container.

    Measured against the wall clock between the two readings rather than the engine's
    `system_cpu_usage`, which Docker counts over all cores and Podman does not, so one
    formula holds for both; Docker's own `precpu_stats` are used when it filled them."""
    now = cpu_counters(stats)
    before = cpu_counters({"cpu_stats": stats.get("precpu_stats"),
                           "read": stats.get("preread")}) or previous
    cpu_percent = None
    if now and before and now[1] > before[1] and now[0] >= before[0]:
        cpu_percent = round((now[0] - before[0]) / ((now[1] - before[1]) * 1e9) * 100, 2)
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is not None:
        # Page cache the kernel can drop is not the container's to answer for (docker stats
        # subtracts it too): cgroup v2 calls it inactive_file, v1 total_inactive_file.
        detail = memory.get("stats") or {}
        usage -= detail.get("inactive_file", detail.get("total_inactive_file", 0))
    return Usage(cpu_percent, usage, memory.get("limit"))
