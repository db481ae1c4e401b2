"""The `nebula` CLI through its real entry point, one-shot and against a running agent."""

from __future__ import annotations

import json

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path)


def config_with(tmp_path, **system: object):
    return str(write_config(tmp_path / "nebula.toml", {"port": free_port()},
                            {"system": {"enabled": True, **system}}))


def test_help_lists_every_command(env):
    result = nebula("--help", env=env)
    assert result.returncode == 0
    for command in ("init", "run", "status", "check", "action", "plugin", "config", "token",
                    "approvals", "remediation", "maintenance", "jarvis"):
        assert f"  {command} " in result.stdout


@pytest.mark.parametrize("thresholds,code,status", [
    ({}, 0, "ok"),
    ({"memory_warning": 0, "memory_critical": 100}, 1, "warning"),
    ({"memory_warning": 0, "memory_critical": 0}, 2, "critical"),
])
def test_check_exit_codes_follow_the_worst_status(tmp_path, env, thresholds, code, status):
    result = nebula("--config", config_with(tmp_path, **thresholds), "check", "system.memory",
                    "--json", env=env)
    assert result.returncode == code, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == status
    assert body["checks"][0]["name"] == "system.memory"


def test_check_unknown_name_is_unknown_with_the_nearest_name(tmp_path, env):
    # 3 (UNKNOWN), never 2: a monitor reading the exit code must not page for a typo.
    result = nebula("--config", config_with(tmp_path), "check", "system.memry",
                    "system.nope", "nosuch.check", env=env)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        "error: no check named 'system.memry'; did you mean 'system.memory'?",
        "error: no check named 'system.nope'",
        "error: no check named 'nosuch.check'"]


def test_init_writes_config_and_a_working_token(tmp_path, env):
    target = tmp_path / "conf" / "nebula.toml"
    result = nebula("--config", str(target), "init", "--json", env=env)
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)["token"]["token"]
    text = target.read_text()
    assert text.startswith("# Nebula Command")
    assert "[plugins.system]" in text
    again = nebula("--config", str(target), "init", env=env)
    assert again.returncode == 1 and "exists" in again.stderr
    # Point the written config at a free port and our tmp data dir, then use the token.
    data_dir = tmp_path / "xdg-state" / "nebula"
    text = text.replace("port = 8765", f"port = {free_port()}")
    target.write_text(text)
    agent = AgentProcess(target, data_dir, env)
    try:
        agent.start()
        assert agent.get("/api/v1/checks", token=token)[0] == 200
        assert agent.get("/api/v1/checks", token=token + "x")[0] == 401
    finally:
        agent.stop()


def test_one_shot_actions_and_tokens(tmp_path, env):
    config = config_with(tmp_path)
    listed = json.loads(nebula("--config", config, "action", "list", "--json",
                               env=env).stdout)
    assert "system.top_processes" in [a["name"] for a in listed["actions"]]
    ran = nebula("--config", config, "action", "run", "system.top_processes", "-p", "n=2",
                 "-p", "by=memory", "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    assert len(json.loads(ran.stdout)["result"]) == 2
    bad = nebula("--config", config, "action", "run", "system.top_processes", "-p", "n=0",
                 env=env)
    assert bad.returncode == 2
    assert "invalid action parameters" in bad.stderr and "n:" in bad.stderr
    created = json.loads(nebula("--config", config, "token", "create", "ci", "--role",
                                "viewer", "--json", env=env).stdout)
    assert created["token"].startswith("nbl_")
    tokens = json.loads(nebula("--config", config, "token", "list", "--json", env=env).stdout)
    assert [(t["name"], t["role"]) for t in tokens["tokens"]] == [("ci", "viewer")]
    assert "token" not in tokens["tokens"][0]
    revoked = nebula("--config", config, "token", "revoke", str(created["id"]), env=env)
    assert revoked.returncode == 0


def test_commands_talk_to_a_running_agent(tmp_path, env):
    config = config_with(tmp_path)
    agent = AgentProcess(tmp_path / "nebula.toml", tmp_path / "data", env)
    try:
        assert json.loads(nebula("--config", config, "status", "--json",
                                 env=env).stdout) == {"running": False}
        agent.start()
        status = json.loads(nebula("--config", config, "status", "--json", env=env).stdout)
        assert status["running"] is True
        # system, and the built-in auth, fleet, jarvis, mcp, remediation, maintenance,
        # service, backup, installer, openapi, prometheus, settings and uptime
        assert status["plugins"]["loaded"] == 14
        nebula("--config", config, "action", "run", "system.top_processes", env=env)
        # The run went through the agent: its audit log has it.
        _, audit = agent.get("/api/v1/audit?action=system.top_processes")
        assert audit["audit"][0]["actor"] == "local-admin"
        human = nebula("--config", config, "status", env=env)
        assert "agent: running" in human.stdout
    finally:
        agent.stop()
