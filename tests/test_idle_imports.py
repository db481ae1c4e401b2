"""What an idle agent imports stays what it needs (bench/footprint.py measures the RSS).

croniter pulls in dateutil, zoneinfo and sysconfig (about 1.7 MB resident); an agent
whose jobs all run on intervals must not load it, and a cron job still works."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.absent_services import plugin_sections

HEAVY_FOR_CRON = ("croniter", "dateutil", "zoneinfo")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


@pytest.mark.e2e  # a fresh interpreter, where sys.modules tells
def test_the_agent_and_interval_jobs_do_not_import_croniter():
    code = ("import sys, asyncio\n"
            "import nebula.runtime, nebula.agent\n"
            "from nebula.scheduler import ScheduledJob, Scheduler\n"
            "async def body(): pass\n"
            "async def main():\n"
            "    s = Scheduler()\n"
            "    s.add(ScheduledJob('t.every', body, interval=30))\n"
            "    s.start()\n"
            "    await s.stop()\n"
            "asyncio.run(main())\n"
            f"print(sorted(m for m in {HEAVY_FOR_CRON!r} if m in sys.modules))\n")
    assert _run(code) == "[]"


@pytest.mark.e2e  # a fresh interpreter, as above
def test_a_cron_job_still_validates_and_schedules():
    code = ("import asyncio\n"
            "from nebula.scheduler import ScheduledJob, Scheduler\n"
            "async def body(): pass\n"
            "try:\n"
            "    ScheduledJob('t.bad', body, cron='61 * * * *')\n"
            "except ValueError as exc:\n"
            "    print('refused:', exc)\n"
            "async def main():\n"
            "    s = Scheduler()\n"
            "    job = ScheduledJob('t.cron', body, cron='*/5 * * * *')\n"
            "    s.add(job)\n"
            "    s.start()\n"
            "    due = job.next_due - asyncio.get_running_loop().time()\n"
            "    await s.stop()\n"
            "    print('due within 5 min:', 0 <= due <= 300)\n"
            "asyncio.run(main())\n")
    assert _run(code).splitlines() == [
        "refused: job t.bad: invalid cron expression '61 * * * *'",
        "due within 5 min: True"]


# --- every bundled plugin enabled, every service absent --------------------------------------

# SDKs that an agent must not load while the services they talk to are absent: neither to
# start nor through a round of every check. (docker with requests and urllib3 ~6 MB, psycopg
# ~9 MB; the rest are loaded by the first use of what needs them.)
# smbclient with smbprotocol, pyspnego and cryptography's hazmat layer ~6 MB (nas); filetype
# (media) loads with the first upload. PyYAML (~1.7 MB of heap; apps) with the first compose
# file read, which needs an engine that lists the stack's containers.
NEVER_WITHOUT_A_SERVICE = ("docker", "requests", "urllib3", "charset_normalizer", "psycopg",
                           "openai", "pyotp", "argon2", "prometheus_client", "croniter",
                           "cryptography.x509", "smbclient", "smbprotocol", "spnego",
                           "cryptography", "filetype", "yaml")
# Loaded by the first DNS question, which comes after the start, never during it.
NOT_TO_START = ("dns",)

EVERY_PLUGIN = r"""
import asyncio, json, sys
from pathlib import Path
from nebula.config import load
from nebula.testing import run_agent

WATCHED = json.loads(sys.argv[3])

def loaded():
    return sorted(m for m in WATCHED if m in sys.modules)

async def main(config):
    async with run_agent(load(Path(config)), discover=True, schedule=False) as agent:
        started = loaded()
        _, plugins = await agent.get("/api/v1/plugins")
        _, listed = await agent.get("/api/v1/checks")
        names = [c["name"] for c in listed["checks"]]
        status, ran = await agent.post("/api/v1/checks/run", {"names": names})
        assert status == 200, ran
        print("=", json.dumps({"started": started, "checked": loaded(), "checks": names,
                          "plugins": {p["name"]: p["state"] for p in plugins["plugins"]}}))

asyncio.run(main(sys.argv[1]))
"""


def _every_plugin_config(folder: Path, absent: int) -> Path:
    """Each bundled plugin enabled and aimed at a service that is not there, as
    bench/footprint.py's `all` configuration is (tests/absent_services.py), with what this
    test needs on top: an apps stack so that its check asks the absent engine (a deployed
    app's would too), and short DNS timeouts. ddns keeps its RFC 2136 account: its provider
    parses the zone and TSIG key with dnspython at the first update, not at the start."""
    sections = plugin_sections(absent, folder)
    sections["apps"] += (f'[[plugins.apps.stacks]]\nname = "idle"\n'
                         f'file = "{folder / "compose.yaml"}"\n')
    sections["domains"] += "dns_timeout = 1\n"
    sections["zoneedit"] += "timeout = 1\n"
    sections["network"] += "dns_timeout = 1\n"
    ddns = sections["ddns"]
    sections["ddns"] = (ddns[:ddns.index("[[plugins.ddns.rfc2136]]")] + "timeout = 1\n"
                        + ddns[ddns.index("[[plugins.ddns.rfc2136]]"):])
    (folder / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    path = folder / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{folder / "data"}"\n\n'
                    + "\n".join(sections.values()))
    return path


@pytest.mark.e2e  # an agent in a fresh interpreter, where sys.modules tells
def test_every_plugin_with_its_service_absent_loads_no_sdk_for_it(tmp_path):
    with socket.socket() as held:  # bound, never listening: every connect is refused
        held.bind(("127.0.0.1", 0))
        config = _every_plugin_config(tmp_path, held.getsockname()[1])
        done = subprocess.run(
            [sys.executable, "-c", EVERY_PLUGIN, str(config), "",
             json.dumps(NEVER_WITHOUT_A_SERVICE + NOT_TO_START)],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    [seen] = [json.loads(line[2:]) for line in done.stdout.splitlines() if line.startswith("= ")]
    bundled = {"system", "apps", "discordbot", "streambot", "ddns", "docker", "domains",
               "google", "homeassistant", "notify", "plex", "postgres", "zoneedit", "caddy",
               "logs", "media", "nas", "sunshine", "network", "advisor", "security"}
    assert {name: seen["plugins"].get(name) for name in bundled} == dict.fromkeys(
        bundled, "loaded")
    # Every plugin's checks ran (the docker engine check, postgres', the apps' stacks and
    # the NAS share among them) ...
    assert {"docker.engine", "postgres.reachable", "apps.stacks",
            "nas.share_media", "network.dns", "advisor.forecast",
            "security.containers"} <= set(seen["checks"])
    assert seen["started"] == []
    # ... and only the DNS questions loaded what they need.
    assert seen["checked"] == ["dns"]
