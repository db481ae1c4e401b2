"""Self-healing policies: `[[remediation]]` in nebula.toml.

A policy watches one check's raw results. When `cycles` consecutive results are in the
policy's `status`, it asks the action runner for its action as `remediation:<policy>`, so
the usual rules hold: a safe action runs (and is audited), a destructive one becomes a
pending approval for an admin. A policy never runs more than `max_runs_per_hour` times, and
after `breaker_failures` consecutive failed runs its circuit breaker opens: it stops trying
until `breaker_reset` seconds have passed (then one trial run decides) or, with
`breaker_reset = 0`, until an admin resets it. Every decision is an event:
`remediation.ran`, `remediation.skipped` (with the reason), `remediation.breaker_opened`,
`remediation.breaker_reset`.

Results kept inside a maintenance window (docs/maintenance.md) count for nothing: no
policy runs during planned work, and streaks start again after it.

The engine is fed by the health engine's result listener (a cheap synchronous call per
result); anything that awaits runs in a task of its own. It is the runtime of the built-in
`remediation` plugin (hooks.py), which publishes its events under `remediation.`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.actions import (
    ActionNotFound,
    ActionRunner,
    ActionUnavailable,
    ApprovalNotFound,
    InvalidParams,
    validate_params,
)
from nebula.approvals import ApprovalStatus
from nebula.contributions import Status
from nebula.logs import get_logger
from nebula.secrets import SECRETS

if TYPE_CHECKING:
    from nebula.health import CheckState, HealthEngine

Publish = Callable[[str, dict[str, Any]], Awaitable[Any]]
HOUR = 3600.0
log = get_logger(component="remediation")


@dataclass(frozen=True)
class Policy:
    name: str
    check: str
    action: str
    status: Status = Status.CRITICAL
    cycles: int = 3
    params: Mapping[str, Any] = field(default_factory=dict)
    max_runs_per_hour: int = 3
    breaker_failures: int = 3
    breaker_reset: float = 3600.0
    enabled: bool = True

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Policy:
        return cls(**{**section, "status": Status(section.get("status", "critical")),
                      "params": dict(section.get("params", {}))})

    @property
    def actor(self) -> str:
        return f"remediation:{self.name}"


@dataclass(eq=False)
class PolicyState:
    policy: Policy
    streak: int = 0
    runs: deque[float] = field(default_factory=deque)  # start times within the last hour
    failures: int = 0  # consecutive failed runs
    opened_at: float | None = None  # the breaker opened (or re-opened) then
    pending_approval: str | None = None
    running: bool = False
    last_run: dict[str, Any] | None = None
    last_skip: dict[str, Any] | None = None

    def breaker(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        reset = self.policy.breaker_reset
        return "half_open" if reset and now - self.opened_at >= reset else "open"

    def runs_last_hour(self, now: float) -> int:
        while self.runs and self.runs[0] <= now - HOUR:
            self.runs.popleft()
        return len(self.runs)


class Remediation:
    def __init__(self, health: HealthEngine, actions: ActionRunner, publish: Publish) -> None:
        self._health = health
        self._actions = actions
        self._publish = publish
        self.policies: dict[str, PolicyState] = {}
        self._by_check: dict[str, list[PolicyState]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        health.listeners.append(self.observe)

    async def aclose(self) -> None:
        """Stop listening and cancel runs in flight (the plugin stops)."""
        if self.observe in self._health.listeners:
            self._health.listeners.remove(self.observe)
        await self.stop()

    # --- configuration ---------------------------------------------------------------------

    async def configure(self, sections: list[dict[str, Any]]) -> None:
        """Apply the policies of a (re)loaded config. A policy whose definition did not
        change keeps its counters, rate window and breaker; a new or changed one starts
        afresh (its rate window seeded from the audit log, so a restart is no way around
        the limit). Unknown checks or actions are logged, not fatal: the plugin providing
        them may come up later."""
        policies: dict[str, PolicyState] = {}
        for section in sections:
            policy = Policy.from_section(section)
            old = self.policies.get(policy.name)
            if old is not None and old.policy == policy:
                policies[policy.name] = old
                continue
            policies[policy.name] = state = PolicyState(policy)
            await self._seed(state)
        self.policies = policies
        by_check: dict[str, list[PolicyState]] = {}
        for state in policies.values():
            if state.policy.enabled:
                by_check.setdefault(state.policy.check, []).append(state)
        self._by_check = by_check
        for state in policies.values():
            if state.policy.enabled and (problems := self.problems(state.policy)):
                log.warning("remediation.invalid", policy=state.policy.name, problems=problems)

    async def _seed(self, state: PolicyState) -> None:
        since = time.time() - HOUR
        rows = await self._actions.audit_log(actor=state.policy.actor, since=since, limit=1000)
        # One row per request: a run, or the filing of an approval (its later run under the
        # same approval is the same request).
        starts = sorted(r["ts"] for r in rows
                        if r["approval_id"] is None or r["outcome"] == "pending_approval")
        state.runs.extend(starts)

    def problems(self, policy: Policy) -> list[str]:
        """Why `policy` cannot work as configured right now (empty when it can)."""
        found = []
        if policy.check not in self._health.checks:
            found.append(f"no check named {policy.check!r} is running")
        action = self._actions.actions.get(policy.action)
        if action is None:
            found.append(f"no action named {policy.action!r} is running")
        else:
            found += [f"params: {p.path}: {p.message}" for p in validate_params(
                action, policy.params)]
        return found

    # --- results -----------------------------------------------------------------------------

    def observe(self, cs: CheckState) -> None:
        """A check produced a result (called by the health engine; must stay cheap)."""
        states = self._by_check.get(cs.check.name)
        if not states or cs.last is None:
            return
        if cs.maintenance:
            # Held in a maintenance window: the planned work is the cause, and the count
            # starts afresh with the first result after the window.
            for state in states:
                state.streak = 0
            return
        for state in states:
            if cs.last.status != state.policy.status:
                state.streak = 0
                continue
            state.streak += 1
            if state.streak < state.policy.cycles:
                continue
            state.streak = 0
            if state.running:  # the previous run is still going: it is the answer
                continue
            state.running = True
            task = asyncio.get_running_loop().create_task(
                self._trigger(state, cs.last.summary), name=f"remediation:{state.policy.name}")
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("remediation.failed", task=task.get_name(),
                      error=SECRETS.redact(f"{type(exc).__name__}: {exc}"))

    async def _trigger(self, state: PolicyState, summary: str) -> None:
        policy = state.policy
        base = {"policy": policy.name, "check": policy.check, "action": policy.action,
                "check_summary": summary}
        try:
            now = time.time()
            if reason := await self._skip_reason(state, now):
                state.last_skip = {"ts": now, "reason": reason}
                log.info("remediation.skipped", policy=policy.name, reason=reason)
                await self._publish("skipped", {**base, "reason": reason})
                return
            state.runs.append(now)
            outcome = await self._request(policy)
            await self._settle(state, base, outcome, now)
        finally:
            state.running = False

    async def _skip_reason(self, state: PolicyState, now: float) -> str | None:
        policy = state.policy
        if policy.action not in self._actions.actions:
            return "invalid"
        if state.breaker(now) == "open":
            return "breaker_open"
        if state.pending_approval is not None:
            try:
                approval = await self._actions.approval(state.pending_approval)
            except ApprovalNotFound:
                approval = {"status": "gone"}
            if approval["status"] == ApprovalStatus.PENDING:
                return "awaiting_approval"
            state.pending_approval = None
        if state.runs_last_hour(now) >= policy.max_runs_per_hour:
            return "rate_limited"
        return None

    async def _request(self, policy: Policy) -> dict[str, Any]:
        try:
            return await self._actions.request(policy.action, policy.params, policy.actor)
        except (ActionNotFound, ActionUnavailable, InvalidParams) as exc:
            return {"status": "error", "error": SECRETS.redact(f"{type(exc).__name__}: {exc}")}

    async def _settle(self, state: PolicyState, base: dict[str, Any],
                      outcome: dict[str, Any], started: float) -> None:
        policy, status = state.policy, outcome["status"]
        event = {**base, "status": status}
        if status == "pending_approval":
            state.pending_approval = event["approval"] = outcome["approval"]["id"]
        elif status == "error":
            event["error"] = outcome.get("error", "")
            state.failures += 1
        else:
            state.failures, state.opened_at = 0, None
        state.last_run = {"ts": started, **{k: v for k, v in event.items() if k not in base}}
        log.info("remediation.ran", policy=policy.name, status=status)
        await self._publish("ran", event)
        # A failed trial run (half-open) re-opens the breaker at once.
        if status == "error" and state.failures >= policy.breaker_failures:
            state.opened_at = time.time()
            log.warning("remediation.breaker_opened", policy=policy.name,
                        failures=state.failures)
            await self._publish("breaker_opened", {
                **base, "failures": state.failures, "error": event["error"],
                "reset_after": policy.breaker_reset or None})

    async def reset(self, name: str) -> dict[str, Any]:
        """Close `name`'s breaker by hand (KeyError when there is no such policy)."""
        state = self.policies[name]
        state.failures, state.opened_at = 0, None
        await self._publish("breaker_reset", {"policy": name})
        return self.public(state)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- read model -------------------------------------------------------------------------

    def public(self, state: PolicyState) -> dict[str, Any]:
        policy, now = state.policy, time.time()
        problems = self.problems(policy)
        return {
            "name": policy.name, "check": policy.check, "status": policy.status.value,
            "cycles": policy.cycles, "action": policy.action,
            "params": SECRETS.redact(dict(policy.params)), "enabled": policy.enabled,
            "max_runs_per_hour": policy.max_runs_per_hour,
            "breaker_failures": policy.breaker_failures,
            "breaker_reset": policy.breaker_reset,
            "valid": not problems, "problems": problems,
            "streak": state.streak, "runs_last_hour": state.runs_last_hour(now),
            "consecutive_failures": state.failures, "breaker": state.breaker(now),
            "breaker_opened_at": state.opened_at, "pending_approval": state.pending_approval,
            "running": state.running, "last_run": state.last_run, "last_skip": state.last_skip,
        }

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.public(state) for state in self.policies.values()]
