"""Issue 23's targets for a fleet hub with 200 agents: 3 real `nebula run` agents enrolled
through the CLI, and 197 simulated ones (bench/fleet_simagents.py, one process) enrolled
through the hub's real enroll API and speaking the same API and WebSocket over mutual TLS.
Each simulated agent emits one event a minute.

Measured over `--window` seconds once all 200 hosts are up:
- fleet overview (`GET /api/v1/fleet/hosts`, as the panel and CLI read it) p95 <= 100 ms,
  one request a second;
- an event from an agent on the hub's panel stream (`/api/v1/events` WebSocket, as the
  panel's script reads it) p99 <= 1 s, from the time the agent sent it;
- hub RSS (VmRSS, highest sample) <= 150 MB and hub CPU (utime+stime over the window)
  <= 10 % of a core.

With `--store postgresql` the hub's store is a database on a throwaway PostgreSQL cluster
(tests/engines/postgres.py, with fsync and synchronous_commit on) instead of SQLite in its
data dir: every relayed event is then an INSERT over the socket before the hub's panel
stream gets it.

    .venv/bin/python bench/fleet_hub.py [--window 180] [--sims 197] [--store sqlite]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from common import arguments, machine, percentile  # noqa: E402
from processes import cpu_seconds, proc_status  # noqa: E402

from tests.fleet.fleet_processes import enroll, make_member  # noqa: E402


async def measure(hub_url: str, token: str, pid: int, window: float) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    overview: list[float] = []
    lags: list[float] = []
    rss: list[int] = []
    async with aiohttp.ClientSession(headers=headers) as session:
        ws = await session.ws_connect(f"{hub_url}/api/v1/events?topic=fleet.event")

        async def listen() -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                event = json.loads(msg.data)["data"]["event"]
                sent = event.get("data", {}).get("sent")
                if sent:
                    lags.append(time.time() - sent)

        listener = asyncio.create_task(listen())
        cpu_start, started = cpu_seconds(pid), time.monotonic()
        while time.monotonic() - started < window:
            t0 = time.perf_counter()
            async with session.get(f"{hub_url}/api/v1/fleet/hosts") as resp:
                body = await resp.json()
            overview.append(time.perf_counter() - t0)
            assert body["count"] >= 200, body["count"]
            rss.append(proc_status(pid)["VmRSS"])
            await asyncio.sleep(1.0)
        cpu = (cpu_seconds(pid) - cpu_start) / (time.monotonic() - started)
        listener.cancel()
        await ws.close()
        states = body["states"]
    return {
        "overview_ms": {"p50": round(percentile(overview, 50) * 1000, 1),
                        "p95": round(percentile(overview, 95) * 1000, 1),
                        "n": len(overview)},
        "event_lag_ms": {"p50": round(percentile(lags, 50) * 1000, 1),
                         "p99": round(percentile(lags, 99) * 1000, 1), "n": len(lags)},
        "hub_rss_mb": round(max(rss) / 1024, 1),
        "hub_cpu_percent": round(cpu * 100, 2),
        "states_at_end": states,
    }


def main() -> int:
    parser = arguments(__doc__ or "")
    parser.add_argument("--window", type=float, default=180)
    parser.add_argument("--sims", type=int, default=197)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    cluster, store = None, ""
    if args.store == "postgresql":
        from tests.engines.postgres import Cluster
        from tests.store.backends import database_url, new_database

        # Durable as the SQLite store is (the test clusters turn fsync off): a comparison
        # of the two must not give PostgreSQL writes that never reach the disk.
        cluster = Cluster.start({"fsync": "on", "synchronous_commit": "on",
                                 "full_page_writes": "on"})
        store = f'store = "{database_url(cluster, new_database(cluster))}"\n'
    hub = make_member(root, "hub", f"{store}[fleet]\nhub = true\n")
    if cluster is not None:
        hub.env["PGPASSWORD"] = cluster.password
    agents = [make_member(root, f"real{i}") for i in range(1, 4)]
    sims = None
    try:
        hub.proc.start(timeout=60)
        for agent in agents:
            agent.proc.start(timeout=60)
            enroll(hub, agent)
            agent.proc.stop()
            agent.proc.start(timeout=60)
        ready = root / "sims.ready"
        sims = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fleet_simagents.py")),
             hub.proc.url, hub.proc.token, str(args.sims), str(ready)],
            stdin=subprocess.PIPE, env=hub.env)
        deadline = time.monotonic() + 600
        while not ready.exists():
            if sims.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulated agents did not start")
            time.sleep(0.5)
        total = 3 + args.sims
        while True:
            _, body = hub.proc.get("/api/v1/fleet/hosts")
            if body["states"].get("up", 0) == total:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all hosts up: {body['states']}")
            time.sleep(1)
        assert hub.proc.proc is not None
        result = asyncio.run(measure(hub.proc.url, hub.proc.token, hub.proc.proc.pid,
                                     args.window))
        result["hosts"] = total
        result["store"] = args.store
        result["window_s"] = args.window
        result["machine"] = machine()
        targets = {"overview p95 <= 100 ms": result["overview_ms"]["p95"] <= 100,  # type: ignore[index]
                   "event p99 <= 1000 ms": result["event_lag_ms"]["p99"] <= 1000,  # type: ignore[index]
                   "hub RSS <= 150 MB": result["hub_rss_mb"] <= 150,  # type: ignore[operator]
                   "hub CPU <= 10 %": result["hub_cpu_percent"] <= 10}  # type: ignore[operator]
        result["targets"] = targets
        print(json.dumps(result, indent=2))
        return 0 if all(targets.values()) else 1
    finally:
        if sims is not None:
            sims.kill()  # 197 servers with open streams: no graceful close needed
            sims.wait(30)
        for member in [hub, *agents]:
            member.proc.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
