"""Watch a self-hosted app from the outside and the inside, from one config section.

Outside: an HTTP health probe (URL, expected status, optional expected JSON fields).
Inside: the app's container (state, restarts, logs) through the docker plugin's actions,
and read-only SQL metrics against its PostgreSQL database, reached with the postgres
plugin's connection settings. A plugin describes its app once, in an `AppSpec` (defaults
and wording), and gets the config schema, checks, panels, actions and Jarvis tools:

    SPEC = AppSpec(app="n8n", container="n8n", database="n8n",
                   health_url="http://127.0.0.1:5678/healthz",
                   metrics=(AppMetric("failed_runs", "SELECT count(*) FROM execution_entity "
                                      "WHERE status = 'error'", "Failed runs", warning=5),))
    manifest = Manifest(api_version="1.1", description="Watches n8n.")
    globals().update(appwatch_hooks(SPEC))

Each part is read once and shared by every check, panel and tool that asks within
`reuse_seconds` (poll once, read many). A peer plugin that is not running makes its
checks `unknown` with the reason, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import aiohttp
import pluggy

from nebula.context import PluginContext
from nebula.contributions import NAME_RE, Action, Check, CheckResult, Field, Panel, Status, Tool

T = TypeVar("T")
Params = Mapping[str, Any]

# Contribution names every watched app has; a metric may not take one of them.
RESERVED = frozenset({"health", "container", "database", "status", "metrics", "history",
                      "logs", "restart"})
HEALTH_BODY_LIMIT = 1 << 20


@dataclass(frozen=True)
class AppMetric:
    """A read-only SQL query answering one number, judged against thresholds.

    The value reaches `warning` / `critical` when it is >= the threshold, or <= it when
    `below` is true (fewer is worse: connected platforms, say). A threshold of None is
    never reached. `question` is the Jarvis tool's description."""

    name: str
    sql: str
    title: str = ""
    unit: str = ""
    warning: float | None = None
    critical: float | None = None
    below: bool = False
    question: str = ""
    description: str = ""


@dataclass(frozen=True)
class AppSpec:
    """What a plugin watches by default, and how its tools speak of it."""

    app: str  # the app's name in summaries and tool descriptions: "Discord ticket bot"
    container: str = ""
    database: str = ""
    health_url: str = ""
    health_json: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[AppMetric, ...] = ()
    health_question: str = ""  # the status tool's description


METRIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sql": {"type": "string", "minLength": 1,
                "description": "A query whose first column of the first row is the value; "
                               "run in a READ ONLY transaction."},
        "title": {"type": "string"},
        "unit": {"type": "string"},
        "warning": {"type": "number", "description": "Value that warns."},
        "critical": {"type": "number", "description": "Value that is critical."},
        "below": {"type": "boolean", "description": "Thresholds are lower bounds."},
        "question": {"type": "string", "description": "What the Jarvis tool answers."},
        "description": {"type": "string"},
        "enabled": {"type": "boolean", "description": "false drops a built-in metric."},
    },
}


def appwatch_schema(spec: AppSpec) -> dict[str, Any]:
    """The config schema of a plugin watching `spec`'s app, its defaults filled in."""

    def number(default: float, what: str, minimum: float = 0) -> dict[str, Any]:
        return {"type": "number", "minimum": minimum, "default": default, "description": what}

    def string(default: str, what: str) -> dict[str, Any]:
        return {"type": "string", "default": default, "description": what}

    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "interval": number(60, "Seconds between checks.", 1),
            "reuse_seconds": number(5, "A reading younger than this serves every check, "
                                       "panel and tool that asks (poll once, read many)."),
            "health_url": string(spec.health_url, "The app's HTTP health endpoint; empty: "
                                                  "no HTTP check."),
            "health_status": {"type": "integer", "minimum": 100, "maximum": 599,
                              "default": 200, "description": "Expected HTTP status."},
            "health_json": {"type": "object", "default": dict(spec.health_json),
                            "description": "Expected JSON fields of the answer: dotted "
                                           "path → value (`checks.db = \"up\"`)."},
            "health_timeout": number(5, "Seconds the health endpoint may take.", 0.1),
            "container": string(spec.container, "The app's container (docker plugin); "
                                                "empty: no container check."),
            "restart_window_minutes": number(60, "Restarts are counted over this window.",
                                             1),
            "restarts_warning": {"type": "integer", "minimum": 1, "default": 1,
                                 "description": "Restarts within the window that warn."},
            "restarts_critical": {"type": "integer", "minimum": 1, "default": 3,
                                  "description": "Restarts within the window that are "
                                                 "critical."},
            "logs_tail": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100,
                          "description": "Lines the logs action returns by default."},
            "database": string(spec.database, "The app's PostgreSQL database; the "
                                              "connection is the postgres plugin's. Empty: "
                                              "no database checks."),
            "db_user": {"type": "string", "description": "Connect as this user instead of "
                                                         "the postgres plugin's."},
            "db_password": {"type": "string", "writeOnly": True,
                            "description": "db_user's password: `${ENV}` or "
                                           "`db_password_file`."},
            "statement_timeout_ms": {"type": "integer", "minimum": 1, "default": 5000,
                                     "description": "Longest a metric query may run."},
            "metrics": {"type": "object", "default": {},
                        "propertyNames": {"pattern": NAME_RE.pattern},
                        "additionalProperties": METRIC_SCHEMA,
                        "description": "SQL metrics by name: new ones, or overrides of the "
                                       "built-in ones (thresholds, sql, enabled = false)."},
            "history": {"type": "integer", "minimum": 2, "maximum": 100000, "default": 360,
                        "description": "Metric readings kept for the history panel."},
        },
    }


