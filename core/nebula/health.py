"""The health engine: runs checks in isolation, damps flapping, keeps history.

A check that raises or hangs past its timeout gives an `unknown` result carrying the error.
Summaries are kept to one line and metrics to finite numbers.
The reported state moves to a new status only after `flap_threshold` consecutive results
agree on it; each move emits a `check.changed` event. Results are written to the store in
batches (`flush`), so a thousand checks a second cost a handful of transactions. Once
`start_flushing` runs, the first result after a write wakes a task that waits up to
FLUSH_DELAY for more and writes them in one batch; with nothing pending it waits on an
event, not a timer, so an idle agent is not woken every second. The same transaction adds
each result to the metric and status history (nebula.history).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.contributions import Check, CheckResult, Status
from nebula.history import History, Record
from nebula.logs import get_logger
from nebula.scheduler import cancelling
from nebula.secrets import SECRETS
from nebula.store import Store

Publish = Callable[[str, dict[str, Any], str], Awaitable[Any]]
# How long the first pending result waits for others to share its transaction: also the
# most a SIGKILL can lose.
FLUSH_DELAY = 1.0
FLUSH_TIMEOUT = 30.0
log = get_logger(component="health")


@dataclass
class CheckState:
    check: Check
    plugin: str
    flap_threshold: int
    state: Status | None = None
    since: float | None = None
    last: CheckResult | None = None
    # The latest result that agrees with `state`: what the shown status says, in words.
    state_result: CheckResult | None = None
    last_ts: float | None = None
    duration_ms: float = 0.0
    candidate: Status | None = None
    streak: int = 0
    # Inside a maintenance window (HealthEngine.in_maintenance said so at the last result
    # or window boundary): results are still kept, marked; notify and remediation hold off.
    maintenance: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def observe(self, status: Status, now: float) -> Status | None:
        """Fold one raw result into the damped state; returns the old state on a change."""
        if self.state is None or status == self.state:
            self.candidate, self.streak = None, 0
            if self.state is None:
                self.state, self.since = status, now
            return None
        if status == self.candidate:
            self.streak += 1
        else:
            self.candidate, self.streak = status, 1
        if self.streak < self.flap_threshold:
            return None
        old = self.state
        self.state, self.since = status, now
        self.candidate, self.streak = None, 0
        return old

    def public(self) -> dict[str, Any]:
        """The check as served, in two pairs that never mix: `status` (the damped state)
        with `status_summary` (the words of the result that set it), which tiles show; and
        `last_status` with `summary` (the latest run). A latest result that disagrees with
        the status and is not yet confirmed by flap_threshold results in a row is also
        `pending`."""
        check, last = self.check, self.last
        shown = self.state_result or last
        pending = None
        if last is not None and shown is not last:
            pending = {"status": last.status.value, "summary": last.summary,
                       "results": self.streak, "needed": self.flap_threshold}
        return {
            "name": check.name,
            "plugin": self.plugin,
            "title": check.title or check.name,
            "description": check.description,
            "status": (self.state or Status.UNKNOWN).value,
            "last_status": last.status.value if last else None,
            "status_summary": shown.summary if shown else "not run yet",
            "summary": last.summary if last else "not run yet",
            "pending": pending,
            "maintenance": self.maintenance,
            "metrics": dict(last.metrics) if last else {},
            "last_run": self.last_ts,
            "since": self.since,
            "duration_ms": round(self.duration_ms, 3),
            "interval": check.interval,
        }


def _metric(value: Any) -> float | None:
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        return None
    return number if math.isfinite(number) else None


def _result(status: Status, summary: Any, metrics: Mapping[str, float] | None = None
            ) -> CheckResult:
    """A result as stored and served: the summary on one line (tables, logs and the CLI
    print it as one), secrets redacted."""
    return CheckResult(status, SECRETS.redact(" ".join(str(summary).split())), metrics or {})


def _normalise(result: Any) -> CheckResult:
    if not isinstance(result, CheckResult):
        return _result(Status.UNKNOWN,
                       f"check returned {type(result).__name__}, not a CheckResult")
    try:
        status = Status(result.status)
    except ValueError:
        return _result(Status.UNKNOWN, f"check returned an invalid status {result.status!r}")
    metrics = {str(k): number for k, v in result.metrics.items()
               if (number := _metric(v)) is not None}
    return _result(status, result.summary, metrics)


def never(_cs: CheckState) -> bool:
    """No check is in maintenance (no maintenance plugin running)."""
    return False


class HealthEngine:
    def __init__(self, store: Store | None, publish: Publish, flap_threshold: int = 2,
                 flush_delay: float = FLUSH_DELAY, clock: Callable[[], float] = time.time
                 ) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self.history = History(store, clock)
        self.checks: dict[str, CheckState] = {}
        self._flap_threshold = flap_threshold
        self._pending: list[tuple[Record, str, float]] = []  # with the state and duration
        self._flush_lock = asyncio.Lock()  # batches reach the history in order
        # Whether a check is in a maintenance window now, asked before each result is kept:
        # its results are stored with the flag, and its status spans keep it (the
        # maintenance built-in sets this; it must be cheap and must not raise).
        self.in_maintenance: Callable[[CheckState], bool] = never
        self.flush_delay = flush_delay
        self._flush_wanted = asyncio.Event()  # set while results wait to be written
        self._flusher: asyncio.Task[None] | None = None
        self.version = 0  # bumped on every change, for cached API answers
        # Called with every result, in order (remediation policies count streaks here, the
        # prometheus built-in times checks); each must be cheap and must not raise.
        self.listeners: list[Callable[[CheckState], None]] = []

    @property
    def flap_threshold(self) -> int:
        """The default for checks without their own; a new one (a config reload) applies at
        once to every such check already running."""
        return self._flap_threshold

    @flap_threshold.setter
    def flap_threshold(self, value: int) -> None:
        self._flap_threshold = value
        for cs in self.checks.values():
            if cs.check.flap_threshold is None:
                cs.flap_threshold = value

    def add(self, check: Check, plugin: str) -> CheckState:
        state = CheckState(check, plugin, check.flap_threshold or self.flap_threshold)
        self.checks[check.name] = state
        self.version += 1
        return state

    def remove(self, name: str) -> None:
        self.checks.pop(name, None)
        self.version += 1

    async def restore(self) -> None:
        """Take each check's last known state from the store, so a restart neither forgets
        an outage nor announces every check as new."""
        if self._store is None or not self.checks:
            return
        rows = await self._store.fetchall(
            "SELECT check_name, ts, status, state, summary, metrics FROM check_results "
            "WHERE id IN (SELECT max(id) FROM check_results GROUP BY check_name)"
        )
        for row in rows:
            if (cs := self.checks.get(row["check_name"])) and cs.state is None:
                cs.state, cs.since, cs.last_ts = Status(row["state"]), row["ts"], row["ts"]
                cs.last = CheckResult(Status(row["status"]), row["summary"],
                                      json.loads(row["metrics"]))
                if cs.last.status == cs.state:
                    cs.state_result = cs.last
        self.version += 1

    async def run(self, name: str) -> CheckState:
        cs = self.checks[name]
        async with cs.lock:
            started = time.perf_counter()
            try:
                result = _normalise(await asyncio.wait_for(cs.check.run(), cs.check.timeout))
            except asyncio.TimeoutError:
                result = _result(Status.UNKNOWN, f"check timed out after {cs.check.timeout:g}s")
            except asyncio.CancelledError as exc:
                # One the check let out itself (awaiting a task it cancelled) is a failure
                # of the check; only one aimed at this run ends it.
                if cancelling():
                    raise
                result = _result(Status.UNKNOWN, f"check raised {type(exc).__name__}")
            except Exception as exc:
                result = _result(Status.UNKNOWN, f"check raised {type(exc).__name__}: {exc}")
            await self._record(cs, result, (time.perf_counter() - started) * 1000)
        return cs

    async def _record(self, cs: CheckState, result: CheckResult, duration_ms: float) -> None:
        now = self._clock()
        cs.last, cs.last_ts, cs.duration_ms = result, now, duration_ms
        cs.maintenance = self.in_maintenance(cs)
        old = cs.observe(result.status, now)
        assert cs.state is not None
        if result.status == cs.state:
            cs.state_result = result
        self._pending.append((Record(cs.check.name, now, result.status, result.summary,
                                     result.metrics, cs.maintenance, cs.check.units,
                                     cs.check.interval), cs.state.value, duration_ms))
        self._flush_wanted.set()
        self.version += 1
        for listener in self.listeners:
            listener(cs)
        if old is not None:
            await self._publish("check.changed", {
                "check": cs.check.name, "plugin": cs.plugin, "old": old.value,
                "new": cs.state.value, "summary": result.summary,
                "maintenance": cs.maintenance,
            }, cs.plugin)

    def start_flushing(self) -> None:
        """Write results in the background from now on (see the module's docstring)."""
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_when_pending(), name="health.flush")

    async def stop_flushing(self) -> None:
        """Stop the background writer; what is still pending waits for a `flush`."""
        task, self._flusher = self._flusher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _flush_when_pending(self) -> None:
        while True:
            await self._flush_wanted.wait()
            await asyncio.sleep(self.flush_delay)  # let the batch fill
            try:
                await asyncio.wait_for(self.flush(), FLUSH_TIMEOUT)
            except asyncio.CancelledError as exc:
                if cancelling():
                    raise
                self._flush_failed(exc)
            except Exception as exc:
                self._flush_failed(exc)

    @staticmethod
    def _flush_failed(exc: BaseException) -> None:
        error = (f"timed out after {FLUSH_TIMEOUT:g}s" if isinstance(exc, asyncio.TimeoutError)
                 else SECRETS.redact(f"{type(exc).__name__}: {exc}".removesuffix(": ")))
        log.warning("health.flush_failed", error=error)

    async def flush(self) -> int:
        async with self._flush_lock:
            pending, self._pending = self._pending, []
            self._flush_wanted.clear()  # what arrives from here on sets it again
            if not pending or self._store is None:
                return len(pending)
            rows = [(r.check, r.ts, r.status.value, state, r.summary, json.dumps(r.metrics),
                     duration_ms, r.maintenance) for r, state, duration_ms in pending]
            try:
                await self._store.batch([(
                    "INSERT INTO check_results (check_name, ts, status, state, summary, "
                    "metrics, duration_ms, maintenance) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows),
                    *await self.history.plan(r for r, _, _ in pending)])
            except BaseException:
                self.history.forget()  # its open spans ran ahead of the store
                raise
            return len(pending)

    async def results(self, name: str, since: float = 0,
                      limit: int = 500) -> list[dict[str, Any]]:
        """A check's latest stored results, newest first (kept 48 h: see nebula.history)."""
        if self._store is None:
            return []
        await self.flush()
        rows = await self._store.fetchall(
            "SELECT ts, status, state, summary, metrics, duration_ms, maintenance "
            "FROM check_results "
            "WHERE check_name = ? AND ts >= ? ORDER BY ts DESC, id DESC LIMIT ?",
            (name, since, limit))
        for row in rows:
            row["metrics"], row["maintenance"] = json.loads(row["metrics"]), bool(
                row["maintenance"])
        return rows

    def summary(self) -> Mapping[str, int]:
        counts = {s.value: 0 for s in Status}
        for cs in self.checks.values():
            counts[(cs.state or Status.UNKNOWN).value] += 1
        return counts
