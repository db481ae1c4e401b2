"""The prometheus plugin's hooks: its runtime counts check durations; `/metrics` is a
top-level route of the panel's surface, tagged so a scraper without a token gets 401 (not
the sign-in page)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nebula.hookspecs import hookimpl

if TYPE_CHECKING:
    from nebula.builtins.prometheus.metrics import Metrics
    from nebula.context import PluginContext
    from nebula.surfaces import Endpoint


@hookimpl
def nebula_startup(ctx: PluginContext) -> Metrics:
    from nebula.builtins import agent_of
    from nebula.builtins.prometheus.metrics import Metrics

    return Metrics(agent_of(ctx))


@hookimpl
def nebula_web_pages(runtime: Metrics) -> Iterable[Endpoint]:
    from nebula.http.schemas import METRICS_TEXT
    from nebula.surfaces import Endpoint

    return [Endpoint("GET", "/metrics", runtime.handler, "Prometheus metrics", tag="metrics",
                     response=METRICS_TEXT)]
