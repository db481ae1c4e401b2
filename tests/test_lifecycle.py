"""`nebula run` as a real process: defaults, signals, reload, durability."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula
from tests.waiting import wait_for


@pytest.fixture
def make_agent(tmp_path):
    started: list[AgentProcess] = []

    def factory(**system: object) -> AgentProcess:
        config = write_config(tmp_path / "nebula.toml", {"port": free_port()},
                              {"system": {"enabled": True, **system}})
        agent = AgentProcess(config, tmp_path / "data", isolated_env(tmp_path))
        started.append(agent)
        return agent

    yield factory
    for agent in started:
        agent.stop()


def plugin_state(agent: AgentProcess, name: str) -> str:
    _, body = agent.get("/api/v1/plugins")
    return next(p["state"] for p in body["plugins"] if p["name"] == name)


def test_runs_on_defaults_with_no_config_file(tmp_path):
    """The README's first command: no config anywhere, default port, data in the state dir."""
    cwd = tmp_path / "empty"
    cwd.mkdir()
    state_dir = tmp_path / "xdg-state" / "nebula"
    agent = AgentProcess(None, state_dir, isolated_env(tmp_path), cwd=cwd)
    try:
        agent.start()
        assert agent.url == "http://127.0.0.1:8765"
        assert plugin_state(agent, "system") == "loaded"
        assert (state_dir / "nebula.db").exists()
        agent.signal(signal.SIGTERM)
        assert agent.wait() == 0
    finally:
        agent.stop()


def test_sigterm_stops_gracefully_within_10s(make_agent):
    agent = make_agent(interval=1)
    agent.start()
    agent.post("/api/v1/checks/run")
    started = time.perf_counter()
    agent.signal(signal.SIGTERM)
    assert agent.wait(10) == 0
    assert time.perf_counter() - started < 10
    assert not (agent.data_dir / "agent.json").exists()
    db = sqlite3.connect(agent.data_dir / "nebula.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The results of the run above were flushed on the way out.
    assert db.execute("SELECT count(*) FROM check_results").fetchone()[0] >= 5
    assert "agent.stopped" in agent.log()


def test_sighup_reload_enables_disables_and_reconfigures(make_agent, tmp_path):
    agent = make_agent(interval=30)
    agent.start()
    assert plugin_state(agent, "system") == "loaded"

    write_config(agent.config, {"port": 0}, {"system": {"enabled": False}})
    agent.signal(signal.SIGHUP)
    wait_for(lambda: plugin_state(agent, "system") == "disabled")
    _, checks = agent.get("/api/v1/checks")
    assert checks["checks"] == []

    write_config(agent.config, {"port": 0}, {"system": {"interval": 7}})
    agent.signal(signal.SIGHUP)
    wait_for(lambda: plugin_state(agent, "system") == "loaded")
    _, check = agent.get("/api/v1/checks/system.cpu")
    assert check["interval"] == 7

    # A broken file is refused as a whole: the agent keeps running as it was.
    agent.config.write_text("[plugins.system]\ninterval = 'soon'\n")
    agent.signal(signal.SIGHUP)
    wait_for(lambda: "agent.reload_refused" in agent.log())
    assert plugin_state(agent, "system") == "loaded"
    assert agent.get("/api/v1/checks/system.cpu")[1]["interval"] == 7


def test_committed_records_survive_sigkill(make_agent):
    agent = make_agent()
    agent.start()
    token_ids = [agent.post("/api/v1/tokens", {"name": f"t{i}"})[1]["id"] for i in range(60)]
    runs = [agent.post("/api/v1/actions/system.top_processes/run", {"params": {"n": 1}})
            for _ in range(5)]
    assert all(status == 200 for status, _ in runs)
    agent.signal(signal.SIGKILL)
    agent.wait()
    db = sqlite3.connect(agent.data_dir / "nebula.db")
    stored = {row[0] for row in db.execute("SELECT id FROM tokens")}
    assert set(token_ids) <= stored
    audited = db.execute(
        "SELECT count(*) FROM audit WHERE action = 'system.top_processes' AND outcome = 'ok'"
    ).fetchone()[0]
    assert audited == 5
    # And the agent starts again on the same store.
    agent.start()
    assert agent.get("/api/v1/tokens")[0] == 200


def test_a_second_agent_on_the_same_data_dir_is_refused(make_agent):
    agent = make_agent()
    agent.start()
    other = nebula("--config", str(agent.config), "run", env=agent.env, timeout=30)
    assert other.returncode == 1
    assert "another agent already uses" in other.stderr
    assert agent.get("/healthz")[0] == 200
