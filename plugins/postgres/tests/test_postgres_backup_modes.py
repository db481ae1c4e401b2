"""Backups are as secret as the databases: under the usual umask (022) a real pg_dump
backup lands 0600 in 0700 folders, and backups an older version left readable are fixed
when the plugin starts, with a warning naming each path (a half-written dump is removed
instead)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from postgres_api import AgentFactory, result_of

from tests.engines.postgres import Cluster
from tests.filemodes_support import mode, umask_022  # noqa: F401 (fixture)

# Every test here runs, and starts its agents, under the usual umask.
pytestmark = pytest.mark.usefixtures("umask_022")


def _database(cluster: Cluster, dbname: str) -> str:
    cluster.execute(f"CREATE DATABASE {dbname}")
    cluster.execute("CREATE TABLE items (id int PRIMARY KEY, name text); "
                    "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g",
                    dbname)
    return dbname


def _tree(root: Path) -> dict[str, str]:
    """Every path under `root` (itself included, as "."), with its mode."""
    return {".": mode(root), **{str(p.relative_to(root)): mode(p) for p in root.rglob("*")}}


async def test_a_backup_lands_owner_only_in_owner_only_folders(pg_agent: AgentFactory,
                                                               cluster: Cluster, dbname: str,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "backups" / "postgres"
    database = _database(cluster, dbname)
    async with pg_agent(backup_dir=str(root)) as agent:
        [made] = await result_of(agent, "backup", {"database": database})
    name = made["backup"]["name"]
    assert _tree(root) == {".": "0700", database: "0700", f"{database}/{name}": "0600",
                           f"{database}/{name}.json": "0600"}


async def test_backups_left_readable_are_fixed_at_start_and_logged(
        pg_agent: AgentFactory, cluster: Cluster, dbname: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "backups"
    database = _database(cluster, dbname)
    async with pg_agent(backup_dir=str(root)) as agent:
        [made] = await result_of(agent, "backup", {"database": database})
    name = made["backup"]["name"]
    folder = root / database
    # As an older version left them: readable by everyone, and a half-written dump too.
    leftover = folder / f".{name}.partial"
    leftover.write_bytes(b"PGDMP")
    (folder / "README").write_text("the operator's own notes, not the plugin's")
    ours = [folder / name, folder / f"{name}.json"]
    for path in (*ours, leftover):
        path.chmod(0o644)
    for path in (root, folder):
        path.chmod(0o755)
    capsys.readouterr()

    async with pg_agent(backup_dir=str(root)) as agent:
        listed = await result_of(agent, "backups")
    logs = "".join(capsys.readouterr())
    assert [b["name"] for b in listed] == [name]
    # The half-written dump is an interrupted run's leftover: removed, not fixed.
    assert _tree(root) == {".": "0700", database: "0700", f"{database}/{name}": "0600",
                           f"{database}/{name}.json": "0600",
                           f"{database}/README": "0644"}  # not the plugin's file

    def logged(event: str) -> set[str]:
        return {found.group(1) for line in logs.splitlines()
                if event in line and (found := re.search(r"path=(\S+)", line))}

    assert logged("postgres.backup_mode_fixed") == {str(p) for p in (root, folder, *ours)}
    assert logged("postgres.backup_leftover_removed") == {str(leftover)}
