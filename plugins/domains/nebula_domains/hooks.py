"""The domains plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned."""

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
    Subscription,
    Tool,
    hookimpl,
)
from nebula.helpers.packages import require
from nebula_domains import report
from nebula_domains.coordinator import Monitor
from nebula_domains.hosts import check_name, config_problems
from nebula_domains.schema import HOST_PARAMS, WHY_PARAMS

# Not imported here: dnspython loads with the first question (resolve.py);
# an install without it still fails the start, naming the extra.
require("dns")

# How long the table waits for hosts never checked before showing them as pending.
TABLE_WAIT = 5.0


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Monitor:
    return Monitor(ctx.config, ctx.call_action, ctx.peer_config, ctx.log)


@hookimpl
def nebula_checks(runtime: Monitor) -> list[Check]:
    interval = runtime.config["interval"]
    # A check may queue behind others for a slot: its timeout covers the whole queue.
    rounds = math.ceil(len(runtime.hosts) / runtime.config["concurrency"])
    timeout = runtime.host_budget * rounds + 5
    taken: set[str] = set()

    def run_for(host: str) -> Any:
        async def run() -> CheckResult:
            found = await runtime.report(host)
            return CheckResult(found.status, found.summary(), found.metrics())
        return run

    return [Check(name=check_name(host, taken), run=run_for(host), title=host,
                  description=f"DNS, HTTPS and TLS certificate of {host}.",
                  interval=interval, timeout=timeout)
            for host in runtime.hosts]


@hookimpl
def nebula_subscriptions(runtime: Monitor) -> list[Subscription]:
    # A DDNS plugin publishes its public IP under the name of its action; with "auto" the
    # handler keeps only the events of the plugin that speaks for it now.
    if not any(h.wants_public_ip for h in runtime.hosts.values()):
        return []
    name = runtime.config["public_ip_action"]
    return [Subscription(name="public_ip", topic="*.public_ip" if name == "auto" else name,
                         handler=runtime.on_public_ip)]


@hookimpl
def nebula_panels(runtime: Monitor) -> list[Panel]:
    async def table() -> list[dict[str, Any]]:
        latest = await runtime.snapshot(wait=TABLE_WAIT)
        return [found.row() if found else report.pending(host)
                for host, found in latest.items()]

    return [Panel(name="table", kind="table", title="Domains",
                  description="Every watched host: DNS answer, HTTPS status and latency, "
                              "HTTP→HTTPS redirect, certificate days left.",
                  data=table, fields=report.TABLE_FIELDS)]


@hookimpl
def nebula_tools(runtime: Monitor) -> list[Tool]:
    interval = runtime.config["interval"]

    async def check_domain(params: Mapping[str, Any]) -> dict[str, Any]:
        # The action runner validates its requests, but a Jarvis tool call may not be.
        jsonschema.validate(dict(params), HOST_PARAMS)
        return (await runtime.report(str(params["host"]).lower().rstrip("."), 0)).public()

    async def why_failing(params: Mapping[str, Any]) -> dict[str, Any]:
        jsonschema.validate(dict(params), WHY_PARAMS)
        if host := params.get("host"):
            found = [await runtime.report(str(host).lower().rstrip("."), interval)]
        else:
            found = [r for r in (await runtime.snapshot(wait=TABLE_WAIT)).values() if r]
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
