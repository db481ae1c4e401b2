"""The caddy plugin's poll of a real Caddy serving 100 reverse-proxy sites: one look (the
whole config with its version, /reverse_proxy/upstreams, a TCP probe of every upstream)
as the checks, panels and tools share it. Target from issue 20: p95 <= 100 ms. Also times
the sites panel from a fresh look and, apart, the wire check of all 100 certificates (a
TLS handshake each; it runs every cert_interval, 600 s by default, not every poll).

Starts its own Caddy (Debian `caddy`, internal CA, loopback) as the tests do, and 10
upstream servers the 100 sites share.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, Target, arguments, arm_watchdog, say, spread

from nebula.config import load
from nebula.testing import run_agent, write_config
from nebula_caddy import plugin
from tests.agent_process import free_port
from tests.engines.caddy import running, site

SITES = 100
UPSTREAMS = 10
ROUNDS = 60


async def measure(admin_url: str) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="nbc") as tmp:
        config = load(write_config(Path(tmp) / "nebula.toml", {"log_format": "json"}, {
            "caddy": {"admin_url": admin_url, "interval": 3600, "cert_interval": 3600}}))
        async with run_agent(config, {"caddy": plugin}, schedule=False) as agent:
            runtime = agent.agent.manager.records["caddy"].ctx.runtime
            times: dict[str, list[float]] = {"poll": [], "panel": [], "certs": []}
            await runtime.state.refresh()  # warm: connection pool, first handshake
            for _ in range(ROUNDS):
                t = time.perf_counter()
                snap = await runtime.state.refresh()
                times["poll"].append(time.perf_counter() - t)
                assert len(snap.sites) == SITES, len(snap.sites)
                runtime.state.invalidate()
                t = time.perf_counter()
                status, body = await agent.get("/api/v1/panels/caddy.sites")
                times["panel"].append(time.perf_counter() - t)
                assert status == 200 and len(body["data"]) == SITES
            for _ in range(5):
                t = time.perf_counter()
                states = await runtime.certificates.refresh()
                times["certs"].append(time.perf_counter() - t)
                assert len(states) == SITES and all(s.trusted for s in states.values())
            return times


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    arm_watchdog(600)
    with tempfile.TemporaryDirectory(prefix="nbcaddy") as tmp:
        # The sites dial 10 loopback ports chosen now; `_with_upstreams` listens on them.
        dials = [f"127.0.0.1:{free_port()}" for _ in range(UPSTREAMS)]
        blocks = "".join(site(f"s{i:03d}.test", "{port}", dials[i % UPSTREAMS])
                         for i in range(SITES))
        say(f"starting Caddy with {SITES} sites")
        with running(Path(tmp) / "caddy", blocks) as caddy:
            caddy.wait_serving(f"s{SITES - 1:03d}.test", timeout=120)
            times = asyncio.run(_with_upstreams(dials, caddy.admin_url))
    report = Report("caddy_poll", {
        "sites": SITES,
        "poll: config + upstreams + TCP probe of 10 upstreams (ms)": spread(times["poll"],
                                                                            1000),
        "sites panel from a fresh poll, through the HTTP API (ms)": spread(times["panel"],
                                                                           1000),
        "wire check of 100 certificates (ms)": spread(times["certs"], 1000),
    })
    report.targets = [Target("caddy poll with 100 sites (p95)", 100,
                             spread(times["poll"], 1000)["p95"], "ms")]
    return report.emit(args.json, lambda r: [f"{k}: {v}" for k, v in r.items()])


async def _with_upstreams(dials: list[str], admin_url: str) -> dict[str, list[float]]:
    servers = [await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1",
                                          int(d.rsplit(":", 1)[1])) for d in dials]
    try:
        return await measure(admin_url)
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    sys.exit(main())
