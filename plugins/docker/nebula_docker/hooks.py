"""The docker plugin's hooks, imported and registered when the plugin first starts (the
manifest in plugin.py names this module). Startup returns the `Runtime`; the core hands it
to the other hooks and closes it when the plugin stops."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema
from aiohttp import web

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    ParamError,
    PluginContext,
    Status,
    Tool,
    hookimpl,
)
from nebula.helpers.checks import CheckSpec
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_docker import checks, operations, routes, rows, storage
from nebula_docker.coordinator import Snapshot
from nebula_docker.engine import EngineUnavailable
from nebula_docker.runtime import Runtime
from nebula_docker.schema import (
    DATABASE_PARAMS,
    DEPLOY_PARAMS,
    STOP_TIMEOUT,
    config_problems,
    container_params,
    logs_params,
    prune_params,
)

# Not imported here: the SDK loads with the first engine that answers (engine.py);
# an install without it still fails the start, naming the extra.
require("docker")

Params = Mapping[str, Any]
Run = Callable[[Params], Awaitable[Any]]

# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Runtime:
    return await Runtime.start(ctx)


# --- checks ------------------------------------------------------------------------------


def _snapshot_check(runtime: Runtime, spec: CheckSpec[Snapshot]) -> Callable[
        [], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        try:
            snapshot = await runtime.monitor.snapshot()
        except EngineUnavailable as exc:
            return CheckResult(Status.UNKNOWN, str(exc))
        return spec.evaluate(snapshot, runtime.ctx.config)

    return run


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    config = runtime.ctx.config
    interval = config["interval"]

    async def engine() -> CheckResult:
        try:
            version = await runtime.version()
        except EngineUnavailable as exc:
            return CheckResult(Status.CRITICAL, str(exc))
        return checks.engine(version, runtime.engine.base_url, runtime.monitor)

    async def disk() -> CheckResult:
        try:
            return checks.disk(await runtime.disk(), config)
        except EngineUnavailable as exc:
            return CheckResult(Status.UNKNOWN, str(exc))

    return [
        # Run as soon as the event stream drops or comes back (Runtime), and one result
        # moves it: the stream's news and the call that confirms it are two observations.
        Check("engine", engine, "Docker engine",
              "The engine answers; critical with the reason when it does not.",
              interval=interval, flap_threshold=1),
        *(Check(spec.name, _snapshot_check(runtime, spec), spec.title, spec.description,
                interval=interval, units=spec.units_for(None)) for spec in checks.CHECKS),
        Check("disk", disk, "Engine disk use",
              "Images, containers, volumes, build cache and containers' logs against "
              "disk_*_gb.",
              interval=interval, timeout=30, units=checks.DISK_UNITS),
    ]


# --- actions -----------------------------------------------------------------------------


def _resolve(runtime: Runtime) -> Run:
    """`prepare` of the container actions: the name becomes the container's full id, so an
    approval covers that container and not one recreated under its name meanwhile."""
    async def prepare(params: Params) -> dict[str, Any]:
        ref = params["container"]
        try:
            target = await runtime.call(lambda c: operations.resolve(c, ref))
        except operations.ContainerNotFound as exc:
            raise ParamError("container", str(exc)) from None
        # stop and restart take a timeout: it is part of what the approver sees.
        return {**target, **({"timeout": params["timeout"]} if "timeout" in params else {})}

    return prepare


def _lifecycle(runtime: Runtime, verb: str) -> Run:
    async def run(target: Params) -> Any:
        result = await runtime.call(lambda c: operations.lifecycle(c, target, verb))
        runtime.ctx.log.info(f"docker.container_{verb}", container=result["container"],
                             id=result["id"])
        return result

    return run


def _logs(runtime: Runtime) -> Run:
    async def run(params: Params) -> Any:
        return await runtime.call(lambda c: operations.tail(
            c, params["container"], params.get("tail", 100),
            runtime.ctx.config["logs_max_bytes"], runtime.redact_log))

    return run


def _inspect(runtime: Runtime) -> Run:
    async def run(params: Params) -> Any:
        ref = params["container"]
        return rows.inspect(await runtime.call(lambda c: operations.get(c, ref).attrs))

    return run


def _prune_plan(runtime: Runtime) -> Run:
    """What a prune with these flags would remove now: the dry run's answer, and the plan
    (`prepare`) an approval of the real prune covers."""
    async def prepare(params: Params) -> dict[str, Any]:
        volumes = bool(params.get("volumes", False))
        return storage.preview(await runtime.call(lambda c: storage.plan(c, volumes)),
                               volumes)

    return prepare


def _prune_preview(runtime: Runtime) -> Run:
    plan = _prune_plan(runtime)

    async def run(params: Params) -> Any:
        return {"dry_run": True, **await plan(params)}

    return run


def _resources(runtime: Runtime) -> Run:
    """Each container's memory limit beside its use and log size, and the dangling images a
    prune would take (for the advisor, and anyone asking what is unbounded)."""
    async def run(params: Params) -> Any:
        snapshot = await runtime.monitor.snapshot()

        def read(client: Any) -> dict[str, Any]:
            limits = {c.id: (client.api.inspect_container(c.id).get("HostConfig") or {}
                             ).get("Memory") or 0 for c in snapshot.containers if c.running}
            images = [i for i in storage.plan(client) if i.kind == "image"]
            return {"limits": limits, "images": images}

        found = await runtime.call(read)
        return {"containers": [{"name": c.name, "image": c.image,
                                "memory_limit_bytes": found["limits"][c.id],
                                "memory_bytes": c.usage.memory_bytes or 0,
                                "log_bytes": c.log_bytes or 0}
                               for c in snapshot.containers if c.id in found["limits"]],
                "dangling_images": [{"id": i.name, "size_bytes": i.size}
                                    for i in found["images"]]}

    return run


def _prune(runtime: Runtime) -> Run:
    async def run(prepared: Params) -> Any:
        items = storage.items_of(prepared)
        result = await runtime.call(lambda c: storage.execute(c, items))
        runtime.ctx.log.info("docker.pruned", **result["counts"],
                             reclaimed_bytes=result["reclaimed_bytes"],
                             skipped=len(result["skipped"]), failed=len(result["failed"]))
        return result

    return run


@hookimpl
def nebula_actions(runtime: Runtime) -> list[Action]:
    plain = container_params()
    picked = container_params(row=False)  # a drop-down, no button on every row
    stopping = container_params(timeout=STOP_TIMEOUT)
    resolve = _resolve(runtime)
    dbs = runtime.databases
    return [
        Action("start", _lifecycle(runtime, "start"), "Start container",
               "Start a stopped container.", plain, prepare=resolve),
        Action("stop", _lifecycle(runtime, "stop"), "Stop container",
               "Stop a running container (needs approval).", stopping, destructive=True,
               prepare=resolve),
        Action("restart", _lifecycle(runtime, "restart"), "Restart container",
               "Restart a container (needs approval).", stopping, destructive=True,
               prepare=resolve),
        Action("remove", _lifecycle(runtime, "remove"), "Remove container",
               "Remove a container, running or not; its volumes stay (needs approval).",
               picked, destructive=True, prepare=resolve),
        Action("logs", _logs(runtime), "Container logs",
               "The last N lines of a container's output (read-only, size-bounded).",
               logs_params(), read_only=True),
        Action("inspect", _inspect(runtime), "Inspect container",
               "One container's state, restart count and configuration (read-only; "
               "secret-looking env values masked).", picked, read_only=True),
        Action("resources", _resources(runtime), "Limits and leftovers",
               "Each running container's memory limit (0: none) beside its use and log "
               "size, and the dangling images a prune would remove; changes nothing.",
               EMPTY_PARAMS, read_only=True),
        Action("prune_preview", _prune_preview(runtime), "Prune (dry run)",
               "What a prune would remove and the space it would free; changes nothing.",
               prune_params(danger=False), read_only=True),
        Action("prune", _prune(runtime), "Prune",
               "Remove stopped containers and unused untagged images; unused volumes only "
               "with `volumes` (never one-click databases). Only the items the approver "
               "saw, and only those still unused (needs approval).",
               prune_params(danger=True), destructive=True, timeout=300,
               prepare=_prune_plan(runtime)),
        Action("deploy_database", dbs.deploy, "Deploy a database",
               "Create a database container from a template, with a generated password, "
               "a named volume and a port on the bind address.", DEPLOY_PARAMS, timeout=120),
        Action("delete_database", dbs.delete, "Delete a database",
               "Remove a one-click database's container AND its data volume (needs "
               "approval).", DATABASE_PARAMS, destructive=True, prepare=dbs.prepare_delete),
    ]


# --- panels and tools --------------------------------------------------------------------


def _containers(runtime: Runtime) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    async def data() -> list[dict[str, Any]]:
        snapshot = await runtime.monitor.snapshot()
        return rows.containers(snapshot.containers, time.time())

    return data


@hookimpl
def nebula_panels(runtime: Runtime) -> list[Panel]:
    async def usage() -> list[dict[str, Any]]:
        await runtime.monitor.snapshot()
        return rows.points(runtime.monitor.totals())

    return [
        Panel("containers", "table", _containers(runtime), "Containers",
              "Every container with compose project/service, state, health, restarts, "
              "uptime, ports, CPU, memory and log size.", rows.CONTAINER_FIELDS),
        Panel("usage", "timeseries", usage, "Container CPU and memory",
              "CPU and memory summed over running containers; per container at "
              "/plugins/docker/containers/<name>/stats.", rows.STATS_FIELDS),
        Panel("disk", "keyvalue", runtime.disk, "Engine disk use",
              "Images, containers, volumes and build cache (engine df), and containers' "
              "logs.", rows.DISK_FIELDS),
        Panel("databases", "table", runtime.databases.list, "One-click databases",
              "Databases deployed from templates.", rows.DATABASE_FIELDS),
    ]


def _validated(schema: Mapping[str, Any], run: Run) -> Run:
    """The action runner validates its requests; a Jarvis tool call may not be."""
    async def checked(params: Params) -> Any:
        jsonschema.validate(dict(params), dict(schema))
        return await run(params)

    return checked


def _query(fn: Callable[[], Awaitable[Any]]) -> Run:
    async def run(params: Params) -> Any:
        return await fn()

    return run


@hookimpl
def nebula_tools(runtime: Runtime) -> list[Tool]:
    max_lines = 500  # a model gets a short tail; the logs action allows more

    async def stats(params: Params) -> Any:
        snapshot = await runtime.monitor.snapshot()
        container = snapshot.find(params["container"])
        if container is None:
            raise operations.ContainerNotFound(f"no container {params['container']!r}")
        return {"container": container.name,
                "points": rows.points(runtime.monitor.history(container.id))[-30:]}

    return [
        Tool("list_containers", "Every container: name, compose project/service, image, "
                                "state, health, restart_count, uptime (s), ports, cpu_percent, "
                                "memory_bytes, exit_code, log_bytes.", EMPTY_PARAMS, run=_query(
                                    _containers(runtime))),
        Tool("inspect_container", "One container's configuration and state (secret-looking "
                                  "env values masked).", container_params(),
             run=_validated(container_params(), _inspect(runtime))),
        Tool("container_logs", f"The last lines (at most {max_lines}) of a container's "
                               "output, size-bounded.", logs_params(max_lines),
             run=_validated(logs_params(max_lines), _logs(runtime))),
        Tool("container_stats", "A container's recent CPU percent and memory bytes.",
             container_params(), run=_validated(container_params(), stats)),
        Tool("docker_disk_usage", "Engine disk use in bytes: images, containers, volumes, "
                                  "build cache, containers' logs, reclaimable.", EMPTY_PARAMS,
             run=_query(runtime.disk)),
        Tool("list_databases", "One-click databases: name, template, image, volume, host, "
                               "port.", EMPTY_PARAMS, run=_query(runtime.databases.list)),
        Tool("prune_preview", "What a prune would remove and free (changes nothing).",
             prune_params(danger=False), action="docker.prune_preview"),
        *[Tool(f"{verb}_container", f"{verb.capitalize()} a container"
               + (" (needs an admin's approval)." if verb != "start" else "."),
               container_params(), action=f"docker.{verb}")
          for verb in ("start", "stop", "restart", "remove")],
        Tool("prune", "Prune stopped containers and unused untagged images; unused volumes "
                      "only with volumes=true (needs approval).", prune_params(danger=True),
             action="docker.prune"),
        Tool("deploy_database", "Deploy a one-click database from a template.",
             DEPLOY_PARAMS, action="docker.deploy_database"),
        Tool("delete_database", "Delete a one-click database and its volume (needs "
                                "approval).", DATABASE_PARAMS, action="docker.delete_database"),
    ]


# --- jobs and routes ---------------------------------------------------------------------


@hookimpl
def nebula_jobs(runtime: Runtime) -> list[Job]:

    async def sample() -> None:
        # Keeps the stats timeseries regular even when nobody looks at the dashboard.
        with contextlib.suppress(EngineUnavailable):  # the engine check reports it
            await runtime.monitor.snapshot()

    return [Job("sample", sample, interval=runtime.ctx.config["interval"], timeout=60)]


@hookimpl
def nebula_routes(runtime: Runtime) -> web.RouteTableDef:
    return routes.build(runtime)
