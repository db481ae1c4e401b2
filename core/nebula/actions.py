"""Running actions: validation, approvals for destructive ones, and the audit trail.

The rule holds for every caller (API, CLI, Jarvis, plugins, policies): a destructive action
never runs on request alone. The request becomes a pending approval (nebula.approvals) bound
to what it resolved to at request time; it runs when an admin approves it, and the audit log
records who asked, who approved, and what came of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from nebula import write_only
from nebula.approvals import (
    ApprovalConflict,
    ApprovalNotFound,
    Approvals,
    ApprovalStatus,
    Publish,
)
from nebula.contributions import Action, ParamError, Tool
from nebula.errors import NebulaError
from nebula.roles import CALLER
from nebula.runs import RunNotFound, Runs, RunStatus
from nebula.secret_store import Sealer
from nebula.secrets import SECRETS, Secrets
from nebula.store import Store

__all__ = ["ActionNotFound", "ActionRunner", "ActionUnavailable", "ApprovalConflict",
           "ApprovalNotFound", "InvalidParams", "ParamProblem", "RunNotFound", "timed_outcome",
           "validate_params"]


# How a plugin asking through `ctx.call_action` is named in the audit log.
PLUGIN_ACTOR = "plugin:"


class ActionNotFound(NebulaError, KeyError):
    pass


@dataclass
class Cover:
    """The calls of other plugins' actions an approved plan listed under `"covers"`
    (`[{"action": "caddy.add_site", "params": {...}}, ...]`): while that approved run
    runs, its plugin's `ctx.call_action` of exactly one of them (same action, same params)
    runs under the same approval instead of filing a second one. Each listed call covers
    one call; anything else is filed for approval as usual."""

    approval_id: str
    admin: str
    action: str
    calls: list[Any]
    used: set[int] = field(default_factory=set)

    def claim(self, name: str, params: Mapping[str, Any], actor: str) -> bool:
        if actor != PLUGIN_ACTOR + self.action.split(".", 1)[0]:
            return False  # only the covering action's own plugin asks under its approval
        wanted = {"action": name, "params": _plain(dict(params))}
        for index, call in enumerate(self.calls):
            if index not in self.used and _plain(call) == wanted:
                self.used.add(index)
                return True
        return False


# Set in each run: the Cover of the approved run whose task this is, else None.
COVER: ContextVar[Cover | None] = ContextVar("nebula_cover", default=None)


class ActionUnavailable(NebulaError):
    """The action could not resolve its request (its service is down, say): nothing was
    filed or run."""


@dataclass(frozen=True)
class ParamProblem:
    path: str
    message: str


class InvalidParams(ParamError):
    """Every problem with a request; a `ParamError` to plugins that asked through
    `ctx.call_action` (the first problem's path, all the messages)."""

    def __init__(self, problems: list[ParamProblem]) -> None:
        self.problems = problems
        first = problems[0].path if problems else "(params)"
        super().__init__(first, "; ".join(f"{p.path}: {p.message}" for p in problems))


def validate_params(action: Action | Tool, params: Mapping[str, Any]) -> list[ParamProblem]:
    """Every problem with `params` against an action's or a tool's schema, not just the
    first."""
    validator = jsonschema.Draft202012Validator(dict(action.params))
    masked = write_only.mask(action.params, params)
    return [
        # A message quotes the offending value: built on the masked copy, a PIN stays out.
        ParamProblem("/".join(map(str, e.absolute_path)) or "(params)",
                     SECRETS.redact(_message(validator, masked, e)))
        for e in sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.path)))
    ]


def _message(validator: jsonschema.Draft202012Validator, masked: Any,
             error: jsonschema.ValidationError) -> str:
    for shown in validator.iter_errors(masked):
        if list(shown.absolute_path) == list(error.absolute_path) and \
                shown.validator == error.validator:
            return shown.message
    return (f"does not satisfy {error.validator} {json.dumps(error.validator_value)} "
            "(the value is write-only and not shown)")


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


