"""The check, job, actions, panels and Jarvis tools every DDNS plugin offers, over its
`Updater`: a plugin's hooks return these lists (the zoneedit and ddns plugins do), so both
behave and read alike (`DdnsHooks` is all of them as a plugin's hooks object). `provider`
names the service in titles and descriptions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    ParamError,
    PluginContext,
    Tool,
    hookimpl,
)
from nebula.helpers.ddns import rows, verdict
from nebula.helpers.ddns.schema import HOSTNAME
from nebula.helpers.ddns.updater import Updater
from nebula.helpers.schema import EMPTY_PARAMS, integer, params

UPDATE_PARAMS = params({
    "force": {"type": "boolean", "default": False,
              "description": "Send the update even where DNS already serves the public IP. "
                             "The minimum interval and backoff still apply."},
    "hosts": {"type": "array", "items": {"type": "string"},
              "description": "Only these configured hosts (default: all)."},
})
HOST_PARAMS = params({"host": {"type": "string", "pattern": HOSTNAME,
                               "description": "The host name (in a configured host's zone)."}},
                     required=["host"])
HISTORY_PARAMS = params({"limit": integer(20, "Most recent records to return.", minimum=1,
                                          maximum=500)})


def _min_intervals(runtime: Updater) -> dict[str, float]:
    return {host: t.min_interval for host, t in runtime.targets.items()}


def _providers(runtime: Updater) -> dict[str, str] | None:
    return ({host: t.provider.label for host, t in runtime.targets.items()}
            if runtime.show_provider else None)


def cycle_timeout(runtime: Updater) -> float:
    """Long enough for every host to be updated and verified, `concurrency` at a time."""
    s = runtime.settings
    per_host = s.timeout + s.verify_timeout + 1
    batches = 1 + -(-len(runtime.hosts) // max(1, s.concurrency))
    return 3 * s.timeout + per_host * batches * len(runtime.families)


async def verdict_of(runtime: Updater) -> CheckResult:
    obs = await runtime.observe()
    return verdict.records_match(obs, runtime.current_auth_failures(), await runtime.states(),
                                 _min_intervals(runtime))


async def record_rows(runtime: Updater) -> list[dict[str, Any]]:
    obs = await runtime.observe()
    return rows.records(obs, await runtime.states(), _min_intervals(runtime),
                        _providers(runtime))


def checks(runtime: Updater, provider: str) -> list[Check]:
    async def run() -> CheckResult:
        return await verdict_of(runtime)

    return [Check(name="records", run=run, title="Records match public IP",
                  description="Every configured host's A (and AAAA) record, as the "
                              "resolvers serve it, equals the public IP the echo services "
                              f"agree on; {provider} accepts our credentials.",
                  interval=runtime.settings.interval,
                  timeout=3 * runtime.settings.timeout + 5)]


def jobs(runtime: Updater) -> list[Job]:
    async def run() -> None:
        await runtime.sync(trigger="schedule")

    return [Job(name="sync", run=run, interval=runtime.settings.interval,
                timeout=cycle_timeout(runtime))]


def actions(runtime: Updater, provider: str) -> list[Action]:
    async def update(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.sync(force=params.get("force", False), only=params.get("hosts"),
                                  trigger="action")

    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.observe()).public_ip()

    async def plan_add(params: Mapping[str, Any]) -> dict[str, Any]:
        host = params["host"].lower().rstrip(".")
        if host in runtime.targets:
            raise ParamError("host", f"{host} is kept already")
        like = runtime.holder(host)
        if like is None:
            raise ParamError("host", f"no configured host's zone holds {host}")
        return {"host": host, "provider": like.provider.label, "like": like.host,
                "families": [f"ipv{f}" for f in runtime.families],
                "steps": [f"keep {host} (remembered in the plugin's store, beside the "
                          f"configured hosts) at {like.provider.label}, as {like.host}",
                          "set its record to the public IP and wait until DNS serves it"]}

    async def add(plan: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"host": plan["host"], "results": await runtime.add_host(plan["host"])}
        except ValueError as exc:
            raise ParamError("host", str(exc)) from None

    async def plan_remove(params: Mapping[str, Any]) -> dict[str, Any]:
        host = params["host"].lower().rstrip(".")
        if host not in await runtime.added():
            raise ParamError("host", f"{host} is in the plugin's config: remove it there"
                             if host in runtime.targets else f"{host} was not added here")
        target = runtime.targets[host]
        return {"host": host, "provider": target.provider.label,
                "steps": [f"delete the records of {host} at {target.provider.label} (where "
                          "its protocol can) and stop keeping it"]}

    async def remove(plan: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"host": plan["host"], "results": await runtime.remove_host(plan["host"])}
        except ValueError as exc:
            raise ParamError("host", str(exc)) from None

    name = runtime.ctx.name
    return [
        Action(name="add_host", run=add, title="Keep one more host",
               description=f"Add a host in a configured host's zone at {provider}, set "
                           "its record to the public IP and verify it through DNS; kept "
                           "from then on beside the configured hosts (needs approval). A "
                           "failed add leaves nothing behind.",
               params=HOST_PARAMS, destructive=True, prepare=plan_add,
               timeout=cycle_timeout(runtime)),
        Action(name="remove_host", run=remove, title="Stop keeping an added host",
               description="Delete the records of a host added by add_host (where the "
                           "provider's protocol can) and stop keeping it (needs approval).",
               params=HOST_PARAMS, destructive=True, prepare=plan_remove,
               timeout=3 * runtime.settings.timeout + 5),
        Action(name="update", run=update, title=f"Update {provider} now",
               description="Compare every host with the public IP now and update those that "
                           f"differ (all with force). Rate-limited: {provider}'s minimum "
                           "interval and any backoff still apply.",
               params=UPDATE_PARAMS, destructive=False, timeout=cycle_timeout(runtime)),
        Action(name="public_ip", run=public_ip, title="Public IP",
               description="The public IP the echo services agree on (read-only), with each "
                           f"service's answer. Other plugins follow the {name}.public_ip "
                           "event instead, sent when it changes.",
               params=EMPTY_PARAMS, read_only=True,
               timeout=3 * runtime.settings.timeout + 5),
    ]


def panels(runtime: Updater, provider: str) -> list[Panel]:
    async def history() -> list[dict[str, Any]]:
        return await runtime.history(limit=100)

    async def records() -> list[dict[str, Any]]:
        return await record_rows(runtime)

    return [
        Panel(name="history", kind="table", title=f"{provider} updates",
              description=f"Every update request sent to {provider}, newest first.",
              data=history, fields=rows.history_fields(provider, runtime.show_provider)),
        Panel(name="records", kind="table", title="Dynamic DNS records",
              description="Each host's record as DNS serves it, against the public IP.",
              data=records, fields=rows.record_fields(provider, runtime.show_provider)),
    ]


def tools(runtime: Updater, provider: str) -> list[Tool]:
    async def public_ip(params: Mapping[str, Any]) -> dict[str, Any]:
        return (await runtime.observe()).public_ip()

    async def record_status(params: Mapping[str, Any]) -> dict[str, Any]:
        found = await verdict_of(runtime)
        return {"status": found.status.value, "summary": found.summary,
                "records": await record_rows(runtime)}

    async def history(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return await runtime.history(limit=int(params.get("limit", 20)))

    return [
        Tool(name="public_ip", params=EMPTY_PARAMS, run=public_ip,
             description="The public IPv4 (and IPv6) address the echo services agree on, "
                         "with each service's answer."),
        Tool(name="record_status", params=EMPTY_PARAMS, run=record_status,
             description=f"Whether each {provider} host's DNS record serves the public IP, "
                         "and why not (rate limit, bad credentials, echo services "
                         "disagreeing)."),
        Tool(name="update_history", params=HISTORY_PARAMS, run=history,
             description=f"The most recent {provider} update requests and their answers."),
    ]


class DdnsHooks:
    """The hooks of a DDNS plugin, ready-made: its hooks module holds
    `hooks = DdnsHooks("ZoneEdit", build, config_problems)` and its manifest names it
    (`hooks="pkg.hooks:hooks"`). `build(ctx)` returns the `Updater` (the runtime, closed by
    the core when the plugin stops); `problems(config)` is the plugin's
    `nebula_validate_config`."""

    def __init__(self, provider: str, build: Callable[[PluginContext], Updater],
                 problems: Callable[[Mapping[str, Any]], list[tuple[str, str]]]) -> None:
        self.provider = provider
        self._build = build
        self._problems = problems

    @hookimpl
    def nebula_validate_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        return self._problems(config)

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> Updater:
        return self._build(ctx)

    @hookimpl
    def nebula_checks(self, runtime: Updater) -> list[Check]:
        return checks(runtime, self.provider)

    @hookimpl
    def nebula_jobs(self, runtime: Updater) -> list[Job]:
        return jobs(runtime)

    @hookimpl
    def nebula_actions(self, runtime: Updater) -> list[Action]:
        return actions(runtime, self.provider)

    @hookimpl
    def nebula_panels(self, runtime: Updater) -> list[Panel]:
        return panels(runtime, self.provider)

    @hookimpl
    def nebula_tools(self, runtime: Updater) -> list[Tool]:
        return tools(runtime, self.provider)
