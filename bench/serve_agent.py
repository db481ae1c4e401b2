"""The agent side of `api_checks.py`, run as its own process: the real app
(`nebula.testing.run_agent`: store, scheduler, HTTP server on a random loopback port) with
the no-op checks plugin. Prints one JSON line with the URL and an admin token once it
serves, and stops cleanly on SIGTERM.

    python bench/serve_agent.py DIR [--checks 200] [--interval 30] [--profile-to FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import signal
from pathlib import Path

from noop_plugin import NoopChecks
from processes import write_agent_config

from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent


async def serve(root: Path, checks: int, interval: float) -> None:
    configure("json", "warning")
    config = load(write_agent_config(root, port=0))
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with run_agent(config, {"bench": NoopChecks(checks, interval)}) as agent:
        print(json.dumps({"url": agent.url, "token": agent.token}), flush=True)
        await stopping.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="config, data and log go here")
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--profile-to", type=Path, help="write cProfile stats here on exit")
    args = parser.parse_args()
    if args.profile_to is None:
        asyncio.run(serve(args.dir, args.checks, args.interval))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve(args.dir, args.checks, args.interval))
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile_to)


if __name__ == "__main__":
    main()
