"""Files at rest: under the usual umask (022) the agent's data dir is 0700 and every file
it writes 0600, whether `nebula run`, the CLI's one-shot agent, `nebula init` or an agent
embedded in another process wrote it; files an older version left readable are fixed at
start, and the log names each one."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from nebula.filemodes import make_private, secure_paths
from nebula.testing import write_config
from tests.agent_process import free_port, isolated_env, nebula
from tests.filemodes_support import json_lines, mode, umask_022  # noqa: F401 (fixture)
from tests.waiting import eventually, wait_for

STORE = ("nebula.db", "nebula.db-wal", "nebula.db-shm")

# Every test here runs, and starts its agents, under the usual umask.
pytestmark = pytest.mark.usefixtures("umask_022")


def _store_files(data_dir: Path) -> list[Path]:
    """The store's files, once SQLite has made all three (the WAL on the first write)."""
    return wait_for(lambda: all((data_dir / n).exists() for n in STORE)
                    and [data_dir / n for n in STORE])


def test_a_running_agent_keeps_its_data_dir_and_files_owner_only(start_agent, tmp_path):
    agent = start_agent(sys.executable, tmp_path)
    store = _store_files(agent.data_dir)
    files = [*store, agent.data_dir / "agent.json", agent.data_dir / "agent.lock"]
    assert {f.name: mode(f) for f in files} == {f.name: "0600" for f in files}
    assert mode(agent.data_dir) == "0700"


def test_files_an_older_version_left_readable_are_fixed_at_start_and_logged(start_agent,
                                                                           tmp_path):
    from cryptography.fernet import Fernet

    agent = start_agent(sys.executable, tmp_path)
    data = agent.data_dir
    _store_files(data)
    # Killed, as a crash leaves it: the WAL and shared-memory files stay behind.
    agent.signal(signal.SIGKILL)
    agent.wait()
    (data / "secret.key").write_bytes(Fernet.generate_key())
    (data / "notes.txt").write_text("the operator's own file, not the agent's")
    left = [data / n for n in (*STORE, "secret.key", "agent.lock")]
    for path in left:
        path.chmod(0o644)
    data.chmod(0o755)
    logged_before = len(agent.log())

    agent.start()
    fixed = {Path(e["path"]).resolve(): (e["was"], e["now"])
             for e in json_lines(agent.log()[logged_before:]) if e["event"] == "file_mode.fixed"}
    assert fixed == {data.resolve(): ("0755", "0700"),
                     **{p.resolve(): ("0644", "0600") for p in left}}
    assert mode(data) == "0700"
    assert {p.name: mode(p) for p in left} == {p.name: "0600" for p in left}
    assert mode(data / "notes.txt") == "0644"  # only the agent's own files are changed
    assert agent.get("/api/v1/status")[0] == 200
    agent.stop()
    # Nothing left to fix: the next start says nothing about modes.
    logged_before = len(agent.log())
    agent.start()
    assert "file_mode" not in agent.log()[logged_before:]
    agent.stop()


def test_init_writes_the_config_and_the_store_owner_only(tmp_path):
    env = isolated_env(tmp_path)
    config = tmp_path / "conf" / "nebula.toml"
    made = nebula("--config", str(config), "init", "--json", env=env)
    assert made.returncode == 0, made.stderr
    data = tmp_path / "xdg-state" / "nebula"  # the default data dir under this env
    assert (mode(config), mode(data), mode(data / "nebula.db")) == ("0600", "0700", "0600")

    # Over a config others could read (--force), the new one is owner-only again.
    config.chmod(0o644)
    again = nebula("--config", str(config), "init", "--force", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert mode(config) == "0600"


def test_the_one_shot_agent_of_a_cli_command_makes_its_data_owner_only(tmp_path):
    data = tmp_path / "state" / "data"
    config = write_config(tmp_path / "nebula.toml", {"port": free_port(),
                                                     "data_dir": str(data)})
    listed = nebula("--config", str(config), "token", "list", "--json",
                    env=isolated_env(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) is not None
    assert (mode(data), mode(data / "nebula.db"), mode(data / "agent.lock")) == (
        "0700", "0600", "0600")


async def test_an_agent_embedded_in_a_process_with_umask_022_writes_owner_only(nebula_agent):
    """Tests and `nebula.testing` run agents inside their own process, whose umask the
    agent leaves alone: the modes come from how each file is created."""
    async with nebula_agent() as running:
        data = running.agent.config.data_dir
        await eventually(lambda: all((data / n).exists() for n in STORE))
        assert mode(data) == "0700"
        assert {n: mode(data / n) for n in STORE} == {n: "0600" for n in STORE}


def test_a_symlink_is_not_followed_when_fixing_modes(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's")
    link = tmp_path / "data" / "secret.key"
    link.parent.mkdir()
    link.symlink_to(outside)
    assert make_private(link) is None
    assert secure_paths([link]) == []
    assert mode(outside) == "0644"
