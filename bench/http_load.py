"""A load generator for when wrk is not installed: keep-alive aiohttp clients requesting
one URL as fast as they can for a fixed time. Prints one JSON object. Python is slower
than wrk: on one core it saturates before the agent does, so its rate is a lower bound.

    python bench/http_load.py URL TOKEN [--connections 32] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp
from common import percentile


async def load(url: str, token: str, conns: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
            latencies.append(time.perf_counter() - started)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=conns)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(conns)))
        elapsed = time.perf_counter() - began
    return {
        "tool": f"aiohttp client, {conns} connections, {seconds:g}s",
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "socket_errors": 0,
        "latency_ms": {f"p{p}": round(percentile(latencies, p) * 1000, 3)
                       for p in (50, 75, 90, 99)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(load(args.url, args.token, args.connections, args.seconds))))


if __name__ == "__main__":
    main()
