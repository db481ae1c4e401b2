"""Listening sockets and the exposure check, in a real agent, against real sockets: bound
on loopback, on this host's end of a veth pair (a LAN address, reachable from the network
namespace behind it) and on every address. The namespace shows which listeners another
host can reach, the ground truth the plugin's scope must agree with."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from network_listen import listening
from network_netns import Netns

from nebula.api import Manifest, PluginContext, hookimpl
from nebula_network import plugin
from nebula_network.sockets import scope
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def marker() -> str:
    return f"nebula-net-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def agent(nebula_agent: Any) -> AsyncIterator[Any]:
    async with nebula_agent(plugins={"network": plugin},
                            config={"network": {"interval": 1}}) as running:
        yield running


async def listeners(agent: Any, **params: Any) -> list[dict[str, Any]]:
    outcome = await agent.run_action("network.listeners", params)
    assert outcome["status"] == "ok", outcome
    return list(outcome["result"])


def row_for(rows: list[dict[str, Any]], proto: str, port: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["proto"] == proto and r["port"] == port), None)


async def test_scope_follows_what_another_host_can_reach(agent: Any, netns: Netns) -> None:
    with listening("tcp", "127.0.0.1", marker()) as (local, local_pid, local_mark), \
            listening("tcp", netns.host_ip, marker()) as (lan, lan_pid, lan_mark), \
            listening("tcp", "0.0.0.0", marker()) as (anywhere, _, _):
        # The ground truth, from the other host.
        assert netns.connects(netns.host_ip, lan)
        assert netns.connects(netns.host_ip, anywhere)
        assert not netns.connects(netns.host_ip, local)

        rows = await eventually(lambda: _rows_with(agent, [local, lan, anywhere]),
                                timeout=10, interval=0.3)
        by_port = {r["port"]: r for r in rows if r["proto"] == "tcp"}
        assert {k: by_port[local][k] for k in ("address", "scope", "pid", "container",
                                                "expected")} == {
            "address": "127.0.0.1", "scope": "loopback", "pid": local_pid, "container": None,
            "expected": True}
        assert local_mark in by_port[local]["cmdline"]
        assert by_port[lan]["address"] == netns.host_ip
        assert by_port[lan]["scope"] == "lan"
        assert (by_port[lan]["pid"], by_port[lan]["expected"]) == (lan_pid, False)
        assert lan_mark in by_port[lan]["cmdline"]
        assert by_port[lan]["process"].startswith("python")
        assert (by_port[anywhere]["scope"], by_port[anywhere]["address"]) == ("all", "0.0.0.0")
        # The filters the security plugin uses.
        assert {r["port"] for r in await listeners(agent, scope="lan")} >= {lan}
        exposed = {r["port"] for r in await listeners(agent, unexpected_only=True)}
        assert {lan, anywhere} <= exposed and local not in exposed


async def _rows_with(agent: Any, ports: list[int]) -> list[dict[str, Any]] | None:
    rows = await listeners(agent)
    return rows if all(row_for(rows, "tcp", p) for p in ports) else None


async def test_udp_on_a_lan_address_is_an_exposure(agent: Any, netns: Netns) -> None:
    with listening("udp", netns.host_ip, marker()) as (port, pid, mark):
        rows = await eventually(lambda: _udp(agent, port), timeout=10, interval=0.3)
        assert (rows["scope"], rows["pid"], rows["expected"]) == ("lan", pid, False)
        assert mark in rows["cmdline"]


async def _udp(agent: Any, port: int) -> dict[str, Any] | None:
    return row_for(await listeners(agent), "udp", port)


async def test_a_new_exposure_warns_naming_process_and_command_line(
        nebula_agent: Any, netns: Netns) -> None:
    with listening("tcp", netns.host_ip, marker()) as (port, _, _):
        # Expected on that port for another process only: still an exposure.
        config = {"interval": 1, "expected_ports": [
            {"port": port, "proto": "tcp", "process": "postgres"}]}
    async with nebula_agent(plugins={"network": plugin},
                            config={"network": config}) as agent:
        # It appears while the agent runs (the machine's other exposures were there
        # before): the summary names it first.
        with listening("tcp", netns.host_ip, marker(), port=port) as (_, pid, mark):
            check = await eventually(lambda: _exposure_names(agent, port), timeout=10,
                                     interval=0.3)
            assert check["last_status"] == "warning", check
            summary = check["summary"]
            assert f"newest first): tcp {netns.host_ip}:{port} by python" in summary
            assert f"pid {pid}" in summary and mark in summary
            assert check["metrics"]["unexpected"] >= 1
    # Expected for any process on that port and protocol: no longer named.
    config["expected_ports"] = [{"port": port, "proto": "tcp"}]
    with listening("tcp", netns.host_ip, marker(), port=port):
        async with nebula_agent(plugins={"network": plugin},
                                config={"network": config}) as agent:
            check = await agent.run_check("network.exposure")
            assert f":{port} " not in check["summary"], check
            rows = await listeners(agent, scope="lan")
            assert row_for(rows, "tcp", port)["expected"] is True  # type: ignore[index]


async def test_the_warning_clears_when_the_exposure_closes(agent: Any, netns: Netns) -> None:
    with listening("tcp", netns.host_ip, marker()) as (port, _, _):
        check = await eventually(lambda: _exposure_names(agent, port), timeout=10,
                                 interval=0.3)
        assert check["last_status"] == "warning"
    gone = await eventually(lambda: _exposure_without(agent, port), timeout=10, interval=0.3)
    assert f":{port} " not in gone["summary"]


async def _exposure_names(agent: Any, port: int) -> dict[str, Any] | None:
    check = await agent.run_check("network.exposure")
    return check if f":{port} " in check["summary"] else None


async def _exposure_without(agent: Any, port: int) -> dict[str, Any] | None:
    check = await agent.run_check("network.exposure")
    return None if f":{port} " in check["summary"] else check


class Reader:
    """Another plugin (as the security plugin will be) that reads network.listeners."""

    manifest = Manifest(api_version="1.2")

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> PluginContext:
        return ctx


async def test_another_plugin_reads_listeners_without_an_audit_row(
        nebula_agent: Any, netns: Netns) -> None:
    with socket.socket() as sock:
        sock.bind((netns.host_ip, 0))
        sock.listen()
        port = sock.getsockname()[1]
        async with nebula_agent(plugins={"network": plugin, "reader": Reader()},
                                config={"network": {}}) as agent:
            ctx = agent.agent.manager.records["reader"].ctx
            outcome = await ctx.call_action("network.listeners", {"unexpected_only": True})
            assert outcome["status"] == "ok", outcome
            mine = row_for(outcome["result"], "tcp", port)
            assert mine is not None and mine["scope"] == "lan" and not mine["expected"]
            assert mine["pid"] == os.getpid()
            assert set(mine) == {"proto", "address", "port", "scope", "pid", "process",
                                 "cmdline", "container", "expected"}
            _, audit = await agent.get("/api/v1/audit?action=network.listeners")
            assert audit["audit"] == []


async def test_bad_params_are_refused_with_422(agent: Any) -> None:
    status, body = await agent.post("/api/v1/actions/network.listeners/run",
                                    {"params": {"scope": "planet"}})
    assert status == 422, body


async def test_ipv6_listeners_are_decoded_and_scoped(agent: Any) -> None:
    with socket.socket(socket.AF_INET6) as local, socket.socket(socket.AF_INET6) as anywhere:
        local.bind(("::1", 0))
        local.listen()
        anywhere.bind(("::", 0))
        anywhere.listen()
        ports = {local.getsockname()[1]: ("::1", "loopback", True),
                 anywhere.getsockname()[1]: ("::", "all", False)}
        # The agent reuses a reading for half the interval: wait for one that has them.
        rows = await eventually(lambda: _rows_with(agent, list(ports)), timeout=10,
                                interval=0.3)
        for port, (address, where, expected) in ports.items():
            row = row_for(rows, "tcp", port)
            assert row is not None, port
            assert (row["address"], row["scope"], row["expected"], row["pid"]) == (
                address, where, expected, os.getpid())


def test_an_ipv4_mapped_loopback_address_is_loopback() -> None:
    assert scope("::ffff:127.0.0.1") == "loopback"
    assert scope("::ffff:192.0.2.7") == "lan"
    assert scope("0.0.0.0") == scope("::") == "all"
