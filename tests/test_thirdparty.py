"""A third-party plugin, built as a wheel from tests/fixtures/thirdparty_plugin and installed
into a fresh venv, loads through its entry point like a bundled one."""

from __future__ import annotations

import json
import sys

import pytest

from nebula.testing import write_config
from tests.agent_process import free_port, isolated_env, nebula

HELLO = {"hello": {"greeting": "howdy"}}


def listed_plugins(python, tmp_path):
    """`nebula plugin list --json`, one-shot (no agent), under `python`."""
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()}, HELLO)
    result = nebula("--config", str(config), "plugin", "list", "--json",
                    env=isolated_env(tmp_path), python=python)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["agent_running"] is False
    return {p["name"]: p for p in body["plugins"]}


def test_installed_wheel_is_listed_with_its_distribution(hello_python, tmp_path):
    plugins = listed_plugins(hello_python, tmp_path)
    hello = plugins["hello"]
    assert (hello["state"], hello["error"]) == ("loaded", None)
    assert (hello["distribution"], hello["version"]) == ("nebula-hello", "0.3.1")
    assert hello["api_version"] == "1.0"
    assert hello["description"] == "Says hello from an installed wheel."
    assert plugins["system"]["state"] == "loaded"
    assert plugins["system"]["distribution"] == "nebula-command"


def test_project_venv_without_the_wheel_does_not_list_it(tmp_path):
    plugins = listed_plugins(sys.executable, tmp_path)
    assert "hello" not in plugins
    assert plugins["system"]["state"] == "loaded"


@pytest.fixture(scope="module")
def hello_agent(hello_python, start_agent, tmp_path_factory):
    agent = start_agent(hello_python, tmp_path_factory.mktemp("hello-agent"), HELLO)
    yield agent
    agent.stop()


def test_agent_runs_the_wheels_check_action_and_panel(hello_agent):
    status, body = hello_agent.get("/api/v1/plugins/hello")
    assert (status, body["state"]) == (200, "loaded"), body
    assert body["contributions"]["checks"] == ["hello.greeter"]
    assert body["config"] == {"greeting": "howdy"}

    status, body = hello_agent.post("/api/v1/checks/run", {"names": ["hello.greeter"]})
    assert status == 200, body
    (check,) = body["checks"]
    assert (check["plugin"], check["last_status"]) == ("hello", "ok")
    assert check["summary"] == "howdy from nebula-hello"
    assert check["metrics"] == {"greetings": 1.0}

    status, body = hello_agent.post("/api/v1/actions/hello.greet/run",
                                    {"params": {"name": "Ada"}})
    assert (status, body["result"]) == (200, {"greeting": "howdy, Ada"}), body
    status, body = hello_agent.post("/api/v1/actions/hello.greet/run", {"params": {}})
    assert status == 422

    status, body = hello_agent.get("/api/v1/panels/hello.letters")
    assert (status, body["data"]) == (200, {"value": 5}), body
