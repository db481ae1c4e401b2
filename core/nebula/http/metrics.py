"""`/metrics` in the Prometheus text format, from a registry owned by one app.

Current states are read at scrape time by a collector (nothing to keep in sync); check
durations go into a histogram as results arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nebula.contributions import Status
from nebula.plugins import PluginState

if TYPE_CHECKING:
    from nebula.agent import Agent
    from nebula.health import CheckState

PLUGIN_STATES = tuple(PluginState)


class AgentCollector(Collector):
    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("nebula_info", "Agent version", labels=["version"])
        info.add_metric([self.agent.version], 1)
        yield info
        status = GaugeMetricFamily(
            "nebula_check_status",
            "Damped check state: 0 ok, 1 warning, 2 critical, 3 unknown",
            labels=["check", "plugin"])
        for cs in self.agent.health.checks.values():
            status.add_metric([cs.check.name, cs.plugin], (cs.state or Status.UNKNOWN).exit_code)
        yield status
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
        self.durations = Histogram(
            "nebula_check_duration_seconds", "Check run time", ["check"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30))
        agent.health.on_result = self.observe

    def observe(self, cs: CheckState) -> None:
        self.durations.labels(cs.check.name).observe(cs.duration_ms / 1000)

    async def handler(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
