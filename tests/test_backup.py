"""Backing up and restoring Nebula's own state, and the store's guards around upgrades:
real agent processes, the real `nebula` entry point, real SQLite files and archives."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
import threading
from pathlib import Path

import pytest

from nebula.secret_store import SecretStore
from nebula.store import SqliteStore
from nebula.store.db import SchemaTooNew, connect
from nebula.store.migrations import MIGRATIONS
from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula
from tests.waiting import wait_for


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _site(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A config and the data dir it names, in their own folder."""
    (tmp_path / name).mkdir()
    config = write_config(tmp_path / name / "nebula.toml", {"port": free_port()},
                          {"system": {"enabled": True}})
    return config, tmp_path / name / "data"


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def _tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under `root`: its mode and content digest (what "nothing changed" means)."""
    return {str(p.relative_to(root)): (p.stat().st_mode, hashlib.sha256(p.read_bytes())
                                       .hexdigest() if p.is_file() else "")
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def running(tmp_path):
    env = isolated_env(tmp_path)
    config, data = _site(tmp_path, "a")
    agent = AgentProcess(config, data, env)
    agent.start()
    yield agent
    agent.stop()


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_backup_while_the_agent_runs_and_writes(running, tmp_path):
    """The copy is taken while another process commits rows: it opens, is intact and holds
    every row committed before the backup started; the archive is owner-only."""
    assert running.post("/api/v1/users", {"name": "ada", "password": "correct horse 42"})[0] == 201
    assert running.post("/api/v1/users/ada/totp", {})[0] == 201  # the secret key is made
    made: list[str] = []
    refused: list[object] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set() and not refused:
            status, body = running.post("/api/v1/tokens", {"name": f"t{len(made)}"})
            (made if status == 201 else refused).append(body)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: len(made) >= 5 or refused)  # busy writing before the backup starts
        assert not refused, refused
        before = len(made)
        result = nebula("--config", str(running.config), "backup", "--json", env=running.env,
                        cwd=tmp_path)
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert not refused, refused
    manifest = json.loads(result.stdout)
    archive = Path(manifest["archive"])
    assert archive.parent == tmp_path and archive.name.startswith("nebula-backup-")
    assert _mode(archive) == 0o600
    assert manifest["schema_version"] == len(MIGRATIONS)
    members = _members(archive)
    assert set(members) == {"manifest.json", "nebula.db", "secret.key", "nebula.toml"}
    assert json.loads(members["manifest.json"])["members"]["nebula.db"]["sha256"] == \
        hashlib.sha256(members["nebula.db"]).hexdigest()
    copy = tmp_path / "copy.db"
    copy.write_bytes(members["nebula.db"])
    db = sqlite3.connect(copy)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    names = {row[0] for row in db.execute("SELECT name FROM tokens")}
    assert {f"t{n}" for n in range(before)} <= names
    assert members["secret.key"] == (running.data_dir / "secret.key").read_bytes()


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_restore_into_a_fresh_data_dir_keeps_tokens_users_history_and_secrets(
        running, tmp_path):
    status, viewer = running.post("/api/v1/tokens", {"name": "grafana", "role": "viewer"})
    assert status == 201, viewer
    status, _ = running.post("/api/v1/users", {"name": "ada", "password": "correct horse 42"})
    assert status == 201
    status, totp = running.post("/api/v1/users/ada/totp", {})
    assert status == 201, totp
    status, _ = running.post("/api/v1/actions/system.top_processes/run",
                              {"params": {"n": 1}})
    assert status == 200
    archive = tmp_path / "nightly.tar.gz"
    made = nebula("--config", str(running.config), "backup", str(archive), env=running.env)
    assert made.returncode == 0, made.stderr
    running.stop()

    config_b, data_b = _site(tmp_path, "b")
    own_config = config_b.read_text()
    restored = nebula("--config", str(config_b), "restore", str(archive), "--json",
                      env=running.env)
    assert restored.returncode == 0, restored.stderr
    said = json.loads(restored.stdout)
    assert said["data_dir"] == str(data_b) and said["data_aside"] is None  # nothing was there
    assert _mode(data_b) == 0o700
    assert {p.name: _mode(p) for p in data_b.iterdir()} == {"nebula.db": 0o600,
                                                            "secret.key": 0o600}
    assert config_b.read_text() == own_config  # not restored without --with-config
    agent = AgentProcess(config_b, data_b, running.env)
    try:
        agent.start()
        status, body = agent.get("/api/v1/status", token=viewer["token"])
        assert status == 200, body
        status, users = agent.get("/api/v1/users")
        assert [(u["name"], u["totp"]) for u in users["users"]] == [("ada", True)]
        status, audit = agent.get("/api/v1/audit?action=system.top_processes")
        assert status == 200 and audit["audit"], audit
    finally:
        agent.stop()
    # The restored key opens the restored secrets: ada's TOTP secret reads back.
    assert asyncio.run(_vault_value(data_b, "totp:1")) == totp["secret"]


async def _vault_value(data_dir: Path, key: str) -> str | None:
    store = SqliteStore(data_dir / "nebula.db")
    await store.open()
    try:
        return await SecretStore(store, data_dir / "secret.key", "core").get(key)
    finally:
        await store.close()


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_restore_sets_the_old_data_dir_and_config_aside(tmp_path):
    env = isolated_env(tmp_path)
    config, _ = _site(tmp_path, "a")
    archive = tmp_path / "b.tar.gz"
    _made(config, env)
    assert nebula("--config", str(config), "backup", str(archive), env=env).returncode == 0
    original = config.read_text()
    config.write_text(original.replace("[agent]", "[agent]\nlog_level = \"debug\""))
    assert nebula("--config", str(config), "token", "create", "new", env=env).returncode == 0

    result = nebula("--config", str(config), "restore", "--with-config", str(archive),
                    "--json", env=env)
    assert result.returncode == 0, result.stderr
    said = json.loads(result.stdout)
    aside = Path(said["data_aside"])
    assert aside.name.startswith("data.before-restore-") and (aside / "nebula.db").is_file()
    assert Path(said["config_aside"]).read_text() != original
    assert config.read_text() == original and _mode(config) == 0o600
    tokens = nebula("--config", str(config), "token", "list", "--json", env=env)
    assert [t["name"] for t in json.loads(tokens.stdout)["tokens"]] == ["seed"]


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_restore_is_refused_while_an_agent_runs_on_the_data_dir(running, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert nebula("--config", str(running.config), "backup", str(archive),
                  env=running.env).returncode == 0
    siblings = sorted(p.name for p in running.data_dir.parent.iterdir())
    result = nebula("--config", str(running.config), "restore", str(archive), env=running.env)
    assert result.returncode == 1
    assert f"another agent already uses {running.data_dir}" in result.stderr
    assert "stop it first" in result.stderr
    assert sorted(p.name for p in running.data_dir.parent.iterdir()) == siblings
    assert running.get("/api/v1/status")[0] == 200


def _tampered(archive: Path, target: Path) -> Path:
    """The same archive with one byte of the store changed (its manifest left as it was)."""
    members = _members(archive)
    db = bytearray(members["nebula.db"])
    db[-1] ^= 0xFF
    members["nebula.db"] = bytes(db)
    with tarfile.open(target, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return target


def _made(config: Path, env: dict[str, str]) -> None:
    """The store made, as any command that starts a one-shot agent makes it."""
    assert nebula("--config", str(config), "token", "create", "seed", env=env).returncode == 0


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_a_corrupt_archive_is_refused_and_nothing_is_touched(tmp_path):
    env = isolated_env(tmp_path)
    config, _ = _site(tmp_path, "a")
    _made(config, env)
    good = tmp_path / "good.tar.gz"
    assert nebula("--config", str(config), "backup", str(good), env=env).returncode == 0
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_ours = tmp_path / "other.tar.gz"
    not_ours.write_bytes(gzip.compress(b"just text"))
    cases = {truncated: "cannot be read", _tampered(good, tmp_path / "t.tar.gz"):
             "nebula.db does not match its checksum", not_ours: "cannot be read"}
    before = _tree(tmp_path / "a")
    for archive, why in cases.items():
        result = nebula("--config", str(config), "restore", "--with-config", str(archive),
                        env=env)
        assert result.returncode == 1, result.stdout
        [line] = result.stderr.splitlines()
        assert "is not a usable Nebula backup" in line and why in line, line
        assert line.endswith("nothing was changed")
        assert _tree(tmp_path / "a") == before
    assert nebula("--config", str(config), "restore", str(good), env=env).returncode == 0


def _old_store(path: Path, upto: int) -> None:
    """A store as an older Nebula left it: the first `upto` migrations, by hand."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:upto]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version={upto}")
    db.execute("INSERT INTO events (ts, topic, source) VALUES (1, 'old.news', 'test')")
    db.close()


