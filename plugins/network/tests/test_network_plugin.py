"""Interfaces, connections and conntrack from this machine's real kernel, through the
plugin in a real agent: traffic over a veth pair, its link taken down, connections to a
server on the other side of it; plus config validation and the runtime's close."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from network_netns import Netns

from nebula_network import checks, hooks, plugin
from nebula_network.coordinator import NetworkRuntime
from nebula_network.readings import NOT_EXPOSED, Reading, read_conntrack
from nebula_network.sockets import SocketReader
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

SCHEMA = dict(plugin.manifest.config_schema or {})
DEFAULTS = {key: prop["default"] for key, prop in SCHEMA["properties"].items()
            if "default" in prop}


def config(**more: Any) -> dict[str, Any]:
    return {"interval": 1, "ignore_interfaces": ["lo"], "resolvers": ["127.0.0.1"],
            "dns_timeout": 0.2, **more}


def send_burst(address: str, size: int = 200_000) -> None:
    """Datagrams to the other host (nobody listens there; they still cross the link)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(size // 1000):
            with contextlib.suppress(ConnectionRefusedError):
                sock.sendto(b"x" * 1000, (address, 9))


async def test_traffic_link_state_and_speed_per_interface(nebula_agent: Any,
                                                          netns: Netns) -> None:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config(
            required_interfaces=[netns.host_if])}) as agent:
        async def sent() -> dict[str, Any] | None:
            send_burst(netns.peer_ip)
            check = await agent.run_check("network.interfaces")
            rate = check["metrics"].get(f"{netns.host_if}.tx_bytes_per_s", 0)
            return check if rate > 10_000 else None

        check = await eventually(sent, timeout=15, interval=0.2)
        assert check["last_status"] == "ok", check
        metrics = check["metrics"]
        assert metrics[f"{netns.host_if}.up"] == 1
        assert metrics[f"{netns.host_if}.tx_packets_per_s"] > 0
        assert metrics[f"{netns.host_if}.rx_errors"] == 0
        speed = netns.speed_mbps()
        assert metrics[f"{netns.host_if}.speed_bps"] == speed * 1e6
        rows = await agent.panel("network.interfaces")
        row = next(r for r in rows if r["interface"] == netns.host_if)
        assert row["state"] == "up" and row["speed_mbps"] == speed
        assert row["tx"].endswith(("kB/s", "MB/s", "GB/s"))
        # History keeps the series, with its unit.
        metric = f"{netns.host_if}.tx_bytes_per_s"

        async def stored() -> dict[str, Any] | None:
            status, body = await agent.get(
                f"/api/v1/checks/network.interfaces/history?metric={metric}&range=1h")
            return body if status == 200 and body["samples"] else None

        history = await eventually(stored, timeout=10, interval=0.2)
        assert history["unit"] == "bytes_per_s"
        assert max(sample[3] for sample in history["samples"]) > 10_000

        # The other host's end goes down: ours loses its carrier.
        netns.peer_link("down")
        try:
            async def down() -> dict[str, Any] | None:
                check = await agent.run_check("network.interfaces")
                return check if check["last_status"] == "critical" else None

            check = await eventually(down, timeout=10, interval=0.2)
            assert check["summary"].startswith(f"Required interface down: {netns.host_if};")
            assert check["metrics"][f"{netns.host_if}.up"] == 0
        finally:
            netns.peer_link("up")


async def test_a_required_interface_that_does_not_exist_is_critical(nebula_agent: Any) -> None:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config(
            required_interfaces=["wan-nowhere"])}) as agent:
        check = await agent.run_check("network.interfaces")
        assert check["last_status"] == "critical"
        assert check["summary"].startswith("Required interface down: wan-nowhere (absent)")


SERVER = """
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.listen(100)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
"""


@contextlib.contextmanager
def server_on_the_other_host(netns: Netns) -> Iterator[int]:
    proc = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c", SERVER,
                             netns.peer_ip], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


async def test_connections_by_state_and_top_peers(nebula_agent: Any, netns: Netns) -> None:
    # Other tests on this machine hold connections too: the list is long enough for ours
    # to be in it whatever they do, and its length limit is checked on its own below.
    with server_on_the_other_host(netns) as port:
        clients = [socket.create_connection((netns.peer_ip, port), 5) for _ in range(25)]
        try:
            async with nebula_agent(plugins={"network": plugin},
                                    config={"network": config(top_peers=100)}) as agent:
                found = (await agent.call_tool("network.connections"))["result"]
                assert {"peer": netns.peer_ip, "connections": 25} in found["top_peers"]
                counts = [row["connections"] for row in found["top_peers"]]
                assert counts == sorted(counts, reverse=True)
                states = {row["state"]: row["count"] for row in found["states"]}
                assert states["ESTABLISHED"] >= 25
                assert "LISTEN" not in states
                check = await agent.run_check("network.connections")
                assert check["metrics"]["tcp.established"] >= 25
                assert check["metrics"]["peers"] >= 1
                peers = await agent.panel("network.peers")
                assert {"peer": netns.peer_ip, "connections": 25} in peers
            async with nebula_agent(plugins={"network": plugin},
                                    config={"network": config(top_peers=1)}) as agent:
                [top] = (await agent.call_tool("network.connections"))["result"]["top_peers"]
                assert top["connections"] >= 25  # at least as many as ours: the most
        finally:
            for client in clients:
                client.close()


