"""Actions, approvals and the audit log."""

from __future__ import annotations

import enum
from typing import Any

from aiohttp import web

from nebula.actions import (
    ActionNotFound,
    ActionUnavailable,
    ApprovalConflict,
    ApprovalNotFound,
    InvalidParams,
)
from nebula.approvals import ApprovalStatus
from nebula.http.endpoints import ADMIN, endpoint, json_body, ok, query_number
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem
from nebula.http.schemas import (
    ACTION_LIST,
    ACTION_OUTCOME,
    APPROVAL,
    APPROVAL_LIST,
    OBJECT,
    RUN,
    RUN_LIST,
)
from nebula.runs import RunNotFound, RunStatus
from nebula.tokens import LOCAL_ADMIN
from nebula.views import describe_action as describe

# Long enough for every quick action to answer at once; a backup or restore answers 202 and
# is followed through its run.
DEFAULT_WAIT = 60.0


@endpoint("GET", "/api/v1/actions", "Every action, with its parameter schema", tag="actions",
          response=ACTION_LIST)
async def list_actions(request: web.Request) -> web.Response:
    actions = agent_of(request).actions.actions.values()
    return ok({"actions": [describe(a) for a in sorted(actions, key=lambda a: a.name)]})


WAIT = {"type": "number", "minimum": 0, "maximum": 3600, "default": DEFAULT_WAIT,
        "description": "seconds to wait for the outcome; a run still going then answers 202 "
                       "with the run to follow at /api/v1/runs/{id}"}
RUN_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "params": {"type": "object"},
        "approve": {"type": "boolean",
                    "description": "pre-approve a destructive action (local admin only: "
                                   "`nebula action run --yes` on the host)"},
        "wait": WAIT,
    },
}


@endpoint("POST", "/api/v1/actions/{name}/run",
          "Run an action: 200 with its outcome, 502 when it ran and failed, 202 with the run "
          "when it goes on past `wait`, 202 with a pending approval for a destructive one",
          role=ADMIN, body=RUN_SCHEMA, tag="actions", response=ACTION_OUTCOME,
          statuses=(200, 202, 502), problems=(503,))
async def run_action(request: web.Request) -> web.Response:
    body = await json_body(request, RUN_SCHEMA)
    principal = principal_of(request)
    if body.get("approve") and principal.name != LOCAL_ADMIN:
        raise Problem(403, "only the local admin on the host can pre-approve; "
                           "approve through /api/v1/approvals instead")
    preapproved = f"{principal.name} (--yes)" if body.get("approve") else None
    try:
        outcome = await agent_of(request).actions.request(
            request.match_info["name"], body.get("params", {}), principal.name, preapproved,
            body.get("wait", DEFAULT_WAIT))
    except ActionNotFound:
        raise Problem(404, f"no action named {request.match_info['name']!r}") from None
    except InvalidParams as exc:
        raise Problem(422, "invalid action parameters",
                      errors=[{"path": p.path, "message": p.message}
                              for p in exc.problems]) from None
    except ActionUnavailable as exc:
        raise Problem(503, str(exc)) from None
    return ok(outcome, outcome_status(outcome))


def outcome_status(outcome: dict[str, Any]) -> int:
    """The HTTP status of a run's answer, as the OpenAPI summaries document it."""
    return {"ok": 200, "pending_approval": 202, "running": 202}.get(outcome["status"], 502)


@endpoint("GET", "/api/v1/approvals", "Approvals, newest first",
          query={"status": "pending, approved, denied or expired", "limit": "1-1000"},
          tag="approvals", response=APPROVAL_LIST)
async def list_approvals(request: web.Request) -> web.Response:
    status, limit = _status_and_limit(request, ApprovalStatus)
    return ok({"approvals": await agent_of(request).actions.approvals(status, limit)})


def _status_and_limit(request: web.Request, statuses: type[enum.Enum]) -> tuple[str | None, int]:
    """A listing's `status` filter (one of `statuses`, 400 otherwise) and `limit`."""
    status = request.query.get("status")
    allowed = [s.value for s in statuses]
    if status is not None and status not in allowed:
        raise Problem(400, f"status must be {', '.join(allowed[:-1])} or {allowed[-1]}")
    return status, int(query_number(request, "limit", 100, minimum=1, maximum=1000))


