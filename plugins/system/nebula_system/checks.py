"""The health checks, as pure functions of one reading and the plugin's config."""

from __future__ import annotations

from nebula.api import CheckResult, Status, Unit, plural
from nebula.helpers.checks import CheckSpec, Config, Threshold, worst
from nebula_system.readings import Sample


def cpu(sample: Sample, config: Config) -> CheckResult:
    verdict = Threshold.of(config, "cpu").judge("CPU", sample.cpu_percent)
    return CheckResult(*verdict, {"cpu.percent": sample.cpu_percent})


def memory(sample: Sample, config: Config) -> CheckResult:
    mem = sample.memory
    verdict = Threshold.of(config, "memory").judge("Memory", mem.percent)
    return CheckResult(*verdict, {"memory.percent": mem.percent,
                                  "memory.used_bytes": float(mem.used),
                                  "memory.available_bytes": float(mem.available),
                                  "memory.total_bytes": float(mem.total)})


def swap(sample: Sample, config: Config) -> CheckResult:
    sw = sample.swap
    if sw.total == 0:
        return CheckResult(Status.OK, "No swap configured", {"swap.total_bytes": 0.0})
    verdict = Threshold.of(config, "swap").judge("Swap", sw.percent)
    return CheckResult(*verdict, {"swap.percent": sw.percent, "swap.used_bytes": float(sw.used),
                                  "swap.total_bytes": float(sw.total)})


def load(sample: Sample, config: Config) -> CheckResult:
    one, five, fifteen = sample.load
    # The 5-minute average: the 1-minute one swings with every cron job.
    per_core = five / sample.cpu_count
    status, summary = Threshold.of(config, "load", unit="", digits=2).judge(
        "Load per core", per_core)
    detail = f"; 1/5/15 min {one:.2f} {five:.2f} {fifteen:.2f} on {sample.cpu_count} cores"
    return CheckResult(status, summary + detail, {
        "load.1": one, "load.5": five, "load.15": fifteen, "load.per_core": per_core,
        "cpu.count": float(sample.cpu_count)})


def disk(sample: Sample, config: Config) -> CheckResult:
    if not sample.disks:
        return CheckResult(Status.UNKNOWN, "No mounts to check: all are ignored "
                                           "(see ignore_mounts and ignore_fstypes)")
    threshold = Threshold.of(config, "disk")
    _, verdict = worst([(d.percent, threshold.judge(f"Disk {d.mount}", d.percent))
                        for d in sample.disks])
    metrics: dict[str, float] = {}
    for d in sample.disks:
        metrics[f"disk.{d.mount}.percent"] = d.percent
        metrics[f"disk.{d.mount}.free_bytes"] = float(d.free)
    return CheckResult(verdict.status,
                       f"{verdict.summary}; fullest of {plural(len(sample.disks), 'mount')}",
                       metrics)


def disk_units(sample: Sample) -> dict[str, Unit]:
    """The disk check's metrics are named after the mounts of the reading."""
    units = {}
    for d in sample.disks:
        units[f"disk.{d.mount}.percent"] = Unit.PERCENT
        units[f"disk.{d.mount}.free_bytes"] = Unit.BYTES
    return units


def temperature(sample: Sample, config: Config) -> CheckResult:
    # Declared only where sensors were found, but they can vanish (a driver unloaded).
    if not sample.temperatures:
        return CheckResult(Status.OK, "No temperature sensors")
    threshold = Threshold.of(config, "temperature", unit="°C")
    _, verdict = worst([(t.current, threshold.judge(f"Temperature {t.name}", t.current))
                        for t in sample.temperatures])
    metrics = {f"temperature.{t.name}": t.current for t in sample.temperatures}
    metrics["temperature.max"] = max(t.current for t in sample.temperatures)
    return CheckResult(verdict.status, verdict.summary, metrics)


P, B = Unit.PERCENT, Unit.BYTES
CHECKS: tuple[CheckSpec[Sample], ...] = (
    CheckSpec("cpu", "CPU", "Busy CPU percent across all cores since the previous reading.",
              cpu, {"cpu.percent": P}),
    CheckSpec("memory", "Memory", "Memory in use (not counting reclaimable cache).", memory,
              {"memory.percent": P, "memory.used_bytes": B, "memory.available_bytes": B,
               "memory.total_bytes": B}),
    CheckSpec("swap", "Swap", "Swap in use; ok when the host has none.", swap,
              {"swap.percent": P, "swap.used_bytes": B, "swap.total_bytes": B}),
    CheckSpec("load", "Load", "5-minute load average divided by the number of cores.", load,
              {"load.1": Unit.NONE, "load.5": Unit.NONE, "load.15": Unit.NONE,
               "load.per_core": Unit.NONE, "cpu.count": Unit.COUNT}),
    CheckSpec("disk", "Disks", "Used percent of every mount that is not ignored; the fullest "
                               "decides.", disk, disk_units),
    # In °C, which no Unit names: the summary says it.
    CheckSpec("temperature", "Temperature", "The hottest temperature sensor.", temperature),
)
