"""Fixtures for the caddy tests: a real Caddy (tests/engines/caddy.py) proxying two sites
to loopback upstreams (one answering, one whose port is closed), and the plugin in a real
agent pointed at its admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from caddy_upstream import APP, DOWN, UpstreamApp

from nebula_caddy import plugin
from tests.agent_process import free_port
from tests.engines import podman_fixtures
from tests.engines.caddy import Caddy, running, site
from tests.loopback import Server


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamApp]:
    app = UpstreamApp("app")
    async with Server(app.app) as server:
        app.port = server.port
        yield app


@pytest.fixture
def dead_port() -> int:
    return free_port()  # nothing listens there


@pytest.fixture
def caddy(tmp_path: Path, upstream: UpstreamApp, dead_port: int) -> Iterator[Caddy]:
    sites = (site(APP, "{port}", f"127.0.0.1:{upstream.port}")
             + site(DOWN, "{port}", f"127.0.0.1:{dead_port}", fail_duration="5m"))
    with running(tmp_path / "caddy", sites) as server:
        server.wait_serving(APP)
        yield server


@pytest.fixture
def start_caddy(nebula_agent: Callable[..., Any], caddy: Caddy) -> Callable[..., Any]:
    """`async with start_caddy(**config) as agent:` the plugin on the fixture's Caddy."""
    def start(schedule: bool = False, **overrides: Any) -> Any:
        config = {"admin_url": caddy.admin_url, "caddyfile": str(caddy.caddyfile),
                  "timeout": 3, **overrides}
        return nebula_agent({"caddy": plugin}, config={"caddy": config}, schedule=schedule)
    return start


# The session's throwaway Podman engine (tests/engines/podman_fixtures.py), for the test
# that matches upstreams to the docker plugin's containers.
podman = podman_fixtures.podman
client = podman_fixtures.client
run_container = podman_fixtures.run_container