@endpoint("GET", "/api/v1/approvals/{id}", "One approval", tag="approvals",
          response=APPROVAL)
async def get_approval(request: web.Request) -> web.Response:
    try:
        return ok(await agent_of(request).actions.approval(request.match_info["id"]))
    except ApprovalNotFound:
        raise Problem(404, f"no approval {request.match_info['id']!r}") from None


DENY_SCHEMA = {"type": "object", "additionalProperties": False,
               "properties": {"reason": {"type": "string", "maxLength": 1000}}}


APPROVE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {"digest": {"type": "string", "maxLength": 128,
                              "description": "the approval's `digest` as shown to the "
                                             "approver; refused (409) if it no longer "
                                             "matches"},
                   "wait": WAIT}}


@endpoint("POST", "/api/v1/approvals/{id}/approve",
          "Approve a pending action and run exactly the plan filed with it",
          role=ADMIN, body=APPROVE_SCHEMA, tag="approvals", response=ACTION_OUTCOME,
          statuses=(200, 202, 502), problems=(409,))
async def approve(request: web.Request) -> web.Response:
    body = await json_body(request, APPROVE_SCHEMA)
    runner = agent_of(request).actions
    outcome = await _decide(request, lambda i, who: runner.approve(
        i, who, body.get("digest"), body.get("wait", DEFAULT_WAIT)))
    return ok(outcome, outcome_status(outcome))


@endpoint("GET", "/api/v1/runs", "Action runs, newest first",
          query={"status": "running, ok, error or interrupted", "limit": "1-1000"},
          tag="actions", response=RUN_LIST)
async def list_runs(request: web.Request) -> web.Response:
    status, limit = _status_and_limit(request, RunStatus)
    return ok({"runs": await agent_of(request).actions.runs.list(status, limit)})


@endpoint("GET", "/api/v1/runs/{id}", "One action run: status, progress, outcome",
          tag="actions", response=RUN)
async def get_run(request: web.Request) -> web.Response:
    try:
        return ok(await agent_of(request).actions.runs.get(request.match_info["id"]))
    except RunNotFound:
        raise Problem(404, f"no run {request.match_info['id']!r}") from None


@endpoint("POST", "/api/v1/approvals/{id}/deny", "Deny a pending action", role=ADMIN,
          body=DENY_SCHEMA, tag="approvals", response=APPROVAL, problems=(409,))
async def deny(request: web.Request) -> web.Response:
    reason = (await json_body(request, DENY_SCHEMA)).get("reason", "")
    runner = agent_of(request).actions
    return ok(await _decide(request, lambda i, who: runner.deny(i, who, reason)))


async def _decide(request: web.Request, decide: Any) -> dict[str, Any]:
    approval_id = request.match_info["id"]
    try:
        return await decide(approval_id, principal_of(request).name)
    except ApprovalNotFound:
        raise Problem(404, f"no approval {approval_id!r}") from None
    except ApprovalConflict as exc:
        raise Problem(409, str(exc)) from None
    except ActionNotFound as exc:
        raise Problem(409, f"action {exc} is no longer available (plugin disabled?)") from None


@endpoint("GET", "/api/v1/audit", "The audit log, newest first",
          query={"actor": "exact actor", "action": "exact action name",
                 "outcome": "ok, error, pending_approval or denied",
                 "q": "part of the action, actor or detail (any case)",
                 "plugin": "the actions of one plugin",
                 "since": "epoch seconds", "until": "epoch seconds (exclusive)",
                 "limit": "1-1000", "offset": "rows to skip (paging)"}, tag="audit",
          response=OBJECT)
async def audit(request: web.Request) -> web.Response:
    q = request.query
    until = query_number(request, "until", 0)
    rows = await agent_of(request).actions.audit_log(
        q.get("actor"), q.get("action"), q.get("outcome"),
        query_number(request, "since", 0),
        int(query_number(request, "limit", 100, minimum=1, maximum=1000)),
        search=q.get("q") or None, plugin=q.get("plugin") or None, until=until or None,
        offset=int(query_number(request, "offset", 0, minimum=0)))
    return ok({"audit": rows})
