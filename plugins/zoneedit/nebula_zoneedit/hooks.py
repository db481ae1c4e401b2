"""The zoneedit plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Job, Panel, PluginContext, Tool, hookimpl
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_zoneedit import checks, rows
from nebula_zoneedit.coordinator import Updater
from nebula_zoneedit.schema import HISTORY_PARAMS, UPDATE_PARAMS, config_problems

# Not imported here: dnspython loads with the first lookup (published.py);
# an install without it still fails the start, naming the extra.
require("dns")


def _cycle_timeout(config: Mapping[str, Any]) -> float:
    """Long enough for every host to be updated and verified one after another."""
    per_host = config["timeout"] + config["verify_timeout"] + 1
    return 3 * config["timeout"] + per_host * len(config["hosts"]) * (1 + config["ipv6"])


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Updater:
    return Updater(ctx)


@hookimpl
def nebula_checks(runtime: Updater) -> list[Check]:
    async def run() -> CheckResult:
        obs = await runtime.observe()
        return checks.records_match(obs, runtime.auth_failure, await runtime.states(),
                                   runtime.config["min_interval"])

    return [Check(name="records", run=run, title="Records match public IP",
                  description="Every configured host's A (and AAAA) record, as the "
                              "resolvers serve it, equals the public IP the echo services "
                              "agree on; ZoneEdit accepts our credentials.",
                  interval=runtime.config["interval"],
                  timeout=3 * runtime.config["timeout"] + 5)]


@hookimpl
def nebula_jobs(runtime: Updater) -> list[Job]:
    async def run() -> None:
        await runtime.sync(trigger="schedule")

    return [Job(name="sync", run=run, interval=runtime.config["interval"],
                timeout=_cycle_timeout(runtime.config))]


@hookimpl
def nebula_actions(runtime: Updater) -> list[Action]:
    async def update(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.sync(force=params.get("force", False), only=params.get("hosts"),
                                  trigger="action")

    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.observe()).public_ip()

    return [
        Action(name="update", run=update, title="Update ZoneEdit now",
               description="Compare every host with the public IP now and update those that "
                           "differ (all with force). Rate-limited: ZoneEdit's minimum "
                           "interval and any backoff still apply.",
               params=UPDATE_PARAMS, destructive=False,
               timeout=_cycle_timeout(runtime.config)),
        Action(name="public_ip", run=public_ip, title="Public IP",
               description="The public IP the echo services agree on (read-only), with each "
                           "service's answer. Other plugins follow the zoneedit.public_ip "
                           "event instead, sent when it changes.",
               params=EMPTY_PARAMS, read_only=True,
               timeout=3 * runtime.config["timeout"] + 5),
    ]


@hookimpl
def nebula_panels(runtime: Updater) -> list[Panel]:
    async def history() -> list[dict[str, Any]]:
        return await runtime.history(limit=100)

    async def records() -> list[dict[str, Any]]:
        obs = await runtime.observe()
        return rows.records(obs, await runtime.states(), runtime.config["min_interval"])

    return [
        Panel(name="history", kind="table", title="ZoneEdit updates",
              description="Every update request sent to ZoneEdit, newest first.",
              data=history, fields=rows.HISTORY_FIELDS),
        Panel(name="records", kind="table", title="Dynamic DNS records",
              description="Each host's record as DNS serves it, against the public IP.",
              data=records, fields=rows.RECORD_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: Updater) -> list[Tool]:
    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.observe()).public_ip()

    async def record_status(params: Mapping[str, Any]) -> dict[str, Any]:
        obs = await runtime.observe()
        states = await runtime.states()
        verdict = checks.records_match(obs, runtime.auth_failure, states,
                                       runtime.config["min_interval"])
        return {"status": verdict.status.value, "summary": verdict.summary,
                "records": rows.records(obs, states, runtime.config["min_interval"])}

    async def history(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.history(limit=int(params.get("limit", 20)))

    return [
        Tool(name="public_ip", params=EMPTY_PARAMS, run=public_ip,
             description="The public IPv4 (and IPv6) address the echo services agree on, "
                         "with each service's answer."),
        Tool(name="record_status", params=EMPTY_PARAMS, run=record_status,
             description="Whether each ZoneEdit host's DNS record serves the public IP, and "
                         "why not (rate limit, bad credentials, echo services disagreeing)."),
        Tool(name="update_history", params=HISTORY_PARAMS, run=history,
             description="The most recent ZoneEdit update requests and their answers."),
    ]
