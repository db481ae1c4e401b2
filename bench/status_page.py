"""Issue 25: a public status page under load. The agent (its own process: the real app
with 200 checks every 30 s and a public [[status_page]] of 20 of them) is asked for
/status/bench at a fixed rate (open loop: a request is sent every 1/RATE s whether or not
earlier ones have answered) while /healthz is probed 50 times a second.

Targets: page p95 ≤ 20 ms at 500 req/s with the cache; /healthz p99 < 50 ms meanwhile.

    .venv/bin/python bench/status_page.py [--rate 500] [--seconds 15] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from common import machine, percentile

CHECKS, ON_PAGE = 200, 20


async def serve(root: Path) -> None:
    from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
    from nebula.config import load
    from nebula.logs import configure
    from nebula.testing import run_agent

    class Bench:
        manifest = Manifest(api_version="1.0", description="benchmark checks")

        @hookimpl
        def nebula_checks(self) -> list[Check]:
            async def ok() -> CheckResult:
                return CheckResult(Status.OK, "fine", {"latency_ms": 3.0})

            return [Check(f"bench.c{i}", ok, interval=30, timeout=5) for i in range(CHECKS)]

    configure("json", "warning")
    groups = "".join(f'[[status_page.groups]]\nname = "Group {g}"\nchecks = ['
                     + ", ".join(f'{{check = "bench.c{g * 5 + i}", name = "Service {g}-{i}"}}'
                                 for i in range(5)) + "]\n" for g in range(ON_PAGE // 5))
    path = root / "nebula.toml"
    path.write_text(f'[agent]\nbind = "127.0.0.1"\nport = 0\ndata_dir = "{root / "data"}"\n\n'
                    '[[status_page]]\nslug = "bench"\ntitle = "Bench"\npublic = true\n'
                    f"cache_seconds = 10\n{groups}", encoding="utf-8")
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with run_agent(load(path), {"bench": Bench()}) as agent:
        await agent.post("/api/v1/checks/run")
        print(json.dumps({"url": agent.url}), flush=True)
        await stopping.wait()


async def drive(url: str, rate: float, seconds: float) -> dict[str, object]:
    page: list[float] = []
    health: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def once(path: str, into: list[float]) -> None:
            nonlocal failures
            started = time.perf_counter()
            async with session.get(url + path) as resp:
                await resp.read()
                if resp.status != 200:
                    failures += 1
            into.append(time.perf_counter() - started)

        async def paced(path: str, every: float, into: list[float]) -> None:
            tasks, start = [], time.perf_counter()
            n = 0
            while (due := start + n * every) < start + seconds:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                tasks.append(asyncio.create_task(once(path, into)))
                n += 1
            await asyncio.gather(*tasks)

        await once("/status/bench", [])  # built once before the clock starts
        began = time.perf_counter()
        await asyncio.gather(paced("/status/bench", 1 / rate, page),
                             paced("/healthz", 0.02, health))
        elapsed = time.perf_counter() - began
    return {"rate_asked": rate, "rate_served": round(len(page) / elapsed, 1),
            "failures": failures,
            "page_ms": {f"p{p}": round(percentile(page, p) * 1000, 2) for p in (50, 95, 99)},
            "healthz_ms": {f"p{p}": round(percentile(health, p) * 1000, 2)
                           for p in (50, 99)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    with tempfile.TemporaryDirectory() as root:
        agent = subprocess.Popen([sys.executable, __file__, "--serve", root],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert agent.stdout is not None
            url = json.loads(agent.stdout.readline())["url"]
            found = asyncio.run(drive(url, args.rate, args.seconds))
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(30)
    found = {"machine": machine(), **found}
    print(json.dumps(found, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
