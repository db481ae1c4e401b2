"""`nebula maintenance list|start|stop` and `nebula notify channels|test` through the real
entry point against a real agent process."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula

pytestmark = pytest.mark.e2e

# Twelve hours from now in Berlin: a configured window that is surely closed while the test
# runs (a fixed hour would be open on one day of the week, at that hour).
LATER = f"0 {(datetime.now(ZoneInfo('Europe/Berlin')).hour + 12) % 24} * * 0"
WEEKLY = f'\n[[maintenance]]\nname = "weekly"\ncron = "{LATER}"\nduration = "2h"\n' \
         'timezone = "Europe/Berlin"\nplugins = ["system"]\nreason = "updates"\n'


def test_maintenance_start_list_and_stop_through_a_running_agent(tmp_path):
    env = isolated_env(tmp_path)
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()},
                          {"system": {"enabled": True}})
    with config.open("a", encoding="utf-8") as handle:
        handle.write(WEEKLY)
    agent = AgentProcess(config, tmp_path / "data", env)

    def cli(*args: str):
        done = nebula("--config", str(config), "maintenance", *args, env=env)
        return done

    try:
        agent.start()
        started = cli("start", "--duration", "30m", "--plugin", "system", "--reason",
                      "disk swap", "--name", "swap", "--json")
        assert started.returncode == 0, started.stderr
        window = json.loads(started.stdout)
        assert (window["name"], window["open"], window["source"], window["reason"]) == (
            "swap", True, "adhoc", "disk swap")
        assert window["end"] - window["start"] == 1800
        assert window["checks"] and all(c.startswith("system.") for c in window["checks"])
        # The agent marks the system checks at once.
        _, checks = agent.get("/api/v1/checks")
        marked = {c["name"]: c["maintenance"] for c in checks["checks"]}
        assert all(marked[name] for name in window["checks"])
        assert not any(v for k, v in marked.items() if not k.startswith("system."))

        shown = nebula("--config", str(config), "check", window["checks"][0], env=env)
        assert f"{window['checks'][0]}" in shown.stdout and "(maintenance)" in shown.stdout

        listed = json.loads(cli("list", "--json").stdout)
        assert {w["name"]: (w["source"], w["open"]) for w in listed["windows"]} == {
            "weekly": ("config", False), "swap": ("adhoc", True)}
        weekly = next(w for w in listed["windows"] if w["name"] == "weekly")
        assert weekly["next_start"] and weekly["cron"] == LATER
        human = cli("list")
        assert human.returncode == 0 and "swap" in human.stdout and "updates" in human.stdout

        stopped = cli("stop", "swap", "--json")
        assert stopped.returncode == 0, stopped.stderr
        assert json.loads(stopped.stdout)["name"] == "swap"
        _, checks = agent.get("/api/v1/checks")
        assert not any(c["maintenance"] for c in checks["checks"])
        again = cli("stop", "swap")
        assert again.returncode != 0
        assert "no maintenance window named 'swap'" in again.stderr + again.stdout
        bad = cli("start", "--duration", "soon")
        assert bad.returncode != 0 and "duration" in bad.stderr + bad.stdout
    finally:
        agent.stop()
