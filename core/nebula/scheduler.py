"""Interval and cron jobs on the event loop.

Each job runs in its own task, one run after another, so a job never overlaps itself. A run
that outlives its timeout is cancelled. After failures the next run is pushed back
exponentially (capped), and the first success resets that. Jitter shifts each run within
[0, jitter] of its slot without moving the slots, so a job keeps its rate. Times a job is due
are kept on the loop's monotonic clock and shown as wall-clock times in the API.

Jobs share wake-ups: a job whose first run is spread (`initial_spread` of a second or more)
starts on a whole second of the loop's clock, so jobs whose intervals are whole seconds stay
on that one-second beat, and every job due on the same beat is woken by one timer of the loop
(each job sleeps until an absolute loop time, not for a delay measured a moment apart). An
agent with 70 checks every 30 to 60 s then wakes a handful of times a minute, and the health
engine writes each beat's results in one transaction.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nebula.logs import get_logger
from nebula.secrets import SECRETS

BACKOFF_BASE = 1.0
BACKOFF_MAX = 3600.0
# The grid spread-out jobs start on (see the module's docstring), in seconds of loop time.
BEAT = 1.0

log = get_logger(component="scheduler")

if TYPE_CHECKING:
    from croniter import croniter


def _croniter() -> type[croniter]:
    """croniter, imported on the first cron job: it pulls in dateutil, zoneinfo and
    sysconfig (~1.7 MB of an idle agent's RSS), and most agents have interval jobs only."""
    from croniter import croniter

    return croniter


def _first_slot(loop_now: float, spread: float) -> float:
    """A random time in [loop_now, loop_now + spread], on the beat when the spread allows
    one: jobs started together then share their wake-ups instead of each having its own."""
    start = loop_now + random.uniform(0, spread)
    if spread < BEAT:
        return start
    slot = math.ceil(start / BEAT) * BEAT
    return slot if slot <= loop_now + spread else slot - BEAT


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    """asyncio.sleep to an absolute loop time: timers of jobs due at the same time then fire
    in one turn of the loop (sleep(delay) adds the delay to a clock read a little later for
    each job, and the loop would wake again for each a moment apart)."""
    future = loop.create_future()
    handle = loop.call_at(when, _wake, future)
    try:
        await future
    finally:
        handle.cancel()


def cancelling() -> bool:
    """Whether the current task is being cancelled, rather than code inside it merely letting
    out a CancelledError (say, from awaiting a helper task it cancelled). Python 3.10 cannot
    tell the two apart, so there every CancelledError counts as a cancellation."""
    task = asyncio.current_task()
    count = getattr(task, "cancelling", None)
    return count is None or count() > 0


@dataclass
class ScheduledJob:
    name: str
    run: Callable[[], Awaitable[Any]]
    interval: float | None = None
    cron: str | None = None
    timeout: float = 300.0
    jitter: float = 0.0
    # Spread the first run over this many seconds so a restart does not stampede.
    initial_spread: float = 0.0
    next_due: float = 0.0  # loop time
    runs: int = 0
    failures: int = 0
    last_started: float | None = None  # wall time
    last_duration: float | None = None
    last_error: str | None = None
    last_lateness: float = 0.0
    running: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    # The un-jittered loop time of an interval job's current run; jitter never carries over.
    slot: float = 0.0

    def __post_init__(self) -> None:
        if (self.interval is None) == (self.cron is None):
            raise ValueError(f"job {self.name}: give exactly one of interval or cron")
        if self.interval is not None and self.interval <= 0:
            raise ValueError(f"job {self.name}: interval must be positive")
        if self.cron is not None and not _croniter().is_valid(self.cron):
            raise ValueError(f"job {self.name}: invalid cron expression {self.cron!r}")
        if self.timeout <= 0:
            raise ValueError(f"job {self.name}: timeout must be positive")
        if self.jitter < 0 or self.initial_spread < 0:
            raise ValueError(f"job {self.name}: jitter and initial_spread must not be negative")

    def public(self, loop_now: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "schedule": f"every {self.interval:g}s" if self.interval else f"cron {self.cron}",
            "next_run": time.time() + max(0.0, self.next_due - loop_now),
            "last_started": self.last_started,
            "last_duration": self.last_duration,
            "last_error": self.last_error,
            "runs": self.runs,
            "consecutive_failures": self.failures,
            "running": self.running,
        }


class Scheduler:
    def __init__(self, on_lateness: Callable[[float], None] | None = None) -> None:
        self.jobs: dict[str, ScheduledJob] = {}
        self._started = False
        self._on_lateness = on_lateness

    def add(self, job: ScheduledJob) -> None:
        if job.name in self.jobs:
            raise ValueError(f"job {job.name} is already scheduled")
        self.jobs[job.name] = job
        if self._started:
            self._launch(job)

    async def remove(self, name: str) -> None:
        job = self.jobs.pop(name, None)
        if job and job.task:
            job.task.cancel()
            await asyncio.gather(job.task, return_exceptions=True)

    def start(self) -> None:
        self._started = True
        for job in self.jobs.values():
            self._launch(job)

    async def stop(self) -> None:
        self._started = False
        tasks = [job.task for job in self.jobs.values() if job.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _launch(self, job: ScheduledJob) -> None:
        loop_now = asyncio.get_running_loop().time()
        if job.cron:
            job.next_due = self._next_cron(job.cron, job.jitter, loop_now)
        else:
            job.slot = job.next_due = _first_slot(loop_now, job.initial_spread)
        job.task = asyncio.create_task(self._loop(job), name=f"job:{job.name}")

    def _next_cron(self, cron: str, jitter: float, loop_now: float) -> float:
        # Cron reads the host's local time, as crontab does.
        now = datetime.now().astimezone()
        following = _croniter()(cron, now).get_next(datetime)
        return loop_now + (following - now).total_seconds() + random.uniform(0, jitter)

    def _next_due(self, job: ScheduledJob, loop_now: float) -> float:
        if job.cron:
            due = self._next_cron(job.cron, job.jitter, loop_now)
        else:
            assert job.interval is not None
            job.slot += job.interval
            # A whole interval behind means the run overran: take the latest slot and drop
            # the missed ones rather than bunch up. A run merely jittered late keeps its slot.
            if job.slot + job.interval <= loop_now:
                job.slot += (loop_now - job.slot) // job.interval * job.interval
            due = job.slot + random.uniform(0, job.jitter)
        if job.failures:
            backoff = min(BACKOFF_BASE * 2 ** (job.failures - 1), BACKOFF_MAX)
            due = max(due, loop_now + backoff)
        return due

    async def _loop(self, job: ScheduledJob) -> None:
        loop = asyncio.get_running_loop()
        # Checked each turn because asyncio.wait_for (before 3.12) swallows a cancel that lands
        # as a run completes: stop() and remove() would otherwise wait on this task forever.
        while self._started and self.jobs.get(job.name) is job:
            if job.next_due > loop.time():
                await _sleep_until(loop, job.next_due)
            job.last_lateness = loop.time() - job.next_due
            if self._on_lateness:
                self._on_lateness(job.last_lateness)
            await self._run_once(job)
            job.next_due = self._next_due(job, loop.time())

    async def _run_once(self, job: ScheduledJob) -> None:
        job.running = True
        job.last_started = time.time()
        started = time.perf_counter()
        try:
            await asyncio.wait_for(job.run(), job.timeout)
        except asyncio.CancelledError as exc:
            if cancelling():
                raise
            self._failed(job, exc)
        except Exception as exc:
            self._failed(job, exc)
        else:
            job.failures, job.last_error = 0, None
        finally:
            job.runs += 1
            job.running = False
            job.last_duration = time.perf_counter() - started

    @staticmethod
    def _failed(job: ScheduledJob, exc: BaseException) -> None:
        job.failures += 1
        job.last_error = (
            f"timed out after {job.timeout:g}s" if isinstance(exc, asyncio.TimeoutError)
            else SECRETS.redact(f"{type(exc).__name__}: {exc}".removesuffix(": "))
        )
        log.warning("job.failed", job=job.name, error=job.last_error, failures=job.failures)
