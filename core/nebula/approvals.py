"""Pending approvals, bound to what the approver saw.

An approval keeps two copies of a request: the shown one (parameters and the resolved plan,
secrets and write-only values masked) with a digest of it, and the sealed one (encrypted
with the agent's key) that is what runs. Approving runs exactly the sealed plan; an
approval past its time to live can only be filed again; who approved their own request is
on record.
"""

from __future__ import annotations

import builtins
import enum
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.errors import NebulaError
from nebula.secret_store import Sealer
from nebula.secrets import SECRETS
from nebula.store import Store

Publish = Callable[[str, dict[str, Any], str], Awaitable[Any]]


class ApprovalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


class ApprovalNotFound(NebulaError, KeyError):
    pass


class ApprovalConflict(NebulaError):
    """The approval was already decided, has expired, or is not what the approver saw."""


def digest(action: str, shown_params: Any, shown_plan: Any) -> str:
    """What an approver's client sends back to prove which request it approves."""
    canonical = json.dumps({"action": action, "params": shown_params, "plan": shown_plan},
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Approvals:
    def __init__(self, store: Store, publish: Publish, sealer: Sealer, ttl: float) -> None:
        self._store = store
        self._publish = publish
        self._sealer = sealer
        self.ttl = ttl
        self.clock: Callable[[], float] = time.time  # tests move it instead of sleeping

    async def file(self, action: str, shown_params: Mapping[str, Any], shown_plan: Any,
                   sealed: Mapping[str, Any], actor: str) -> dict[str, Any]:
        approval_id = secrets.token_hex(8)
        now = self.clock()
        await self._store.execute(
            "INSERT INTO approvals (id, created, expires, action, params, plan, sealed, digest, "
            "requested_by, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (approval_id, now, now + self.ttl, action, json.dumps(shown_params),
             None if shown_plan is None else json.dumps(shown_plan),
             self._sealer.seal(json.dumps(sealed)),
             digest(action, shown_params, shown_plan), actor, ApprovalStatus.PENDING.value))
        return await self.get(approval_id)

    async def get(self, approval_id: str) -> dict[str, Any]:
        await self.expire_due()
        return public(await self._row(approval_id))

    async def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        await self.expire_due()
        rows = await self._store.fetchall(
            "SELECT * FROM approvals WHERE (? IS NULL OR status = ?) ORDER BY created DESC "
            "LIMIT ?", (status, status, limit))
        return [public(row) for row in rows]

    async def _row(self, approval_id: str) -> dict[str, Any]:
        row = await self._store.fetchone("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        if row is None:
            raise ApprovalNotFound(approval_id)
        return row

    async def expire_due(self) -> builtins.list[dict[str, Any]]:
        """Mark every pending approval past its time as expired (rows from before expiry
        existed get `created + ttl`) and announce each."""
        now = self.clock()
        due = await self._store.fetchall(
            "SELECT id FROM approvals WHERE status = ? AND COALESCE(expires, created + ?) <= ?",
            (ApprovalStatus.PENDING.value, self.ttl, now))
        expired = []
        for row in due:
            if await self._claim(row["id"], ApprovalStatus.EXPIRED, "core", "expired unused",
                                 now, check_expiry=False):
                approval = public(await self._row(row["id"]))
                expired.append(approval)
                await self._publish("approval.expired", approval, "core")
        return expired

    async def decide(self, approval_id: str, status: ApprovalStatus, admin: str,
                     reason: str = "", expect_digest: str | None = None) -> dict[str, Any]:
        """Claim a pending approval for `admin`; answers the row with its sealed request
        opened (`request`). Refused when decided already, expired, or when the approver's
        client saw something else (`expect_digest`)."""
        await self.expire_due()
        row = await self._row(approval_id)
        if expect_digest is not None and expect_digest != row["digest"]:
            raise ApprovalConflict(
                f"approval {approval_id} is not the request you were shown (digest "
                f"mismatch); reload it and decide again")
        if not await self._claim(approval_id, status, admin, reason, self.clock()):
            row = await self._row(approval_id)
            raise ApprovalConflict(f"approval {approval_id} is already {row['status']}")
        row = await self._row(approval_id)
        await self._publish(f"approval.{status.value}", public(row), "core")
        if row["sealed"]:
            row["request"] = json.loads(self._sealer.unseal(row["sealed"],
                                                            f"approval {approval_id}"))
        else:  # filed before requests were sealed: only the shown params exist
            row["request"] = {"params": json.loads(row["params"]), "plan": None}
        return row

    async def _claim(self, approval_id: str, status: ApprovalStatus, admin: str, reason: str,
                     now: float, check_expiry: bool = True) -> bool:
        # The conditional UPDATE is the claim: two admins approving at once run it once, and
        # an approval cannot be approved in the instant it expires. The sealed request is
        # dropped with the decision: nothing to run later, nothing left to read.
        sql = ("UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ?, "
               "sealed = CASE WHEN ? = 'approved' THEN sealed ELSE NULL END "
               "WHERE id = ? AND status = ?")
        args: tuple[Any, ...] = (status.value, admin, now, reason, status.value, approval_id,
                                 ApprovalStatus.PENDING.value)
        if check_expiry:
            sql += " AND COALESCE(expires, created + ?) > ?"
            args += (self.ttl, now)
        return bool(await self._store.changes(sql, args))

    async def finish(self, approval_id: str, outcome: Mapping[str, Any]) -> None:
        await self._store.execute(
            "UPDATE approvals SET result = ?, sealed = NULL WHERE id = ?",
            (json.dumps(SECRETS.redact(outcome), default=str), approval_id))


def public(row: Mapping[str, Any]) -> dict[str, Any]:
    """An approval as the API, the panel, events and notifications show it."""
    out = {key: row[key] for key in ("id", "created", "expires", "action", "requested_by",
                                     "status", "decided_by", "decided_at", "reason", "digest")}
    out["params"] = SECRETS.redact(json.loads(row["params"]))
    out["plan"] = SECRETS.redact(json.loads(row["plan"])) if row.get("plan") else None
    out["result"] = json.loads(row["result"]) if row.get("result") else None
    out["self_approved"] = (row["status"] == ApprovalStatus.APPROVED.value
                            and row["decided_by"] == row["requested_by"])
    return out
