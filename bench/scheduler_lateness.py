"""Target: 1,000 no-op checks on a 1 s interval start with p99 lateness under 20 ms.

The real core runs in this process: an `Agent` with its store (SQLite in a temp dir),
health engine and scheduler, given a plugin of 1,000 no-op checks, as `nebula run` would
schedule them (`check:<name>` jobs, first runs spread over one interval). Lateness is the
scheduler's own figure (`ScheduledJob.last_lateness`: loop time at start minus the time the
run was due), taken from the `Scheduler(on_lateness=...)` callback for check jobs only. The
first `--warmup` seconds are discarded. A monitor task measures event-loop lag (how late a
50 ms sleep wakes) over the same window.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from pathlib import Path

from common import Report, Target, arguments, arm_watchdog, say, spread
from noop_plugin import NoopChecks
from processes import scratch, write_agent_config

from nebula.agent import Agent
from nebula.config import load
from nebula.logs import configure
from nebula.scheduler import Scheduler

LIMIT_MS = 20.0
LAG_PERIOD = 0.05


class Recorder:
    """Every check run's lateness, with the monotonic time it was reported."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    def __call__(self, lateness: float) -> None:
        # The callback runs inside the job's own task, whose name says which job it is;
        # the core's own jobs (store flush, retention) are left out.
        task = asyncio.current_task()
        if task is not None and task.get_name().startswith("job:check:"):
            self.samples.append((time.monotonic(), lateness))


class GcPauses:
    """How long each garbage collection held the loop, by generation: the usual cause of a
    lone late start when everything else is quick."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[tuple[float, float]]] = {0: [], 1: [], 2: []}
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(
                (time.monotonic(), time.perf_counter() - self._began))

    def since(self, cutoff: float) -> dict[str, dict[str, float]]:
        out = {}
        for generation, pauses in self.pauses.items():
            taken = [pause for at, pause in pauses if at >= cutoff]
            out[f"gen{generation}"] = {"count": len(taken), "max_ms": round(
                max(taken, default=0.0) * 1000, 3)}
        return out


async def lag_monitor(samples: list[tuple[float, float]]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(LAG_PERIOD)
        samples.append((time.monotonic(), loop.time() - before - LAG_PERIOD))


async def measure(root: Path, checks: int, interval: float, duration: float,
                  warmup: float) -> dict:
    arm_watchdog(duration + 60)
    config = load(write_agent_config(root, port=0))
    agent = Agent(config, plugins={"bench": NoopChecks(checks, interval)}, discover=False)
    recorder = Recorder()
    # The agent builds its scheduler without a lateness callback and offers no way to pass
    # one, so a scheduler made with the public constructor argument replaces it before
    # anything is scheduled.
    agent.scheduler = Scheduler(on_lateness=recorder)
    lags: list[tuple[float, float]] = []
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    await agent.start()
    began = time.monotonic()
    monitor = asyncio.create_task(lag_monitor(lags))
    try:
        await asyncio.sleep(warmup)
        cpu_before, wall_before = os.times(), time.monotonic()
        await asyncio.sleep(duration - warmup)
        cpu_after, wall_after = os.times(), time.monotonic()
    finally:
        monitor.cancel()
        await asyncio.gather(monitor, return_exceptions=True)
        stopping = time.monotonic()
        await agent.stop()
        stop_s = time.monotonic() - stopping
        gc.callbacks.remove(gc_pauses)

    cutoff = began + warmup
    late = [value for at, value in recorder.samples if at >= cutoff]
    lag = [value for at, value in lags if at >= cutoff]
    window = wall_after - wall_before
    busy = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    return {
        "checks": checks,
        "interval_s": interval,
        "duration_s": duration,
        "warmup_discarded_s": warmup,
        "runs_measured": len(late),
        "runs_per_s": round(len(late) / window, 1),
        "expected_runs_per_s": round(checks / interval, 1),
        "lateness_ms": spread(late, 1000, 3),
        "loop_lag_ms": spread(lag, 1000, 3),
        "cpu_pct_of_core": round(busy / window * 100, 1),
        "gc_pauses": gc_pauses.since(cutoff),
        "agent_stop_ms": round(stop_s * 1000, 1),
    }


def stored_results(root: Path) -> int:
    """Rows the health engine wrote, read back from the store's file after the stop."""
    import sqlite3

    conn = sqlite3.connect(root / "data" / "nebula.db")
    try:
        return conn.execute("SELECT count(*) FROM check_results").fetchone()[0]
    finally:
        conn.close()


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args()
    configure("json", "warning")

    say(f"{args.checks} checks every {args.interval:g} s for {args.duration:g} s")
    with scratch("sched") as root:
        results = asyncio.run(measure(root, args.checks, args.interval, args.duration,
                                      args.warmup))
        results["results_stored"] = stored_results(root)
    report = Report("scheduler_lateness", results)
    report.targets.append(Target(f"check start lateness p99 ({args.checks} checks, "
                                 f"{args.interval:g} s)", LIMIT_MS,
                                 results["lateness_ms"]["p99"], "ms"))
    if results["runs_per_s"] < 0.95 * results["expected_runs_per_s"]:
        report.notes.append("fewer runs than scheduled: the loop cannot keep up")

    def human(r: dict) -> list[str]:
        late, lag = r["lateness_ms"], r["loop_lag_ms"]
        return [
            f"{r['runs_measured']} runs in {r['duration_s'] - r['warmup_discarded_s']:g} s "
            f"({r['runs_per_s']}/s of {r['expected_runs_per_s']}/s scheduled), "
            f"{r['results_stored']} results stored, {r['cpu_pct_of_core']}% of a core",
            f"lateness ms: p50 {late['p50']}, p95 {late['p95']}, p99 {late['p99']}, "
            f"max {late['max']}",
            f"event-loop lag ms ({LAG_PERIOD * 1000:g} ms sleeps): p50 {lag['p50']}, "
            f"p99 {lag['p99']}, max {lag['max']}",
            "garbage collections: " + ", ".join(
                f"{gen} {v['count']}x (max {v['max_ms']} ms)"
                for gen, v in r["gc_pauses"].items()),
            f"agent.stop() with {r['checks']} jobs scheduled took {r['agent_stop_ms']} ms",
        ]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
