"""JSON Schemas of what the core's API answers, for its OpenAPI document.

A schema with a `title` becomes a named component there (`#/components/schemas/<title>`),
so a generated client has one model per shape however many routes answer it. Objects stay
open (no `additionalProperties: false`): a field added later must not break a client
generated today.
"""

from __future__ import annotations

from typing import Any

from nebula.approvals import ApprovalStatus
from nebula.contributions import Status
from nebula.plugins import PluginState
from nebula.runs import RunStatus
from nebula.units import Unit

Schema = dict[str, Any]


def _nullable(kind: str) -> Schema:
    return {"type": [kind, "null"]}


def _object(name: str, required: list[str] | None = None, /, **properties: Schema
            ) -> Schema:
    schema: Schema = {"title": name, "type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return schema


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


STRING, NUMBER, INTEGER, BOOLEAN, OBJECT = ({"type": t} for t in (
    "string", "number", "integer", "boolean", "object"))
ANY: Schema = {}

PROBLEM = _object(
    "Problem", None,
    type={"type": "string", "description": "a URI naming the kind of problem"},
    title=STRING, status=INTEGER, detail=STRING,
    errors={"type": "array", "description": "every problem with the input: "
                                            "{path, message} objects, or lines of text",
            "items": {"anyOf": [{"type": "object",
                                 "properties": {"path": STRING, "message": STRING}},
                                STRING]}},
)
PROBLEM["description"] = "An error answer (RFC 9457); some carry more fields (known, allow)."

CHECK_SUMMARY = _object("CheckSummary", _values(Status), **{s: INTEGER for s in _values(Status)})
CHECK_STATUS: Schema = {"type": "string", "enum": _values(Status)}
CHECK = _object(
    "Check", ["name", "plugin", "status", "summary"],
    name=STRING, plugin=STRING, title=STRING, description=STRING,
    status=CHECK_STATUS,
    last_status={"anyOf": [CHECK_STATUS, {"type": "null"}]},
    status_summary=STRING, summary=STRING,
    pending={"anyOf": [_object("PendingChange", None, status=CHECK_STATUS, summary=STRING,
                               results=INTEGER, needed=INTEGER), {"type": "null"}]},
    maintenance={**BOOLEAN, "description": "inside a maintenance window: results are kept "
                 "marked, notifications and remediation wait"},
    metrics=OBJECT, last_run=_nullable("number"), since=_nullable("number"),
    duration_ms=NUMBER, interval=NUMBER,
)
CHECK_LIST = _object("CheckList", ["summary", "checks"], summary=CHECK_SUMMARY,
                     checks={"type": "array", "items": CHECK})
CHECK_RUN = _object("CheckRun", ["checks"], checks={"type": "array", "items": CHECK})
CHECK_HISTORY = _object(
    "CheckHistory", ["check"], check=STRING,
    results={"type": "array", "description": "without `metric`: the latest results",
             "items": _object("CheckResult", None, ts=NUMBER, status=CHECK_STATUS,
                              state=STRING, summary=STRING, metrics=OBJECT,
                              duration_ms=NUMBER, maintenance=BOOLEAN)},
    metric=STRING, unit={**_nullable("string"), "enum": [*_values(Unit), None]},
    range=STRING, since=NUMBER, until=NUMBER,
    samples={"type": "array", "description": "with `metric`: [ts, min, avg, max] per bucket",
             "items": {"type": "array", "items": NUMBER, "minItems": 4, "maxItems": 4}})
CHECK_HISTORY["description"] = ("A metric's samples (asked with `metric`/`range`) or the "
                                "check's latest results (asked without)")
CHECK_SPANS = _object(
    "CheckSpans", ["check", "spans", "status_seconds"], check=STRING, range=STRING,
    since=NUMBER, until=NUMBER,
    spans={"type": "array", "items": _object(
        "StatusSpan", ["start", "end", "status"], start=NUMBER, end=_nullable("number"),
        status=CHECK_STATUS, summary=STRING, maintenance=BOOLEAN)},
    status_seconds=_object("StatusSeconds", None, **{k: NUMBER for k in (
        *_values(Status), "maintenance")}))

ACTION = _object(
    "Action", ["name", "plugin", "destructive"],
    name=STRING, plugin=STRING, title=STRING, description=STRING,
    params={"type": "object", "description": "JSON Schema of the action's parameters"},
    destructive=BOOLEAN, read_only=BOOLEAN, timeout=NUMBER,
)
ACTION_LIST = _object("ActionList", ["actions"], actions={"type": "array", "items": ACTION})

APPROVAL = _object(
    "Approval", ["id", "action", "status"],
    id=STRING, created=NUMBER, expires=_nullable("number"), action=STRING,
    requested_by=STRING, status={"type": "string", "enum": _values(ApprovalStatus)},
    decided_by=_nullable("string"), decided_at=_nullable("number"), reason=STRING,
    digest=STRING, params=OBJECT, plan=ANY, result=ANY, self_approved=BOOLEAN,
)
APPROVAL_LIST = _object("ApprovalList", ["approvals"],
                        approvals={"type": "array", "items": APPROVAL})

RUN = _object(
    "Run", ["id", "action", "status"],
    id=STRING, action=STRING, actor=STRING, approval_id=_nullable("string"), started=NUMBER,
    finished=_nullable("number"), status={"type": "string", "enum": _values(RunStatus)},
    progress=_nullable("number"), message=STRING,
    outcome={"anyOf": [OBJECT, {"type": "null"}]},
)
RUN_LIST = _object("RunList", ["runs"], runs={"type": "array", "items": RUN})

# What running an action (or approving one) answers: the outcome when it ended within
# `wait` (200 ok, 502 error), else 202 with the run to follow or the approval filed.
ACTION_OUTCOME = _object(
    "ActionOutcome", ["status"],
    status={"type": "string", "enum": ["ok", "error", "pending_approval", "running"]},
    result=ANY, error=STRING, duration_ms=NUMBER,
    run={"anyOf": [{"type": "string", "description": "the id of the run that ended"}, RUN]},
    approval=APPROVAL,
)

PLUGIN = _object(
    "Plugin", ["name", "state"],
    name=STRING, state={"type": "string", "enum": _values(PluginState)},
    error=_nullable("string"), distribution=_nullable("string"),
    version=_nullable("string"), api_version=_nullable("string"), description=STRING,
    builtin=BOOLEAN,
    contributions={"type": "object", "description": "names of what it contributes, by kind",
                   "additionalProperties": {"type": "array", "items": STRING}},
)
PLUGIN_LIST = _object("PluginList", ["plugins"], plugins={"type": "array", "items": PLUGIN})
PLUGIN_DETAIL = _object(
    "PluginDetail", [*PLUGIN["required"], "config"],
    **PLUGIN["properties"], config=OBJECT,
    config_schema={"anyOf": [OBJECT, {"type": "null"}]},
)

AGENT_STATUS = _object(
    "AgentStatus", ["version"],
    version=STRING, started_at=NUMBER, uptime=NUMBER, config=_nullable("string"),
    data_dir=STRING, plugins={"type": "object", "additionalProperties": INTEGER},
    checks=CHECK_SUMMARY, pending_approvals=INTEGER,
)
HEALTH = _object("Health", ["status"], status=STRING)
# Answers that are not JSON: contentMediaType names the media type the document gives.
METRICS_TEXT: Schema = {"type": "string", "contentMediaType": "text/plain"}
