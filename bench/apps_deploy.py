"""The apps plugin: deploy of a template with a database and a domain to "healthy through
Caddy", and the rollback of a deploy that fails at its Caddy step. Targets from issue 20:
deploy <= 10 s (image present), rollback <= 5 s.

A throwaway Podman engine (its local busybox image: the template test image, httpd), a
throwaway PostgreSQL cluster, a real Caddy (Debian, internal CA), a real BIND taking RFC
2136 updates for apps.test (the domain's DNS record, by the ddns plugin's add_host, the
public IP from a local echo service) and the apps, postgres, caddy and ddns plugins in a
real agent, as the tests use them. The deploy's time is from the approval's request to its
answer ("answers through Caddy"); the rollback's is the time its undo took (DNS record,
container, volume, database, secrets), the failing step's own wait excluded.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, Target, arguments, arm_watchdog, say, spread

import nebula_apps.plugin
import nebula_caddy.plugin
import nebula_ddns.plugin
import nebula_postgres.plugin
from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.agent_process import free_port
from tests.app_template import WEB
from tests.echo_services import echo_services
from tests.engines import bind
from tests.engines.caddy import running, site
from tests.engines.podman import Podman
from tests.engines.postgres import Cluster

ROUNDS = 5
ZONE, KEY, PUBLIC_IP = "apps.test", "bench-key", "203.0.113.7"
TAKEN = f"taken.{ZONE}"  # Caddy serves it already: a deploy of it fails at the Caddy step


async def measure(podman: Podman, cluster: Cluster, admin_url: str, dns: bind.Bind,
                  tsig: str, tmp: Path) -> dict[str, list[float]]:
    (tmp / "templates").mkdir()
    (tmp / "templates" / "web.toml").write_text(WEB + '[database]\nenv = "DATABASE_URL"\n')
    (tmp / "tsig").write_text(tsig + "\n")
    times: dict[str, list[float]] = {"deploy": [], "wall": [], "rollback": []}
    plugins = {"apps": nebula_apps.plugin, "caddy": nebula_caddy.plugin,
               "postgres": nebula_postgres.plugin, "ddns": nebula_ddns.plugin}
    async with echo_services(PUBLIC_IP) as echo:
        config = load(write_config(tmp / "nebula.toml", {"log_format": "json"}, {
            "apps": {"base_url": podman.base_url, "templates_dir": str(tmp / "templates")},
            "caddy": {"admin_url": admin_url}, "postgres": cluster.config(),
            "ddns": {"ipv4_services": echo.urls(), "interval": 3600, "timeout": 2,
                     "verify_timeout": 3, "rfc2136": [{
                         "server": f"127.0.0.1:{dns.port}", "key_name": KEY,
                         "key_secret_file": str(tmp / "tsig"), "zone": ZONE,
                         "hosts": [f"gw.{ZONE}"]}]}}))
        return await _rounds(config, plugins, dns, times)


async def _rounds(config: Any, plugins: dict[str, Any], dns: bind.Bind,
                  times: dict[str, list[float]]) -> dict[str, list[float]]:
    async with run_agent(config, plugins, schedule=False) as agent:
        async def approved(action: str, params: dict) -> dict:
            status, body = await agent.post(f"/api/v1/actions/{action}/run",
                                            {"params": params})
            assert status == 202, body
            status, body = await agent.post(
                f"/api/v1/approvals/{body['approval']['id']}/approve", {"wait": 600})
            return body

        for i in range(ROUNDS):
            started = time.perf_counter()
            done = await approved("apps.deploy", {
                "template": "web", "name": f"bench{i}", "port": free_port(),
                "domain": f"bench{i}.{ZONE}", "tls": "internal", "database": True})
            times["wall"].append(time.perf_counter() - started)
            assert done["status"] == "ok", done
            assert "DNS record" in " ".join(map(str, done["result"]["steps"])), done
            assert dns.query(f"bench{i}.{ZONE}") == {PUBLIC_IP}
            times["deploy"].append(done["result"]["seconds"])
            failed = await approved("apps.deploy", {
                "template": "web", "name": f"fail{i}", "port": free_port(),
                "domain": TAKEN, "tls": "internal", "database": True})
            assert failed["status"] == "error", failed
            assert dns.query(TAKEN) == set()  # its record went with the rest
            found = re.search(r"rolled back in ([0-9.]+) s", failed["error"])
            assert found, failed["error"]
            times["rollback"].append(float(found.group(1)))
            removed = await approved("apps.remove", {"name": f"bench{i}", "volumes": True})
            assert removed["status"] == "ok", removed
    return times


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    arm_watchdog(900)
    podman, cluster = Podman().start(), Cluster.start()
    tsig = bind.new_secret()
    try:
        with tempfile.TemporaryDirectory(prefix="nbapps") as tmp, \
                running(Path(tmp) / "caddy", site(TAKEN, "{port}", "127.0.0.1:9")) as caddy, \
                bind.running(Path(tmp) / "bind", {ZONE: {"gw": ["198.51.100.1"]}},
                             keys={KEY: tsig}, updaters={ZONE: [KEY]}) as dns:
            say(f"{ROUNDS} deploys with a database, a domain and its DNS record, {ROUNDS} "
                "failing at the Caddy step")
            times = asyncio.run(measure(podman, cluster, caddy.admin_url, dns, tsig,
                                        Path(tmp)))
    finally:
        podman.close()
        cluster.stop()
    report = Report("apps_deploy", {
        "deploy to healthy through Caddy, the run (s)": spread(times["deploy"]),
        "deploy, request to answer through the HTTP API (s)": spread(times["wall"]),
        "rollback of DNS record, container, volume, database, secret after a refused Caddy "
        "site (s)":
            spread(times["rollback"]),
    })
    report.targets = [
        Target("deploy with a database and a domain, to healthy through Caddy (max)", 10,
               round(max(times["wall"]), 2), "s"),
        Target("rollback (max)", 5, round(max(times["rollback"]), 2), "s")]
    report.notes.append("0.1 s resolution for rollback (from the error message)")
    return report.emit(args.json, lambda r: [f"{k}: {v}" for k, v in r.items()])


if __name__ == "__main__":
    sys.exit(main())
