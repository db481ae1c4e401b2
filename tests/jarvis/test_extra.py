"""`openai` is an optional extra (`nebula-command[jarvis]`): an agent without it runs, and
a configured Jarvis says, as the plugin's failed state, in the API and in the CLI, which
extra to install. The SDK is hidden from a real agent process by a finder installed from a
`sitecustomize` on its PYTHONPATH, as if the package were not installed."""

from __future__ import annotations

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, nebula
from tests.hidden_package import env_without
from tests.jarvis.conftest import write_jarvis_config

EXTRA = "pip install 'nebula-command[jarvis]'"


@pytest.fixture
def env(tmp_path):
    return env_without("openai", tmp_path)


def jarvis_config(tmp_path, **jarvis):
    path = write_config(tmp_path / "nebula.toml", {"port": free_port()})
    return write_jarvis_config(path, jarvis or None) if jarvis else path


def test_a_configured_jarvis_without_openai_fails_naming_the_extra(tmp_path, env):
    config = jarvis_config(tmp_path, base_url="http://127.0.0.1:9/v1")
    # One-shot: the CLI starts an agent, Jarvis fails to start, the command says why.
    result = nebula("--config", str(config), "jarvis", "status", env=env)
    assert result.returncode == 1, result.stdout
    assert "plugin jarvis is failed" in result.stderr and EXTRA in result.stderr

    agent = AgentProcess(config, tmp_path / "data", env)
    try:
        agent.start()
        _, body = agent.get("/api/v1/plugins")
        states = {p["name"]: p for p in body["plugins"]}
        assert states["jarvis"]["state"] == "failed" and states["jarvis"]["builtin"]
        assert EXTRA in states["jarvis"]["error"]
        assert states["remediation"]["state"] == "loaded"  # failed alone
        status, problem = agent.get("/api/v1/jarvis/status")
        assert status == 503 and EXTRA in problem["detail"]
        assert (problem["plugin"], problem["state"]) == ("jarvis", "failed")
        assert agent.get("/api/v1/status")[0] == 200
        # Running tools by hand needs no model, so no SDK either.
        assert agent.get("/api/v1/tools")[0] == 200
        # Unconfigured, Jarvis runs without the SDK and says both things to do.
        write_config(config, {"port": free_port()})
        status, body = agent.post("/api/v1/reload")
        assert (status, body["changes"]) == (200, {"jarvis": "started"})
        _, jarvis = agent.get("/api/v1/jarvis/status")
        assert jarvis["enabled"] is False
        assert "[jarvis]" in jarvis["reason"] and EXTRA in jarvis["reason"]
    finally:
        agent.stop()


def test_an_agent_without_openai_runs_and_never_needs_it(tmp_path, env):
    config = jarvis_config(tmp_path)
    result = nebula("--config", str(config), "jarvis", "status", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("disabled: Jarvis is not configured")
    assert EXTRA in result.stdout