class ActionRunner:
    def __init__(self, store: Store, publish: Publish, sealer: Sealer,
                 approval_ttl: float = 3600.0) -> None:
        self._store = store
        self._publish = publish
        self.approvals_store = Approvals(store, publish, sealer, approval_ttl)
        self.runs = Runs(store, publish)
        self.actions: dict[str, Action] = {}
        self.counts: dict[tuple[str, str], int] = {}  # (action, outcome) → runs, for /metrics

    def get(self, name: str) -> Action:
        try:
            return self.actions[name]
        except KeyError:
            raise ActionNotFound(name) from None

    async def request(
        self, name: str, params: Mapping[str, Any], actor: str, preapproved_by: str | None = None,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """Run `name`, or file it for approval if it is destructive and nobody approved it.
        Invalid params and targets that do not resolve raise InvalidParams: nothing filed.
        A run still going after `wait` seconds (None: no limit) answers `running` with the
        run to follow."""
        action = self.get(name)
        if problems := validate_params(action, params):
            raise InvalidParams(problems)
        CALLER.set(actor)  # this task's context: prepare and run see who asked
        hidden = write_only.values(action.params, params)
        plan = await self._prepare(action, params, hidden)
        shown_params = _shown(action, params, hidden)
        shown_plan = None if action.prepare is None else _shown(action, plan, hidden)
        if action.destructive:
            cover = COVER.get()
            covered = cover is not None and cover.claim(action.name, params, actor)
            approval = await self.approvals_store.file(
                action.name, shown_params, shown_plan, {"params": dict(params), "plan": plan},
                actor)
            await self.audit(actor, action.name, shown_params, "pending_approval", None,
                             approval["id"])
            if cover is not None and covered:
                return await self._approve(
                    approval["id"], cover.admin, None, wait,
                    note=f"covered by approval {cover.approval_id} of {cover.action}")
            if preapproved_by is None:
                await self._publish("approval.requested", approval, "core")
                return {"status": "pending_approval", "approval": approval}
            return await self._approve(approval["id"], preapproved_by, None, wait)
        return await self._run(action, _argument(action, params, plan), actor, shown_params,
                               hidden, None, None, wait)

    async def _prepare(self, action: Action, params: Mapping[str, Any],
                       hidden: Secrets) -> Any:
        if action.prepare is None:
            return None
        try:
            plan = await asyncio.wait_for(action.prepare(params), action.timeout)
        except ParamError as exc:
            raise InvalidParams([ParamProblem(exc.path, SECRETS.redact(
                hidden.redact(exc.message)))]) from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = ("timed out" if isinstance(exc, asyncio.TimeoutError)
                      else f"{type(exc).__name__}: {exc}")
            raise ActionUnavailable(SECRETS.redact(hidden.redact(
                f"{action.name} could not resolve the request: {reason}"))) from None
        return _plain(plan)

    async def approval(self, approval_id: str) -> dict[str, Any]:
        return await self.approvals_store.get(approval_id)

    async def approvals(self, status: str | None = None,
                        limit: int = 100) -> list[dict[str, Any]]:
        return await self.approvals_store.list(status, limit)

    async def approve(self, approval_id: str, admin: str, expect_digest: str | None = None,
                      wait: float | None = None) -> dict[str, Any]:
        return await self._approve(approval_id, admin, expect_digest, wait)

    async def _approve(self, approval_id: str, admin: str, expect_digest: str | None,
                       wait: float | None, note: str = "") -> dict[str, Any]:
        row = await self.approvals_store.get(approval_id)
        action = self.get(row["action"])
        decided = await self.approvals_store.decide(
            approval_id, ApprovalStatus.APPROVED, admin, expect_digest=expect_digest)
        request = decided["request"]
        params, plan = request["params"], request["plan"]
        hidden = write_only.values(action.params, params)
        approved_by = _approved_by(admin, row) + (f" ({note})" if note else "")
        covers = plan.get("covers") if isinstance(plan, Mapping) else None
        cover = Cover(approval_id, admin, action.name, list(covers)) \
            if isinstance(covers, list) and covers else None
        # The action may have changed since the request (a reload, a new version): what
        # no longer fits its parameters does not run.
        if problems := validate_params(action, params):
            outcome: dict[str, Any] = {
                "status": "error", "duration_ms": 0.0,
                "error": "the request no longer fits the action's parameters: "
                         + "; ".join(f"{p.path}: {p.message}" for p in problems)}
            await self.audit(row["requested_by"], action.name, row["params"], "error", 0.0,
                             approval_id, approved_by + "; " + outcome["error"])
            await self.approvals_store.finish(approval_id, outcome)
        else:
            outcome = await self._run(action, _argument(action, params, plan),
                                      row["requested_by"], row["params"], hidden,
                                      approval_id, approved_by, wait, cover)
        return {**outcome, "approval": await self.approval(approval_id)}

    async def deny(self, approval_id: str, admin: str, reason: str = "") -> dict[str, Any]:
        row = await self.approvals_store.decide(approval_id, ApprovalStatus.DENIED, admin,
                                                reason)
        await self.audit(admin, row["action"], json.loads(row["params"]), "denied", None,
                         approval_id, reason)
        return await self.approval(approval_id)

    async def _run(
        self, action: Action, argument: Mapping[str, Any], actor: str,
        shown_params: Mapping[str, Any], hidden: Secrets, approval_id: str | None,
        approved_by: str | None, wait: float | None, cover: Cover | None = None,
    ) -> dict[str, Any]:
        """Run the action as a run of its own; its audit row, counts, event and the
        approval's result are written when it ends, whether anyone still waits or not."""

        async def work() -> dict[str, Any]:
            # This run's task has its own context: the cover holds here and in what the
            # run asks for, and a run started from inside it sets its own (usually None).
            COVER.set(cover)
            started = time.perf_counter()
            try:
                outcome = dict(hidden.redact(await timed_outcome(
                    lambda: action.run(argument), action.timeout)))
            except asyncio.CancelledError:
                await self.audit(actor, action.name, shown_params, RunStatus.INTERRUPTED.value,
                                 round((time.perf_counter() - started) * 1000, 3),
                                 approval_id, "; ".join(filter(None, (
                                     approved_by, "the agent stopped while it ran"))))
                raise
            outcome["run"] = run.id
            detail = "; ".join(filter(None, (approved_by, outcome.get("error", ""))))
            if not (action.read_only and actor.startswith(PLUGIN_ACTOR)):
                await self.audit(actor, action.name, shown_params, outcome["status"],
                                 outcome["duration_ms"], approval_id, detail)
            key = (action.name, outcome["status"])
            self.counts[key] = self.counts.get(key, 0) + 1
            await self._publish("action.ran", {"action": action.name, "actor": actor,
                                               "status": outcome["status"], "run": run.id},
                                "core")
            if approval_id is not None:
                await self.approvals_store.finish(approval_id, outcome)
            return outcome

        run = await self.runs.start(action.name, actor, approval_id, work)
        outcome = await self.runs.wait(run, wait)
        if outcome is None:
            return {"status": RunStatus.RUNNING.value, "run": run.public()}
        return outcome

    async def recover_interrupted(self) -> None:
        """Runs a crashed agent left behind get their `interrupted` audit row."""
        for row in await self.runs.recover():
            await self.audit(row["actor"], row["action"], {}, RunStatus.INTERRUPTED.value,
                             None, row["approval_id"],
                             f"the agent stopped while run {row['id']} ran")

    async def stop(self) -> None:
        await self.runs.stop()

    async def audit(
        self, actor: str, action: str, params: Mapping[str, Any], outcome: str,
        duration_ms: float | None, approval_id: str | None, detail: str = "",
    ) -> None:
        """One audit row. `params` must already be the shown copy (write-only values
        masked); known secrets are masked here."""
        await self._store.execute(
            "INSERT INTO audit (ts, actor, action, params, outcome, duration_ms, approval_id, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), actor, action, json.dumps(SECRETS.redact(dict(params)), default=str),
             outcome, duration_ms, approval_id, SECRETS.redact(detail)),
        )

    async def audit_log(
        self, actor: str | None = None, action: str | None = None, outcome: str | None = None,
        since: float = 0, limit: int = 100, *, search: str | None = None,
        plugin: str | None = None, until: float | None = None, offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first. `actor`, `action` and `outcome` match exactly; `search` is a
        case-insensitive part of the action, actor or detail ("postgres" finds every
        postgres.* action); `plugin` the actions of one plugin; `until` is exclusive."""
        like = None if not search else "%" + _like_escape(search.lower()) + "%"
        prefix = None if not plugin else _like_escape(plugin) + ".%"
        rows = await self._store.fetchall(
            "SELECT * FROM audit WHERE ts >= ? AND (? IS NULL OR ts < ?) "
            "AND (? IS NULL OR actor = ?) "
            "AND (? IS NULL OR action = ?) AND (? IS NULL OR outcome = ?) "
            "AND (? IS NULL OR action LIKE ? ESCAPE '\\') "
            "AND (? IS NULL OR LOWER(action) LIKE ? ESCAPE '\\' "
            "OR LOWER(actor) LIKE ? ESCAPE '\\' OR LOWER(detail) LIKE ? ESCAPE '\\') "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (since, until, until, actor, actor, action, action, outcome, outcome,
             prefix, prefix, like, like, like, like, limit, offset))
        for row in rows:
            row["params"] = json.loads(row["params"])
        return rows


def _like_escape(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _argument(action: Action, params: Mapping[str, Any], plan: Any) -> Mapping[str, Any]:
    """What `run` receives: the plan when the action resolves its requests, else params."""
    return params if action.prepare is None else plan


def _shown(action: Action, value: Any, hidden: Secrets) -> Any:
    """The copy of params or a plan that may be shown and stored in clear."""
    return SECRETS.redact(hidden.redact(write_only.mask(action.params, value)))


def _approved_by(admin: str, row: Mapping[str, Any]) -> str:
    own = " (own request)" if admin == row["requested_by"] else ""
    return f"approved by {admin}{own}"


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
