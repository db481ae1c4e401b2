"""The way out, against real servers: DNS latency from dnsmasq (and a resolver that never
answers, one that answers SERVFAIL), the gateway over a veth pair (ICMP to the other
host, TCP to a local listener, an address nobody holds), the default route read inside a
network namespace, and the public IP as the zoneedit plugin publishes it."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from network_netns import Netns

from nebula_network import plugin
from nebula_zoneedit import plugin as zoneedit_plugin
from tests.echo_services import EchoServices
from tests.engines.dnsmasq import BlackHole, DnsServer, ServfailServer, free_udp_port, running
from tests.loopback import serving
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

NAME = "probe.test"


@pytest.fixture(scope="module")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsServer]:
    port = free_udp_port(("127.0.0.1", "127.0.0.2"))
    with running(tmp_path_factory.mktemp("dnsmasq"), [f"address=/{NAME}/192.0.2.10"],
                 port=port) as server:
        yield server


def dns_config(resolvers: list[str], port: int, **more: Any) -> dict[str, Any]:
    return {"resolvers": resolvers, "dns_port": port, "dns_name": NAME, "dns_timeout": 0.5,
            "gateway": "127.0.0.1", "gateway_method": "tcp", **more}


async def test_dns_latency_per_resolver(nebula_agent: Any, dns_server: DnsServer) -> None:
    config = dns_config(["127.0.0.1"], dns_server.port)
    async with nebula_agent(plugins={"network": plugin}, config={"network": config}) as agent:
        check = await agent.run_check("network.dns")
        assert check["last_status"] == "ok", check
        assert check["summary"].startswith("Resolved by 127.0.0.1 ")
        assert 0 < check["metrics"]["127.0.0.1.latency_s"] < 0.5
        wan = (await agent.call_tool("network.wan"))["result"]
        [probe] = wan["dns"]
        assert (probe["resolver"], probe["rcode"], probe["error"]) == ("127.0.0.1", "NOERROR",
                                                                      None)
        assert probe["ms"] > 0


async def test_a_silent_or_failing_resolver_warns_and_all_silent_is_critical(
        nebula_agent: Any, dns_server: DnsServer) -> None:
    hole = BlackHole("127.0.0.2", dns_server.port)
    servfail = ServfailServer()
    try:
        config = dns_config(["127.0.0.1", "127.0.0.2", f"127.0.0.1:{servfail.port}"],
                            dns_server.port)
        async with nebula_agent(plugins={"network": plugin},
                                config={"network": config}) as agent:
            check = await agent.run_check("network.dns")
            assert check["last_status"] == "warning", check
            assert "127.0.0.2: no answer in 0.5 s" in check["summary"]
            assert f"127.0.0.1:{servfail.port} answered SERVFAIL for {NAME}" in \
                check["summary"]
            assert "127.0.0.1.latency_s" in check["metrics"]
        config = dns_config(["127.0.0.2"], dns_server.port)
        async with nebula_agent(plugins={"network": plugin},
                                config={"network": config}) as agent:
            check = await agent.run_check("network.dns")
            assert check["last_status"] == "critical", check
            assert check["summary"] == "No resolver answers: 127.0.0.2: no answer in 0.5 s"
    finally:
        hole.close()
        servfail.close()


async def test_a_slow_resolver_warns(nebula_agent: Any, dns_server: DnsServer) -> None:
    config = dns_config(["127.0.0.1"], dns_server.port, dns_slow_ms=0.001)
    async with nebula_agent(plugins={"network": plugin}, config={"network": config}) as agent:
        check = await agent.run_check("network.dns")
        assert check["last_status"] == "warning", check
        assert "slow: 127.0.0.1" in check["summary"]


# --- gateway -------------------------------------------------------------------------------


def gateway_config(address: str, method: str, port: int = 80) -> dict[str, Any]:
    return {"gateway": address, "gateway_method": method, "gateway_port": port,
            "gateway_timeout": 1, "resolvers": ["127.0.0.1"], "dns_timeout": 0.2}


async def gateway_check(nebula_agent: Any, config: dict[str, Any]) -> dict[str, Any]:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config}) as agent:
        return dict(await agent.run_check("network.gateway"))


async def test_gateway_over_tcp_to_a_listener(nebula_agent: Any, netns: Netns) -> None:
    with socket.socket() as listener:
        listener.bind((netns.host_ip, 0))
        listener.listen()
        port = listener.getsockname()[1]
        check = await gateway_check(nebula_agent, gateway_config(netns.host_ip, "tcp", port))
    assert check["last_status"] == "ok", check
    assert f"Gateway {netns.host_ip} answers" in check["summary"]
    assert f"(tcp/{port}: port {port} accepted)" in check["summary"]
    assert check["metrics"]["up"] == 1


async def test_a_refused_port_still_shows_the_host_up(nebula_agent: Any, netns: Netns) -> None:
    # The other host runs nothing on the port: its kernel answers RST, so it is up.
    check = await gateway_check(nebula_agent, gateway_config(netns.peer_ip, "tcp", 9))
    assert check["last_status"] == "ok", check
    assert "port 9 refused (host up)" in check["summary"]


async def test_gateway_over_icmp_to_the_other_host(nebula_agent: Any, netns: Netns) -> None:
    check = await gateway_check(nebula_agent, gateway_config(netns.peer_ip, "icmp"))
    assert check["last_status"] == "ok", check
    assert "(icmp: echo reply)" in check["summary"]


async def test_nobody_at_the_gateway_address_is_critical(nebula_agent: Any,
                                                         netns: Netns) -> None:
    check = await gateway_check(nebula_agent, gateway_config(netns.spare_ip, "auto", 80))
    assert check["last_status"] == "critical", check
    assert f"Gateway {netns.spare_ip} unreachable" in check["summary"]
    assert "no echo reply in 1 s" in check["summary"]
    assert check["metrics"]["up"] == 0


DEFAULT_ROUTE = """
import asyncio, json
from nebula_network import wan
route = wan.default_gateway()
found = asyncio.run(wan.reach(route[1], "tcp", {port}, 2))
print(json.dumps({{"route": route, "reachable": found.reachable, "detail": found.detail}}))
"""


def test_the_default_route_is_read_and_reached_from_inside_a_namespace(netns: Netns) -> None:
    with socket.socket() as listener:
        listener.bind((netns.host_ip, 0))
        listener.listen()
        port = listener.getsockname()[1]
        done = netns.python(DEFAULT_ROUTE.format(port=port))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {"route": [netns.peer_if, netns.host_ip], "reachable": True,
                     "detail": f"port {port} accepted"}


# --- public IP -----------------------------------------------------------------------------


class CountingEcho(EchoServices):
    """The echo services, counting the lookups they answer."""

    hits = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        return await super().handle(request)


@pytest.fixture
async def echo() -> AsyncIterator[CountingEcho]:
    services = CountingEcho()
    services.set("203.0.113.77")
    async with serving(services.app()) as base:
        services.base = base
        yield services


async def test_public_ip_follows_what_zoneedit_publishes(
        nebula_agent: Any, echo: CountingEcho, dns_server: DnsServer) -> None:
    zoneedit = {"username": "network-test-user", "token": "network-test-token",
                "hosts": ["home.test"], "update_url": "http://127.0.0.1:9/unused",
                "ipv4_services": echo.urls(), "resolvers": ["127.0.0.1"],
                "dns_port": dns_server.port, "interval": 600}
    network = dns_config(["127.0.0.1"], dns_server.port)
    async with nebula_agent(plugins={"network": plugin, "zoneedit": zoneedit_plugin},
                            config={"network": network, "zoneedit": zoneedit}) as agent:
        wan = await eventually(lambda: _public(agent), timeout=15, interval=0.2)
        assert wan["public_ipv4"] == "203.0.113.77"
        seen = echo.hits
        assert seen > 0
        tool = (await agent.call_tool("network.wan"))["result"]
        assert tool["public_ip"]["ipv4"]["ip"] == "203.0.113.77"
        agent.agent.manager.records["network"].ctx.runtime.wan.invalidate()
        assert (await agent.panel("network.wan"))["public_ipv4"] == "203.0.113.77"
        assert echo.hits == seen  # our reads asked no echo service again
        # The address moves: zoneedit sees it on its next cycle and publishes it; we follow
        # its event (no call of ours would have asked the echo services again).
        echo.set("203.0.113.78")
        await agent.run_action("zoneedit.update")
        runtime = agent.agent.manager.records["network"].ctx.runtime
        await eventually(lambda: (runtime.public_ip or {}).get("ipv4", {}).get("ip")
                         == "203.0.113.78", timeout=10)
        runtime.wan.invalidate()
        assert (await agent.panel("network.wan"))["public_ipv4"] == "203.0.113.78"


async def _public(agent: Any) -> dict[str, Any] | None:
    wan = await agent.panel("network.wan")
    return wan if wan["public_ipv4"] == "203.0.113.77" else None


async def test_without_the_ddns_plugin_the_public_ip_says_why(
        nebula_agent: Any, dns_server: DnsServer) -> None:
    network = dns_config(["127.0.0.1"], dns_server.port)
    async with nebula_agent(plugins={"network": plugin},
                            config={"network": network}) as agent:
        wan = await agent.panel("network.wan")
        assert wan["public_ipv4"] == ("unknown: no action zoneedit.public_ip (is the zoneedit "
                                      "plugin enabled?)")
