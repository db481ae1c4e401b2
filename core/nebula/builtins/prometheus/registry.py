"""The Prometheus side of `/metrics`: the collectors and the registry, imported on the
first scrape (nebula.builtins.prometheus.metrics) so an agent nobody scrapes never loads
prometheus_client.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from nebula.builtins.prometheus.metrics import (
    CHECK_LABELS,
    DURATION_BUCKETS,
    Durations,
    family_name,
    unit_of,
)
from nebula.contributions import Status
from nebula.plugins import PluginState

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.health import CheckState

PLUGIN_STATES = tuple(PluginState)
# The `le` labels as prometheus_client's own Histogram writes them.
_LE = [floatToGoString(b) for b in DURATION_BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]


def check_values(checks: Mapping[str, CheckState]) -> Iterator[Metric]:
    """Every numeric value of every check's latest result, one family per unit."""
    families: dict[str, GaugeMetricFamily] = {}
    for cs in checks.values():
        if cs.last is None:
            continue
        seen: set[tuple[str, str]] = set()
        for key, raw in cs.last.metrics.items():
            try:
                value = float(raw)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                continue
            label, unit, scale = unit_of(key)
            name = family_name(unit)
            if (name, label) in seen:  # `x_ms` next to `x_seconds`: keep both, unmerged
                label = key
            seen.add((name, label))
            if name not in families:
                what = unit.help if unit else "with no known unit"
                families[name] = GaugeMetricFamily(
                    name, f"A value a check reported, {what}; `metric` is its key",
                    labels=CHECK_LABELS)
            families[name].add_metric([cs.plugin, cs.check.name, label], value * scale)
    yield from families.values()


class AgentCollector(Collector):
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("nebula_info", "Agent version", labels=["version"])
        info.add_metric([self.agent.version], 1)
        yield info
        checks = self.agent.health.checks
        status = GaugeMetricFamily(
            "nebula_check_status",
            "Damped check state: 0 ok, 1 warning, 2 critical, 3 unknown",
            labels=["check", "plugin"])
        last_run = GaugeMetricFamily(
            "nebula_check_last_run_timestamp_seconds", "When the check last ran (Unix time)",
            labels=["check", "plugin"])
        for cs in checks.values():
            status.add_metric([cs.check.name, cs.plugin], (cs.state or Status.UNKNOWN).exit_code)
            if cs.last_ts is not None:
                last_run.add_metric([cs.check.name, cs.plugin], cs.last_ts)
        yield status
        yield last_run
        yield from check_values(checks)
        if (uptime := self.agent.runtime("uptime")) is not None:
            ratio = GaugeMetricFamily(
                "nebula_check_uptime_ratio", "Time ok over time ok, warning or critical in "
                "the window (0-1; unknown and maintenance count for neither)",
                labels=["check", "plugin", "window"])
            for (name, window), value in sorted(uptime.gauges.items()):
                if name in checks:
                    ratio.add_metric([name, checks[name].plugin, window], value)
            yield ratio
        plugins = GaugeMetricFamily("nebula_plugin_state", "1 for the plugin's current state",
                                    labels=["plugin", "state"])
        for record in self.agent.manager.records.values():
            for state in PLUGIN_STATES:
                plugins.add_metric([record.name, state], float(record.state == state))
        yield plugins
        actions = CounterMetricFamily("nebula_action_runs", "Action runs by outcome",
                                      labels=["action", "outcome"])
        for (action, outcome), count in sorted(self.agent.actions.counts.items()):
            actions.add_metric([action, outcome], count)
        yield actions


class DurationCollector(Collector):
    """The counted check durations as the histogram `nebula_check_duration_seconds`."""

    def __init__(self, durations: Durations) -> None:
        self.durations = durations

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily("nebula_check_duration_seconds", "Check run time",
                                       labels=["check", "plugin"])
        for key, counts in self.durations.series.items():
            cumulative, total = [], 0.0
            for le, count in zip(_LE, counts, strict=True):
                total += count
                cumulative.append((le, total))
            family.add_metric(list(key), cumulative, self.durations.sums[key])
        yield family


def build(agent: Agent, durations: Durations) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(agent))
    registry.register(DurationCollector(durations))
    # What the default registry has (process_*, python_*), in ours.
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text format and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
