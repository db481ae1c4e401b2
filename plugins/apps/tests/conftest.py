"""Fixtures for the apps tests: the session's throwaway Podman engine (its local busybox
image, no registry), a folder of test templates built on it, and the plugin in a real
agent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nebula_apps import plugin
from tests.engines import podman_fixtures
from tests.engines.podman import IMAGE, Podman

podman = podman_fixtures.podman
client = podman_fixtures.client

# busybox's httpd serving the app's volume: the template test image of issue 20.
WEB = f"""
name = "web"
title = "Test web"
image = "{IMAGE}"
command = ["httpd", "-f", "-p", "8080", "-h", "/srv"]
port = 8080
[env]
GREETING = "hello"
[secrets]
TOKEN = 24
[volumes]
site = "/srv"
[healthcheck]
path = "/"
timeout = 20
"""


@pytest.fixture
def templates_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "web.toml").write_text(WEB)
    return folder


@pytest.fixture
def start_apps(nebula_agent: Callable[..., Any], podman: Podman,
               templates_dir: Path) -> Callable[..., Any]:
    def start(**overrides: Any) -> Any:
        return nebula_agent({"apps": plugin}, config={"apps": {
            "base_url": podman.base_url, "templates_dir": str(templates_dir), **overrides}},
            schedule=False)
    return start
