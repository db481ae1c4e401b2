"""`/metrics` in the Prometheus text format, from a registry owned by the prometheus
built-in plugin's runtime (one per agent).

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

`prometheus_client` (about 1.5 MB resident) is imported on the first scrape, by
`nebula.builtins.prometheus.registry`; until then check durations are counted here, in the
histogram's buckets.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from nebula.agent import Agent
    from nebula.health import CheckState

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


DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Durations:
    """Check run times by (check, plugin): a count per bucket of DURATION_BUCKETS (the last
    one +Inf, not cumulative) and the sum, as a Prometheus histogram keeps them."""

    series: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    sums: dict[tuple[str, str], float] = field(default_factory=dict)

    def observe(self, check: str, plugin: str, seconds: float) -> None:
        key = (check, plugin)
        counts = self.series.setdefault(key, [0.0] * (len(DURATION_BUCKETS) + 1))
        counts[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1  # le: upper bound inclusive
        self.sums[key] = self.sums.get(key, 0.0) + seconds


class Metrics:
    """The plugin's runtime: counts check durations from its start, serves the scrape."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.durations = Durations()
        self._registry: CollectorRegistry | None = None
        agent.health.listeners.append(self.observe)

    async def aclose(self) -> None:
        if self.observe in self.agent.health.listeners:
            self.agent.health.listeners.remove(self.observe)

    def observe(self, cs: CheckState) -> None:
        self.durations.observe(cs.check.name, cs.plugin, cs.duration_ms / 1000)

    async def handler(self, _request: web.Request) -> web.Response:
        from nebula.builtins.prometheus import registry  # prometheus_client: first scrape

        if (uptime := self.agent.runtime("uptime")) is not None:
            await uptime.fresh_gauges()  # the uptime built-in's, read by the collector
        if self._registry is None:
            self._registry = registry.build(self.agent, self.durations)
        body, content_type = registry.exposition(self._registry)
        return web.Response(body=body, headers={"Content-Type": content_type})
