"""The nas and media plugins' packages are extras too (`[nas]`: smbprotocol, `[media]`:
filetype): without them each plugin is `failed` naming its extra, and the agent runs."""

from __future__ import annotations

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port
from tests.hidden_package import env_without

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("plugin", "package", "section"), [
    ("nas", "smbprotocol", {"server": "127.0.0.1", "username": "u", "password": "p"}),
    ("media", "filetype", {"quarantine_dir": "/nonexistent/q",
                           "libraries": [{"name": "Movies", "path": "/nonexistent/m"}]}),
])
def test_without_its_package_the_plugin_names_its_extra(tmp_path, plugin, package, section):
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()}, {plugin: section})
    agent = AgentProcess(config, tmp_path / "data", env_without(package, tmp_path))
    try:
        agent.start()
        status, body = agent.get("/api/v1/plugins")
        assert status == 200
        plugins = {p["name"]: p for p in body["plugins"]}
        assert plugins[plugin]["state"] == "failed"
        assert f"install nebula-command[{plugin}]" in plugins[plugin]["error"]
        assert plugins["system"]["state"] == "loaded"
    finally:
        agent.stop()
