"""The apps plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Field,
    Panel,
    PluginContext,
    Status,
    Subscription,
    Tool,
    hookimpl,
)
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_apps.coordinator import Runtime
from nebula_apps.schema import DEPLOY_PARAMS, REMOVE_PARAMS, STACK_PARAMS, config_problems

# Not imported here: the SDK loads with the first engine that answers (engine.client); an
# install without it still fails the start, naming the extra.
require("docker")

Params = Mapping[str, Any]
APP_FIELDS = (Field("app", "App"), Field("template", "Template"), Field("state", "Container"),
              Field("url", "URL"), Field("answer", "Answer"), Field("domain", "Domain"),
              Field("through_caddy", "Through Caddy",
                    description="the answer at https://<domain> through Caddy"),
              Field("certificate", "Certificate",
                    description="its domain's certificate as a client sees it at Caddy"),
              Field("database", "Database"),
              Field("database_answer", "Database answer",
                    description="connecting with the app's own credentials"),
              Field("volumes", "Volumes"),
              Field("deployed_at", "Deployed", "s"))
STACK_FIELDS = (Field("stack", "Stack"), Field("service", "Service"), Field("image", "Image"),
                Field("containers", "Containers"), Field("state", "State"),
                Field("drift", "Drift", description="how the engine differs from the file"))
TEMPLATE_FIELDS = (Field("name", "Template"), Field("title", "Title"), Field("image", "Image"),
                   Field("port", "Port"), Field("source", "File"))


def _answers(answer: str) -> bool:
    """"HTTP <status>" below 500: the app (or Caddy in front of it) answered."""
    return answer.startswith("HTTP ") and int(answer.split()[1]) < 500


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
def nebula_startup(ctx: PluginContext) -> Runtime:
    return Runtime(ctx)


@hookimpl
def nebula_subscriptions(runtime: Runtime) -> list[Subscription]:
    # The DDNS plugins' public IP, which apps' domains must resolve to (the dns check).
    return [Subscription(name="public_ip", topic="*.public_ip",
                         handler=runtime.on_public_ip)]


async def _templates(runtime: Runtime) -> dict[str, Any]:
    catalogue = await runtime.catalogue.get()
    return {"templates": [t.public() for _, t in sorted(catalogue.templates.items())],
            "problems": catalogue.problems}


async def _per_app(runtime: Runtime, probe: Callable[[str, Any], Awaitable[Any]],
                   good: str) -> CheckResult:
    """One check over every app that `probe` has something to say about (None: nothing),
    as bad as the worst; the summary names each app not ok."""
    found = {app: result for app, record in sorted((await runtime.apps()).items())
             if (result := await probe(app, record)) is not None}
    bad = {app: r for app, r in found.items() if r["status"] != "ok"}
    metrics = {"apps": float(len(found)), "failing": float(len(bad))}
    if not bad:
        return CheckResult(Status.OK, f"{len(found)} {good}", metrics)
    worst = Status.CRITICAL if any(r["status"] == "critical" for r in bad.values()) \
        else Status.WARNING
    return CheckResult(worst, "; ".join(f"{app}: {r['text']}" for app, r in bad.items()),
                       metrics)


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    async def health() -> CheckResult:
        rows = await runtime.status()
        bad = [f"{r['app']}: container {r['state'] or 'missing'}, {r['answer']}"
               + (f", through Caddy {r['through_caddy']}" if r["through_caddy"] else "")
               for r in rows if r["state"] != "running" or not _answers(r["answer"])
               or (r["through_caddy"] is not None and not _answers(r["through_caddy"]))]
        metrics = {"apps": float(len(rows)), "unhealthy": float(len(bad))}
        if bad:
            return CheckResult(Status.CRITICAL, "; ".join(bad), metrics)
        return CheckResult(Status.OK, f"{len(rows)} app(s) running and answering", metrics)

    async def certificates() -> CheckResult:
        return await _per_app(runtime, lambda app, record: runtime.certificate(record),
                              "domain certificate(s) valid")

    async def dns() -> CheckResult:
        return await _per_app(runtime, lambda app, record: runtime.resolution(record),
                              "domain(s) resolve to the public IP")

    async def databases() -> CheckResult:
        return await _per_app(runtime, runtime.database, "database(s) answer")

    async def catalogue() -> CheckResult:
        found = await runtime.catalogue.refresh()
        if found.problems:
            return CheckResult(Status.WARNING, "; ".join(f"{path}: {why}" for path, why
                                                         in found.problems.items()))
        return CheckResult(Status.OK, f"{len(found.templates)} template(s)")

    async def stack_drift() -> CheckResult:
        rows = await runtime.stack_rows()
        off = [f"{r['stack']}/{r['service']}: {r['drift']}" if r["service"] else
               f"{r['stack']}: {r['drift']}" for r in rows if r["drift"] != "in sync"]
        if off:
            return CheckResult(Status.WARNING, "; ".join(off), {"drifted": float(len(off))})
        return CheckResult(Status.OK, f"{len(rows)} service(s) as their files say "
                                      f"(compose: {runtime.compose_used()})")

    return [Check("stacks", stack_drift, "Compose stacks",
                  "Every service of every configured compose file runs as the file says.",
                  interval=runtime.config["interval"], timeout=60),
            Check("health", health, "Apps", "Every deployed app's container runs, its URL "
                                            "answers (below 500), and so does its domain "
                                            "through Caddy.",
                  interval=runtime.config["interval"], timeout=60),
            Check("certificates", certificates, "Apps' certificates",
                  "Every app with a domain gets a trusted certificate for it at Caddy (a TLS "
                  "handshake with its name), not near expiry.",
                  interval=runtime.config["interval"], timeout=60),
            Check("dns", dns, "Apps' DNS records",
                  "Every app whose domain's record a DDNS plugin keeps resolves to the "
                  "public IP that plugin published, at every configured resolver.",
                  interval=runtime.config["interval"], timeout=60),
            Check("databases", databases, "Apps' databases",
                  "Every app with a database reaches it with its own generated credentials.",
                  interval=runtime.config["interval"], timeout=60),
            Check("templates", catalogue, "App templates",
                  "Every template file reads and matches the format.", interval=300)]


@hookimpl
def nebula_actions(runtime: Runtime) -> list[Action]:
    async def templates(params: Params) -> Any:
        return await _templates(runtime)

    return [
        Action("deploy", runtime.deploy, "Deploy an app",
               "Create an app from a template: generated secrets, volumes, the container, "
               "then wait until it answers; the plan lists every step. A failed step undoes "
               "the ones done (needs approval).", DEPLOY_PARAMS, destructive=True,
               timeout=900, prepare=runtime.plan_deploy),
        Action("remove", runtime.remove, "Remove an app",
               "Remove an app's container; its volumes and secrets stay unless `volumes` "
               "(needs approval).", REMOVE_PARAMS, destructive=True, timeout=300,
               prepare=runtime.plan_remove),
        Action("stack", runtime.run_stack, "Compose stack up/down/pull/restart",
               "Run the host's compose implementation on a configured stack; the plan shows "
               "the exact command and each service's drift (needs approval).", STACK_PARAMS,
               destructive=True, timeout=runtime.config["compose_timeout"] + 10,
               prepare=runtime.plan_stack),
        Action("templates", templates, "App templates",
               "The templates one can deploy, and files left out with why.", EMPTY_PARAMS,
               read_only=True),
    ]


@hookimpl
def nebula_panels(runtime: Runtime) -> list[Panel]:
    async def templates() -> list[dict[str, Any]]:
        return (await _templates(runtime))["templates"]

    return [Panel("apps", "table", runtime.status, "Apps",
                  "Deployed apps: container state and whether their URL answers.",
                  APP_FIELDS),
            Panel("stacks", "table", runtime.stack_rows, "Compose stacks",
                  "Each service of each configured compose file: its containers, state and "
                  "drift from the file.", STACK_FIELDS),
            Panel("templates", "table", templates, "App templates",
                  "What can be deployed.", TEMPLATE_FIELDS)]


@hookimpl
def nebula_tools(runtime: Runtime) -> list[Tool]:
    async def apps(params: Params) -> Any:
        return await runtime.status()

    async def stacks(params: Params) -> Any:
        return await runtime.stack_rows()

    return [Tool("list_apps", "Deployed apps: template, container state, URL and whether "
                              "it answers.", EMPTY_PARAMS, run=apps),
            Tool("list_stacks", "Compose stacks: each service's state and drift from its "
                                "file.", EMPTY_PARAMS, run=stacks),
            Tool("list_templates", "App templates one can deploy.", EMPTY_PARAMS,
                 action="apps.templates")]
