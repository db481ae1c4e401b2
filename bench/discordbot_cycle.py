"""Target: one full discordbot check cycle (health probe, database, three ticket metrics)
over a ticketbot database of 100k tickets answers in under 500 ms (p95).

A throwaway cluster (the tests' own) gets a `ticketbot` database shaped like the bot's
(tickets and stream_notification_log, without extra indexes: the bot declares none), and
the agent (in this process) runs the postgres and discordbot plugins; a loopback aiohttp
server answers the health probe. Every cycle is a POST /api/v1/checks/run of all the
plugin's checks with reuse_seconds = 0, so each one is a fresh HTTP probe and a fresh round
of read-only queries on a new connection; a second series times the status tool (Jarvis's
"is the ticket bot healthy?").
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from common import Report, Target, arguments, arm_watchdog, say, spread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The ticket bot's tables, beside the plugin's tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins/discordbot/tests"))

from discordbot_db import DDL, add_go_live, add_tickets

import nebula_discordbot.plugin
import nebula_postgres.plugin
from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.appwatch_support import HealthEndpoint
from tests.engines.postgres import Cluster

LIMIT_MS = 500.0
CHECKS = ("health", "database", "open_tickets", "tickets_last_hour", "go_live_last_hour")


async def cycles(cluster: Cluster, count: int) -> tuple[list[float], list[float]]:
    endpoint = await HealthEndpoint().start()
    endpoint.body = {"status": "healthy", "dependencies": {"database": {"status": "up"},
                                                           "discord": {"status": "up"}}}
    try:
        with tempfile.TemporaryDirectory(prefix="nebula-bench-") as root:
            path = write_config(Path(root) / "nebula.toml", plugins={
                "postgres": cluster.config(),
                "discordbot": {"database": "ticketbot", "health_url": endpoint.url,
                               "container": "", "reuse_seconds": 0, "interval": 3600}})
            plugins = {"postgres": nebula_postgres.plugin,
                       "discordbot": nebula_discordbot.plugin}
            async with run_agent(load(path), plugins, schedule=False) as agent:
                names = [f"discordbot.{n}" for n in CHECKS]
                checks, tools = [], []
                for _ in range(count + 1):
                    started = time.perf_counter()
                    status, body = await agent.post("/api/v1/checks/run", {"names": names})
                    checks.append(time.perf_counter() - started)
                    assert status == 200, body
                    bad = [c for c in body["checks"] if c["last_status"] == "unknown"]
                    assert not bad, bad
                    started = time.perf_counter()
                    status, body = await agent.post("/api/v1/tools/discordbot.status/run", {})
                    tools.append(time.perf_counter() - started)
                    assert status == 200 and body["status"] == "ok", body
                return checks[1:], tools[1:]
    finally:
        await endpoint.stop()


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=50)
    a = parser.parse_args()
    arm_watchdog(600)
    say("starting a cluster")
    cluster = Cluster.start()
    try:
        cluster.execute("CREATE DATABASE ticketbot")
        cluster.execute(DDL, "ticketbot")
        say(f"adding {a.tickets} tickets")
        add_tickets(cluster, "ticketbot", a.tickets, status="closed", age="30 days")
        add_tickets(cluster, "ticketbot", 40, age="2 hours")
        add_tickets(cluster, "ticketbot", 10)
        add_go_live(cluster, "ticketbot", a.tickets // 10, age="10 days")
        add_go_live(cluster, "ticketbot", 5)
        cluster.execute("VACUUM ANALYZE", "ticketbot")
        checks, tools = asyncio.run(cycles(cluster, a.cycles))
    finally:
        cluster.stop()
    report = Report("discordbot_cycle")
    report.results = {"tickets": a.tickets, "checks": len(CHECKS),
                      "check_cycle_ms": spread(checks, 1000),
                      "status_tool_ms": spread(tools, 1000)}
    report.targets.append(Target(f"discordbot check cycle, {a.tickets} tickets (p95)",
                                 LIMIT_MS, report.results["check_cycle_ms"]["p95"], "ms"))
    return report.emit(a.json, lambda r: [f"tickets: {r['tickets']}",
                                          f"check cycle ms: {r['check_cycle_ms']}",
                                          f"status tool ms: {r['status_tool_ms']}"])


if __name__ == "__main__":
    raise SystemExit(main())
