"""The zoneedit plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    PluginContext,
    Tool,
)
from nebula_zoneedit import checks, rows
from nebula_zoneedit.schema import problems
from nebula_zoneedit.updater import Updater

# One Updater per start of the plugin, keyed by its context (which the entry keeps alive,
# so the id cannot be reused while the entry exists).
_updaters: dict[int, tuple[PluginContext, Updater]] = {}

UPDATE_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "force": {"type": "boolean", "default": False,
                  "description": "Send the update even where DNS already serves the public "
                                 "IP. The minimum interval and backoff still apply."},
        "hosts": {"type": "array", "items": {"type": "string"},
                  "description": "Only these configured hosts (default: all)."},
    },
}
EMPTY: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
HISTORY_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20,
                             "description": "Most recent records to return."}},
}


def _updater(ctx: PluginContext) -> Updater:
    entry = _updaters.get(id(ctx))
    if entry is None:
        entry = _updaters[id(ctx)] = (ctx, Updater(ctx))
    return entry[1]


def _cycle_timeout(config: Mapping[str, Any]) -> float:
    """Long enough for every host to be updated and verified one after another."""
    per_host = config["timeout"] + config["verify_timeout"] + 1
    return 3 * config["timeout"] + per_host * len(config["hosts"]) * (1 + config["ipv6"])


# --- configuration and lifecycle ---------------------------------------------------------



def nebula_startup(ctx: PluginContext) -> None:
    if found := problems(ctx.config):
        raise ValueError("; ".join(found))
    _updaters[id(ctx)] = (ctx, Updater(ctx))


def nebula_shutdown(ctx: PluginContext) -> None:
    _updaters.pop(id(ctx), None)


# --- contributions -----------------------------------------------------------------------


def nebula_checks(ctx: PluginContext) -> list[Check]:
    updater = _updater(ctx)
    interval = ctx.config["interval"]

    async def run() -> CheckResult:
        obs = await updater.observe(max_age=interval / 2)
        return checks.records_match(obs, updater.auth_failure, await updater.states())

    return [Check(name="records", run=run, title="Records match public IP",
                  description="Every configured host's A (and AAAA) record, as the "
                              "resolvers serve it, equals the public IP the echo services "
                              "agree on; ZoneEdit accepts our credentials.",
                  interval=interval, timeout=3 * ctx.config["timeout"] + 5)]


def nebula_jobs(ctx: PluginContext) -> list[Job]:
    updater = _updater(ctx)

    async def run() -> None:
        await updater.sync(trigger="schedule")

    return [Job(name="sync", run=run, interval=ctx.config["interval"],
                timeout=_cycle_timeout(ctx.config))]


def nebula_actions(ctx: PluginContext) -> list[Action]:
    updater = _updater(ctx)

    async def update(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await updater.sync(force=params.get("force", False), only=params.get("hosts"),
                                  trigger="action")

    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return rows.public_ip(await updater.observe(max_age=ctx.config["interval"] / 2))

    return [
        Action(name="update", run=update, title="Update ZoneEdit now",
               description="Compare every host with the public IP now and update those that "
                           "differ (all with force). Rate-limited: ZoneEdit's minimum "
                           "interval and any backoff still apply.",
               params=UPDATE_PARAMS, destructive=False, timeout=_cycle_timeout(ctx.config)),
        Action(name="public_ip", run=public_ip, title="Public IP",
               description="The public IP the echo services agree on (read-only), with each "
                           "service's answer. Other plugins read it through this action.",
               params=EMPTY, destructive=False, timeout=3 * ctx.config["timeout"] + 5),
    ]


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    updater = _updater(ctx)

    async def history() -> list[dict[str, Any]]:
        return await updater.history(limit=100)

    async def records() -> list[dict[str, Any]]:
        obs = await updater.observe(max_age=ctx.config["interval"] / 2)
        return rows.records(obs, await updater.states(), ctx.config["min_interval"])

    return [
        Panel(name="history", kind="table", title="ZoneEdit updates",
              description="Every update request sent to ZoneEdit, newest first.",
              data=history, fields=rows.HISTORY_FIELDS),
        Panel(name="records", kind="table", title="Dynamic DNS records",
              description="Each host's record as DNS serves it, against the public IP.",
              data=records, fields=rows.RECORD_FIELDS),
    ]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    updater = _updater(ctx)
    max_age = ctx.config["interval"] / 2

    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return rows.public_ip(await updater.observe(max_age=max_age))

    async def record_status(params: Mapping[str, Any]) -> dict[str, Any]:
        obs = await updater.observe(max_age=max_age)
        states = await updater.states()
        verdict = checks.records_match(obs, updater.auth_failure, states)
        return {"status": verdict.status.value, "summary": verdict.summary,
                "records": rows.records(obs, states, ctx.config["min_interval"])}

    async def history(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await updater.history(limit=int(params.get("limit", 20)))

    return [
        Tool(name="public_ip", params=EMPTY, run=public_ip,
             description="The public IPv4 (and IPv6) address the echo services agree on, "
                         "with each service's answer."),
        Tool(name="record_status", params=EMPTY, run=record_status,
             description="Whether each ZoneEdit host's DNS record serves the public IP, and "
                         "why not (rate limit, bad credentials, echo services disagreeing)."),
        Tool(name="update_history", params=HISTORY_PARAMS, run=history,
             description="The most recent ZoneEdit update requests and their answers."),
    ]