def test_a_snapshot_is_taken_before_migrating_and_only_the_last_three_kept(tmp_path):
    path = tmp_path / "nebula.db"
    older = len(MIGRATIONS) - 1
    _old_store(path, older)
    for n, name in enumerate(("pre-migration-1-2.db", "pre-migration-2-3.db",
                              "pre-migration-3-4.db")):
        (tmp_path / name).write_bytes(b"")
        os.utime(tmp_path / name, (1000 + n, 1000 + n))
    connect(path).close()
    snapshot = tmp_path / f"pre-migration-{older}-{len(MIGRATIONS)}.db"
    assert _mode(snapshot) == 0o600
    copy = sqlite3.connect(snapshot)
    assert copy.execute("PRAGMA user_version").fetchone()[0] == older
    assert copy.execute("SELECT topic FROM events").fetchall() == [("old.news",)]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert sorted(p.name for p in tmp_path.glob("pre-migration-*")) == [
        "pre-migration-2-3.db", "pre-migration-3-4.db", snapshot.name]
    # An up-to-date store is opened without another snapshot.
    snapshot.unlink()
    connect(path).close()
    assert not snapshot.exists()


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_a_store_newer_than_the_code_is_refused_with_the_way_back(tmp_path):
    env = isolated_env(tmp_path)
    config, data = _site(tmp_path, "a")
    data.mkdir()
    known, newer = len(MIGRATIONS), len(MIGRATIONS) + 2
    _old_store(data / "nebula.db", known)
    sqlite3.connect(data / "nebula.db").execute(f"PRAGMA user_version={newer}")
    with pytest.raises(SchemaTooNew, match=f"schema version {newer}, newer than this "
                                           f"Nebula's {known}.*nebula restore"):
        connect(data / "nebula.db")
    # The snapshot the newer version took before migrating is named when it is there.
    (data / f"pre-migration-{known}-{newer}.db").write_bytes(b"")
    result = nebula("--config", str(config), "run", env=env)
    assert result.returncode == 1
    # One line (the store made by hand here is also reported as readable by others).
    [line] = [n for n in result.stderr.splitlines() if not n.startswith("{")]
    assert line.startswith(f"error: the store {data / 'nebula.db'} is at schema version "
                           f"{newer}, newer than this Nebula's {known}")
    assert f"copy {data / f'pre-migration-{known}-{newer}.db'} (taken before it migrated)" \
        in line
    assert sqlite3.connect(data / "nebula.db").execute(
        "PRAGMA user_version").fetchone()[0] == newer  # untouched


@pytest.mark.e2e  # real agent processes and the `nebula` command
def test_an_archive_from_a_newer_schema_is_refused(tmp_path):
    env = isolated_env(tmp_path)
    config, _ = _site(tmp_path, "a")
    _made(config, env)
    good = tmp_path / "good.tar.gz"
    assert nebula("--config", str(config), "backup", str(good), env=env).returncode == 0
    members = _members(good)
    manifest = json.loads(members["manifest.json"])
    manifest["schema_version"] = len(MIGRATIONS) + 1
    members["manifest.json"] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(newer, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    result = nebula("--config", str(config), "restore", str(newer), env=env)
    assert result.returncode == 1
    assert f"newer than this Nebula's {len(MIGRATIONS)}" in result.stderr
