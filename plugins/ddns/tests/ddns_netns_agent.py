"""The ddns plugin in a real agent with `ipv6_interface`, meant to run inside a throwaway
network namespace whose `lo` carries a global IPv6 address (test_ddns_interface.py starts it
under `unshare -n`): BIND, the echo services and the agent all run in there, on loopback.

    python ddns_netns_agent.py WORKDIR ECHO_IPV6

The one IPv6 echo service answers ECHO_IPV6; the host's own address is the other voice
(`min_agreeing = 2`). Prints the update's results, the AAAA record BIND then serves and the
public-IP action's IPv6 part, as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from nebula.config import load  # noqa: E402
from nebula.testing import run_agent, write_config  # noqa: E402
from nebula_ddns import plugin  # noqa: E402
from tests.echo_services import echo_services  # noqa: E402
from tests.engines.bind import new_secret, running  # noqa: E402

OLD_IP, OLD_IP6, NEW_IP = "198.51.100.1", "2001:db8::1", "203.0.113.7"


async def main(workdir: Path, echo_ipv6: str) -> dict:
    secret = new_secret()
    with running(workdir / "bind", {"home.test": {"gw": [OLD_IP, OLD_IP6]}},
                 keys={"k": secret}, updaters={"home.test": ["k"]}) as bind:
        async with echo_services(NEW_IP) as echo:
            echo.ips6 = dict.fromkeys(echo.ips, echo_ipv6)
            section = {"ipv6": True, "ipv6_interface": "lo", "min_agreeing": 2,
                       "ipv4_services": echo.urls(), "ipv6_services": echo.urls("ipify", v6=True),
                       "interval": 3600, "timeout": 2, "verify_timeout": 3,
                       "rfc2136": [{"server": f"127.0.0.1:{bind.port}", "zone": "home.test",
                                    "key_name": "k", "key_secret": secret,
                                    "hosts": ["gw.home.test"]}]}
            config = load(write_config(workdir / "nebula.toml", {"data_dir": str(workdir / "d")},
                                       {"ddns": section}))
            async with run_agent(config, {"ddns": plugin}, schedule=False) as agent:
                _, update = await agent.post("/api/v1/actions/ddns.update/run", {})
                _, public = await agent.post("/api/v1/actions/ddns.public_ip/run", {})
        return {"results": {r["family"]: r for r in update["result"]},
                "aaaa": sorted(bind.query("gw.home.test", "AAAA")),
                "ipv6": public["result"]["ipv6"]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))))
