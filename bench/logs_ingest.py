"""The logs plugin in a real agent: ingest rate of a file source reading a big file, how
late the agent's event loop runs meanwhile (p99), RSS growth, store size per million lines,
and how soon a line written to a file reaches a live-tail WebSocket. Issue 19's targets:
≥ 20,000 lines/s with loop lag p99 < 50 ms, RSS growth < 30 MB, tail < 250 ms.

    .venv/bin/python bench/logs_ingest.py --lines 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import psutil
from common import machine, percentile
from logs_common import tool_seconds, write_lines

from nebula.config import load
from nebula.testing import installed_plugin, run_agent, write_config

TICK = 0.005


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(TICK)
        lags.append(loop.time() - before - TICK)


async def tail_latency(agent, log: Path, rounds: int) -> list[float]:
    seconds = []
    headers = {"Authorization": f"Bearer {agent.token}"}
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{agent.url}/plugins/logs/tail?q=tailprobe", headers=headers) as ws:
        for i in range(rounds):
            started = time.perf_counter()
            with log.open("a") as handle:
                handle.write(f"tailprobe {i}\n")
            message = await asyncio.wait_for(ws.receive(), 10)
            assert json.loads(message.data)["message"] == f"tailprobe {i}"
            seconds.append(time.perf_counter() - started)
    return seconds


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="logsbench"))
    log = tmp / "app.log"
    write_lines(log, args.lines)
    size_mb = log.stat().st_size / 1e6
    grep = tool_seconds(["grep", "-c", "handled", str(log)])
    rg = tool_seconds(["rg", "-c", "handled", str(log)])
    config = write_config(tmp / "nebula.toml", plugins={"logs": {
        "files": [{"name": "bench", "path": str(log)}], "max_size_mb": 100000}})
    process = psutil.Process()
    rss_before = process.memory_info().rss
    lags: list[float] = []
    stop = asyncio.Event()
    async with run_agent(load(config), {"logs": installed_plugin("logs")},
                         schedule=False) as agent:
        runtime = agent.agent.manager.runtime("logs")
        rss_started = process.memory_info().rss
        tick = asyncio.ensure_future(ticker(lags, stop))
        started = time.perf_counter()
        peak = rss_started
        while runtime.store.counters.committed < args.lines:
            await asyncio.sleep(0.05)
            peak = max(peak, process.memory_info().rss)
        took = time.perf_counter() - started
        stop.set()
        await tick
        figures = await runtime.figures.get(max_age=0)
        tail = await tail_latency(agent, log, args.tail_rounds)
        rss_after = process.memory_info().rss
    rate = args.lines / took
    db_bytes = sum(p.stat().st_size for p in (tmp / "data" / "plugins" / "logs").glob(
        "logs.db*"))
    report = {
        "machine": machine(), "lines": args.lines, "file_mb": round(size_mb, 1),
        "ingest_seconds": round(took, 2), "lines_per_second": round(rate),
        "loop_lag_ms": {"p50": round(percentile(lags, 50) * 1000, 2),
                        "p99": round(percentile(lags, 99) * 1000, 2),
                        "max": round(max(lags) * 1000, 2)},
        "rss_mb": {"before_agent": round(rss_before / 1e6, 1),
                   "agent_started": round(rss_started / 1e6, 1),
                   "peak_during_ingest": round(peak / 1e6, 1),
                   "after": round(rss_after / 1e6, 1),
                   "growth_during_ingest": round((peak - rss_started) / 1e6, 1)},
        "store_mb": round(db_bytes / 1e6, 1),
        "store_mb_per_million_lines": round(db_bytes / 1e6 / args.lines * 1e6, 1),
        "waits": figures["waits"], "refused": figures["refused"],
        "tail_ms": {"p50": round(percentile(tail, 50) * 1000, 1),
                    "p95": round(percentile(tail, 95) * 1000, 1),
                    "max": round(max(tail) * 1000, 1)},
        "grep_c_seconds": grep and round(grep, 3), "rg_c_seconds": rg and round(rg, 3),
        "grep_lines_per_second": grep and round(args.lines / grep),
        "rg_lines_per_second": rg and round(args.lines / rg),
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tail-rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args()))
