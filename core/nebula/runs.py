"""Action runs: each run of an action is a task with an id, its progress and its outcome.

A caller waits as long as it likes (`wait`) and gets either the outcome or the run, still
going, to follow (`GET /api/v1/runs/{id}`, `nebula action status`). A run the agent was
stopped in the middle of is `interrupted`: at once on a clean stop, at the next start after
a crash.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import enum
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nebula.contributions import PROGRESS
from nebula.errors import NebulaError
from nebula.secrets import SECRETS
from nebula.store import Store

Publish = Callable[[str, dict[str, Any], str], Awaitable[Any]]
# Progress events at most this often per run: a chatty action cannot flood the bus.
PROGRESS_INTERVAL = 0.5


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"


class RunNotFound(NebulaError, KeyError):
    pass


@dataclass
class Run:
    id: str
    action: str
    actor: str
    approval_id: str | None
    started: float
    status: RunStatus = RunStatus.RUNNING
    progress: float | None = None
    message: str = ""
    finished: float | None = None
    outcome: dict[str, Any] | None = None
    task: asyncio.Task[dict[str, Any]] | None = field(default=None, repr=False)
    _published: float = field(default=0.0, repr=False)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "actor": self.actor,
                "approval_id": self.approval_id, "started": self.started,
                "finished": self.finished, "status": self.status.value,
                "progress": self.progress, "message": self.message, "outcome": self.outcome}


class Runs:
    def __init__(self, store: Store, publish: Publish) -> None:
        self._store = store
        self._publish = publish
        self.active: dict[str, Run] = {}

    async def start(self, action: str, actor: str, approval_id: str | None,
                    work: Callable[[], Awaitable[dict[str, Any]]]) -> Run:
        """Start `work` (which returns the outcome) as a run; its `report_progress` calls
        land on the run."""
        run = Run(secrets.token_hex(8), action, actor, approval_id, time.time())
        await self._store.execute(
            "INSERT INTO runs (id, action, actor, approval_id, started, status) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (run.id, action, actor, approval_id, run.started, RunStatus.RUNNING.value))

        async def body() -> dict[str, Any]:
            PROGRESS.set(lambda fraction, message: self._progress(run, fraction, message))
            try:
                outcome = await work()
            except asyncio.CancelledError:
                await self._finish(run, {"status": RunStatus.INTERRUPTED.value,
                                         "error": "the agent stopped while it ran"})
                raise
            await self._finish(run, outcome)
            return outcome

        self.active[run.id] = run
        run.task = asyncio.create_task(body(), name=f"run:{run.id}")
        return run

    async def wait(self, run: Run, timeout: float | None) -> dict[str, Any] | None:
        """The outcome, or None if the run goes on past `timeout` seconds (it is not
        cancelled: a caller that stops waiting leaves it running)."""
        assert run.task is not None
        try:
            return await asyncio.wait_for(asyncio.shield(run.task), timeout)
        except asyncio.TimeoutError:
            return None

    def _progress(self, run: Run, fraction: float | None, message: str) -> None:
        run.progress, run.message = fraction, SECRETS.redact(message)[:500]
        now = time.monotonic()
        if now - run._published >= PROGRESS_INTERVAL or fraction == 1.0:
            run._published = now
            # Called from the action's own code, synchronously: the event goes out soon.
            task = asyncio.ensure_future(self._publish("action.progress", {
                "run": run.id, "action": run.action, "progress": run.progress,
                "message": run.message}, "core"))
            task.add_done_callback(lambda t: t.exception())

    async def _finish(self, run: Run, outcome: dict[str, Any]) -> None:
        run.status = RunStatus(outcome["status"])
        run.finished, run.outcome = time.time(), outcome
        self.active.pop(run.id, None)
        await self._store.execute(
            "UPDATE runs SET status = ?, finished = ?, outcome = ? WHERE id = ?",
            (run.status.value, run.finished, json.dumps(SECRETS.redact(outcome), default=str),
             run.id))

    async def get(self, run_id: str) -> dict[str, Any]:
        if run_id in self.active:
            return self.active[run_id].public()
        row = await self._store.fetchone("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFound(run_id)
        return _public_row(row)

    async def list(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._store.fetchall(
            "SELECT * FROM runs WHERE (? IS NULL OR status = ?) ORDER BY started DESC LIMIT ?",
            (status, status, limit))
        return [self.active[r["id"]].public() if r["id"] in self.active else _public_row(r)
                for r in rows]

    async def recover(self) -> builtins.list[dict[str, Any]]:
        """Runs left `running` by an agent that died: now `interrupted`; answers them."""
        rows = await self._store.fetchall(
            "SELECT * FROM runs WHERE status = ?", (RunStatus.RUNNING.value,))
        outcome = {"status": RunStatus.INTERRUPTED.value,
                   "error": "the agent stopped while it ran"}
        for row in rows:
            if row["id"] in self.active:
                continue
            await self._store.execute(
                "UPDATE runs SET status = ?, finished = ?, outcome = ? WHERE id = ?",
                (RunStatus.INTERRUPTED.value, time.time(), json.dumps(outcome), row["id"]))
        return [r for r in rows if r["id"] not in self.active]

    async def stop(self) -> None:
        """Cancel what still runs; each is recorded interrupted."""
        tasks = [run.task for run in self.active.values() if run.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _public_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "action": row["action"], "actor": row["actor"],
            "approval_id": row["approval_id"], "started": row["started"],
            "finished": row["finished"], "status": row["status"], "progress": None,
            "message": "", "outcome": json.loads(row["outcome"]) if row["outcome"] else None}
