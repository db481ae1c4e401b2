"""Issue 18: a check page with 30 days of history renders server-side in ≤ 50 ms p95.

A memory check with four metrics (percent, used, available, total bytes) every 30 s is fed
for 30 days through the real write path (HealthEngine.run and flush, the hourly prune) on a
clock moved by hand so the 30 days end now (bench/history_growth.py's `growth`); then a
real agent (`nebula.testing.run_agent`) serves that store and `GET /checks/<name>?range=…`
is timed from a client on the same machine, one request at a time (loopback HTTP included:
an upper bound of the render). Every range is timed; the targets are 30d and 24h.

    .venv/bin/python bench/check_page.py [--days 30] [--requests 100] [--json]
                                         [--profile FILE]   # cProfile of the timed requests
                                         [--store DIR]  # keep the fed store there, reuse it
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Report, Target, arguments, arm_watchdog, say, spread
from history_growth import DAY, UNITS, growth

from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent, write_config

CHECK = "system0.memory"
RANGES = ("1h", "24h", "7d", "30d")


class Memory:
    """The agent's side of the fed check: same name, same metrics and units."""

    manifest = Manifest(api_version="1.0", description="benchmark: the fed memory check")

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        async def run() -> CheckResult:
            total = 16 * 1024 ** 3
            return CheckResult(Status.OK, "Memory 40.0% used (warning at 85%)",
                               {"memory.percent": 40.0, "memory.used_bytes": total * 0.4,
                                "memory.available_bytes": total * 0.6,
                                "memory.total_bytes": float(total)})

        return [Check("memory", run, title="Memory", interval=30, units=UNITS)]


async def timed(session: Any, url: str, token: str, n: int
                ) -> tuple[list[float], int, float]:
    """Wall times of `n` GETs, the page's size and the CPU time per GET of this process
    (agent and client: the part of the wall time that other work on a loaded machine
    does not inflate as much)."""
    times, size = [], 0
    cpu = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
            body = await resp.read()
            assert resp.status == 200, body[:300]
        times.append(time.perf_counter() - started)
        size = len(body)
    return times, size, (time.process_time() - cpu) / n


async def measure(days: int, requests: int, profile: Path | None,
                  keep: Path | None) -> dict[str, Any]:
    configure("json", "warning")
    root = keep or Path(tempfile.mkdtemp(prefix="nebula-checkpage-bench-"))
    try:
        fed_s = 0.0
        if not (root / "data" / "nebula.db").exists():  # else fed by an earlier run
            (root / "data").mkdir(mode=0o700, parents=True)
            began = time.perf_counter()
            say(f"feeding {days} days of one check every 30 s (four metrics)")
            _, store, _ = await growth(root / "data", 1, days, start=time.time() - days * DAY)
            await store.close()
            fed_s = time.perf_counter() - began
        config = load(write_config(root / "nebula.toml", {"flap_threshold": 1}))
        async with run_agent(config, {"system0": Memory()}, schedule=False) as agent:
            await agent.post("/api/v1/checks/run", {"names": [CHECK]})
            found: dict[str, Any] = {}
            profiler = cProfile.Profile() if profile else None
            for label in RANGES:
                url = f"{agent.url}/checks/{CHECK}?range={label}"
                await timed(agent.session, url, agent.token, 3)  # warm up
                if profiler:
                    profiler.enable()
                times, size, cpu = await timed(agent.session, url, agent.token, requests)
                if profiler:
                    profiler.disable()
                found[label] = {**spread(times, 1000), "cpu_ms_per_get": round(cpu * 1000, 2),
                                "html_bytes": size}
                say(f"{label}: p50 {found[label]['p50']} ms, p95 {found[label]['p95']} ms, "
                    f"CPU {found[label]['cpu_ms_per_get']} ms per GET")
            if profiler and profile:
                profiler.dump_stats(profile)
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return {"days": days, "interval_s": 30, "metrics": len(UNITS), "fed_in_s": round(fed_s),
            "requests_per_range": requests, "page_ms": found}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the requests")
    parser.add_argument("--store", type=Path, help="feed the store into this folder once and "
                        "reuse it (its history ends when it was fed)")
    args = parser.parse_args()

    async def run() -> dict[str, Any]:
        arm_watchdog(1800)
        return await measure(args.days, args.requests, args.profile, args.store)

    results = asyncio.run(run())
    report = Report("check_page", results)
    for label in ("30d", "24h"):
        report.targets.append(Target(f"check page, {args.days} days stored, range {label} (p95)",
                                     50, results["page_ms"][label]["p95"], "ms"))

    def human(r: dict[str, Any]) -> list[str]:
        lines = [f"{r['metrics']} metrics every {r['interval_s']} s for {r['days']} days "
                 f"(fed in {r['fed_in_s']} s); {r['requests_per_range']} GETs per range"]
        lines += [f"range {k}: {v} " for k, v in r["page_ms"].items()]
        return lines

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
