"""Issue 18 item 2 / issue 25: what the metric and status history costs in store size and
read time.

1. Growth: CHECKS checks, each every 30 s, with the memory check's four metrics and a
   realistic summary, fed through the real write path (HealthEngine.run and flush, one
   batch per 30-s round as the agent's 1-s batching gives at this rate) on a clock moved
   by hand, DAYS days, with the hourly prune. The store's used pages (page_count minus
   freelist_count after a WAL checkpoint) are read at the end of every simulated day.
   Target: growth per check per day ≤ 100 KB at a 30 s interval, read as the mean daily
   growth once the raw tier's 48-hour window is full (days 3-30: the 5-minute and hourly
   rollups and status); days 1-2 (the raw window filling) and the mean over the first 30
   days with them are reported beside it, and the bound per check after a year.
2. Reads over that store: `series` of one metric for 1 h / 24 h / 7 d / 30 d (what a
   check page asks for), p50/p95. Target: 30 days of one metric within a check page's
   50 ms p95 (the read alone ≤ 10 ms p95 leaves the page the rest).
3. Uptime: STATUS_CHECKS checks with 90 days of status history (one result every 30 min,
   a status change now and then: hourly status rollups and spans as the engine writes
   them, through History.plan and Store.batch, without the per-result check runs that
   part 1 already times), then `status_seconds_of` over 90 days for all of them at once
   (and `status_seconds` one check at a time, for comparison). Target: ≤ 200 ms for 200
   checks.

    .venv/bin/python bench/history_growth.py [--days 32] [--checks 5] [--json]
"""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Report, Target, arguments, say, spread

from nebula.api import Check, CheckResult, Status, Unit
from nebula.health import HealthEngine
from nebula.history import Record
from nebula.store import SqliteStore, Store

DAY = 86400.0
INTERVAL = 30.0
T0 = 1_780_000_000.0
UNITS = {"memory.percent": Unit.PERCENT, "memory.used_bytes": Unit.BYTES,
         "memory.available_bytes": Unit.BYTES, "memory.total_bytes": Unit.BYTES}


async def used_bytes(store: Store) -> int:
    def measure() -> int:
        conn = store.conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * conn.execute("PRAGMA page_size").fetchone()[0])

    return await store.call(measure)


async def growth(folder: Path, checks: int, days: int, start: float = T0
                 ) -> tuple[list[int], Store, float]:
    """`checks` memory checks named system<i>.memory fed from `start` for `days` days into
    folder/nebula.db (bench/check_page.py starts an agent on it afterwards)."""
    store = SqliteStore(folder / "nebula.db")
    await store.open()
    clock = [start]
    engine = HealthEngine(store, _ignore, flap_threshold=1, clock=lambda: clock[0])
    rng = random.Random(18)
    level = [rng.uniform(20, 60) for _ in range(checks)]
    total = 16 * 1024 ** 3

    def body(i: int):
        async def run() -> CheckResult:
            level[i] = min(99.0, max(1.0, level[i] + rng.gauss(0, 0.5)))
            used = total * level[i] / 100
            status = Status.OK if level[i] < 85 else Status.WARNING
            return CheckResult(status, f"Memory {level[i]:.1f}% used (warning at 85%)",
                               {"memory.percent": round(level[i], 1), "memory.used_bytes": used,
                                "memory.available_bytes": total - used,
                                "memory.total_bytes": float(total)})
        return run

    names = [f"system{i}.memory" for i in range(checks)]
    for i, name in enumerate(names):
        engine.add(Check(name, body(i), interval=INTERVAL, units=UNITS), "system")
    sizes = [await used_bytes(store)]
    rounds_per_day = int(DAY / INTERVAL)
    for day in range(days):
        started = time.perf_counter()
        for r in range(rounds_per_day):
            clock[0] = start + day * DAY + r * INTERVAL
            for name in names:
                await engine.run(name)
            await engine.flush()
            if r % 120 == 0:  # hourly
                await engine.history.prune(clock[0])
        sizes.append(await used_bytes(store))
        say(f"day {day + 1}: {sizes[-1] / 1024:.0f} KiB "
            f"({(sizes[-1] - sizes[-2]) / checks / 1024:.1f} KiB per check that day; "
            f"{time.perf_counter() - started:.1f} s)")
    return sizes, store, clock[0]


async def _ignore(*args: Any) -> None:
    pass


