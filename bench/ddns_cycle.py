"""Target: a full dynamic-DNS cycle for 100 hosts across two providers takes at most 2 s on
loopback: the public IP from the echo services, every record read, one update per host,
each verified through DNS.

A real BIND 9 serves two zones: 50 hosts updated through RFC 2136 with TSIG, 50 through the
Cloudflare stand-in (its API's wire protocol; it publishes each change into BIND, as
Cloudflare's name servers would serve it). The agent with the real ddns plugin, the echo
services and the Cloudflare stand-in run in this process, so the stand-in's CPU counts
against the cycle. A cycle is one `POST /api/v1/actions/ddns.update/run` after the echo
services start reporting a new address; an in-sync cycle (nothing to send) is timed too."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from common import Report, Target, arguments, arm_watchdog, say, spread

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins/ddns/tests"))

from ddns_standins import Cloudflare  # noqa: E402

from nebula.config import load  # noqa: E402
from nebula.logs import configure  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_ddns import plugin  # noqa: E402
from tests.echo_services import EchoServices  # noqa: E402
from tests.engines.bind import new_secret, running  # noqa: E402
from tests.loopback import serving  # noqa: E402

LIMIT_S = 2.0
OLD_IP = "198.51.100.1"
RFC_ZONE, CF_ZONE, KEY = "rfc.bench", "cf.bench", "bench-key"


async def cycle(agent, hosts: int) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    status, body = await agent.post("/api/v1/actions/ddns.update/run", {"params": {}})
    took = time.perf_counter() - started
    assert status == 200 and body["status"] == "ok", body
    assert len(body["result"]) == hosts, body
    return took, body["result"]


async def measure(args, bind, secret: str, workdir: Path) -> dict:
    half = args.hosts // 2
    rfc_hosts = [f"h{i:03d}.{RFC_ZONE}" for i in range(half)]
    cf_hosts = [f"h{i:03d}.{CF_ZONE}" for i in range(args.hosts - half)]
    echo = EchoServices()
    cloudflare = Cloudflare(bind, "bench-cloudflare-token-0123456789")
    cloudflare.add_zone(CF_ZONE)
    for host in cf_hosts:
        cloudflare.add_record(CF_ZONE, host, "A", OLD_IP)
    async with serving(echo.app()) as echo_base, serving(cloudflare.app()) as cf_base:
        echo.base = echo_base
        section = {
            "ipv4_services": echo.urls(), "resolvers": [f"127.0.0.1:{bind.port}"],
            "interval": 3600, "timeout": 5, "verify_timeout": 5,
            "concurrency": args.concurrency,
            "rfc2136": [{"server": f"127.0.0.1:{bind.port}", "zone": RFC_ZONE,
                         "key_name": KEY, "key_secret": secret, "hosts": rfc_hosts}],
            "cloudflare": [{"api_token": cloudflare.token, "api_url": f"{cf_base}/client/v4",
                            "hosts": cf_hosts}]}
        config = load(write_config(workdir / "nebula.toml", {"log_level": "warning"},
                                   {"ddns": section}))
        changes, in_sync, cpu = [], [], []
        async with run_agent(config, {"ddns": plugin}, schedule=False) as agent:
            assert (await agent.plugin("ddns"))["state"] == "loaded"
            for n in range(args.cycles):
                ip = f"203.0.113.{n + 10}"
                echo.set(ip)
                cpu_started = time.process_time()
                took, results = await cycle(agent, args.hosts)
                cpu.append(time.process_time() - cpu_started)
                wrong = [r for r in results if r["action"] != "updated" or not r["verified"]]
                if wrong:
                    raise RuntimeError(f"{len(wrong)} hosts not updated and verified, "
                                       f"e.g. {wrong[0]}")
                changes.append(took)
                took, results = await cycle(agent, args.hosts)
                assert {r["action"] for r in results} == {"in_sync"}, results[0]
                in_sync.append(took)
            for host in rfc_hosts[:3] + cf_hosts[:3]:
                assert bind.query(host) == {ip}, host
    return {"hosts": args.hosts, "providers": {"rfc2136 (BIND 9)": half,
                                               "cloudflare (stand-in)": args.hosts - half},
            "concurrency_per_provider": args.concurrency, "cycles": args.cycles,
            "change_cycle_s": spread(changes, digits=3),
            "in_sync_cycle_s": spread(in_sync, digits=3),
            "process_cpu_s_per_change_cycle": spread(cpu, digits=3),
            "cloudflare_requests": len(cloudflare.requests),
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    arm_watchdog(180)
    configure(level="warning")  # as `nebula run` with log_level = "warning": no line per host
    secret = new_secret()
    with tempfile.TemporaryDirectory(prefix="nebula-bench-ddns-") as tmp:
        workdir = Path(tmp)
        half = args.hosts // 2
        zones = {RFC_ZONE: {f"h{i:03d}": [OLD_IP] for i in range(half)},
                 CF_ZONE: {f"h{i:03d}": [OLD_IP] for i in range(args.hosts - half)}}
        with running(workdir / "bind", zones, keys={KEY: secret},
                     updaters={RFC_ZONE: [KEY], CF_ZONE: []}) as bind:
            say(f"{args.hosts} hosts, BIND on port {bind.port}")
            results = asyncio.run(measure(args, bind, secret, workdir))
    report = Report("ddns_cycle", results)
    report.targets.append(Target(f"slowest of {args.cycles} full cycles (IP change) of "
                                 f"{args.hosts} hosts across two providers", LIMIT_S,
                                 results["change_cycle_s"]["max"], "s"))

    def human(r: dict) -> list[str]:
        c, s = r["change_cycle_s"], r["in_sync_cycle_s"]
        return [f"{r['hosts']} hosts ({r['providers']}), {r['cycles']} cycles: IP change "
                f"cycle s p50 {c['p50']}, max {c['max']}; in-sync cycle s p50 {s['p50']}, "
                f"max {s['max']}; process CPU s per change cycle "
                f"{r['process_cpu_s_per_change_cycle']['p50']}; Cloudflare requests "
                f"{r['cloudflare_requests']}; load average {r['load_average_1min']}"]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
