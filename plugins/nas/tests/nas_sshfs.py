"""A real network mount that can go stale: sshfs (FUSE) from a local sshd (RECIPES.md).

CIFS and NFS mounts cannot be made here (the kernel has neither file system), so the stale
mount the tests use is sshfs's: stopping the sshfs process (SIGSTOP, as a NAS that stops
answering) makes every stat on the mount block in the kernel, as a dead CIFS server does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nas_samba import free_port

from tests.waiting import wait_for


@dataclass
class SshfsMount:
    mountpoint: Path
    command: list[str]          # mounts it again, in the background (as `remount` runs it)
    proc: subprocess.Popen[bytes]

    def stall(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def mounted(self) -> bool:
        return any(line.split()[1] == str(self.mountpoint)
                   for line in Path("/proc/mounts").read_text().splitlines())


@contextlib.contextmanager
def sshfs_mount(root: Path) -> Iterator[SshfsMount]:
    for name in ("export", "mnt"):
        (root / name).mkdir(parents=True)
    (root / "export" / "hello.txt").write_text("hello\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "host")],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "user")],
                   check=True)
    (root / "authorized").write_text((root / "user.pub").read_text())
    (root / "authorized").chmod(0o600)
    Path("/run/sshd").mkdir(exist_ok=True)
    port = free_port()
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", "/dev/null",
                             "-o", f"HostKey={root / 'host'}", "-o", "ListenAddress=127.0.0.1",
                             "-p", str(port), "-o", f"PidFile={root / 'sshd.pid'}",
                             "-o", f"AuthorizedKeysFile={root / 'authorized'}",
                             "-o", "StrictModes=no", "-o", "Subsystem=sftp internal-sftp"],
                            start_new_session=True)
    base = ["sshfs", "-p", str(port), "-o",
            f"IdentityFile={root / 'user'},StrictHostKeyChecking=no,"
            "UserKnownHostsFile=/dev/null,BatchMode=yes",
            f"root@127.0.0.1:{root / 'export'}", str(root / "mnt")]
    proc: subprocess.Popen[bytes] | None = None
    try:
        def up() -> bool:
            nonlocal proc
            proc = subprocess.Popen([*base, "-f"], stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: mount.mounted() or proc.poll() is not None, timeout=15)
            except TimeoutError:
                return False
            return mount.mounted()
        mount = SshfsMount(root / "mnt", base, None)  # type: ignore[arg-type]
        wait_for(up, timeout=30, interval=0.2)
        assert proc is not None
        mount.proc = proc
        yield mount
    finally:
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
        subprocess.run(["umount", "-l", str(root / "mnt")], capture_output=True)
        if proc is not None:
            proc.kill()
            proc.wait()
        os.killpg(sshd.pid, signal.SIGKILL)
        sshd.wait()
