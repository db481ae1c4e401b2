"""The `system` plugin's hooks: they declare checks, panels, tools and an action that all
read the one sampler `nebula_startup` returns (the plugin's runtime)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema

from nebula.api import Action, Check, CheckResult, Panel, PluginContext, Tool, hookimpl
from nebula.helpers.checks import CheckSpec
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_system import rows
from nebula_system.checks import CHECKS
from nebula_system.coordinator import Sampler
from nebula_system.readings import Sample
from nebula_system.schema import config_problems, top_processes_params


def _reading(sampler: Sampler, render: Callable[[Sample], Any]) -> Callable[[], Awaitable[Any]]:
    async def data() -> Any:
        return render(await sampler.read())

    return data


def _judge(sampler: Sampler, spec: CheckSpec[Sample],
           config: Mapping[str, Any]) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        return spec.evaluate(await sampler.read(), config)

    return run


def _query(sampler: Sampler,
           render: Callable[[Sample], Any]) -> Callable[[Mapping[str, Any]], Awaitable[Any]]:
    """A read-only tool without parameters: the same reading as a panel."""
    data = _reading(sampler, render)

    async def run(params: Mapping[str, Any]) -> Any:
        return await data()

    return run


def _top_processes(sampler: Sampler,
                   params_schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any]],
                                                                 Awaitable[Any]]:
    defaults = params_schema["properties"]

    async def run(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        # The action runner validates its requests, but a Jarvis tool call may not be.
        jsonschema.validate(dict(params), params_schema)
        by = params.get("by", defaults["by"]["default"])
        n = params.get("n", defaults["n"]["default"])
        return rows.processes((await sampler.read()).top(by, n))

    return run


# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Sampler:
    sampler = Sampler.from_config(ctx.config, log=ctx.log)
    # Primes the CPU, process and network baselines, and shows whether the host has
    # temperature sensors before the checks are declared.
    await sampler.read()
    return sampler


# --- contributions -----------------------------------------------------------------------


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: Sampler) -> list[Check]:
    latest = runtime.latest
    has_sensors = latest is not None and bool(latest.temperatures)
    return [
        Check(name=spec.name, run=_judge(runtime, spec, ctx.config),
              title=spec.title, description=spec.description, interval=ctx.config["interval"],
              units=spec.units_for(latest))
        for spec in CHECKS
        if spec.name != "temperature" or has_sensors
    ]


@hookimpl
def nebula_panels(ctx: PluginContext, runtime: Sampler) -> list[Panel]:
    top_n = ctx.config["top_n"]
    return [
        Panel(name="overview", kind="keyvalue", title="System",
              description="Host name, uptime, CPU count, headline usage and load.",
              data=_reading(runtime, rows.overview), fields=rows.OVERVIEW_FIELDS),
        Panel(name="usage", kind="timeseries", title="CPU and memory",
              description=f"CPU and memory percent over the last {runtime.history_size} "
                          "readings.",
              data=_reading(runtime, lambda _: rows.usage(runtime.history())),
              fields=rows.USAGE_FIELDS),
        Panel(name="disks", kind="table", title="Disks",
              description="Every mount the disk check covers.",
              data=_reading(runtime, rows.disks), fields=rows.DISK_FIELDS),
        Panel(name="network", kind="table", title="Network",
              description="Throughput per interface between the last two readings.",
              data=_reading(runtime, rows.interfaces), fields=rows.INTERFACE_FIELDS),
        Panel(name="processes", kind="table", title="Top processes",
              description=f"The {top_n} processes using the most CPU.",
              data=_reading(runtime, lambda s: rows.processes(s.top("cpu", top_n))),
              fields=rows.PROCESS_FIELDS),
    ]


@hookimpl
def nebula_tools(ctx: PluginContext, runtime: Sampler) -> list[Tool]:
    params = top_processes_params(ctx.config["top_n"])
    return [
        Tool(name="system_summary",
             description="Current host headline numbers: CPU, memory and swap percent, load, "
                         "uptime, fullest disk, hottest temperature sensor.",
             params=EMPTY_PARAMS, run=_query(runtime, rows.summary)),
        Tool(name="top_processes",
             description="The processes using the most CPU or memory, with pid, name, user, "
                         "cpu_percent (of one core), memory_percent and memory_rss (bytes).",
             params=params, run=_top_processes(runtime, params)),
        Tool(name="disk_usage",
             description="Size, used, free (bytes) and used percent of every mounted disk.",
             params=EMPTY_PARAMS, run=_query(runtime, rows.disks)),
    ]


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: Sampler) -> list[Action]:
    params = top_processes_params(ctx.config["top_n"])
    return [
        Action(name="top_processes", title="Top processes",
               description="List the processes using the most CPU or memory (read-only).",
               params=params, run=_top_processes(runtime, params), destructive=False),
    ]