def metrics_of(spec: AppSpec, config: Mapping[str, Any]) -> tuple[AppMetric, ...]:
    """The spec's metrics with the config's overrides applied, plus the config's own.

    Raises ValueError naming the metric when one is incomplete or inconsistent."""
    merged: dict[str, dict[str, Any]] = {m.name: dict(vars(m)) for m in spec.metrics}
    for name, override in (config.get("metrics") or {}).items():
        merged.setdefault(name, {"name": name}).update(override)
    out = []
    for name, values in merged.items():
        if not values.pop("enabled", True):
            continue
        if name in RESERVED:
            raise ValueError(f"metric name {name!r} is reserved ({', '.join(sorted(RESERVED))})")
        if not values.get("sql"):
            raise ValueError(f"metric {name!r} needs `sql`")
        metric = AppMetric(**values)
        if metric.warning is not None and metric.critical is not None and (
                metric.critical > metric.warning if metric.below
                else metric.warning > metric.critical):
            order = "below" if metric.below else "above"
            raise ValueError(f"metric {name!r}: warning ({metric.warning:g}) is {order} "
                             f"critical ({metric.critical:g})")
        out.append(metric)
    return tuple(out)


# --- judging ---------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def judge_metric(metric: AppMetric, value: float | None) -> CheckResult:
    """A metric's verdict for `value`."""
    title = metric.title or metric.name
    unit = f" {metric.unit}" if metric.unit else ""
    if value is None:
        return CheckResult(Status.OK, f"{title}: no value")

    def reached(limit: float | None) -> bool:
        return limit is not None and (value <= limit if metric.below else value >= limit)

    sign = "≤" if metric.below else "≥"
    for status, limit in ((Status.CRITICAL, metric.critical), (Status.WARNING, metric.warning)):
        if reached(limit):
            return CheckResult(status, f"{title}: {_number(value)}{unit} ({sign} "
                                       f"{status.value} {_number(limit)})",
                               {metric.name: value})
    return CheckResult(Status.OK, f"{title}: {_number(value)}{unit}", {metric.name: value})


