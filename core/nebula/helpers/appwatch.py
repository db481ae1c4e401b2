"""Watch a self-hosted app from the outside and the inside, from one config section.

Outside: an HTTP health probe (URL, expected status, optional expected JSON fields).
Inside: the app's container (state, restarts, logs) through the docker plugin's actions,
and read-only SQL metrics against its PostgreSQL database, reached with the postgres
plugin's connection settings. A plugin describes its app once, in an `AppSpec`
(`nebula.helpers.appspec`: defaults, wording, metrics), and `AppWatch` is its runtime: the
checks, panels, actions and Jarvis tools. The whole plugin is three small modules:

    # schema.py: plain data, read with the manifest
    SPEC = AppSpec(app="n8n", container="n8n", database="n8n", metrics=(...))
    CONFIG_SCHEMA = appwatch_schema(SPEC)

    # plugin.py
    manifest = Manifest(api_version="1.2", description="Watches n8n.",
                        hooks="nebula_n8n.hooks", config_schema=CONFIG_SCHEMA)

    # hooks.py
    @hookimpl
    def nebula_startup(ctx: PluginContext) -> AppWatch:
        return AppWatch(ctx, SPEC)

    @hookimpl
    def nebula_checks(runtime: AppWatch) -> list[Check]:
        return runtime.checks()
    # ... nebula_actions, nebula_panels, nebula_tools alike

Each part (health, container, database) is one `Coordinator`: read once and shared by every
check, panel and tool that asks within `reuse_seconds` (poll once, read many). A peer plugin
that is not running makes its checks `unknown` with the reason, never a crash. The core
closes the watch when the plugin stops (`aclose`), cancelling any reading in flight.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from nebula.api import hookimpl
from nebula.context import PluginContext
from nebula.contributions import Action, Check, CheckResult, Field, Panel, Status, Tool
from nebula.helpers.appspec import (
    AppMetric,
    AppSpec,
    appwatch_schema,
    json_mismatches,
    judge_metric,
    metrics_of,
    thresholds_text,
)
from nebula.helpers.checks import level, require_ordered_limits
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.libpq import ServerUnreachable, driver_loaded, knock
from nebula.helpers.net import failure_from_exception
from nebula.helpers.schema import EMPTY_PARAMS, integer, params

__all__ = ["AppMetric", "AppSpec", "AppWatch", "DbReading", "appwatch_schema"]

Params = Mapping[str, Any]
HEALTH_BODY_LIMIT = 1 << 20
# Seconds a knock at the database's server may take before it counts as unreachable.
KNOCK_TIMEOUT = 5.0


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def _epoch(stamp: str | None) -> float | None:
    """Epoch seconds of an engine's RFC 3339 time (nanoseconds included); None for none."""
    match = _STAMP.match(stamp or "")
    if match is None or (stamp or "").startswith("0001-"):
        return None
    whole, frac, tz = match.groups()
    zone = "+00:00" if tz in (None, "Z") else tz
    return datetime.fromisoformat(whole + zone).timestamp() + float(f"0.{frac or 0}")


def _duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


@dataclass(frozen=True)
class DbReading:
    """One round of metric queries: values and per-metric errors, or why there was none."""

    at: float
    status: Status = Status.OK  # of the database itself: reachable or not
    detail: str = ""  # where it was read, or why it could not be
    values: Mapping[str, float | None] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    duration_ms: float = 0.0


