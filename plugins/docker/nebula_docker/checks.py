"""The health checks, as pure functions of one snapshot (or df answer) and the config:
`CHECKS` read the monitor's snapshot, `disk` the engine's df and the containers' logs,
`engine` the engine's version answer and the event stream's state."""

from __future__ import annotations

import time
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from nebula.api import CheckResult, Status, Unit
from nebula.helpers.checks import CheckSpec, Threshold
from nebula_docker.coordinator import Monitor, Snapshot
from nebula_docker.engine import product
from nebula_docker.model import Container

Config = Mapping[str, Any]
GB = 1024**3


def engine(version: Mapping[str, Any], base_url: str, monitor: Monitor) -> CheckResult:
    """The engine answered `version`; the summary says whether its events stream (the
    stream's state is what the monitor recorded when it last came or went)."""
    if monitor.events_connected:
        events = "events streaming"
    else:
        events = f"event stream down: {monitor.events_error or 'connecting'}"
    return CheckResult(Status.OK, f"{product(version)} {version.get('Version')} (API "
                                  f"{version.get('ApiVersion')}) at {base_url}; {events}")


def _listing(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _matches(ref: str, container: Container) -> bool:
    """An expected entry names a container, or a compose `project/service`."""
    if "/" in ref:
        return f"{container.project}/{container.service}" == ref
    return container.name == ref


def expected(snapshot: Snapshot, config: Config) -> CheckResult:
    wanted = list(config["expected"])
    if not wanted:
        return CheckResult(Status.OK, "No expected containers configured",
                           {"expected.count": 0.0})
    critical, warning = [], []
    for ref in wanted:
        found = [c for c in snapshot.containers if _matches(ref, c)]
        if not found:
            critical.append(f"{ref} missing")
            continue
        for c in found:
            if not c.running:
                critical.append(f"{c.name} {c.state}" + (
                    f" (exit {c.exit_code})" if c.state == "exited" else ""))
            elif c.health == "unhealthy":
                critical.append(f"{c.name} unhealthy")
            elif c.health == "starting":
                warning.append(f"{c.name} health starting")
    metrics = {"expected.count": float(len(wanted)),
               "expected.problems": float(len(critical) + len(warning))}
    if critical or warning:
        status = Status.CRITICAL if critical else Status.WARNING
        return CheckResult(status, _listing(critical + warning), metrics)
    return CheckResult(Status.OK, f"All {len(wanted)} expected containers running and "
                                  "healthy", metrics)


def restart_loops(snapshot: Snapshot, config: Config) -> CheckResult:
    limit, minutes = config["restart_loop_count"], config["restart_loop_minutes"]
    now = time.time()
    counts = {c.name: snapshot.restarts(c.id, minutes * 60, now)
              for c in snapshot.containers}
    looping = sorted((n for n, k in counts.items() if k >= limit), key=lambda n: -counts[n])
    metrics = {"restarts.max": float(max(counts.values(), default=0)),
               "restarts.looping": float(len(looping))}
    if looping:
        return CheckResult(Status.CRITICAL, "Restart loop: " + _listing(
            [f"{n} ({counts[n]} restarts in {minutes:g} min)" for n in looping]), metrics)
    return CheckResult(Status.OK, f"No container restarted {limit} times in {minutes:g} min",
                       metrics)


def exited(snapshot: Snapshot, config: Config) -> CheckResult:
    ignore = config["ignore_exited"]
    failed = [c for c in snapshot.containers
              if c.state in ("exited", "dead") and c.exit_code != 0
              and not any(fnmatchcase(c.name, p) for p in ignore)]
    metrics = {"exited.nonzero": float(len(failed))}
    if failed:
        return CheckResult(Status.WARNING, "Exited with an error: " + _listing(
            [f"{c.name} (exit {c.exit_code})" for c in failed]), metrics)
    return CheckResult(Status.OK, "No container exited with an error", metrics)


# What the disk check adds up, as its summary names each.
DISK_KINDS = {"images": "images", "containers": "containers", "volumes": "volumes",
              "build_cache": "build cache", "logs": "logs"}


def disk(df: Mapping[str, int | None], config: Config) -> CheckResult:
    """Images, containers' layers, volumes, build cache and containers' logs (`logs` is
    None where the log files are not on this host: not counted, and said so)."""
    total = sum(df.get(k) or 0 for k in DISK_KINDS)
    metrics = {f"disk.{k}_bytes": float(v) for k, v in df.items() if v is not None}
    metrics["disk.total_bytes"] = float(total)
    limits = Threshold(config["disk_warning_gb"], config["disk_critical_gb"], " GB", 2)
    status, headline = limits.judge("Engine disk use", total / GB)
    detail = ", ".join(f"{label} {(df.get(k) or 0) / GB:.2f}" for k, label in
                       DISK_KINDS.items() if df.get(k) is not None) + " GB"
    if df.get("logs") is None:
        detail += " (container logs not measured: the engine is not on this host)"
    detail += f"; {(df.get('reclaimable') or 0) / GB:.2f} GB reclaimable"
    return CheckResult(status, f"{headline}: {detail}", metrics)


def usage(snapshot: Snapshot, config: Config) -> CheckResult:
    """Each running container's memory and CPU as metrics, so the history keeps them: what
    the advisor reads for memory that keeps growing and containers idle for a week."""
    metrics: dict[str, float] = {}
    for c in snapshot.containers:
        if c.running and c.usage.memory_bytes is not None:
            metrics[f"{c.name}.memory_bytes"] = float(c.usage.memory_bytes)
        if c.running and c.usage.cpu_percent is not None:
            metrics[f"{c.name}.cpu_percent"] = float(c.usage.cpu_percent)
    running = sum(1 for c in snapshot.containers if c.running)
    memory = sum(v for k, v in metrics.items() if k.endswith(".memory_bytes"))
    return CheckResult(Status.OK, f"{running} running, {memory / GB:.2f} GiB of memory in use",
                       metrics)


def usage_units(snapshot: Snapshot) -> dict[str, Unit]:
    return {f"{c.name}.{metric}": unit for c in snapshot.containers
            for metric, unit in (("memory_bytes", Unit.BYTES), ("cpu_percent", Unit.PERCENT))}


DISK_UNITS = {f"disk.{k}_bytes": Unit.BYTES for k in (*DISK_KINDS, "reclaimable", "total")}
CHECKS: tuple[CheckSpec[Snapshot], ...] = (
    CheckSpec("expected", "Expected containers",
              "Every container in `expected` is running and healthy.", expected,
              {"expected.count": Unit.COUNT, "expected.problems": Unit.COUNT}),
    CheckSpec("restarts", "Restart loops",
              "No container restarted restart_loop_count times within "
              "restart_loop_minutes.", restart_loops,
              {"restarts.max": Unit.COUNT, "restarts.looping": Unit.COUNT}),
    CheckSpec("exited", "Exited containers", "No container exited with a non-zero code.",
              exited, {"exited.nonzero": Unit.COUNT}),
    CheckSpec("usage", "Container usage", "Each running container's memory and CPU, kept in "
              "the history (always ok: the advisor reads the trends).", usage, usage_units),
)
