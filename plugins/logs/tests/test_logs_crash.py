"""A real agent process killed with SIGKILL while it ingests a file being written: after a
restart every line is stored exactly once (none lost, none twice). Then the plugin's CLI
commands against that agent: `nebula logs search`, `sources` and `tail`."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, isolated_env, nebula
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

TOTAL = 30000
FIRST = 20000
# Appends numbered lines, a few at a time, as a busy program logs: FIRST of them, then (once
# the test has killed the agent and made the go-file) the rest, so lines keep coming
# across the kill and the restart whatever the machine's load.
WRITER = f"""
import os, sys, time
def write(start, stop):
    for at in range(start, stop, 20):
        out.write("".join(f"seq {{n}} payload\\n" for n in range(at, at + 20)))
        time.sleep(0.002)
with open(sys.argv[1], "a", buffering=1) as out:
    write(0, {FIRST})
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)
    write({FIRST}, {TOTAL})
"""


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    log = tmp_path / "app.log"
    log.touch()
    config = write_config(tmp_path / "nebula.toml", plugins={"logs": {
        "files": [{"name": "app", "path": str(log)}], "poll_interval": 0.02,
        "batch_lines": 200}})
    process = AgentProcess(config, tmp_path / "data", isolated_env(tmp_path))
    yield process
    process.stop()


def committed(agent: AgentProcess) -> int:
    status, body = agent.get("/api/v1/logs/sources")
    assert status == 200, body
    return int(body["store"]["lines"])


def test_kill_9_during_ingestion_loses_and_repeats_nothing(agent: AgentProcess,
                                                           tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    agent.start()
    go = tmp_path / "go"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log), str(go)])
    try:
        wait_for(lambda: committed(agent) >= 3000, timeout=60)
        agent.signal(signal.SIGKILL)
        assert agent.wait() == -signal.SIGKILL
        go.touch()  # more lines while the agent is down and after it is back
        agent.start()
        assert writer.wait(120) == 0
    finally:
        writer.kill()
    wait_for(lambda: committed(agent) >= TOTAL, timeout=120, interval=0.2)
    agent.stop()
    db = sqlite3.connect(tmp_path / "data" / "plugins" / "logs" / "logs.db")
    rows = [m for (m,) in db.execute("SELECT message FROM lines ORDER BY id")]
    db.close()
    assert len(rows) == TOTAL
    assert rows == [f"seq {n} payload" for n in range(TOTAL)]  # in order, once each


def test_the_cli_searches_and_tails_the_agent(agent: AgentProcess, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("boot ok\nERROR disk /dev/sda1 full\nrequest served\n")
    agent.start()
    env = {**agent.env, "NEBULA_URL": agent.url, "NEBULA_TOKEN": agent.token}
    wait_for(lambda: committed(agent) == 3)

    out = nebula("logs", "search", "disk", "--json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [line["message"] for line in data["lines"]] == ["ERROR disk /dev/sda1 full"]
    out = nebula("logs", "search", "--level", "err", "--source", "app", "--unit", "app.*",
                 "-C", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert "app/app.log err: ERROR disk /dev/sda1 full" in out.stdout
    assert "boot ok" in out.stdout and "request served" in out.stdout  # the context
    out = nebula("logs", "search", '"unclosed', env=env)
    assert out.returncode != 0 and "FTS5 syntax" in out.stderr
    out = nebula("logs", "sources", env=env)
    assert out.returncode == 0 and "app" in out.stdout and "running" in out.stdout

    tail = subprocess.Popen([sys.executable, "-m", "nebula", "logs", "tail", "kernel",
                             "--count", "1", "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # The tail starts from the newest line when it has connected, which this test
        # cannot see from outside: so a matching line is written until one reaches it.
        def written_and_shown() -> bool:
            with log.open("a") as handle:
                handle.write("unrelated\nkernel: oops\n")
            return tail.poll() is not None
        wait_for(written_and_shown, timeout=60, interval=0.2)
        stdout, stderr = tail.communicate(timeout=10)
    finally:
        tail.kill()
    assert tail.returncode == 0, stderr
    assert json.loads(stdout)["message"] == "kernel: oops"

