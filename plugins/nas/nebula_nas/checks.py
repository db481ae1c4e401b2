"""The checks, as pure functions of a reading and the plugin's config."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import CheckResult, Status
from nebula.helpers.checks import level
from nebula_nas.backups import RunReport
from nebula_nas.coordinator import ShareReading
from nebula_nas.mounts import MountState
from nebula_nas.smb import Failure

GIB = 1 << 30


def share(reading: ShareReading | None, settings: Mapping[str, Any],
          config: Mapping[str, Any]) -> CheckResult:
    name = settings["name"]
    if reading is None:
        return CheckResult(Status.UNKNOWN, f"{name}: not polled yet")
    if reading.error is not None:
        error = reading.error
        what = {Failure.DOWN: "NAS unreachable", Failure.AUTH: "authentication failed",
                Failure.SHARE: "share unavailable", Failure.FULL: "disk full",
                Failure.IO: "error"}[error.kind]
        return CheckResult(Status.CRITICAL, f"{name}: {what}: {error}",
                           {"reachable": float(error.kind is not Failure.DOWN),
                            "authenticated": float(error.kind not in (Failure.DOWN,
                                                                      Failure.AUTH))})
    probe = reading.probe
    assert probe is not None
    free = probe.free_percent
    status = level(free, settings["free_warning_percent"], settings["free_critical_percent"],
                   below=True)
    summary = (f"{name}: {probe.free / GIB:.2f} GiB free of {probe.total / GIB:.2f} GiB "
               f"({free:.1f}%)")
    if status is not Status.OK:
        limit = "free_warning_percent" if status is Status.WARNING else "free_critical_percent"
        summary += f", below {settings[limit]:g}%"
    metrics = {"reachable": 1.0, "authenticated": 1.0, "free_bytes": float(probe.free),
               "total_bytes": float(probe.total), "free_percent": round(free, 2),
               "latency_ms": probe.latency_ms}
    if probe.write_ms is not None and probe.read_ms is not None:
        metrics |= {"write_ms": probe.write_ms, "read_ms": probe.read_ms}
        summary += f"; probe write {probe.write_ms:g} ms, read {probe.read_ms:g} ms"
        slow = max(probe.write_ms, probe.read_ms) > config["probe_warning_ms"]
        if slow and status is Status.OK:
            status = Status.WARNING
            summary += f" (slower than {config['probe_warning_ms']:g} ms)"
    return CheckResult(status, summary, metrics)


def mounts(states: list[MountState]) -> CheckResult:
    bad = [s for s in states if s.state != "ok"]
    metrics = {"mounts": float(sum(s.fstype is not None for s in states)),
               "stale": float(sum(s.state == "stale" for s in states)),
               "missing": float(sum(s.state == "missing" for s in states))}
    if not states:
        return CheckResult(Status.OK, "no network mounts expected or present", metrics)
    if bad:
        return CheckResult(Status.CRITICAL, "; ".join(f"{s.path}: {s.state} ({s.detail})"
                                                     for s in bad), metrics)
    return CheckResult(Status.OK, ", ".join(f"{s.path} ({s.fstype}) answers in {s.ms:g} ms"
                                            for s in states), metrics)


def backups(inventory: list[dict[str, Any]], last: RunReport | None,
            backup: Mapping[str, Any], now: float | None = None) -> CheckResult:
    now = time.time() if now is None else now
    if last is not None and last.errors:
        return CheckResult(Status.CRITICAL, f"the last copy run failed: "
                                            f"{'; '.join(last.errors)}", {"failed": 1.0})
    if not inventory:
        return CheckResult(Status.CRITICAL, f"no backup copies on {backup['share']}/"
                                            f"{backup['path']} yet", {"copies": 0.0})
    newest = inventory[0]
    hours = max(0.0, (now - newest["modified"]) / 3600)
    metrics = {"copies": float(len(inventory)), "newest_age_hours": round(hours, 3)}
    where = f"{newest['folder']}/{newest['name']}"
    if hours > backup["max_age_hours"]:
        return CheckResult(Status.CRITICAL, f"newest copy {where} is {hours:.1f} h old "
                                            f"(limit {backup['max_age_hours']:g} h)", metrics)
    return CheckResult(Status.OK, f"{len(inventory)} copies; newest {where}, "
                                  f"{hours:.1f} h old", metrics)
