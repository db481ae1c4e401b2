"""sshd's settings judged from a config file this test writes: through the real `sshd -T`
(Debian's openssh-server, never started) and through the plugin's own reading of the files
for a host where sshd -T cannot run; both must agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nebula_security.sshd import assess_ssh, read_settings

pytestmark = pytest.mark.e2e  # runs the real sshd -T

SSHD = "/usr/sbin/sshd"
WEAK = """\
# what a quick install leaves
Include {dir}/conf.d/*.conf
PermitRootLogin yes
PermitEmptyPasswords yes
"""
HARDENED = """\
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
Match User backup
    PasswordAuthentication yes
"""


def settings(path: Path, binary: str) -> dict[str, Any]:
    return {"sshd_config": str(path), "sshd_binary": binary, "command_timeout": 20}


@pytest.fixture
def weak(tmp_path: Path) -> Path:
    (tmp_path / "conf.d").mkdir()
    # An included file comes first where it is included, so its value wins (sshd's rule).
    (tmp_path / "conf.d" / "10-passwords.conf").write_text("PasswordAuthentication yes\n")
    path = tmp_path / "sshd_config"
    path.write_text(WEAK.format(dir=tmp_path))
    return path


async def test_sshd_T_finds_root_login_passwords_and_empty_passwords(weak):
    found = await assess_ssh(settings(weak, SSHD))
    assert found.status.value == "critical"
    reasons = {f.reason.split(" (")[0]: f for f in found.findings}
    assert set(reasons) == {"sshd lets root log in with a password",
                            "sshd accepts accounts with empty passwords",
                            "sshd accepts passwords"}
    assert "`PermitRootLogin prohibit-password`" in reasons[
        "sshd lets root log in with a password"].fix
    assert found.lost == 15  # 6 + 10 + 5, capped at the input's weight
    _, source = await read_settings(settings(weak, SSHD))
    assert source == f"{SSHD} -T -f {weak}"


async def test_a_hardened_config_loses_nothing_match_blocks_aside(tmp_path):
    path = tmp_path / "sshd_config"
    path.write_text(HARDENED)
    found = await assess_ssh(settings(path, SSHD))
    assert found.status.value == "ok" and found.lost == 0
    assert f"{SSHD} -T -f {path}" in found.summary


async def test_without_sshd_the_files_are_read_and_agree_with_sshd_T(weak, tmp_path):
    path = tmp_path / "hardened"
    path.write_text(HARDENED)
    for config in (weak, path):
        real = await assess_ssh(settings(config, SSHD))
        parsed = await assess_ssh(settings(config, str(tmp_path / "no-sshd")))
        _, source = await read_settings(settings(config, str(tmp_path / "no-sshd")))
        assert source == f"read {config} (no sshd binary)"
        assert [f.reason for f in parsed.findings] == [f.reason for f in real.findings]


async def test_a_host_without_ssh_is_not_applicable(tmp_path):
    found = await assess_ssh(settings(tmp_path / "none", str(tmp_path / "no-sshd")))
    assert found.status.value == "ok" and found.lost == 0
    assert "no SSH daemon here" in found.summary
