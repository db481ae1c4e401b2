"""`/metrics` in the Prometheus text format, from a registry owned by one app.

Current states and check values are read at scrape time by a collector (nothing to keep in
sync); check durations go into a histogram as results arrive.

Check values: a check reports free-form keys (`memory.used_bytes`, `disk./home.percent`,
`temperature.coretemp`), some of which carry data (a mount, a sensor). Turning each key
into its own metric name would give names that come and go with mounts and plugins, so
they go into one family per unit instead, the key in a `metric` label: the unit is read
from the key's last word (`_bytes`, `_ms`, `.percent`, ...), the value converted to the
Prometheus base unit (seconds, bytes, a 0-1 ratio) and the word dropped from the label;
keys without a known unit go to the unitless `nebula_check_metric`. docs/prometheus.md
has the table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nebula.contributions import Status
from nebula.plugins import PluginState

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.health import CheckState

# `_created` series double every counter and histogram and nothing of ours reads them.
# The switch is process-wide in prometheus_client; the agent's process is ours.
disable_created_metrics()

PLUGIN_STATES = tuple(PluginState)
CHECK_METRIC = "nebula_check_metric"
CHECK_LABELS = ["plugin", "check", "metric"]


@dataclass(frozen=True)
class Unit:
    suffix: str  # of the family name: nebula_check_metric_<suffix>
    help: str


BYTES = Unit("bytes", "in bytes")
SECONDS = Unit("seconds", "in seconds")
RATIO = Unit("ratio", "as a ratio (0-1; percentages are divided by 100)")
RATE = Unit("bytes_per_second", "in bytes per second")
# Words a key may end with, and the factor to the base unit; longest first. "min" and "h"
# are left out on purpose: `latency.min` is a minimum, not minutes.
UNIT_WORDS: tuple[tuple[str, Unit, float], ...] = (
    ("bytes_per_second", RATE, 1.0),
    ("bytes_per_s", RATE, 1.0),
    ("bytes", BYTES, 1.0),
    ("milliseconds", SECONDS, 0.001),
    ("ms", SECONDS, 0.001),
    ("seconds", SECONDS, 1.0),
    ("s", SECONDS, 1.0),
    ("minutes", SECONDS, 60.0),
    ("hours", SECONDS, 3600.0),
    ("days", SECONDS, 86400.0),
    ("percent", RATIO, 0.01),
    ("pct", RATIO, 0.01),
    ("ratio", RATIO, 1.0),
    ("celsius", Unit("celsius", "in degrees Celsius"), 1.0),
)
_WORDS = re.compile(
    r"(?:^|[._])(" + "|".join(re.escape(w) for w, _, _ in UNIT_WORDS) + r")$")
_BY_WORD = {word: (unit, scale) for word, unit, scale in UNIT_WORDS}


def unit_of(key: str) -> tuple[str, Unit | None, float]:
    """(the key without its unit word, the unit or None, the factor to the base unit)."""
    found = _WORDS.search(key)
    if found is None:
        return key, None, 1.0
    unit, scale = _BY_WORD[found.group(1)]
    return key[:found.start()] or key, unit, scale


def family_name(unit: Unit | None) -> str:
    return f"{CHECK_METRIC}_{unit.suffix}" if unit else CHECK_METRIC


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


class Metrics:
    def __init__(self, agent: Agent) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(AgentCollector(agent))
        # What the default registry has (process_*, python_*), in ours.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.durations = Histogram(
            "nebula_check_duration_seconds", "Check run time", ["check", "plugin"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30))
        agent.health.on_result = self.observe

    def observe(self, cs: CheckState) -> None:
        self.durations.labels(cs.check.name, cs.plugin).observe(cs.duration_ms / 1000)

    async def handler(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
