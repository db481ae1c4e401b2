"""A real Samba server (Debian `samba`) on a loopback port, per RECIPES.md: its own
smb.conf, every state dir in a temp folder, one user with a password, and shares on plain
folders or on a small tmpfs (a "full disk" the tests can fill)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import wait_for

USER = "nebulanas"
SMBD = shutil.which("smbd") or "/usr/sbin/smbd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", USER], check=True)


@dataclass
class Samba:
    root: Path
    port: int
    password: str
    shares: dict[str, Path] = field(default_factory=dict)
    tmpfs: list[Path] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.root / "smb.conf"

    def add_share(self, name: str, *, tmpfs_kib: int | None = None) -> Path:
        """A share on a new folder (owned by the Samba user), or on a tmpfs of that size."""
        path = self.root / "shares" / name
        path.mkdir(parents=True)
        if tmpfs_kib is not None:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_kib}k,mode=0755",
                            "tmpfs", str(path)], check=True)
            self.tmpfs.append(path)
        user = pwd.getpwnam(USER)
        os.chown(path, user.pw_uid, user.pw_gid)
        self.shares[name] = path
        return path

    def write_conf(self) -> None:
        dirs = {d: self.root / "state" / d for d in
                ("private", "lock", "state", "cache", "pid", "ncalrpc")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        lines = [
            "[global]",
            f"smb ports = {self.port}",
            "bind interfaces only = yes",
            "interfaces = lo",
            "disable netbios = yes",
            "server role = standalone server",
            "map to guest = never",
            "log level = 1",
            f"log file = {self.root}/log.%m",
            *(f"{name} directory = {path}" for name, path in dirs.items()),
        ]
        for name, path in self.shares.items():
            lines += [f"[{name}]", f"path = {path}", f"valid users = {USER}",
                      "read only = no", "create mask = 0600"]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.write_conf()
        if not (self.root / "state" / "private" / "passdb.tdb").exists():
            subprocess.run(["smbpasswd", "-c", str(self.conf), "-s", "-a", USER],
                           input=f"{self.password}\n{self.password}\n".encode(),
                           check=True, capture_output=True)
        self.proc = subprocess.Popen([SMBD, "--foreground", "--no-process-group", "-s",
                                      str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     # smbd signals its whole process group on exit: a
                                     # group of its own keeps pytest out of it.
                                     start_new_session=True)
        wait_for(self._listening, timeout=30)

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"smbd exited with {self.proc.returncode}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # The group: the children serving open connections go too (a NAS that is off).
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        for path in self.tmpfs:
            subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def samba_server(password: str) -> Iterator[Samba]:
    _ensure_user()
    root = Path(tempfile.mkdtemp(prefix="nebula-samba-"))
    root.chmod(0o755)  # the Samba user must traverse to its shares
    server = Samba(root, free_port(), password)
    try:
        yield server
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)