class AppWatch:
    """The readings and contributions of one watched app, for one start of its plugin."""

    def __init__(self, ctx: PluginContext, spec: AppSpec) -> None:
        self.ctx = ctx
        self.spec = spec
        self.config = ctx.config
        self.metrics = metrics_of(spec, ctx.config)
        require_ordered_limits(ctx.config, ["restarts"])
        reuse = float(ctx.config.get("reuse_seconds", 5))

        def part(fetch: Callable[[], Awaitable[Any]], name: str) -> Coordinator[Any]:
            # Fetches report a service that is down in their value, not by raising: no
            # backoff in the way of the next check.
            return Coordinator(fetch, max_age=reuse, name=f"{ctx.name}.{name}", log=ctx.log)

        self.health: Coordinator[CheckResult] = part(self._probe, "health")
        self.container: Coordinator[dict[str, Any]] = part(self._inspect, "container")
        self.database: Coordinator[DbReading] = part(self._query, "database")
        self._history: deque[dict[str, Any]] = deque(maxlen=int(ctx.config.get("history",
                                                                               360)))
        self._started: tuple[Any, int] | None = None  # (StartedAt, RestartCount) last seen
        self._restarts: deque[float] = deque(maxlen=1000)

    async def aclose(self) -> None:
        """Called by the core when the plugin stops: a reading in flight is cancelled (a
        metric query is cancelled on the server and its connection closed), so the stop
        is prompt and leaves nothing running."""
        await asyncio.gather(self.health.aclose(), self.container.aclose(),
                             self.database.aclose())

    # --- outside: the HTTP health endpoint ---------------------------------------------------

    async def _probe(self) -> CheckResult:
        url = self.config["health_url"]
        expected = self.config["health_status"]
        started = time.perf_counter()
        try:
            timeout = aiohttp.ClientTimeout(total=self.config["health_timeout"])
            async with self.ctx.http.get(url, timeout=timeout, allow_redirects=False) as resp:
                body = await resp.content.read(HEALTH_BODY_LIMIT)
                code = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            failure = failure_from_exception(exc, url, service=self.spec.app,
                                             timeout=self.config["health_timeout"])
            return CheckResult(Status.CRITICAL, f"{self.spec.app}: cannot reach {url}: "
                                                f"{failure}")
        ms = round((time.perf_counter() - started) * 1000, 1)
        metrics = {"status_code": code, "latency_ms": ms}
        if code != expected:
            return CheckResult(Status.CRITICAL, f"{self.spec.app}: GET {url} answered {code}, "
                                                f"expected {expected}", metrics)
        wanted = self.config.get("health_json") or {}
        if wanted:
            try:
                doc = json.loads(body)
            except ValueError:
                return CheckResult(Status.CRITICAL, f"{self.spec.app}: {url} did not answer "
                                                    f"JSON", metrics)
            if problems := json_mismatches(doc, wanted):
                return CheckResult(Status.CRITICAL, f"{self.spec.app}: {url}: "
                                                    f"{'; '.join(problems)}", metrics)
        fields = f", {len(wanted)} JSON fields as expected" if wanted else ""
        return CheckResult(Status.OK, f"{self.spec.app}: {url} answered {code} in {ms:g} ms"
                                      f"{fields}", metrics)

    # --- inside: the container, through the docker plugin ------------------------------------

    async def _docker(self, action: str, params: Params) -> tuple[Status, Any]:
        """(OK, result) of a docker action, or (UNKNOWN / CRITICAL, why not)."""
        if self.ctx.peer_config("docker") is None:
            return Status.UNKNOWN, (f"the docker plugin is not running, so container "
                                    f"{self.config['container']!r} cannot be read")
        try:
            outcome = await self.ctx.call_action(f"docker.{action}", params)
        except KeyError:
            return Status.UNKNOWN, f"the docker plugin offers no {action} action"
        if outcome.get("status") != "ok":
            error = outcome.get("error") or outcome.get("status")
            missing = str(error).startswith("ContainerNotFound")
            return (Status.CRITICAL if missing else Status.UNKNOWN), f"docker.{action}: {error}"
        return Status.OK, outcome["result"]

    async def _inspect(self) -> dict[str, Any]:
        name = self.config["container"]
        status, result = await self._docker("inspect", {"container": name})
        if status is not Status.OK:
            return {"status": status, "problem": result}
        state = result.get("state") or {}
        started, count = state.get("StartedAt"), int(result.get("restart_count") or 0)
        now = time.time()
        if self._started is not None and (started, count) != self._started:
            # A restart between two readings shows as a new start time; a restart policy
            # may have restarted it several times in between, which only its count shows.
            for _ in range(max(count - self._started[1], 1)):
                self._restarts.append(now)
        self._started = (started, count)
        window = self.config["restart_window_minutes"] * 60
        since = _epoch(started)
        return {"status": Status.OK, "state": state.get("Status") or "unknown",
                "health": (state.get("Health") or {}).get("Status") or None,
                "exit_code": state.get("ExitCode"), "restart_count": count,
                "restarts": sum(1 for t in self._restarts if t > now - window),
                "uptime": round(now - since) if since and state.get("Running") else None}

    def judge_container(self, reading: Mapping[str, Any]) -> CheckResult:
        name = self.config["container"]
        if reading["status"] is not Status.OK:
            return CheckResult(reading["status"], reading["problem"])
        restarts = reading["restarts"]
        metrics = {"restarts": restarts, "restart_count": reading["restart_count"],
                   "uptime_seconds": reading["uptime"] or 0}
        minutes = f"{self.config['restart_window_minutes']:g} min"
        if reading["state"] != "running":
            return CheckResult(Status.CRITICAL, f"container {name} is {reading['state']} "
                                                f"(exit code {reading['exit_code']})", metrics)
        if reading["health"] == "unhealthy":
            return CheckResult(Status.CRITICAL, f"container {name} is running but unhealthy",
                               metrics)
        health = f" ({reading['health']})" if reading["health"] else ""
        uptime = f", up {_duration(reading['uptime'])}" if reading["uptime"] is not None else ""
        summary = f"container {name} running{health}{uptime}, {restarts} restarts in {minutes}"
        status = level(restarts, self.config["restarts_warning"],
                       self.config["restarts_critical"])
        return CheckResult(status, summary, metrics)

    # --- inside: read-only SQL metrics -------------------------------------------------------

    def _connection(self, peer: Mapping[str, Any]) -> dict[str, Any]:
        own_user = self.config.get("db_user")
        keywords: dict[str, Any] = {
            "host": peer.get("host", "127.0.0.1"), "port": peer.get("port", 5432),
            "user": own_user or peer.get("user", "postgres"),
            "dbname": self.config["database"],
            "connect_timeout": int(peer.get("connect_timeout", 5)),
            "application_name": f"nebula-{self.ctx.name}",
            **{k: peer[k] for k in ("sslmode", "sslrootcert", "sslcert", "sslkey")
               if peer.get(k)},
        }
        # The superuser's password goes with the superuser only, never with db_user.
        password = self.config.get("db_password") if own_user else peer.get("password")
        if password:
            keywords["password"] = password
        return keywords

    async def _query(self) -> DbReading:
        database = self.config["database"]
        now = time.time()
        peer = self.ctx.peer_config("postgres")
        if peer is None:
            return DbReading(now, Status.UNKNOWN, f"the postgres plugin is not running, so "
                                                  f"database {database!r} cannot be read")
        keywords = self._connection(peer)
        where = f"{database} on {keywords['host']}:{keywords['port']} as {keywords['user']}"
        try:  # the driver loads only once a server answers where the database should be
            if not driver_loaded():
                await knock(str(keywords["host"]), int(keywords["port"]), KNOCK_TIMEOUT)
        except ServerUnreachable as exc:
            return DbReading(now, Status.CRITICAL, f"cannot connect to {where}: {exc}")
        import psycopg

        started = time.perf_counter()
        try:
            conn = await psycopg.AsyncConnection.connect(autocommit=True, **keywords)
        except psycopg.Error as exc:
            return DbReading(now, Status.CRITICAL, self.ctx.redact(
                f"cannot connect to {where}: {_first_line(exc)}"))
        values: dict[str, float | None] = {}
        errors: dict[str, str] = {}
        try:
            async with conn:
                await conn.set_read_only(True)
                timeout_ms = int(self.config["statement_timeout_ms"])
                await conn.execute(f"SET statement_timeout = {timeout_ms}")
                for metric in self.metrics:
                    try:
                        async with conn.transaction():  # BEGIN READ ONLY: nothing can change
                            row = await (await conn.execute(metric.sql)).fetchone()
                        values[metric.name] = _value(row)
                    except (psycopg.Error, ValueError) as exc:
                        errors[metric.name] = self.ctx.redact(_first_line(exc))
        except psycopg.Error as exc:
            return DbReading(now, Status.CRITICAL, self.ctx.redact(
                f"lost the connection to {where}: {_first_line(exc)}"))
        ms = round((time.perf_counter() - started) * 1000, 1)
        self._history.append({"t": round(now, 3), **values})
        return DbReading(now, Status.OK, f"database {where}", values, errors, ms)

    def judge_database(self, reading: DbReading) -> CheckResult:
        if reading.status is not Status.OK:
            return CheckResult(reading.status, reading.detail)
        read = f"{len(reading.values)} of {len(self.metrics)} metrics read in " \
               f"{reading.duration_ms:g} ms"
        metrics = {"query_ms": reading.duration_ms, "failed_metrics": len(reading.errors)}
        if reading.errors:
            failed = "; ".join(f"{k}: {v}" for k, v in reading.errors.items())
            return CheckResult(Status.WARNING, f"{reading.detail}: {read}; failed: {failed}",
                               metrics)
        return CheckResult(Status.OK, f"{reading.detail}: {read}", metrics)

    def judge(self, metric: AppMetric, reading: DbReading) -> CheckResult:
        if reading.status is not Status.OK:
            return CheckResult(Status.UNKNOWN, reading.detail)
        if metric.name in reading.errors:
            return CheckResult(Status.UNKNOWN, f"{metric.label}: query failed: "
                                               f"{reading.errors[metric.name]}")
        return judge_metric(metric, reading.values.get(metric.name))

    # --- contributions -----------------------------------------------------------------------

    def checks(self) -> list[Check]:
        app, interval, config = self.spec.app, self.config["interval"], self.config
        out = []
        if config["health_url"]:
            out.append(Check("health", self.health.get, f"{app}: health endpoint",
                             f"GET {config['health_url']} answers {config['health_status']}"
                             + (" with the expected JSON fields" if config["health_json"]
                                else "") + ".", interval=interval,
                             timeout=config["health_timeout"] + 5))

        async def container() -> CheckResult:
            return self.judge_container(await self.container.get())

        if config["container"]:
            out.append(Check("container", container, f"{app}: container",
                             f"Container {config['container']} is running and healthy, with "
                             f"fewer than restarts_warning restarts in the window.",
                             interval=interval, timeout=30))
        if not config["database"]:
            return out

        async def database() -> CheckResult:
            return self.judge_database(await self.database.get())

        out.append(Check("database", database, f"{app}: database",
                         f"Database {config['database']} answers the metric queries.",
                         interval=interval, timeout=30))
        for metric in self.metrics:
            out.append(Check(metric.name, self._metric_check(metric),
                             f"{app}: {metric.label}",
                             metric.description or thresholds_text(metric), interval=interval,
                             timeout=30))
        return out

    def _metric_check(self, metric: AppMetric) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            return self.judge(metric, await self.database.get())

        return run

    def _need_container(self) -> str:
        if not self.config["container"]:
            raise ValueError(f"no container is configured for the {self.spec.app}")
        return self.config["container"]

    async def logs(self, params: Params) -> Any:
        tail = int(params.get("tail") or self.config["logs_tail"])
        status, result = await self._docker("logs", {"container": self._need_container(),
                                                     "tail": tail})
        if status is not Status.OK:
            raise RuntimeError(result)
        return result

    async def restart(self, params: Params) -> Any:
        name = self._need_container()
        if self.ctx.peer_config("docker") is None:
            raise RuntimeError(f"the docker plugin is not running, so container {name!r} "
                               f"cannot be restarted")
        # docker.restart is destructive: this files it for an admin's approval, it does
        # not restart anything by itself.
        return await self.ctx.call_action(
            "docker.restart", {"container": name, "timeout": int(params.get("timeout", 10))})

    def actions(self) -> list[Action]:
        if not self.config["container"]:
            return []
        app, name = self.spec.app, self.config["container"]
        tail = {**integer(self.config["logs_tail"], "How many of the last lines to return.",
                          1, 10000), "title": "Lines"}
        grace = {**integer(10, "Seconds the bot gets to stop after SIGTERM before it is "
                               "killed.", 0, 600), "title": "Grace period (s)"}
        return [
            Action("logs", self.logs, f"{app}: tail logs",
                   f"The last lines of container {name}'s output (read-only, through "
                   f"docker.logs).", params({"tail": tail})),
            Action("restart", self.restart, f"Restart the {app}",
                   f"Asks for docker.restart of container {name}: nothing restarts until an "
                   f"admin approves that request.", params({"timeout": grace})),
        ]

    async def overview(self) -> dict[str, Any]:
        """Every part's verdict and every metric's value: what the status tool answers."""
        results, reading = await self._parts()
        parts = {key: {"status": r.status.value, "summary": r.summary}
                 for key, r in results.items()}
        rows = self._metric_rows(reading) if reading is not None else []
        worst = max((Status(p["status"]) for p in [*parts.values(), *rows]),
                    key=lambda s: s.severity, default=Status.OK)
        return {"app": self.spec.app, "status": worst.value, **parts, "metrics": rows}

    async def _parts(self) -> tuple[dict[str, CheckResult], DbReading | None]:
        """Each configured part's verdict, read at once, and the metric reading they came
        from (None without a database)."""
        async def none() -> None:
            return None

        health, container, reading = await asyncio.gather(
            self.health.get() if self.config["health_url"] else none(),
            self.container.get() if self.config["container"] else none(),
            self.database.get() if self.config["database"] else none())
        parts: dict[str, CheckResult] = {}
        if health is not None:
            parts["health"] = health
        if container is not None:
            parts["container"] = self.judge_container(container)
        if reading is not None:
            parts["database"] = self.judge_database(reading)
        return parts, reading

    def _metric_rows(self, reading: DbReading) -> list[dict[str, Any]]:
        rows = []
        for metric in self.metrics:
            result = self.judge(metric, reading)
            rows.append({"metric": metric.name, "title": metric.label,
                         "value": reading.values.get(metric.name), "unit": metric.unit,
                         "status": result.status.value, "warning": metric.warning,
                         "critical": metric.critical, "summary": result.summary})
        return rows

    def panels(self) -> list[Panel]:
        app = self.spec.app

        async def status() -> dict[str, Any]:
            results, reading = await self._parts()
            out: dict[str, Any] = {k: f"{r.status.value}: {r.summary}"
                                   for k, r in results.items()}
            if reading is not None:
                out.update({m.name: reading.values.get(m.name) for m in self.metrics})
            return out

        async def metrics() -> list[dict[str, Any]]:
            return self._metric_rows(await self.database.get())

        async def history() -> list[dict[str, Any]]:
            await self.database.get()
            return list(self._history)

        part_fields = tuple(Field(key, label, "", what) for key, setting, label, what in (
            ("health", "health_url", "Health endpoint", "The HTTP probe's verdict."),
            ("container", "container", "Container", "State, health and recent restarts."),
            ("database", "database", "Database", "Whether the metric queries ran."))
            if self.config[setting])
        metric_fields = tuple(Field(m.name, m.label, m.unit, m.description)
                              for m in self.metrics)
        out = [Panel("status", "keyvalue", status, f"{app} status",
                     f"Health endpoint, container and database of the {app}, and its "
                     f"metrics.", part_fields + metric_fields)]
        if self.config["database"] and self.metrics:
            out += [
                Panel("metrics", "table", metrics, f"{app} metrics",
                      "Each SQL metric with its value, thresholds and status.",
                      (Field("title", "Metric"), Field("value", "Value"),
                       Field("unit", "Unit"), Field("status", "Status"),
                       Field("warning", "Warning at"), Field("critical", "Critical at"))),
                Panel("history", "timeseries", history, f"{app} metrics over time",
                      "Metric values at each reading.",
                      (Field("t", "Time", "s"), *metric_fields)),
            ]
        return out

    def tools(self) -> list[Tool]:
        app = self.spec.app

        async def status(params: Params) -> Any:
            return await self.overview()

        out = [Tool("status", self.spec.health_question or
                    f"Is the {app} healthy? Its health endpoint, container (state, "
                    f"restarts) and database, with every metric and its status.",
                    EMPTY_PARAMS, run=status)]
        if self.config["database"]:
            out += [Tool(m.name, m.question or f"{app}: {m.label}"
                         + (f" ({m.unit})" if m.unit else "") + ".", EMPTY_PARAMS,
                         run=self._metric_tool(m)) for m in self.metrics]
        if self.config["container"]:
            name = self.config["container"]
            out += [
                Tool("logs", f"The last lines of the {app}'s container output.",
                     action=f"{self.ctx.name}.logs"),
                # Straight to docker.restart, so the model is told it needs an approval.
                Tool("restart", f"Restart the {app} (container {name}).",
                     params({"container": {"const": name, "default": name}},
                            required=["container"]),
                     action="docker.restart"),
            ]
        return out

    def _metric_tool(self, metric: AppMetric) -> Callable[[Params], Awaitable[Any]]:
        async def run(params: Params) -> Any:
            reading = await self.database.get()
            result = self.judge(metric, reading)
            return {"metric": metric.name, "title": metric.label,
                    "value": reading.values.get(metric.name), "unit": metric.unit,
                    "status": result.status.value, "summary": result.summary}

        return run


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _value(row: Any) -> float | None:
    if not row or row[0] is None:
        return None
    value = row[0]
    if isinstance(value, bool):
        return int(value)
    try:
        return value if isinstance(value, int) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"the query answered {type(value).__name__}, not a number") from None


class AppWatchHooks:
    """The hooks of a plugin that is one app watch, ready-made: its hooks module holds
    `hooks = AppWatchHooks(SPEC)` and its manifest names it (`hooks="pkg.hooks:hooks"`).
    The runtime is the `AppWatch`; the core closes it when the plugin stops."""

    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> AppWatch:
        return AppWatch(ctx, self.spec)  # a bad metric or threshold fails the start

    @hookimpl
    def nebula_checks(self, runtime: AppWatch) -> list[Check]:
        return runtime.checks()

    @hookimpl
    def nebula_actions(self, runtime: AppWatch) -> list[Action]:
        return runtime.actions()

    @hookimpl
    def nebula_panels(self, runtime: AppWatch) -> list[Panel]:
        return runtime.panels()

    @hookimpl
    def nebula_tools(self, runtime: AppWatch) -> list[Tool]:
        return runtime.tools()
