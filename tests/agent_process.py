"""Running the real `nebula` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NEBULA = [sys.executable, "-m", "nebula"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment whose home and XDG dirs live under `tmp` (the runtime dir too: an
    agent publishes itself there, and tests must not find each other's agents)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEBULA_", "XDG_"))}
    runtime = tmp / "xdg-runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "xdg-config"),
               XDG_STATE_HOME=str(tmp / "xdg-state"), XDG_DATA_HOME=str(tmp / "xdg-data"),
               XDG_RUNTIME_DIR=str(runtime), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def nebula(*args: str, env: dict[str, str], python: str = sys.executable,
           cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run one `nebula` command through its real entry point."""
    return subprocess.run([python, "-m", "nebula", *args], env=env, cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, check=False)


@dataclass
class AgentProcess:
    """`nebula run` in a subprocess, with an admin client reading its runtime file."""

    config: Path | None  # None: no --config, as a new user runs it
    data_dir: Path
    env: dict[str, str]
    python: str = sys.executable
    cwd: Path | None = None
    proc: subprocess.Popen[str] | None = None
    log_path: Path = field(init=False)
    url: str = ""
    token: str = ""

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / "agent.log"

    def start(self, timeout: float = 60) -> float:
        """Start and wait for /healthz; returns the seconds it took."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "agent.json").unlink(missing_ok=True)
        log = self.log_path.open("a")
        started = time.perf_counter()
        config = ["--config", str(self.config)] if self.config else []
        self.proc = subprocess.Popen(
            [self.python, "-m", "nebula", *config, "run"], cwd=self.cwd,
            env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}:\n{self.log()}")
            runtime = self.data_dir / "agent.json"
            if runtime.exists():
                info = json.loads(runtime.read_text())
                self.url, self.token = info["url"], info["token"]
                try:
                    urllib.request.urlopen(self.url + "/healthz", timeout=1).close()
                    return time.perf_counter() - started
                except OSError:
                    pass
            time.sleep(0.02)
        raise TimeoutError(f"agent not ready in {timeout}s:\n{self.log()}")

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token if token is None else token}",
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, {} if body is None else body, **kw)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 15) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
