"""What a watched app is: its `AppSpec` (defaults and wording), the SQL metrics it is
judged by, and the config schema they give. Plain data and pure rules, light enough for a
plugin's manifest to import; the watching itself is `nebula.helpers.appwatch`.

    SPEC = AppSpec(app="n8n", container="n8n", database="n8n",
                   health_url="http://127.0.0.1:5678/healthz",
                   metrics=(AppMetric("failed_runs", "SELECT count(*) FROM execution_entity "
                                      "WHERE status = 'error'", "Failed runs", warning=5),))
    CONFIG_SCHEMA = appwatch_schema(SPEC)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.contributions import NAME_RE, CheckResult, Status
from nebula.helpers.checks import level, limit_order_problem
from nebula.helpers.schema import config_schema, integer, interval, number, string

# Contribution names every watched app has; a metric may not take one of them.
RESERVED = frozenset({"health", "container", "database", "status", "metrics", "history",
                      "logs", "restart"})


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

    @property
    def label(self) -> str:
        return self.title or self.name


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
    return config_schema({
        "interval": interval(60, "Seconds between checks."),
        "reuse_seconds": number(5, "A reading younger than this serves every check, panel "
                                   "and tool that asks (poll once, read many)."),
        "health_url": string(spec.health_url, "The app's HTTP health endpoint; empty: no "
                                              "HTTP check."),
        "health_status": integer(200, "Expected HTTP status.", 100, 599),
        "health_json": {"type": "object", "default": dict(spec.health_json),
                        "description": "Expected JSON fields of the answer: dotted path → "
                                       "value (`checks.db = \"up\"`)."},
        "health_timeout": number(5, "Seconds the health endpoint may take.", 0.1),
        "container": string(spec.container, "The app's container (docker plugin); empty: "
                                            "no container check."),
        "restart_window_minutes": number(60, "Restarts are counted over this window.", 1),
        "restarts_warning": integer(1, "Restarts within the window that warn.", 1),
        "restarts_critical": integer(3, "Restarts within the window that are critical.", 1),
        "logs_tail": integer(100, "Lines the logs action returns by default.", 1, 10000),
        "database": string(spec.database, "The app's PostgreSQL database; the connection "
                                          "is the postgres plugin's. Empty: no database "
                                          "checks."),
        "db_user": string(None, "Connect as this user instead of the postgres plugin's."),
        "db_password": {"type": "string", "writeOnly": True,
                        "description": "db_user's password: `${ENV}` or "
                                       "`db_password_file`."},
        "statement_timeout_ms": integer(5000, "Longest a metric query may run.", 1),
        "metrics": {"type": "object", "default": {},
                    "propertyNames": {"pattern": NAME_RE.pattern},
                    "additionalProperties": METRIC_SCHEMA,
                    "description": "SQL metrics by name: new ones, or overrides of the "
                                   "built-in ones (thresholds, sql, enabled = false)."},
        "history": integer(360, "Metric readings kept for the history panel.", 2, 100000),
    })


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
        if problem := limit_order_problem("warning", metric.warning, "critical",
                                          metric.critical, below=metric.below):
            raise ValueError(f"metric {name!r}: {problem}")
        out.append(metric)
    return tuple(out)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def judge_metric(metric: AppMetric, value: float | None) -> CheckResult:
    """A metric's verdict for `value`: `Open tickets: 25 tickets (≥ warning 20)`."""
    unit = f" {metric.unit}" if metric.unit else ""
    if value is None:
        return CheckResult(Status.OK, f"{metric.label}: no value")
    status = level(value, metric.warning, metric.critical, below=metric.below)
    shown = f"{metric.label}: {_number(value)}{unit}"
    if status is Status.OK:
        return CheckResult(status, shown, {metric.name: value})
    limit = metric.critical if status is Status.CRITICAL else metric.warning
    assert limit is not None
    sign = "≤" if metric.below else "≥"
    return CheckResult(status, f"{shown} ({sign} {status.value} {_number(limit)})",
                       {metric.name: value})


def thresholds_text(metric: AppMetric) -> str:
    """A metric check's description when the spec gives none: its limits."""
    sign = "≤" if metric.below else "≥"
    limits = [f"{name} at {sign} {_number(limit)}" for name, limit in
              (("warning", metric.warning), ("critical", metric.critical)) if limit is not None]
    return metric.label + (f": {', '.join(limits)}." if limits else ".")


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
