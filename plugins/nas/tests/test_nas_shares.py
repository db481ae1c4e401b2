"""The share checks against a real Samba server: healthy, wrong password, server down and
back, no such share, low space and a full disk (a share on a 2 MiB tmpfs)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from nas_samba import Samba
from nas_support import TINY_KIB, fresh_check, runtime_of

pytestmark = pytest.mark.e2e


async def test_a_healthy_share_reports_space_and_probe_latency(
        start_nas, samba: Samba, smb_password: str) -> None:
    async with start_nas() as agent:
        check = await fresh_check(agent, "nas.share_media")
        assert check["last_status"] == "ok", check
        metrics = check["metrics"]
        stats = os.statvfs(samba.shares["media"])
        assert metrics["total_bytes"] == stats.f_blocks * stats.f_frsize
        assert metrics["authenticated"] == 1.0 and metrics["write_ms"] > 0
        assert metrics["read_ms"] > 0 and "GiB free" in check["summary"]
        # The probe file is gone again.
        assert os.listdir(samba.shares["media"]) == []
        panel = await agent.panel("nas.shares")
        assert panel[0]["name"] == "media" and panel[0]["state"] == "ok"
        status, body = await agent.get("/api/v1/plugins/nas")
        assert status == 200 and smb_password not in str(body)
        runtime = runtime_of(agent)
    # The plugin stopped with the agent: its SMB connection is closed.
    assert runtime.smb._cache == {}


async def test_a_wrong_password_is_an_authentication_failure(
        start_nas, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("not-the-password\n")
    async with start_nas(password_file=str(tmp_path / "wrong")) as agent:
        check = await fresh_check(agent, "nas.share_media")
        assert check["last_status"] == "critical"
        assert "authentication failed" in check["summary"], check["summary"]
        assert check["metrics"] == {"reachable": 1.0, "authenticated": 0.0}


async def test_a_server_that_goes_down_is_unreachable_and_recovers(
        start_nas, samba: Samba) -> None:
    async with start_nas() as agent:
        assert (await fresh_check(agent, "nas.share_media"))["last_status"] == "ok"
        samba.stop()
        check = await fresh_check(agent, "nas.share_media")
        assert check["last_status"] == "critical"
        assert "NAS unreachable" in check["summary"], check["summary"]
        assert check["metrics"]["reachable"] == 0.0
        samba.start()
        check = await fresh_check(agent, "nas.share_media")
        assert check["last_status"] == "ok", check["summary"]


async def test_a_share_the_nas_does_not_have(start_nas) -> None:
    async with start_nas(shares=[{"name": "nope"}]) as agent:
        check = await fresh_check(agent, "nas.share_nope")
        assert check["last_status"] == "critical"
        assert "share unavailable" in check["summary"], check["summary"]


def _fill(folder: Path, name: str, leave: int) -> None:
    """Fill the tmpfs under `folder` until about `leave` bytes are free."""
    stats = os.statvfs(folder)
    size = max(0, stats.f_bavail * stats.f_frsize - leave)
    with (folder / name).open("wb") as out:
        try:
            out.write(b"\0" * size)
            out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


async def test_low_space_warns_and_a_full_disk_is_critical(start_nas, samba: Samba) -> None:
    tiny = samba.shares["tiny"]
    async with start_nas(shares=[{"name": "tiny", "free_warning_percent": 25,
                                  "free_critical_percent": 1}]) as agent:
        assert (await fresh_check(agent, "nas.share_tiny"))["last_status"] == "ok"
        _fill(tiny, "filler", TINY_KIB * 1024 // 10)   # about 10 % left
        check = await fresh_check(agent, "nas.share_tiny")
        assert check["last_status"] == "warning", check["summary"]
        assert "below 25%" in check["summary"]
        _fill(tiny, "rest", 0)
        check = await fresh_check(agent, "nas.share_tiny")
        assert check["last_status"] == "critical", check["summary"]
        assert "disk full" in check["summary"], check["summary"]
        # The failed probe left nothing behind.
        assert sorted(os.listdir(tiny)) == ["filler", "rest"]
