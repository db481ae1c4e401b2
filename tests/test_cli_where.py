"""Which config and which agent the CLI uses, run from anywhere, through the real `nebula`
entry point against real agent processes: a running agent is found through the runtime
file in the user's runtime dir, a missing config is said (with where the CLI looked), and
talking to a running agent needs none of the plugins' `${ENV}` secrets."""

from __future__ import annotations

import json

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula


@pytest.fixture
def elsewhere(tmp_path):
    """A directory with no nebula.toml, as /tmp is."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def test_status_from_another_directory_finds_the_agent_this_user_started(tmp_path, elsewhere):
    env = isolated_env(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    config = write_config(site / "nebula.toml", {"port": free_port()},
                          {"system": {"enabled": True}})
    agent = AgentProcess(None, site / "data", env, cwd=site)  # `nebula run` in its folder
    try:
        agent.start()
        result = nebula("status", "--json", env=env, cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        status = json.loads(result.stdout)
        assert status["running"] is True
        assert status["data_dir"] == str(site / "data")
        assert f"config {config}" in result.stderr  # which agent it found, said once
        # Commands that act go to that agent too, not to a one-shot agent on the defaults.
        ran = nebula("action", "run", "system.top_processes", "-p", "n=1", "--json",
                     env=env, cwd=elsewhere)
        assert ran.returncode == 0, ran.stderr
        _, audit = agent.get("/api/v1/audit?action=system.top_processes")
        assert audit["audit"][0]["actor"] == "local-admin"
        assert not (tmp_path / "xdg-state" / "nebula").exists()
    finally:
        agent.stop()
    # Stopped, it takes its runtime file with it: nothing stale is found afterwards.
    assert list((tmp_path / "xdg-runtime" / "nebula").iterdir()) == []
    after = nebula("status", "--json", env=env, cwd=elsewhere)
    assert (after.returncode, json.loads(after.stdout)) == (1, {"running": False})


def test_an_explicit_config_does_not_take_another_agent(tmp_path, elsewhere):
    """--config names the data dir: an agent serving another one is not it."""
    env = isolated_env(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    running = write_config(tmp_path / "a" / "nebula.toml", {"port": free_port()})
    other = write_config(tmp_path / "b" / "nebula.toml", {"port": free_port()})
    agent = AgentProcess(running, tmp_path / "a" / "data", env)
    try:
        agent.start()
        result = nebula("--config", str(other), "status", "--json", env=env, cwd=elsewhere)
        assert (result.returncode, json.loads(result.stdout)) == (1, {"running": False})
    finally:
        agent.stop()


def test_no_config_found_says_where_it_looked(tmp_path, elsewhere):
    env = isolated_env(tmp_path)
    result = nebula("config", "show", "--json", env=env, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    [note] = result.stderr.splitlines()
    assert note.startswith("note: no config file found (looked for ")
    assert str(elsewhere / "nebula.toml") in note
    assert str(tmp_path / "xdg-config" / "nebula" / "nebula.toml") in note
    assert f"data dir {tmp_path / 'xdg-state' / 'nebula'}" in note
    # A file found says nothing.
    write_config(elsewhere / "nebula.toml")
    found = nebula("config", "show", "--json", env=env, cwd=elsewhere)
    assert (found.returncode, found.stderr) == (0, "")


HA_SECTION = {"url": "http://127.0.0.1:{port}", "token": "${HA_TOKEN}",
              "webhook_secret": "${HA_WEBHOOK_SECRET}", "websocket": False}


def ha_config(tmp_path):
    section = {**HA_SECTION, "url": HA_SECTION["url"].format(port=free_port())}
    # Memory is never 100% used: `check system.memory` exits 0 whatever the host does.
    system = {"enabled": True, "memory_warning": 100, "memory_critical": 100}
    return write_config(tmp_path / "nebula.toml", {"port": free_port()},
                        {"system": system, "homeassistant": section})


@pytest.mark.parametrize("args", [
    ("status",), ("check", "system.memory"), ("action", "list"), ("approvals", "list"),
    ("plugin", "list"), ("token", "list")])
def test_talking_to_a_running_agent_needs_no_plugin_secret(tmp_path, args):
    config = ha_config(tmp_path)
    secrets = {"HA_TOKEN": "ha-token-5b1e", "HA_WEBHOOK_SECRET": "hook-secret-8c2f47d1e9"}
    agent = AgentProcess(config, tmp_path / "data", isolated_env(tmp_path, **secrets))
    try:
        agent.start()
        result = nebula("--config", str(config), *args, "--json", env=isolated_env(tmp_path))
    finally:
        agent.stop()
    assert result.returncode == 0, result.stderr
    assert "HA_" not in result.stderr
    json.loads(result.stdout)


def test_an_agent_started_by_the_cli_still_needs_them(tmp_path):
    """No agent running: the command runs one here, which reads every section."""
    result = nebula("--config", str(ha_config(tmp_path)), "check", "system.memory",
                    env=isolated_env(tmp_path))
    assert result.returncode == 2
    assert "environment variable HA_TOKEN is not set" in result.stderr
    assert "environment variable HA_WEBHOOK_SECRET is not set" in result.stderr


def test_init_writes_the_data_dir_its_token_lives_in(tmp_path, elsewhere):
    env = isolated_env(tmp_path)
    target = tmp_path / "conf" / "nebula.toml"
    result = nebula("--config", str(target), "init", "--data-dir", "store", "--json",
                    env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["data_dir"] == str(tmp_path / "store")
    assert f'\ndata_dir = "{tmp_path / "store"}"\n' in target.read_text()
    assert (tmp_path / "store" / "nebula.db").exists()
    assert not (tmp_path / "xdg-state" / "nebula").exists()
    target.write_text(target.read_text().replace("port = 8765", f"port = {free_port()}"))
    # Started from elsewhere, as a service would be, the agent knows the printed token.
    agent = AgentProcess(target, tmp_path / "store", env, cwd=elsewhere)
    try:
        agent.start()
        assert agent.get("/api/v1/checks", token=created["token"]["token"])[0] == 200
    finally:
        agent.stop()
