"""Target: one cycle of 500 domain checks against loopback servers completes in under 2 s
with bounded concurrency, and RSS grows by less than 20 MB over repeated cycles.

Each check is the full one: an A query to dnsmasq, a TLS handshake read for the
certificate, an HTTPS GET and an HTTP GET for the redirect. The agent (with the real domains
plugin) runs in this process, pinned to CPU 0; the TLS/HTTP sites (plugins/domains/tests/
domains_sites.py, one wildcard certificate) run in another process pinned to CPU 1, and dnsmasq
beside them. A cycle is `POST /api/v1/checks/run` for every host's check, as the API
serves it (results stored by the health engine)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from common import Report, Target, arguments, arm_watchdog, say, spread
from processes import cpu_seconds, pin_to

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nebula.config import load  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_domains import plugin  # noqa: E402
from tests.engines.dnsmasq import running  # noqa: E402

LIMIT_S = 2.0
LIMIT_RSS_MB = 20.0
ZONE = "bench.test"


def start_sites(workdir: Path, pin: bool) -> tuple[subprocess.Popen[bytes], dict]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "plugins/domains/tests/domains_sites.py"),
                             str(workdir), ZONE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            preexec_fn=pin_to(1) if pin else None)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


async def measure(args, dns_port: int, sites: dict, sites_pid: int, workdir: Path) -> dict:
    hosts = [f"h{i:04d}.{ZONE}" for i in range(args.hosts)]
    section = {"hosts": hosts, "resolvers": ["127.0.0.1"], "dns_port": dns_port,
               "dns_timeout": 2, "http_timeout": 5, "https_port": sites["https_port"],
               "http_port": sites["http_port"], "ca_bundle": sites["ca_bundle"],
               "concurrency": args.concurrency, "interval": 1}
    config = load(write_config(workdir / "nebula.toml", {"log_level": "warning"},
                               {"domains": section}))
    me = psutil.Process()
    async with run_agent(config, {"domains": plugin}, schedule=False) as agent:
        _, body = await agent.get("/api/v1/checks")
        names = [c["name"] for c in body["checks"]]
        assert len(names) == args.hosts, body
        rss_start = me.memory_info().rss
        cycles, rss, cpu, sites_cpu = [], [], [], []
        for _ in range(args.cycles):
            await asyncio.sleep(0.6)  # results are reused for half an interval (0.5 s)
            started, cpu_started = time.perf_counter(), time.process_time()
            sites_started = cpu_seconds(sites_pid)
            status, body = await agent.post("/api/v1/checks/run", {"names": names})
            cycles.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            sites_cpu.append(cpu_seconds(sites_pid) - sites_started)
            assert status == 200, body
            bad = [c for c in body["checks"] if c["last_status"] != "ok"]
            if bad:
                raise RuntimeError(f"{len(bad)} checks not ok, e.g. {bad[0]['summary']}")
            rss.append(me.memory_info().rss)
        latencies = [r["latency_ms"] for r in (await agent.get(
            "/api/v1/panels/domains.table"))[1]["data"]]
    return {"hosts": args.hosts, "concurrency": args.concurrency, "cycles": args.cycles,
            "cycle_s": spread(cycles, digits=3), "first_cycle_s": round(cycles[0], 3),
            # CPU, unlike wall time, does not depend on what else the machine runs.
            "agent_cpu_s_per_cycle": spread(cpu, digits=3),
            "sites_cpu_s_per_cycle": spread(sites_cpu, digits=3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "https_latency_ms_last_cycle": spread(latencies, digits=1),
            "rss_start_mb": round(rss_start / 2**20, 1),
            "rss_after_each_cycle_mb": [round(r / 2**20, 1) for r in rss],
            "rss_growth_mb": round((rss[-1] - rss_start) / 2**20, 1),
            "rss_growth_after_first_cycle_mb": round((rss[-1] - rss[0]) / 2**20, 1)}


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--pin", action="store_true",
                        help="pin the agent to CPU 0 and the sites to CPU 1")
    args = parser.parse_args()
    arm_watchdog(120)
    if args.pin and (pin := pin_to(0)) is not None:
        pin()
    with tempfile.TemporaryDirectory(prefix="nebula-bench-domains-") as tmp:
        workdir = Path(tmp)
        records = [f"host-record=h{i:04d}.{ZONE},127.0.0.1" for i in range(args.hosts)]
        (workdir / "sites").mkdir()
        sites_proc, sites = start_sites(workdir / "sites", args.pin)
        try:
            with running(workdir / "dns", records) as dns:
                say(f"{args.hosts} hosts, concurrency {args.concurrency}, dnsmasq on port "
                    f"{dns.port}, sites on {sites['https_port']}/{sites['http_port']}")
                results = asyncio.run(measure(args, dns.port, sites, sites_proc.pid, workdir))
        finally:
            if sites_proc.stdin:
                sites_proc.stdin.close()
            sites_proc.wait(10)
    report = Report("domains_cycle", results)
    report.targets.append(Target(f"slowest of {args.cycles} cycles of {args.hosts} domain "
                                 "checks", LIMIT_S, results["cycle_s"]["max"], "s"))
    report.targets.append(Target(f"RSS growth over {args.cycles} cycles", LIMIT_RSS_MB,
                                 results["rss_growth_mb"], "MB"))

    def human(r: dict) -> list[str]:
        c = r["cycle_s"]
        return [f"{r['hosts']} hosts, concurrency {r['concurrency']}: cycle s p50 {c['p50']}, "
                f"max {c['max']} (first {r['first_cycle_s']}); CPU s per cycle: agent "
                f"{r['agent_cpu_s_per_cycle']['p50']}, sites {r['sites_cpu_s_per_cycle']['p50']}"
                f"; load average {r['load_average_1min']}",
                f"HTTPS latency ms (last cycle): p50 "
                f"{r['https_latency_ms_last_cycle']['p50']}, max "
                f"{r['https_latency_ms_last_cycle']['max']}",
                f"RSS MB: {r['rss_start_mb']} before, {r['rss_after_each_cycle_mb']} after "
                f"each cycle; growth {r['rss_growth_mb']} "
                f"({r['rss_growth_after_first_cycle_mb']} after the first cycle)"]

    return report.emit(args.json, human)


if __name__ == "__main__":
    sys.exit(main())
