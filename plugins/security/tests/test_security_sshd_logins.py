"""sshd's failed logins counted from the logs plugin: a real sshd (Debian's openssh-server,
on a loopback port, logging to a file the logs plugin tails) refuses real password
attempts made with asyncssh."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from nebula.testing import installed_plugin
from tests.waiting import eventually, wait_for

pytestmark = pytest.mark.e2e  # a real sshd

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    key = tmp_path / "hostkey"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation dir
    port, log = free_port(), tmp_path / "sshd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", "/dev/null", "-o", f"HostKey={key}",
                                 "-o", "ListenAddress=127.0.0.1", "-p", str(port), "-o",
                                 f"PidFile={tmp_path / 'sshd.pid'}", "-o",
                                 "PasswordAuthentication=yes"], stderr=out)
    try:
        wait_for(lambda: "Server listening" in log.read_text())
        yield port, log
    finally:
        proc.terminate()
        proc.wait(10)


async def guess(port: int, user: str) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect("127.0.0.1", port, username=user, password="guess",
                               known_hosts=None, client_keys=None, preferred_auth="password")


async def test_sshd_failed_passwords_are_counted_from_the_logs_plugin(nebula_agent, sshd):
    port, log = sshd
    config: dict[str, Any] = {
        "security": {"failed_logins_warning": 3, "interval": 1},
        "logs": {"files": [{"name": "sshd", "path": str(log)}]}}
    plugins = {"security": installed_plugin("security"), "logs": installed_plugin("logs")}
    async with nebula_agent(plugins, config=config) as agent:
        check = await agent.run_check("security.logins")
        assert check["metrics"]["sshd_failed"] == 0, check
        for user in ("root", "bob", "admin"):
            await guess(port, user)
        await eventually(lambda: log.read_text().count("Failed password") == 3)

        async def warned() -> dict[str, Any] | None:
            found = await agent.run_check("security.logins")
            return found if found["metrics"].get("sshd_failed") == 3 else None

        check = await eventually(warned, timeout=20)
        assert check["last_status"] == "warning"
        assert "3 failed sshd logins in 24 h" in check["summary"]
        assert "PasswordAuthentication no" in str(
            (await agent.call_tool("security.input", {"input": "logins"}))["result"])
