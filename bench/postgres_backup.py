"""Target: a backup of a database of at least 1 GB grows the agent's RSS by under 20 MB.

A throwaway cluster gets one database of `--gb` GiB (pseudo-random text rows, so the dump
is not trivially compressible); the agent (in this process) runs `postgres.backup` over
real HTTP while a thread samples this process's RSS every 50 ms. pg_dump streams to its
file and the checksum is read in 1 MiB chunks, so the agent holds no dump in memory.
Not part of the test suite: it takes a few minutes.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time

import psutil
from common import Report, Target, arguments, arm_watchdog, say
from postgres_common import Cluster, postgres_agent

RSS_LIMIT_MB = 20.0
MB = 1024 ** 2
ROW_SQL = ("INSERT INTO big SELECT g, md5(g::text) || md5((g * 7)::text) || "
           "md5((g * 13)::text) FROM generate_series(%s, %s) g")


class RssSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process()
        self.peak = self.start_rss = self.proc.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)


def fill(cluster: Cluster, gib: float) -> int:
    cluster.execute("CREATE DATABASE big")
    with cluster.connect("big") as conn:
        conn.execute("CREATE TABLE big (id bigint, payload text)")
        step, start = 1_000_000, 1
        while conn.execute("SELECT pg_database_size('big')").fetchone()[0] < gib * 1024 ** 3:
            conn.execute(ROW_SQL, [start, start + step - 1])
            start += step
        return conn.execute("SELECT pg_database_size('big')").fetchone()[0]


async def backup(cluster: Cluster, folder: str) -> dict:
    async with postgres_agent(cluster, backup_dir=folder, backup_timeout=3600) as agent:
        # Warm up: the first action, panel and pooled connection allocate once.
        await agent.post("/api/v1/actions/postgres.databases/run", {"params": {}})
        sampler = RssSampler()
        sampler.start()
        started = time.perf_counter()
        status, body = await agent.post("/api/v1/actions/postgres.backup/run",
                                        {"params": {"database": "big"}})
        seconds = time.perf_counter() - started
        sampler.running = False
        sampler.join()
        assert status == 200 and body["status"] == "ok", body
        made = body["result"][0]["backup"]
        return {"seconds": round(seconds, 2), "dump_bytes": made["size"],
                "toc_entries": made["toc_entries"],
                "rss_before_mb": round(sampler.start_rss / MB, 1),
                "rss_peak_mb": round(sampler.peak / MB, 1),
                "rss_growth_mb": round((sampler.peak - sampler.start_rss) / MB, 2)}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.05, help="database size, GiB")
    a = parser.parse_args()
    arm_watchdog(1800)
    say("starting a cluster")
    cluster = Cluster.start({"max_wal_size": "4GB", "checkpoint_timeout": "30min"})
    try:
        say(f"filling a {a.gb:g} GiB database")
        started = time.perf_counter()
        size = fill(cluster, a.gb)
        say(f"filled {size / 1024 ** 3:.2f} GiB in {time.perf_counter() - started:.0f} s; "
            "backing up")
        with tempfile.TemporaryDirectory(prefix="nebula-bench-dumps-") as folder:
            results = asyncio.run(backup(cluster, folder))
    finally:
        cluster.stop()
    report = Report("postgres_backup")
    report.results = {"database_bytes": size, **results}
    report.targets.append(Target("agent RSS growth during a backup of "
                                 f"{size / 1024 ** 3:.2f} GiB", RSS_LIMIT_MB,
                                 results["rss_growth_mb"], "MB"))
    return report.emit(a.json, lambda r: [f"{k}: {v}" for k, v in r.items()])


if __name__ == "__main__":
    raise SystemExit(main())