async def test_conntrack_use_where_the_kernel_exposes_it(nebula_agent: Any) -> None:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config()}) as agent:
        check = await agent.run_check("network.connections")
        found = await agent.call_tool("network.connections")
    track = read_conntrack()
    if track.max is None:  # this kernel has no nf_conntrack: the check says so
        assert check["summary"].endswith(f"conntrack: {NOT_EXPOSED}")
        assert found["result"]["conntrack"]["note"] == NOT_EXPOSED
    else:
        assert check["metrics"]["conntrack.max"] == track.max
        assert 0 <= check["metrics"]["conntrack.percent"] <= 100
        assert check["summary"].startswith("conntrack ")
        assert found["result"]["conntrack"]["max"] == track.max


def test_a_kernel_without_conntrack_reads_as_unknown_not_zero(tmp_path: Any) -> None:
    # A kernel without nf_conntrack has no such files: the path of one that does not.
    track = read_conntrack(str(tmp_path / "nf_conntrack_"))
    assert (track.count, track.max, track.percent) == (None, None, None)
    reading = Reading(SocketReader().read(), [], track)
    result = checks.connections(reading, {**DEFAULTS})
    assert result.summary.endswith(f"conntrack: {NOT_EXPOSED}")
    assert "conntrack.percent" not in result.metrics


async def test_tools_panels_and_the_runtime_closing_with_the_plugin(nebula_agent: Any) -> None:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config()}) as agent:
        _, body = await agent.get("/api/v1/tools")
        names = {tool["name"] for tool in body["tools"]}
        assert {"network.listeners", "network.interfaces", "network.connections",
                "network.wan"} <= names
        for panel in ("interfaces", "listeners", "connections", "peers", "wan"):
            await agent.panel(f"network.{panel}")
        runtime = agent.agent.manager.records["network"].ctx.runtime
        assert not runtime.closed
    assert runtime.closed
    with pytest.raises(RuntimeError, match="stopped"):
        await runtime.read()


def test_config_problems_name_the_key() -> None:
    assert hooks.nebula_validate_config({**DEFAULTS, "conntrack_warning": 99}) == [
        ("conntrack_warning", "conntrack_warning (99) is above conntrack_critical (95)")]
    assert hooks.nebula_validate_config({**DEFAULTS, "gateway": "router.lan"}) == [
        ("gateway", "'router.lan' is not an IPv4 address")]
    assert hooks.nebula_validate_config({**DEFAULTS, "resolvers": ["1.1.1.1:99999"]}) == [
        ("resolvers.0", "'1.1.1.1:99999': the port must be a number from 1 to 65535")]
    assert hooks.nebula_validate_config(DEFAULTS) == []


def test_the_hosts_own_resolvers_leave_out_what_cannot_be_asked(tmp_path: Any) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# from DHCP\nsearch lan\nnameserver 192.0.2.53\n"
                    "nameserver resolver.lan\nnameserver 2001:db8::53\n")
    runtime = NetworkRuntime({**DEFAULTS, "dns_port": 5353})
    assert [(r.address, r.port) for r in runtime.resolvers(str(conf))] == [
        ("192.0.2.53", 53), ("2001:db8::53", 53)]
    configured = NetworkRuntime({**DEFAULTS, "resolvers": ["192.0.2.1"], "dns_port": 5353})
    assert [(r.address, r.port) for r in configured.resolvers(str(conf))] == [
        ("192.0.2.1", 5353)]


async def test_the_plugin_page_shows_every_panel_in_readable_units(nebula_agent: Any,
                                                                  netns: Netns) -> None:
    async with nebula_agent(plugins={"network": plugin}, config={"network": config(
            gateway=netns.peer_ip, gateway_method="tcp", gateway_port=9)}) as agent:
        await agent.run_check("network.interfaces")
        send_burst(netns.peer_ip)
        agent.agent.manager.records["network"].ctx.runtime.poll.invalidate()
        status, page = await agent.get("/plugin/network")
    assert status == 200, page
    assert "cannot show" not in page and 'class="error"' not in page
    for title in ("Interfaces", "Listening sockets", "Connections by state", "Top peers",
                  "WAN"):
        assert f">{title}</h3>" in page
    assert netns.host_if in page and "B/s" in page   # rates as B/s, kB/s, MB/s
    assert f"{netns.peer_ip} up" in page             # the WAN panel's gateway line
