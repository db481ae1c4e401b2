"""Exposure judged from the real network plugin's `network.listeners` (its own /proc walk),
not the test stand-in: a socket of this test bound on every address is an unexpected
listener until network's expected_ports lists it; one on loopback never is."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from nebula.testing import installed_plugin

pytestmark = pytest.mark.e2e  # sshd -T and apt-get -s run for real in the full scan

ABSENT = "/nonexistent/security-test"
SECURITY = {"sshd_config": f"{ABSENT}/sshd_config", "apt_get": f"{ABSENT}/apt-get",
            "reboot_flag": f"{ABSENT}/reboot",
            "docker_url": "unix:///nonexistent/security-test.sock"}


@pytest.fixture
def sockets() -> Iterator[tuple[int, int]]:
    wide, local = socket.socket(), socket.socket()
    wide.bind(("0.0.0.0", 0))
    local.bind(("127.0.0.1", 0))
    wide.listen()
    local.listen()
    yield wide.getsockname()[1], local.getsockname()[1]
    wide.close()
    local.close()


def exposure(score: dict[str, Any]) -> list[dict[str, Any]]:
    return next(i for i in score["inputs"] if i["input"] == "exposure")["findings"]


@pytest.mark.parametrize("expected", [False, True])
async def test_the_real_network_plugin_feeds_exposure(nebula_agent, sockets, expected):
    wide, local = sockets
    network: dict[str, Any] = {"expected_ports": [{"port": wide}] if expected else [],
                               "resolvers": ["127.0.0.1"], "dns_port": 9}
    plugins = {"security": installed_plugin("security"),
               "network": installed_plugin("network")}
    async with nebula_agent(plugins, config={"security": SECURITY, "network": network},
                            schedule=False) as agent:
        assert (await agent.plugin("network"))["state"] == "loaded"
        score = (await agent.run_action("security.score"))["result"]
        rows = exposure(score)
        assert not [r for r in rows if "not assessed" in r["reason"]]
        mine = [r for r in rows if f":{wide}/tcp" in r["reason"]]
        assert not [r for r in rows if f":{local}/" in r["reason"]]
        if expected:
            assert mine == []
        else:
            assert len(mine) == 1, rows
            assert f"(pid {os.getpid()})" in mine[0]["reason"]
            assert "every network" in mine[0]["reason"]
            assert f"`{{ port = {wide}, proto = \"tcp\" }}` to expected_ports" in \
                mine[0]["fix"]
