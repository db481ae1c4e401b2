"""Mounts from /proc/mounts: a real sshfs network mount that goes stale is reported without
blocking the agent's loop, a missing expected mount is critical, and `remount` (destructive,
bound to the plan the approver saw) brings the stale one back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from nas_sshfs import SshfsMount, sshfs_mount
from nas_support import fresh_check, runtime_of

from nebula_nas.mounts import parse_mounts

pytestmark = pytest.mark.e2e
TYPES = ["cifs", "nfs", "fuse.sshfs"]


def test_proc_mounts_fields_are_unescaped() -> None:
    [mount] = parse_mounts("//nas/My\\040Media /mnt/my\\040media cifs rw,vers=3.1.1 0 0\n")
    assert (mount.source, mount.path, mount.fstype) == ("//nas/My Media", "/mnt/my media",
                                                         "cifs")


@pytest.fixture
def sshfs(tmp_path: Path):
    with sshfs_mount(tmp_path / "sshfs") as mount:
        yield mount


async def test_a_stale_mount_is_reported_while_the_loop_runs_on(start_nas,
                                                                sshfs: SshfsMount) -> None:
    async with start_nas(mounts=[{"path": str(sshfs.mountpoint)}], mount_types=TYPES,
                         mount_timeout=3) as agent:
        check = await fresh_check(agent, "nas.mounts")
        assert check["last_status"] == "ok", check["summary"]
        assert "fuse.sshfs" in check["summary"]

        sshfs.stall()
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        try:
            check = await fresh_check(agent, "nas.mounts")
        finally:
            ticking.cancel()
        assert check["last_status"] == "critical"
        assert "stale (no answer within 3 s" in check["summary"], check["summary"]
        # The probe hung for the whole 3 s; the loop never stopped for anything near that.
        assert len(gaps) > 20 and max(gaps) < 1.0, max(gaps)


async def test_an_expected_mount_that_is_not_there(start_nas, tmp_path: Path) -> None:
    async with start_nas(mounts=[{"path": str(tmp_path)}]) as agent:
        check = await fresh_check(agent, "nas.mounts")
        assert check["last_status"] == "critical"
        assert f"{tmp_path}: missing" in check["summary"]


async def test_remount_is_approved_on_its_plan_and_brings_the_mount_back(
        start_nas, sshfs: SshfsMount) -> None:
    path = str(sshfs.mountpoint)
    async with start_nas(mounts=[{"path": path, "remount": sshfs.command}],
                         mount_types=TYPES, mount_timeout=2) as agent:
        status, body = await agent.post("/api/v1/actions/nas.remount/run",
                                        {"params": {"path": "/not/configured"}})
        assert status == 422 and "not a configured mount" in str(body)

        sshfs.stall()
        assert (await fresh_check(agent, "nas.mounts"))["last_status"] == "critical"
        pending = await agent.run_action("nas.remount", {"path": path}, expect=202)
        assert pending["status"] == "pending_approval"
        plan = pending["approval"]["plan"]
        assert plan["steps"] == [["umount", "-l", path], sshfs.command]
        assert plan["type"] == "fuse.sshfs"

        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert done["result"]["state"]["state"] == "ok"
        check = await fresh_check(agent, "nas.mounts")
        assert check["last_status"] == "ok", check["summary"]
        assert (sshfs.mountpoint / "hello.txt").read_text() == "hello\n"
        runtime_of(agent)  # still running after the remount