def _field_at(doc: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if isinstance(doc, Mapping) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return False, None
    return True, doc


def json_mismatches(doc: Any, expected: Mapping[str, Any]) -> list[str]:
    """What in `doc` differs from `expected` (dotted path → value), one phrase each."""
    out = []
    for path, want in expected.items():
        found, got = _field_at(doc, path)
        if not found:
            out.append(f"{path} is missing")
        elif got != want:
            out.append(f"{path} is {got!r}, expected {want!r}")
    return out


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


# --- readings --------------------------------------------------------------------------------


class _Shared(Generic[T]):
    """One fetch serves every caller within `max_age` seconds, and callers that arrive
    while a fetch runs wait for it rather than starting their own."""

    def __init__(self, fetch: Callable[[], Awaitable[T]], max_age: float) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._lock = asyncio.Lock()
        self._value: T | None = None
        self._at = float("-inf")

    async def get(self) -> T:
        asked = time.monotonic()
        async with self._lock:
            now = time.monotonic()
            if self._value is None or (self._at < asked and now - self._at > self._max_age):
                self._value = await self._fetch()
                self._at = time.monotonic()
            return self._value


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
        if ctx.config.get("restarts_warning", 1) > ctx.config.get("restarts_critical", 3):
            raise ValueError(f"restarts_warning ({ctx.config['restarts_warning']}) is above "
                             f"restarts_critical ({ctx.config['restarts_critical']})")
        reuse = float(ctx.config.get("reuse_seconds", 5))
        self.health = _Shared(self._probe, reuse)
        self.container = _Shared(self._inspect, reuse)
        self.database = _Shared(self._query, reuse)
        self._history: deque[dict[str, Any]] = deque(maxlen=int(ctx.config.get("history",
                                                                               360)))
        self._started: tuple[Any, int] | None = None  # (StartedAt, RestartCount) last seen
        self._restarts: deque[float] = deque(maxlen=1000)

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
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, asyncio.TimeoutError):
                reason = f"no answer within {self.config['health_timeout']:g}s"
            return CheckResult(Status.CRITICAL, f"{self.spec.app}: cannot reach {url}: "
                                                f"{reason}")
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
        for status, key in ((Status.CRITICAL, "restarts_critical"),
                            (Status.WARNING, "restarts_warning")):
            if restarts >= self.config[key]:
                return CheckResult(status, summary, metrics)
        return CheckResult(Status.OK, summary, metrics)

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
        import psycopg  # the driver loads only when an app's database is watched

        keywords = self._connection(peer)
        where = f"{database} on {keywords['host']}:{keywords['port']} as {keywords['user']}"
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
            return CheckResult(Status.UNKNOWN, f"{metric.title or metric.name}: query failed: "
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
                             f"{app}: {metric.title or metric.name}",
                             metric.description or _thresholds(metric), interval=interval,
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
        tail = {"type": "integer", "minimum": 1, "maximum": 10000,
                "default": self.config["logs_tail"], "title": "Lines",
                "description": "How many of the last lines to return."}
        return [
            Action("logs", self.logs, f"{app}: tail logs",
                   f"The last lines of container {name}'s output (read-only, through "
                   f"docker.logs).", {"type": "object", "additionalProperties": False,
                                      "properties": {"tail": tail}}),
            Action("restart", self.restart, f"Restart the {app}",
                   f"Asks for docker.restart of container {name}: nothing restarts until an "
                   f"admin approves that request.",
                   {"type": "object", "additionalProperties": False, "properties": {
                       "timeout": {"type": "integer", "minimum": 0, "maximum": 600,
                                   "default": 10, "title": "Grace period (s)",
                                   "description": "Seconds the bot gets to stop after "
                                                  "SIGTERM before it is killed."}}}),
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
            rows.append({"metric": metric.name, "title": metric.title or metric.name,
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
        metric_fields = tuple(Field(m.name, m.title or m.name, m.unit, m.description)
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
                    _EMPTY, run=status)]
        if self.config["database"]:
            out += [Tool(m.name, m.question or f"{app}: {m.title or m.name}"
                         + (f" ({m.unit})" if m.unit else "") + ".", _EMPTY,
                         run=self._metric_tool(m)) for m in self.metrics]
        if self.config["container"]:
            name = self.config["container"]
            out += [
                Tool("logs", f"The last lines of the {app}'s container output.",
                     action=f"{self.ctx.name}.logs"),
                # Straight to docker.restart, so the model is told it needs an approval.
                Tool("restart", f"Restart the {app} (container {name}).",
                     {"type": "object", "additionalProperties": False,
                      "required": ["container"],
                      "properties": {"container": {"const": name, "default": name}}},
                     action="docker.restart"),
            ]
        return out

    def _metric_tool(self, metric: AppMetric) -> Callable[[Params], Awaitable[Any]]:
        async def run(params: Params) -> Any:
            reading = await self.database.get()
            result = self.judge(metric, reading)
            return {"metric": metric.name, "title": metric.title or metric.name,
                    "value": reading.values.get(metric.name), "unit": metric.unit,
                    "status": result.status.value, "summary": result.summary}

        return run


_EMPTY: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def _thresholds(metric: AppMetric) -> str:
    sign = "≤" if metric.below else "≥"
    limits = [f"{name} at {sign} {_number(limit)}" for name, limit in
              (("warning", metric.warning), ("critical", metric.critical)) if limit is not None]
    return f"{metric.title or metric.name}" + (f": {', '.join(limits)}." if limits else ".")


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


# --- hooks -----------------------------------------------------------------------------------

_hookimpl = pluggy.HookimplMarker("nebula")


def appwatch_hooks(spec: AppSpec) -> dict[str, Callable[..., Any]]:
    """Every hook a plugin watching `spec`'s app needs: its module does
    `globals().update(appwatch_hooks(SPEC))` beside its manifest."""
    schema = appwatch_schema(spec)
    # Hooks are called with the context; the watch of one start is kept per context (the
    # entry holds the context, so its id is not reused while the entry exists).
    watches: dict[int, tuple[PluginContext, AppWatch]] = {}

    def watch(ctx: PluginContext) -> AppWatch:
        entry = watches.get(id(ctx))
        if entry is None:
            entry = watches[id(ctx)] = (ctx, AppWatch(ctx, spec))
        return entry[1]

    def nebula_config_schema() -> Any:
        return copy.deepcopy(schema)

    def nebula_startup(ctx: PluginContext) -> None:
        watch(ctx)  # a bad metric fails the start with its reason

    def nebula_shutdown(ctx: PluginContext) -> None:
        with contextlib.suppress(KeyError):
            del watches[id(ctx)]

    def nebula_checks(ctx: PluginContext) -> list[Check]:
        return watch(ctx).checks()

    def nebula_actions(ctx: PluginContext) -> list[Action]:
        return watch(ctx).actions()

    def nebula_panels(ctx: PluginContext) -> list[Panel]:
        return watch(ctx).panels()

    def nebula_tools(ctx: PluginContext) -> list[Tool]:
        return watch(ctx).tools()

    hooks = (nebula_config_schema, nebula_startup, nebula_shutdown, nebula_checks,
             nebula_actions, nebula_panels, nebula_tools)
    return {hook.__name__: _hookimpl(hook) for hook in hooks}
