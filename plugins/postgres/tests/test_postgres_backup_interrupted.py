"""A backup interrupted by `kill -9` of the agent, in a real `nebula run` process: its
pg_dump ends with the agent instead of running on, orphaned, to the end of the dump, and
the half-written file is removed when the agent starts again."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import psutil

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env
from tests.engines.postgres import Cluster
from tests.waiting import wait_for

# pg_dump ends this soon after the agent (tens of ms measured: on SIGTERM it sends the
# server a cancel request and exits), where an orphaned one ran on for the rest of the
# dump (about 4 s on a quiet machine, 8 under load).
GONE_WITHIN = 2.0


def _agent(root: Path, cluster: Cluster, backup_dir: Path) -> AgentProcess:
    config = write_config(root / "nebula.toml",
                          {"bind": "127.0.0.1", "port": free_port(), "log_format": "json"},
                          {"postgres": cluster.config(backup_dir=str(backup_dir))})
    return AgentProcess(config, root / "data", isolated_env(root))


def _pg_dump_of(agent: AgentProcess) -> psutil.Process | None:
    assert agent.proc is not None
    for child in psutil.Process(agent.proc.pid).children(recursive=True):
        # Other plugins' short-lived children may be gone by the time they are named.
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.name() == "pg_dump":
                return child
    return None


def _started(folder: Path) -> list[Path]:
    """The run's temporary file once pg_dump -Fc writes it (from the start of the data
    on): mid-dump."""
    found = []
    for path in _partials(folder):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > 0:
                found.append(path)
    return found


def _waiting(agent: AgentProcess, what: str, predicate: Any, timeout: float) -> Any:
    try:
        return wait_for(predicate, timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout:g} s; the agent's log:\n"
                             f"{agent.log()[-4000:]}") from None


def _gone(proc: psutil.Process) -> bool:
    try:
        # Orphaned, it is reaped by whoever adopted it; a zombie has ended all the same.
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial")) if folder.is_dir() else []


def _backup_in_background(agent: AgentProcess, database: str) -> None:
    def run() -> None:
        with contextlib.suppress(OSError):  # the agent is killed under it
            agent.post("/api/v1/actions/postgres.backup/run",
                       {"params": {"database": database}})

    threading.Thread(target=run, daemon=True).start()


def test_kill_9_of_the_agent_ends_its_pg_dump_and_the_next_start_removes_the_leftover(
        cluster: Cluster, big_database: str, tmp_path: Path) -> None:
    backup_dir = tmp_path / "backups"
    folder = backup_dir / big_database
    agent = _agent(tmp_path, cluster, backup_dir)
    agent.start()
    try:
        _backup_in_background(agent, big_database)
        dump = _waiting(agent, "pg_dump started", lambda: _pg_dump_of(agent), 20)
        [partial] = _waiting(agent, "pg_dump writing", lambda: _started(folder), 20)
        assert agent.proc is not None
        agent.proc.kill()
        agent.proc.wait(10)
        wait_for(lambda: _gone(dump), timeout=GONE_WITHIN)
        assert partial.exists()  # nobody was left to remove it
    finally:
        agent.stop()

    agent.start()
    try:
        _waiting(agent, "leftover removed", lambda: not _partials(folder), 10)
        status, body = agent.get("/api/v1/plugins")
    finally:
        agent.stop()
    assert status == 200
    assert {p["name"]: p["state"] for p in body["plugins"]}["postgres"] == "loaded", \
        agent.log()[-4000:]
    assert f'"path": "{partial}"' in agent.log()
    assert "postgres.backup_leftover_removed" in agent.log()
