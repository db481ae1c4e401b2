"""Pending updates: the real `apt-get -s upgrade` against this machine's own package lists,
and the parser on captured output (Debian 12's, captured on this machine, with
Debian-Security lines) and on lines in the Ubuntu security pocket's format."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from nebula_security.updates import Simulation, assess_updates, parse

pytestmark = pytest.mark.e2e  # runs the real apt-get

HERE = Path(__file__).parent / "fixtures"
# Ubuntu 22.04's apt writes its Inst lines in the same format (apt-pkg's simulation
# output); written here after it, not captured: no Ubuntu machine to capture from.
UBUNTU = """\
Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, \
Ubuntu:22.04/jammy-security [amd64])
Inst openssl [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-security [amd64]) []
Inst snapd [2.58+22.04] (2.61.3+22.04 Ubuntu:22.04/jammy-updates [amd64])
Conf libssl3 (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])
"""


def config(tmp_path: Path, apt: str = "apt-get") -> dict[str, object]:
    return {"apt_get": apt, "reboot_flag": str(tmp_path / "reboot-required"),
            "command_timeout": 120}


def test_captured_debian_output_counts_the_security_pocket():
    text = (HERE / "apt-upgrade-debian12.txt").read_text()
    pending = parse(text)
    inst = [line for line in text.splitlines() if line.startswith("Inst ")]
    assert len(pending) == len(inst) == 131
    security = {p.package for p in pending if p.security}
    assert len(security) == sum("Debian-Security:" in line for line in inst) == 91
    assert "libgcrypt20" in security and "liblzma-dev" in security
    assert "base-files" not in security  # only in Debian:12.15/oldstable


def test_ubuntu_security_pocket():
    pending = {p.package: p for p in parse(UBUNTU)}
    assert set(pending) == {"libssl3", "openssl", "snapd"}  # Conf lines are not updates
    assert pending["libssl3"].security and pending["openssl"].security
    assert not pending["snapd"].security
    assert pending["openssl"].version == "3.0.2-0ubuntu1.12"


async def test_real_apt_get_on_this_machine(tmp_path):
    argv = ["apt-get", "-s", "-q", "-o", "Debug::NoLocking=true", "upgrade"]
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True,
                                   check=True, env={"LANG": "C", "PATH": "/usr/bin:/bin"})
    real = done.stdout
    expected = parse(real)
    simulation = Simulation(config(tmp_path))
    found = await assess_updates(config(tmp_path), simulation)
    assert found.metrics["updates"] == len(expected)
    assert found.metrics["security_updates"] == sum(p.security for p in expected)
    if any(p.security for p in expected):
        assert found.status.value == "critical"
        assert f"{sum(p.security for p in expected)} security updates pending" in \
            found.summary
    # A second reading with apt's state unchanged reuses the first simulation.
    again = await assess_updates(config(tmp_path), simulation)
    assert again == found and simulation.runs == 1


async def test_the_reboot_flag_and_its_packages(tmp_path):
    flag = tmp_path / "reboot-required"
    await asyncio.to_thread(flag.write_text, "*** System restart required ***\n")
    await asyncio.to_thread((tmp_path / "reboot-required.pkgs").write_text,
                            "linux-image-amd64\nlibc6\n")
    found = await assess_updates(config(tmp_path, str(tmp_path / "no-apt")), Simulation({}))
    assert [f.reason for f in found.findings] == [
        "a reboot is required (for libc6, linux-image-amd64): updated code is not running "
        "yet"]
    assert found.lost == 5


async def test_a_failing_apt_get_is_unknown(tmp_path):
    broken = tmp_path / "apt-get"
    await asyncio.to_thread(broken.write_text, "#!/bin/sh\necho 'E: Could not open lock "
                                               "file' >&2\nexit 100\n")
    broken.chmod(0o755)
    found = await assess_updates(config(tmp_path, str(broken)), Simulation(
        config(tmp_path, str(broken))))
    assert found.status.value == "unknown"
    assert "apt-get -s upgrade failed: E: Could not open lock file" in found.summary
