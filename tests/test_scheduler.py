"""The scheduler in real time: intervals, cron, jitter, overlap, timeouts, backoff, stop."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest
from aiotools import VirtualClock

from nebula import scheduler
from nebula.api import Job, Manifest, hookimpl
from nebula.scheduler import ScheduledJob, Scheduler
from tests.sample_plugins import Switchable
from tests.waiting import eventually


class Recorder:
    """A job body that notes when each run starts (loop and wall clock) and how many
    runs are in flight at once. Its first `slow` runs (all, if None) sleep `duration`, and
    its first `failing` runs fail."""

    def __init__(self, duration: float = 0.0, failing: int = 0, slow: int | None = None) -> None:
        self.duration = duration
        self.failing = failing
        self.slow = slow
        self.starts: list[float] = []
        self.wall_starts: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0

    async def __call__(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        self.wall_starts.append(time.time())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.slow is None or len(self.starts) <= self.slow:
                await asyncio.sleep(self.duration)
            if len(self.starts) <= self.failing:
                raise RuntimeError("backend unreachable")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)]


@contextlib.asynccontextmanager
async def running(*jobs: ScheduledJob):
    sched = Scheduler()
    for job in jobs:
        sched.add(job)
    sched.start()
    try:
        yield sched
    finally:
        await sched.stop()


async def test_interval_job_runs_repeatedly_at_its_interval():
    body = Recorder()
    job = ScheduledJob("t.every", body, interval=0.05)
    # The loop's virtual clock: timings are the scheduler's alone, however busy the
    # host (a loaded CI machine wakes a sleeping loop late).
    with VirtualClock().patch_loop():
        async with running(job):
            await eventually(lambda: len(body.starts) >= 6)
    mean_gap = (body.starts[5] - body.starts[0]) / 5
    assert 0.045 <= mean_gap <= 0.08, body.gaps()
    assert job.runs == len(body.starts) and job.failures == 0 and job.last_error is None


async def test_cron_with_a_seconds_field_runs_on_each_second_boundary():
    # croniter reads a sixth field as seconds, so "every second" is a real cron schedule.
    body = Recorder()
    async with running(ScheduledJob("t.cron", body, cron="* * * * * *")):
        await eventually(lambda: len(body.starts) >= 2, timeout=4)
    seconds = [int(t) for t in body.wall_starts]
    assert len(set(seconds)) == len(seconds), f"two runs for one boundary: {body.wall_starts}"
    assert seconds[1] - seconds[0] == 1
    assert all(t - int(t) < 0.1 for t in body.wall_starts), body.wall_starts


async def clear_of_a_five_minute_boundary(margin: float = 2.0) -> float:
    """Wait out the rare moment a */5 boundary is near, so the job cannot run during the
    test; returns the boundary it will be due at."""
    if 300 - time.time() % 300 < margin:
        await asyncio.sleep(margin)
    return (time.time() // 300 + 1) * 300


async def test_minute_cron_is_due_at_the_next_matching_minute():
    # Every timezone offset is a whole number of quarter hours, so */5 lines up with the epoch.
    expected = await clear_of_a_five_minute_boundary()
    body = Recorder()
    job = ScheduledJob("t.five", body, cron="*/5 * * * *")
    async with running(job) as sched:
        loop_now = asyncio.get_running_loop().time()
        next_run = sched.jobs["t.five"].public(loop_now)["next_run"]
    assert abs(next_run - expected) < 0.05
    assert body.starts == [] and job.runs == 0


async def test_jitter_offsets_each_run_within_its_bound_without_drifting(monkeypatch):
    # On the loop's virtual clock a run starts exactly when the scheduler says, however busy
    # the machine: the offsets are the scheduler's choice alone, not the host's wake-up lag.
    monkeypatch.setattr(scheduler, "random", random.Random(15))
    interval, jitter = 0.05, 0.05
    body = Recorder()
    with VirtualClock().patch_loop():
        async with running(ScheduledJob("t.jitter", body, interval=interval, jitter=jitter)):
            await eventually(lambda: len(body.starts) >= 17)
    # The first run carries no jitter, so it marks the grid the others are offset from.
    offsets = [t - body.starts[0] - k * interval for k, t in enumerate(body.starts[:17])][1:]
    assert min(offsets) >= -1e-9, offsets
    assert max(offsets) <= jitter + 1e-9, offsets  # drift would pile jitter up run after run
    assert max(offsets) - min(offsets) > 0.4 * jitter, offsets


async def test_spread_jobs_start_on_shared_beats_and_keep_them():
    """Twelve checks of whole-second intervals spread over 3 s: their first runs land on at
    most four whole seconds of the loop's clock (one timer each, not twelve), still within
    the spread, and later runs stay on those beats."""
    bodies = [Recorder() for _ in range(12)]
    jobs = [ScheduledJob(f"t.beat{k}", body, interval=2 + k % 2, initial_spread=3)
            for k, body in enumerate(bodies)]
    with VirtualClock().patch_loop():
        started = asyncio.get_running_loop().time()
        async with running(*jobs):
            await eventually(lambda: all(len(b.starts) >= 3 for b in bodies))
    # (the virtual clock adds up float steps: a beat may read a few ulps off)
    firsts = {round(b.starts[0], 6) for b in bodies}
    assert len(firsts) <= 4, sorted(firsts)
    assert all(started <= t <= started + 3 and t == int(t) for t in firsts), sorted(firsts)
    for body, job in zip(bodies, jobs, strict=True):
        assert [round(g, 6) for g in body.gaps()[:2]] == [job.interval] * 2, body.gaps()


async def test_a_spread_shorter_than_a_beat_is_not_moved_onto_one():
    # Sub-second jobs (tests, fast pollers) start within their own spread, as before.
    body = Recorder()
    with VirtualClock().patch_loop():
        started = asyncio.get_running_loop().time()
        async with running(ScheduledJob("t.quick", body, interval=0.05, initial_spread=0.05)):
            await eventually(lambda: len(body.starts) >= 1)
    assert started <= body.starts[0] <= started + 0.05


async def test_a_job_slower_than_its_interval_never_overlaps_itself():
    body = Recorder(duration=0.1)
    job = ScheduledJob("t.slow", body, interval=0.02)
    # The loop's virtual clock: timings are the scheduler's alone, however busy the
    # host (a loaded CI machine wakes a sleeping loop late).
    with VirtualClock().patch_loop():
        async with running(job):
            await eventually(lambda: len(body.starts) >= 4)
    assert body.max_in_flight == 1
    # Missed slots are skipped, not bunched up: each run starts once the previous one ended.
    assert all(0.1 - 1e-9 <= gap < 0.16 for gap in body.gaps()), body.gaps()
    assert job.failures == 0


async def test_a_run_past_its_timeout_is_cancelled_and_counts_as_a_failure():
    body = Recorder(duration=30)
    job = ScheduledJob("t.hang", body, interval=60, timeout=0.1)
    started = time.monotonic()
    async with running(job):
        await eventually(lambda: job.failures == 1, timeout=2)
        assert time.monotonic() - started < 1
        assert body.cancelled == 1 and body.in_flight == 0
        assert job.last_error == "timed out after 0.1s"
        assert 0.1 <= job.last_duration < 0.5
        assert not job.running and job.runs == 1


async def test_failures_back_off_exponentially_and_a_success_resets_them(monkeypatch):
    monkeypatch.setattr(scheduler, "BACKOFF_BASE", 0.05)
    body = Recorder(failing=4)
    job = ScheduledJob("t.flaky", body, interval=0.01)
    # The loop's virtual clock: timings are the scheduler's alone, however busy the
    # host (a loaded CI machine wakes a sleeping loop late).
    with VirtualClock().patch_loop():
        async with running(job):
            await eventually(lambda: job.runs == 4)
            assert job.failures == 4
            await eventually(lambda: job.runs >= 5)
            assert job.failures == 0 and job.last_error is None
            await eventually(lambda: len(body.starts) >= 7)
    for k, gap in enumerate(body.gaps()[:4]):
        expected = 0.05 * 2**k
        assert expected - 1e-9 <= gap < expected + 0.05, body.gaps()
    # After the success the job is back on its own interval.
    assert max(body.gaps()[4:6]) < 0.04, body.gaps()


async def test_failure_messages_are_kept_and_counted():
    body = Recorder(failing=1)
    job = ScheduledJob("t.fails", body, interval=60)
    async with running(job):
        await eventually(lambda: job.runs == 1)
    assert job.failures == 1
    assert job.last_error == "RuntimeError: backend unreachable"


async def test_a_job_letting_out_its_own_cancellation_keeps_its_schedule(monkeypatch):
    """A job that cancels a helper task and awaits it sees a CancelledError that is not
    aimed at the job: that is one failed run, not the end of the job."""
    runs = 0

    async def cancels_a_helper() -> None:
        nonlocal runs
        runs += 1
        helper = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        helper.cancel()
        await helper

    monkeypatch.setattr(scheduler, "BACKOFF_BASE", 0.01)
    job = ScheduledJob("t.helper", cancels_a_helper, interval=0.01)
    async with running(job):
        await eventually(lambda: runs >= 3)
        assert job.failures >= 2 and job.last_error == "CancelledError"


async def test_stop_and_remove_cancel_in_flight_runs_promptly():
    kept, removed = Recorder(duration=30), Recorder(duration=30)
    sched = Scheduler()
    sched.add(ScheduledJob("t.kept", kept, interval=60))
    sched.add(ScheduledJob("t.removed", removed, interval=60))
    sched.start()
    try:
        await eventually(lambda: kept.in_flight and removed.in_flight)
        started = time.monotonic()
        await sched.remove("t.removed")
        assert removed.cancelled == 1 and "t.removed" not in sched.jobs
        assert kept.in_flight == 1
    finally:
        await sched.stop()
    assert time.monotonic() - started < 0.5
    assert kept.cancelled == 1 and kept.in_flight == 0
    assert not sched.jobs["t.kept"].running
    assert sched.jobs["t.kept"].task.done()


async def test_an_overrun_is_not_made_up_with_a_burst_of_runs():
    body = Recorder(duration=0.21, slow=1)
    # The loop's virtual clock: timings are the scheduler's alone, however busy the
    # host (a loaded CI machine wakes a sleeping loop late).
    with VirtualClock().patch_loop():
        async with running(ScheduledJob("t.once_slow", body, interval=0.05)):
            await eventually(lambda: len(body.starts) >= 5)
    # The slots at 0.05..0.15 are dropped; the one at 0.2 runs late, then the grid resumes.
    assert all(gap >= 0.03 for gap in body.gaps()[1:]), body.gaps()
    assert 0.25 - 1e-9 <= body.starts[2] - body.starts[0] < 0.27, body.gaps()


@pytest.mark.parametrize("how", ["stop", "remove"])
async def test_a_cancel_landing_as_a_run_completes_still_ends_the_job(how):
    """asyncio.wait_for (before 3.12) returns the result instead of raising when the cancel
    arrives in the same loop turn the run finishes in; the job must end all the same.
    The job itself asks for the cancel as its last step to hit that turn every time."""
    sched = Scheduler()
    stopper: list[asyncio.Task] = []

    async def asks_to_be_cancelled() -> None:
        end = sched.stop() if how == "stop" else sched.remove("t.last")
        stopper.append(asyncio.create_task(end))

    sched.add(ScheduledJob("t.last", asks_to_be_cancelled, interval=0.01))
    sched.start()
    try:
        await eventually(lambda: stopper)
        await asyncio.wait_for(stopper[0], 2)
    finally:
        await sched.stop()


@pytest.mark.parametrize("kwargs, message", [
    ({"interval": 1, "cron": "* * * * *"}, "exactly one of interval or cron"),
    ({}, "exactly one of interval or cron"),
    ({"cron": "61 * * * *"}, "invalid cron expression"),
    ({"cron": "every day"}, "invalid cron expression"),
    ({"interval": 0}, "interval must be positive"),
    ({"interval": -5}, "interval must be positive"),
    ({"interval": 1, "timeout": 0}, "timeout must be positive"),
    ({"interval": 1, "jitter": -1}, "jitter and initial_spread must not be negative"),
    ({"interval": 1, "initial_spread": -1}, "must not be negative"),
])
def test_invalid_definitions_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScheduledJob("t.bad", Recorder(), **kwargs)


async def test_a_name_is_scheduled_once():
    sched = Scheduler()
    sched.add(ScheduledJob("t.once", Recorder(), interval=1))
    with pytest.raises(ValueError, match="already scheduled"):
        sched.add(ScheduledJob("t.once", Recorder(), interval=1))


class Timed:
    """A plugin with a cron job and a job that always fails."""

    manifest = Manifest(api_version="1.0")

    async def _noop(self) -> None:
        return None

    async def _fail(self) -> None:
        raise ConnectionError("refused")

    @hookimpl
    def nebula_jobs(self) -> list[Job]:
        return [Job("cron", self._noop, cron="*/5 * * * *"),
                Job("fails", self._fail, interval=0.05)]


async def test_jobs_api_shows_next_run_runs_and_failures(nebula_agent, monkeypatch):
    monkeypatch.setattr(scheduler, "BACKOFF_BASE", 30.0)
    plugins = {"switchable": Switchable(), "timed": Timed()}
    boundary = await clear_of_a_five_minute_boundary()
    async with nebula_agent(plugins) as a:

        async def jobs():
            _, body = await a.get("/api/v1/jobs")
            found = {j["name"]: j for j in body["jobs"]}
            tick = found["job:switchable.tick"]
            return found if tick["runs"] >= 2 and found["job:timed.fails"]["runs"] else None

        before = time.time()
        found = await eventually(jobs)
        after = time.time()
    tick = found["job:switchable.tick"]
    assert tick["schedule"] == "every 0.1s" and tick["consecutive_failures"] == 0
    assert before < tick["next_run"] <= after + 0.1 + 0.02
    fails = found["job:timed.fails"]
    assert fails["consecutive_failures"] == fails["runs"] == 1
    assert fails["last_error"] == "ConnectionError: refused"
    assert fails["next_run"] > after + 25  # pushed back by the backoff, not the 0.05 s interval
    cron = found["job:timed.cron"]
    assert cron["schedule"] == "cron */5 * * * *" and cron["runs"] == 0
    assert abs(cron["next_run"] - boundary) < 0.05
