"""A listener inside a container is named by its container: busybox httpd in a Podman
container on the host's network, found by the plugin with the container's id."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from nebula_network import plugin
from tests.engines import podman_fixtures
from tests.engines.podman import IMAGE, Podman
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


# The session's throwaway Podman engine, shared with other plugins' tests.
podman = podman_fixtures.podman


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_containers_listener_names_the_container(nebula_agent: Any,
                                                         podman: Podman) -> None:
    port = free_port()
    started = podman.podman("run", "-d", "--network", "host", IMAGE, "httpd", "-f", "-p",
                            f"0.0.0.0:{port}")
    container = started.stdout.strip()
    async with nebula_agent(plugins={"network": plugin},
                            config={"network": {"interval": 1}}) as agent:
        async def found() -> dict[str, Any] | None:
            outcome = await agent.run_action("network.listeners", {"scope": "all"})
            return next((r for r in outcome["result"] if r["port"] == port), None)

        row = await eventually(found, timeout=20, interval=0.3)
        assert row["container"] == container[:12], (row, container)
        assert row["process"] == "httpd" and f"0.0.0.0:{port}" in row["cmdline"]
        assert row["expected"] is False
        check = await agent.run_check("network.exposure")
        assert f"in container {container[:12]}" in check["summary"]
