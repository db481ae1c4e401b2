"""Agentless hosts: a real sshd on a loopback port, read by a real hub over SSH with the
host key pinned in the config; a host answering with another key is refused; nothing
can be run on such a host from the hub."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.agent_process import free_port
from tests.fleet.fleet_processes import make_member
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture
def sshd(tmp_path: Path):
    host_key = keygen(tmp_path / "hostkey")
    client_key = keygen(tmp_path / "client")
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(client_key + "\n")
    authorized.chmod(0o600)
    port = free_port()
    Path("/run/sshd").mkdir(exist_ok=True)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout
    proc = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null", "-o", f"HostKey={tmp_path / 'hostkey'}",
         "-o", "ListenAddress=127.0.0.1", "-p", str(port), "-o",
         f"PidFile={tmp_path / 'sshd.pid'}", "-o", f"AuthorizedKeysFile={authorized}",
         "-o", "StrictModes=no", "-o", "PasswordAuthentication=no"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "sshd.log").open("w"))
    try:
        wait_for(lambda: subprocess.run(["ssh-keyscan", "-p", str(port), "127.0.0.1"],
                                        capture_output=True, check=False).returncode == 0
                 and b"ssh-ed25519" in subprocess.run(
                     ["ssh-keyscan", "-t", "ed25519", "-p", str(port), "127.0.0.1"],
                     capture_output=True, check=False).stdout, timeout=20)
        yield {"port": port, "host_key": host_key, "key_file": tmp_path / "client",
               "user": user.strip()}
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_agentless_host_is_read_over_ssh_with_its_key_pinned(sshd, tmp_path):
    other_key = keygen(tmp_path / "other")
    ssh = "".join(
        f'[[fleet.ssh]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {sshd["port"]}\n'
        f'user = "{sshd["user"]}"\nkey_file = "{sshd["key_file"]}"\nhost_key = "{key}"\n'
        for name, key in (("nas", sshd["host_key"]), ("impostor", other_key)))
    hub = make_member(tmp_path, "hub", "[fleet]\nhub = true\npoll_interval = 1\n"
                                       "max_backoff = 2\ntimeout = 5\n" + ssh)
    hub.proc.start(timeout=60)
    try:
        def hosts() -> dict[str, dict]:
            return {h["name"]: h for h in hub.proc.get("/api/v1/fleet/hosts")[1]["hosts"]}

        wait_for(lambda: hosts()["nas"]["state"] == "up"
                 and hosts()["impostor"]["state"] == "down", timeout=60)
        nas = hub.proc.get("/api/v1/fleet/hosts/nas")[1]
        assert nas["kind"] == "ssh"
        assert nas["status"]["uptime_s"] > 0 and 0 < nas["status"]["disk_percent"] <= 100
        assert {c["name"] for c in nas["checks"]} == {"ssh.reachable", "ssh.disk",
                                                      "ssh.memory", "ssh.load"}
        # The same sshd, pinned to another key: refused, and says why.
        assert "host key" in hosts()["impostor"]["error"].lower(), hosts()["impostor"]
        # Read-only: no action can be sent there, nor can it be removed like an agent.
        status, body = hub.proc.post("/api/v1/fleet/hosts/nas/actions/system.top_processes/run",
                                     {"params": {}})
        assert status == 409 and "agentless" in body["detail"]
        done = hub.cli("fleet", "hosts", "--json")
        assert {h["name"]: h["state"] for h in json.loads(done.stdout)["hosts"]} == {
            "nas": "up", "impostor": "down"}
    finally:
        hub.proc.stop()
