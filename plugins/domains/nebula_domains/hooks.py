"""The domains plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jsonschema

from nebula.api import (
    Check,
    CheckResult,
    Panel,
    PluginContext,
    Tool,
)
from nebula_domains import report
from nebula_domains.monitor import Monitor
from nebula_domains.schema import check_name, problems

# One Monitor per start, keyed by its context (kept alive by the entry).
_monitors: dict[int, tuple[PluginContext, Monitor]] = {}
# How long the table waits for hosts never checked before showing them as pending.
TABLE_WAIT = 5.0

HOST_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["host"],
    "properties": {"host": {"type": "string", "description": "A configured host name."}},
}
WHY_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"host": {"type": "string",
                            "description": "A configured host name; without it, every host "
                                           "that is not ok."}},
}


def _monitor(ctx: PluginContext) -> Monitor:
    entry = _monitors.get(id(ctx))
    if entry is None:
        entry = _monitors[id(ctx)] = (ctx, Monitor(ctx.config, ctx.call_action))
    return entry[1]



def nebula_startup(ctx: PluginContext) -> None:
    if found := problems(ctx.config):
        raise ValueError("; ".join(found))
    _monitors[id(ctx)] = (ctx, Monitor(ctx.config, ctx.call_action))


async def nebula_shutdown(ctx: PluginContext) -> None:
    entry = _monitors.pop(id(ctx), None)
    if entry is not None:
        await entry[1].close()


def nebula_checks(ctx: PluginContext) -> list[Check]:
    monitor = _monitor(ctx)
    interval = ctx.config["interval"]
    # A check may queue behind others for a slot: its timeout covers the whole queue.
    rounds = math.ceil(len(monitor.hosts) / ctx.config["concurrency"])
    timeout = monitor.host_budget * rounds + 5
    taken: set[str] = set()

    def run_for(host: str) -> Any:
        async def run() -> CheckResult:
            found = await monitor.report(host, max_age=interval / 2)
            return CheckResult(found.status, found.summary(), found.metrics())
        return run

    return [Check(name=check_name(host, taken), run=run_for(host), title=host,
                  description=f"DNS, HTTPS and TLS certificate of {host}.",
                  interval=interval, timeout=timeout)
            for host in monitor.hosts]


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    monitor = _monitor(ctx)

    async def table() -> list[dict[str, Any]]:
        latest = await monitor.snapshot(wait=TABLE_WAIT)
        return [found.row() if found else report.pending(host)
                for host, found in latest.items()]

    return [Panel(name="table", kind="table", title="Domains",
                  description="Every watched host: DNS answer, HTTPS status and latency, "
                              "HTTP→HTTPS redirect, certificate days left.",
                  data=table, fields=report.TABLE_FIELDS)]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    monitor = _monitor(ctx)
    interval = ctx.config["interval"]

    async def check_domain(params: Mapping[str, Any]) -> dict[str, Any]:
        # The action runner validates its requests, but a Jarvis tool call may not be.
        jsonschema.validate(dict(params), HOST_PARAMS)
        return (await monitor.report(str(params["host"]).lower().rstrip("."), 0)).public()

    async def why_failing(params: Mapping[str, Any]) -> dict[str, Any]:
        jsonschema.validate(dict(params), WHY_PARAMS)
        if host := params.get("host"):
            found = [await monitor.report(str(host).lower().rstrip("."), interval)]
        else:
            found = [r for r in (await monitor.snapshot(wait=TABLE_WAIT)).values() if r]
        failing = [r for r in found if r.problems]
        return {
            "checked": [r.host for r in found],
            "failing": [{"host": r.host, "status": r.status.value, "summary": r.summary(),
                         "problems": [p.public() for p in r.ordered_problems()]}
                        for r in failing],
        }

    return [
        Tool(name="check_domain", params=HOST_PARAMS, run=check_domain,
             description="Check one configured host now (read-only): each resolver's DNS "
                         "answer, HTTPS status, latency and redirects, the HTTP→HTTPS "
                         "redirect, and the certificate (days left, issuer, validity)."),
        Tool(name="why_failing", params=WHY_PARAMS, run=why_failing,
             description="Why a host (or every failing host) is not ok: each problem with "
                         "its area (dns, https, http, tls), message and the usual cause."),
    ]
