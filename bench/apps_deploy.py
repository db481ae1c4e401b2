"""The apps plugin: deploy of a template with a database and a domain to "healthy through
Caddy", and the rollback of a deploy that fails at its Caddy step. Targets from issue 20:
deploy <= 10 s (image present), rollback <= 5 s.

A throwaway Podman engine (its local busybox image: the template test image, httpd), a
throwaway PostgreSQL cluster, a real Caddy (Debian, internal CA) and the apps, postgres and
caddy plugins in a real agent, as the tests use them. The deploy's time is from the
approval's request to its answer ("answers through Caddy"); the rollback's is the time its
undo took (container, volume, database, secrets), the failing step's own wait excluded.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, Target, arguments, arm_watchdog, say, spread

import nebula_apps.plugin
import nebula_caddy.plugin
import nebula_postgres.plugin
from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.agent_process import free_port
from tests.app_template import WEB
from tests.engines.caddy import running, site
from tests.engines.podman import Podman
from tests.engines.postgres import Cluster

ROUNDS = 5


async def measure(podman: Podman, cluster: Cluster, admin_url: str,
                  tmp: Path) -> dict[str, list[float]]:
    (tmp / "templates").mkdir()
    (tmp / "templates" / "web.toml").write_text(WEB + '[database]\nenv = "DATABASE_URL"\n')
    config = load(write_config(tmp / "nebula.toml", {"log_format": "json"}, {
        "apps": {"base_url": podman.base_url, "templates_dir": str(tmp / "templates")},
        "caddy": {"admin_url": admin_url}, "postgres": cluster.config()}))
    times: dict[str, list[float]] = {"deploy": [], "wall": [], "rollback": []}
    plugins = {"apps": nebula_apps.plugin, "caddy": nebula_caddy.plugin,
               "postgres": nebula_postgres.plugin}
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
                "domain": f"bench{i}.test", "tls": "internal", "database": True})
            times["wall"].append(time.perf_counter() - started)
            assert done["status"] == "ok", done
            times["deploy"].append(done["result"]["seconds"])
            failed = await approved("apps.deploy", {
                "template": "web", "name": f"fail{i}", "port": free_port(),
                "domain": "taken.test", "tls": "internal", "database": True})
            assert failed["status"] == "error", failed
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
    try:
        with tempfile.TemporaryDirectory(prefix="nbapps") as tmp, \
                running(Path(tmp) / "caddy", site("taken.test", "{port}", "127.0.0.1:9")
                        ) as caddy:
            say(f"{ROUNDS} deploys with a domain, {ROUNDS} failing at the Caddy step")
            times = asyncio.run(measure(podman, cluster, caddy.admin_url, Path(tmp)))
    finally:
        podman.close()
        cluster.stop()
    report = Report("apps_deploy", {
        "deploy to healthy through Caddy, the run (s)": spread(times["deploy"]),
        "deploy, request to answer through the HTTP API (s)": spread(times["wall"]),
        "rollback of secret, database, volume, container after a refused Caddy site (s)":
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
