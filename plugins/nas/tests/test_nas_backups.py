"""Backup copies to a real Samba share: postgres-style dumps and a real `nebula backup`
archive copied and verified, skipped when already there, retention, the age check, and a
full share that leaves no partial file behind."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
from nas_samba import Samba
from nas_support import fresh_check, smb_get

from nebula.builtins.backup.archive import default_name, write_backup

pytestmark = pytest.mark.e2e


def _dumps(root: Path, database: str, count: int, size: int) -> list[Path]:
    folder = root / database
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        path = folder / f"{database}-2026120{n + 1}T031500000000Z.dump"
        path.write_bytes(os.urandom(size))
        made.append(path)
    return made


def _config(tmp_path: Path, **backup: Any) -> dict[str, Any]:
    return {"backup": {"share": "backup", "postgres_dir": str(tmp_path / "dumps"),
                       "archive_dir": str(tmp_path / "archives"), **backup}}


async def test_copies_are_verified_skipped_when_present_and_checked_for_age(
        start_nas, samba: Samba, tmp_path: Path) -> None:
    dumps = _dumps(tmp_path / "dumps", "app", 2, 300_000)
    (tmp_path / "archives").mkdir()
    async with start_nas(**_config(tmp_path)) as agent:
        archive = tmp_path / "archives" / default_name()
        write_backup(tmp_path / "data", None, archive)  # the agent's data dir
        assert (await fresh_check(agent, "nas.backups"))["last_status"] == "critical"

        done = await agent.run_action("nas.backup_now")
        assert done["status"] == "ok", done
        result = done["result"]
        assert sorted(result["copied"]) == sorted(
            [f"postgres/app/{d.name}" for d in dumps] + [f"nebula/{archive.name}"])
        assert result["errors"] == []
        share = samba.shares["backup"] / "nebula-backups"
        for local, remote in [(d, f"nebula-backups/postgres/app/{d.name}") for d in dumps] + [
                (archive, f"nebula-backups/nebula/{archive.name}")]:
            back = smb_get(samba, "backup", remote, tmp_path / "back")
            assert back == local.read_bytes()
            sidecar = smb_get(samba, "backup", remote + ".sha256", tmp_path / "sum").decode()
            assert sidecar.split()[0] == hashlib.sha256(back).hexdigest()
        assert not [p for p in share.rglob("*") if p.name.endswith(".partial")]

        again = (await agent.run_action("nas.backup_now"))["result"]
        assert again["copied"] == [] and again["skipped"] == 3

        check = await fresh_check(agent, "nas.backups")
        assert check["last_status"] == "ok", check["summary"]
        assert check["metrics"]["copies"] == 3.0
        panel = await agent.panel("nas.backups")
        assert {row["name"] for row in panel} == {d.name for d in dumps} | {archive.name}

        # The newest copy ages past the limit (its time on the NAS set back 30 hours).
        old = time.time() - 30 * 3600
        for path in share.rglob("*"):
            os.utime(path, (old, old))
        check = await fresh_check(agent, "nas.backups")
        assert check["last_status"] == "critical", check["summary"]
        assert "h old (limit 26 h)" in check["summary"]


async def test_retention_keeps_the_newest_copies(start_nas, samba: Samba,
                                                 tmp_path: Path) -> None:
    dumps = _dumps(tmp_path / "dumps", "app", 3, 1000)
    async with start_nas(**_config(tmp_path, keep=2)) as agent:
        folder = samba.shares["backup"] / "nebula-backups" / "postgres" / "app"
        result = (await agent.run_action("nas.backup_now"))["result"]
        # Copied in name order, so the first dump is the oldest copy on the share.
        assert result["removed"] == [f"postgres/app/{dumps[0].name}"]
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [d.name for d in dumps[1:]] + [d.name + ".sha256" for d in dumps[1:]])


async def test_a_full_share_fails_the_copy_and_leaves_nothing(start_nas, samba: Samba,
                                                              tmp_path: Path) -> None:
    _dumps(tmp_path / "dumps", "big", 1, 3 * 1024 * 1024)   # more than the 2 MiB share
    async with start_nas(**_config(tmp_path, share="tiny")) as agent:
        done = await agent.run_action("nas.backup_now")
        assert done["status"] == "error"
        assert "disk is full" in str(done["error"]), done
        tiny = samba.shares["tiny"] / "nebula-backups" / "postgres" / "big"
        assert list(tiny.iterdir()) == []   # no partial, no sidecar
        check = await fresh_check(agent, "nas.backups")
        assert check["last_status"] == "critical"
        assert "the last copy run failed" in check["summary"]