async def reads(store: Store, now: float, repeat: int) -> dict[str, dict[str, float]]:
    engine = HealthEngine(store, _ignore, clock=lambda: now)
    found: dict[str, dict[str, float]] = {}
    for label, seconds in (("1h", 3600), ("24h", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
        times, cpu, count = [], [], 0
        for _ in range(repeat):
            started, began = time.perf_counter(), time.process_time()
            samples = await engine.history.series("system0.memory", "memory.percent",
                                                  now - seconds, now)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - began)
            count = len(samples)
        found[label] = {**spread(times, 1000), "samples": count,
                        "cpu_p95": spread(cpu, 1000)["p95"]}
    return found


async def uptime(folder: Path, checks: int, repeat: int) -> dict[str, Any]:
    store = SqliteStore(folder / "uptime.db")
    await store.open()
    engine = HealthEngine(store, _ignore, clock=lambda: now)
    history = engine.history
    rng = random.Random(25)
    step, days = 1800.0, 90
    status = [Status.OK] * checks
    started = time.perf_counter()
    for r in range(int(days * DAY / step) + 1):
        ts = T0 + r * step
        records = []
        for i in range(checks):
            if rng.random() < 0.01:
                status[i] = rng.choice([Status.OK, Status.OK, Status.WARNING, Status.CRITICAL])
            records.append(Record(f"uptime{i}.check", ts, status[i], f"{status[i].value}",
                                  {}, interval=step))
        await store.batch([(
            "INSERT INTO check_results (check_name, ts, status, state, summary) "
            "VALUES (?, ?, ?, ?, ?)", [(x.check, x.ts, x.status.value, x.status.value,
                                        x.summary) for x in records]),
            *await history.plan(records)])
        if r % 48 == 0:
            await history.prune(ts)
    now = ts
    say(f"90 days of status for {checks} checks written in "
        f"{time.perf_counter() - started:.0f} s")
    rows = (await store.fetchone("SELECT count(*) AS n FROM status_hourly"))["n"]
    spans = (await store.fetchone("SELECT count(*) AS n FROM status_spans"))["n"]
    names = [f"uptime{i}.check" for i in range(checks)]
    one_by_one, together, cpu = [], [], []
    for _ in range(repeat):
        began = time.perf_counter()
        for name in names:
            await history.status_seconds(name, now - days * DAY, now)
        one_by_one.append(time.perf_counter() - began)
        began, processor = time.perf_counter(), time.process_time()
        await history.status_seconds_of(names, now - days * DAY, now)
        together.append(time.perf_counter() - began)
        cpu.append(time.process_time() - processor)  # both threads: loop and store
    await store.close()
    return {"checks": checks, "status_hourly_rows": rows, "spans": spans,
            "one_by_one_ms": spread(one_by_one, 1000), "all_checks_ms": spread(together, 1000),
            "all_checks_cpu_ms": spread(cpu, 1000)}


async def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=32, help="simulated days of growth")
    parser.add_argument("--checks", type=int, default=5, help="checks in the growth run")
    parser.add_argument("--status-checks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nebula-history-bench-"))
    try:
        sizes, store, now = await growth(folder, args.checks, args.days)
        per_day = [(b - a) / args.checks for a, b in itertools.pairwise(sizes)]
        read = await reads(store, now, args.repeat)
        await store.close()
        up = await uptime(folder, args.status_checks, max(5, args.repeat // 5))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    kib = 1024
    first_30 = (sizes[min(30, args.days)] - sizes[0]) / args.checks / min(30, args.days)
    filled = per_day[2:30] or per_day  # the raw window full, the 5-minute one filling
    later = per_day[30:] or [0.0]  # hourly rollups and status only
    results = {
        "checks": args.checks, "days": args.days, "interval_s": INTERVAL,
        "store_kib_per_check_by_day": [round((s - sizes[0]) / args.checks / kib, 1)
                                       for s in sizes],
        "growth_kib_per_check_per_day": [round(d / kib, 1) for d in per_day],
        "mean_growth_first_30_days_kib": round(first_30 / kib, 1),
        "mean_growth_days_3_to_30_kib": round(sum(filled) / len(filled) / kib, 1),
        "mean_growth_after_day_30_kib": round(sum(later) / len(later) / kib, 1),
        "bound_per_check_after_a_year_mib": round(
            ((sizes[-1] - sizes[0]) / args.checks + max(0, 365 - args.days)
             * sum(later) / len(later)) / kib / kib, 2),
        "series_read_ms": read, "status_seconds_90d": up,
    }
    report = Report("history_growth", results)
    report.targets.append(Target("store growth per check per day at 30 s (days 3-30, mean)",
                                 100.0, results["mean_growth_days_3_to_30_kib"], "KiB"))
    report.targets.append(Target("series: 30 days of one metric, p95", 10.0,
                                 read["30d"]["p95"], "ms"))
    report.targets.append(Target(f"status_seconds over 90 days for {up['checks']} checks, p95",
                                 200.0, up["all_checks_ms"]["p95"], "ms"))

    def human(r: dict[str, Any]) -> list[str]:
        lines = [f"{r['checks']} checks every {r['interval_s']:g} s for {r['days']} days",
                 "store per check (KiB) at the end of each day: "
                 + ", ".join(map(str, r["store_kib_per_check_by_day"])),
                 "growth per check per day (KiB): "
                 + ", ".join(map(str, r["growth_kib_per_check_per_day"])),
                 f"mean growth per check per day: first 30 days "
                 f"{r['mean_growth_first_30_days_kib']} KiB, days 3-30 "
                 f"{r['mean_growth_days_3_to_30_kib']} KiB, after day 30 "
                 f"{r['mean_growth_after_day_30_kib']} KiB; bound per check after a year "
                 f"{r['bound_per_check_after_a_year_mib']} MiB"]
        for label, s in r["series_read_ms"].items():
            lines.append(f"series {label}: {s['samples']} samples, p50 {s['p50']} ms, "
                         f"p95 {s['p95']} ms (CPU p95 {s['cpu_p95']} ms)")
        u = r["status_seconds_90d"]
        lines.append(f"status_seconds 90 d x {u['checks']} checks ({u['status_hourly_rows']} "
                     f"hourly rows, {u['spans']} spans): all at once p50 "
                     f"{u['all_checks_ms']['p50']} ms, p95 {u['all_checks_ms']['p95']} ms "
                     f"(CPU p95 {u['all_checks_cpu_ms']['p95']} ms); "
                     f"one by one p50 {u['one_by_one_ms']['p50']} ms, "
                     f"p95 {u['one_by_one_ms']['p95']} ms")
        return lines

    return report.emit(args.json, human)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
