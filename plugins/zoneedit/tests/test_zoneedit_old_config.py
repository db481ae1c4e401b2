"""A `[plugins.zoneedit]` section written for the zoneedit plugin before it ran on the
provider-neutral updater (`nebula.helpers.ddns`) loads unchanged and does what it did:
every key of the README's example of that time, in a nebula.toml read by the real loader."""

from __future__ import annotations

import pytest
from zoneedit_standins import HOSTS, NEW_IP

from nebula.config import load
from nebula.testing import run_agent
from nebula_zoneedit import plugin

pytestmark = pytest.mark.e2e  # dnsmasq serves the records

# The README's example of that time, with its URLs and resolvers pointed at the stand-ins.
OLD_SECTION = """
[agent]
data_dir = "{data}"

[plugins.zoneedit]
username = "${{ZONEEDIT_TEST_USER}}"
token_file = "{token}"
hosts = [
  "home.zone.test", "www.zone.test",
  {{ host = "deep.sub.zone.test", zone = "zone.test" }},
]
ipv6 = false
ipv4_services = {echo}
ipv6_services = ["https://api6.ipify.org/", "https://ipv6.icanhazip.com/"]
min_agreeing = 2
update_url = "{update_url}"
resolvers = ["{resolver}"]
dns_port = {port}
interval = 300
min_interval = 600
timeout = 10
verify_timeout = 30
history_size = 500
"""


async def test_an_old_config_loads_unchanged_and_updates(tmp_path, zoneedit, dns, echo,
                                                         credentials) -> None:
    path = tmp_path / "nebula.toml"
    path.write_text(OLD_SECTION.format(
        data=tmp_path / "data", token=tmp_path / "zoneedit_token",
        echo="[" + ", ".join(f'"{u}"' for u in echo.urls()) + "]",
        update_url=zoneedit.url, resolver=dns.address, port=dns.port))
    async with run_agent(load(path), {"zoneedit": plugin}, schedule=False) as agent:
        assert (await agent.plugin("zoneedit"))["state"] == "loaded"
        status, body = await agent.post("/api/v1/actions/zoneedit.update/run", {})
        assert status == 200, body
        assert {r["host"]: r["action"] for r in body["result"]} == dict.fromkeys(HOSTS,
                                                                                 "updated")
        status, body = await agent.post("/api/v1/checks/run", {"names": ["zoneedit.records"]})
        assert body["checks"][0]["summary"] == f"3 record(s) match public IP {NEW_IP}"
    assert sorted(zoneedit.updates()) == sorted((h, NEW_IP) for h in HOSTS)
