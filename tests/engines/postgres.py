"""A throwaway PostgreSQL cluster in a temp dir on a free loopback port.

initdb and postgres refuse to run as root, so both run as the `postgres` OS user in a
directory it owns. The superuser gets a password and host connections need SCRAM, so the
plugin's password path is the one really used. Used by the tests and by bench/.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg


def server_bin_dir() -> Path:
    """The newest installed server's binaries; a missing server fails (CI installs it)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server in /usr/lib/postgresql/*/bin: install the "
                           "`postgresql` package (scripts/system-deps.sh)")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*args: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, text=True, capture_output=True, timeout=120, check=False,
                            **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Cluster:
    root: Path
    port: int
    password: str
    bin_dir: Path
    user: str = "postgres"
    host: str = "127.0.0.1"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @classmethod
    def _new(cls, password: str) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="nebula-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
        return cls(root, free_port(), password, server_bin_dir())

    @classmethod
    def start(cls, settings: dict[str, str] | None = None) -> Cluster:
        cluster = cls._new("pg-" + secrets.token_hex(12))
        bin_dir = cluster.bin_dir
        root = cluster.root
        pwfile = root / "pw"
        pwfile.write_text(cluster.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        _as_postgres(bin_dir / "initdb", "-D", cluster.data, "-U", "postgres",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", pwfile,
                     "-E", "UTF8", "--no-sync")
        pwfile.unlink()
        cluster._run(settings)
        return cluster

    def _run(self, settings: dict[str, str] | None) -> None:
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}",
                   "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
                   "-c shared_preload_libraries=pg_stat_statements"]
        options += [f"-c {key}={value}" for key, value in (settings or {}).items()]
        try:
            _as_postgres(self.bin_dir / "pg_ctl", "-D", self.data, "-w", "-l", self.log,
                         "-o", " ".join(options), "start")
        except Exception:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def restart(self) -> None:
        _as_postgres(self.bin_dir / "pg_ctl", "-D", self.data, "-l", self.log, "-m", "fast",
                     "-w", "restart")

    def standby(self) -> Cluster:
        """A streaming replica of this cluster (pg_basebackup -R), started."""
        replica = self._new(self.password)
        _as_postgres(self.bin_dir / "pg_basebackup", "-h", self.host, "-p", str(self.port),
                     "-U", self.user, "-D", replica.data, "-R", "--no-sync",
                     "--checkpoint=fast", env={**os.environ, "PGPASSWORD": self.password})
        replica._run({"hot_standby_feedback": "on"})
        return replica

    def stop(self) -> None:
        try:
            _as_postgres(self.bin_dir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                         "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def config(self, **extra) -> dict:
        """The plugin's connection keys for this cluster."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, **extra}

    def connect(self, dbname: str = "postgres", **kw) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, dbname=dbname, autocommit=True, **kw)

    def execute(self, query: str, dbname: str = "postgres") -> list[tuple]:
        with self.connect(dbname) as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else []
