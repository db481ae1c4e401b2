"""The caddy plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Panel,
    PluginContext,
    Status,
    Subscription,
    Tool,
    hookimpl,
)
from nebula.helpers.net import HTTPFailure
from nebula.helpers.schema import EMPTY_PARAMS
from nebula.helpers.tlscert import CertState
from nebula_caddy import checks, rows
from nebula_caddy.coordinator import Runtime, Snapshot
from nebula_caddy.schema import (
    ADD_SITE_PARAMS,
    REMOVE_SITE_PARAMS,
    VALIDATE_PARAMS,
    config_problems,
)

Params = Mapping[str, Any]


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Runtime:
    return Runtime(ctx)


def _timeout(runtime: Runtime) -> float:
    return 4 * runtime.config["timeout"] + 5


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    config = runtime.config

    def on_snapshot(verdict: Callable[[Snapshot], CheckResult]
                    ) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            try:
                snap = await runtime.state.refresh()
            except HTTPFailure as exc:
                return CheckResult(Status.CRITICAL, str(exc))
            return verdict(snap)

        return run

    async def certificates() -> CheckResult:
        try:
            states = await runtime.certificates.get()
        except HTTPFailure as exc:
            return CheckResult(Status.UNKNOWN, f"cannot list the sites: {exc}")
        return checks.certificates(states, time.time(), config)

    return [
        Check("admin", on_snapshot(checks.admin), "Caddy admin API",
              "The admin API answers and a config is loaded.", interval=config["interval"],
              timeout=_timeout(runtime)),
        Check("upstreams", on_snapshot(checks.upstreams), "Caddy upstreams",
              "Every site's upstreams accept connections from the agent and Caddy counts "
              "no recent failures.", interval=config["interval"], timeout=_timeout(runtime)),
        Check("certificates", certificates, "Site certificates",
              "Each HTTPS site's certificate, fetched on the wire with its name: trusted, "
              "and more than cert_warning of its lifetime left.",
              interval=config["interval"], timeout=_timeout(runtime)),
    ]


@hookimpl
def nebula_actions(runtime: Runtime) -> list[Action]:
    timeout = _timeout(runtime)

    async def apply(plan: Params) -> Any:
        return await runtime.apply(plan)

    return [
        Action("add_site", apply, "Add a reverse-proxy site",
               "Serve a host name through Caddy, forwarding to the given upstreams "
               "(needs approval; refused if Caddy's config changed since the plan).",
               ADD_SITE_PARAMS, destructive=True, timeout=timeout, prepare=runtime.plan_add),
        Action("remove_site", apply, "Remove a site",
               "Stop serving a host name in Caddy (needs approval).", REMOVE_SITE_PARAMS,
               destructive=True, timeout=timeout, prepare=runtime.plan_remove),
        Action("reload", apply, "Reload from the Caddyfile",
               "Adapt the configured Caddyfile and run it instead of the current config; "
               "the plan lists the sites it adds, removes and changes (needs approval).",
               EMPTY_PARAMS, destructive=True, timeout=timeout, prepare=runtime.plan_reload),
        Action("validate", runtime.validate, "Validate a Caddyfile",
               "Adapt a Caddyfile (the configured one, or text given) with the running "
               "Caddy's own adapter and show what it would change; applies nothing.",
               VALIDATE_PARAMS, read_only=True, timeout=timeout),
        Action("rollback", apply, "Roll back the last change",
               "Put back the config from before the last change made here (needs "
               "approval; one step).", EMPTY_PARAMS, destructive=True, timeout=timeout,
               prepare=runtime.plan_rollback),
    ]


async def _certs(runtime: Runtime) -> Mapping[str, CertState]:
    try:
        return await runtime.certificates.get()
    except HTTPFailure:
        return {}


@hookimpl
def nebula_panels(runtime: Runtime) -> list[Panel]:
    async def site_rows() -> list[dict[str, Any]]:
        snap = await runtime.snapshot()
        return rows.site_rows(runtime, snap, await _certs(runtime), time.time())

    async def upstream_rows() -> list[dict[str, Any]]:
        return (await runtime.snapshot()).upstream_rows()

    async def tls_rows() -> list[dict[str, Any]]:
        return rows.tls_rows(await _certs(runtime), time.time())

    return [
        Panel("sites", "table", site_rows, "Caddy sites",
              "Every host Caddy serves: upstreams and their health, TLS, the container "
              "behind each upstream.", rows.SITE_FIELDS),
        Panel("upstreams", "table", upstream_rows, "Caddy upstreams",
              "Every upstream with Caddy's counters and whether the agent reaches it.",
              rows.UPSTREAM_FIELDS),
        Panel("tls", "table", tls_rows, "Site certificates",
              "Each HTTPS site's certificate as a client sees it.", rows.TLS_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: Runtime) -> list[Tool]:
    async def list_sites(params: Params) -> list[dict[str, Any]]:
        snap = await runtime.snapshot()
        return rows.site_rows(runtime, snap, await _certs(runtime), time.time())

    async def upstream_health(params: Params) -> dict[str, Any]:
        snap = await runtime.snapshot()
        verdict = checks.upstreams(snap)
        return {"status": verdict.status.value, "summary": verdict.summary,
                "upstreams": snap.upstream_rows()}

    return [
        Tool("list_sites", "Every site Caddy serves: host, upstreams, upstream health, "
                           "TLS state and hours left on its certificate.", EMPTY_PARAMS,
             run=list_sites),
        Tool("upstream_health", "Whether each Caddy upstream is reachable and how many "
                                "failures Caddy counts, with a summary.", EMPTY_PARAMS,
             run=upstream_health),
    ]


@hookimpl
def nebula_subscriptions(runtime: Runtime) -> list[Subscription]:
    # The docker plugin publishes every container change; its name is how a compose
    # upstream (`app:8080`) is matched to a container.
    return [Subscription("containers", "docker.container.*", runtime.on_container_event)]
