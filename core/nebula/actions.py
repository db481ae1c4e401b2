"""Running actions: validation, approvals for destructive ones, and the audit trail.

The rule holds for every caller (API, CLI, Jarvis, plugins, policies): a destructive action
never runs on request alone. The request becomes a pending approval; it runs when an admin
approves it, and the audit log records who asked, who approved, and what came of it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from nebula.contributions import Action, Tool
from nebula.secrets import SECRETS
from nebula.store import Store

Publish = Callable[[str, dict[str, Any], str], Awaitable[Any]]

PENDING, APPROVED, DENIED = "pending", "approved", "denied"


class ActionNotFound(KeyError):
    pass


class ApprovalNotFound(KeyError):
    pass


class ApprovalConflict(Exception):
    """The approval was already decided."""


@dataclass(frozen=True)
class ParamProblem:
    path: str
    message: str


class InvalidParams(Exception):
    def __init__(self, problems: list[ParamProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def validate_params(action: Action | Tool, params: Mapping[str, Any]) -> list[ParamProblem]:
    """Every problem with `params` against an action's or a tool's schema, not just the
    first."""
    validator = jsonschema.Draft202012Validator(dict(action.params))
    return [
        ParamProblem("/".join(map(str, e.absolute_path)) or "(params)", SECRETS.redact(e.message))
        for e in sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.path)))
    ]


async def timed_outcome(run: Callable[[], Awaitable[Any]], timeout: float) -> dict[str, Any]:
    """Call and await `run` under `timeout` (a plugin callable raising before it returns
    an awaitable counts as its error too): {"status": "ok", "result"} or {"status": "error",
    "error"}, with `duration_ms`, secrets masked; how actions and Jarvis's read-only tools
    report alike."""
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(run(), timeout)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        message = (f"timed out after {timeout:g}s" if isinstance(exc, asyncio.TimeoutError)
                   else SECRETS.redact(f"{type(exc).__name__}: {exc}"))
        outcome: dict[str, Any] = {"status": "error", "error": message}
    else:
        outcome = {"status": "ok", "result": SECRETS.redact(_plain(result))}
    outcome["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return outcome


def _json(value: Any) -> str:
    return json.dumps(SECRETS.redact(value), default=str)


class ActionRunner:
    def __init__(self, store: Store, publish: Publish) -> None:
        self._store = store
        self._publish = publish
        self.actions: dict[str, Action] = {}
        self.counts: dict[tuple[str, str], int] = {}  # (action, outcome) → runs, for /metrics

    def get(self, name: str) -> Action:
        try:
            return self.actions[name]
        except KeyError:
            raise ActionNotFound(name) from None

    async def request(
        self, name: str, params: Mapping[str, Any], actor: str, preapproved_by: str | None = None
    ) -> dict[str, Any]:
        """Run `name`, or file it for approval if it is destructive and nobody approved it."""
        action = self.get(name)
        if problems := validate_params(action, params):
            raise InvalidParams(problems)
        if action.destructive and preapproved_by is None:
            return {"status": "pending_approval",
                    "approval": await self._file_approval(action, params, actor)}
        approval_id = None
        if action.destructive:
            approval = await self._file_approval(action, params, actor, quiet=True)
            approval_id = approval["id"]
            await self._decide(approval_id, APPROVED, preapproved_by)
        return await self._run(action, params, actor, approval_id, preapproved_by)

    async def _file_approval(
        self, action: Action, params: Mapping[str, Any], actor: str, quiet: bool = False
    ) -> dict[str, Any]:
        approval_id = secrets.token_hex(8)
        now = time.time()
        await self._store.execute(
            "INSERT INTO approvals (id, created, action, params, requested_by, status) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (approval_id, now, action.name, json.dumps(dict(params)), actor, PENDING),
        )
        await self.audit(actor, action.name, params, "pending_approval", None, approval_id)
        approval = await self.approval(approval_id)
        if not quiet:
            await self._publish("approval.requested", approval, "core")
        return approval

    async def approval(self, approval_id: str) -> dict[str, Any]:
        row = await self._store.fetchone("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        if row is None:
            raise ApprovalNotFound(approval_id)
        return _public_approval(row)

    async def approvals(self, status: str | None = None, limit: int = 100) -> list[dict]:
        rows = await self._store.fetchall(
            "SELECT * FROM approvals WHERE (? IS NULL OR status = ?) ORDER BY created DESC "
            "LIMIT ?", (status, status, limit))
        return [_public_approval(row) for row in rows]

    async def approve(self, approval_id: str, admin: str) -> dict[str, Any]:
        row = await self._decide(approval_id, APPROVED, admin)
        action = self.get(row["action"])
        params = json.loads(row["params"])
        outcome = await self._run(action, params, row["requested_by"], approval_id, admin)
        await self._store.execute("UPDATE approvals SET result = ? WHERE id = ?",
                                  (_json(outcome), approval_id))
        return {**outcome, "approval": await self.approval(approval_id)}

    async def deny(self, approval_id: str, admin: str, reason: str = "") -> dict[str, Any]:
        row = await self._decide(approval_id, DENIED, admin, reason)
        await self.audit(admin, row["action"], json.loads(row["params"]), "denied", None,
                         approval_id, reason)
        return await self.approval(approval_id)

    async def _decide(
        self, approval_id: str, status: str, admin: str, reason: str = ""
    ) -> dict[str, Any]:
        # The conditional UPDATE is the claim: two admins approving at once run it once.
        claimed = await self._store.call(lambda: self._store.conn.execute(
            "UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
            "WHERE id = ? AND status = ?",
            (status, admin, time.time(), reason, approval_id, PENDING)).rowcount)
        row = await self._store.fetchone("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        if row is None:
            raise ApprovalNotFound(approval_id)
        if not claimed:
            raise ApprovalConflict(f"approval {approval_id} is already {row['status']}")
        await self._publish(f"approval.{status}", _public_approval(row), "core")
        return row

    async def _run(
        self, action: Action, params: Mapping[str, Any], actor: str,
        approval_id: str | None, approved_by: str | None,
    ) -> dict[str, Any]:
        outcome = await timed_outcome(lambda: action.run(params), action.timeout)
        duration_ms = outcome["duration_ms"]
        detail = outcome.get("error", "")
        if approved_by:
            detail = f"approved by {approved_by}" + (f"; {detail}" if detail else "")
        await self.audit(actor, action.name, params, outcome["status"], duration_ms,
                         approval_id, detail)
        key = (action.name, outcome["status"])
        self.counts[key] = self.counts.get(key, 0) + 1
        await self._publish("action.ran", {"action": action.name, "actor": actor,
                                           "status": outcome["status"]}, "core")
        return outcome

    async def audit(
        self, actor: str, action: str, params: Mapping[str, Any], outcome: str,
        duration_ms: float | None, approval_id: str | None, detail: str = "",
    ) -> None:
        await self._store.execute(
            "INSERT INTO audit (ts, actor, action, params, outcome, duration_ms, approval_id, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), actor, action, _json(dict(params)), outcome, duration_ms,
             approval_id, SECRETS.redact(detail)),
        )

    async def audit_log(
        self, actor: str | None = None, action: str | None = None, outcome: str | None = None,
        since: float = 0, limit: int = 100,
    ) -> list[dict[str, Any]]:
        rows = await self._store.fetchall(
            "SELECT * FROM audit WHERE ts >= ? AND (? IS NULL OR actor = ?) "
            "AND (? IS NULL OR action = ?) AND (? IS NULL OR outcome = ?) "
            "ORDER BY id DESC LIMIT ?",
            (since, actor, actor, action, action, outcome, outcome, limit))
        for row in rows:
            row["params"] = json.loads(row["params"])
        return rows


def _plain(value: Any) -> Any:
    """Make an action's result JSON-safe (dataclasses, sets, paths become plain values)."""
    return json.loads(json.dumps(value, default=_fallback))


def _fallback(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _public_approval(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["params"] = SECRETS.redact(json.loads(out["params"]))
    out["result"] = json.loads(out["result"]) if out.get("result") else None
    return out
