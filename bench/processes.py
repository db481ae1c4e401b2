"""Processes for the benchmarks: `nebula run` through the real entry point with its home,
config and data in a temp dir, and what /proc says about a process."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COUNTERS = ("Threads", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")


def nebula_command() -> list[str]:
    """The installed console script, as a user runs it; `python -m nebula` without one."""
    script = Path(sys.executable).with_name("nebula")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nebula"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(root: Path, bytecode: bool = True) -> dict[str, str]:
    """The caller's environment with home and XDG dirs under `root` and no NEBULA_*.

    With `bytecode`, compiled modules are cached under `root/pycache` as an installed
    package has them: an editable checkout run with PYTHONDONTWRITEBYTECODE (as in the
    dev container) would otherwise compile every nebula module from source on each start.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEBULA_", "XDG_", "PYTHONDONTWRITEBYTECODE",
                                "PYTHONPYCACHEPREFIX"))}
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "xdg-config"),
                      ("XDG_STATE_HOME", "xdg-state"), ("XDG_DATA_HOME", "xdg-data"),
                      ("XDG_CACHE_HOME", "xdg-cache")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / sub)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pin_to(cpu: int | None) -> Callable[[], None] | None:
    """A preexec_fn that pins the child to one CPU, when the machine has more than one."""
    if cpu is None or cpu not in os.sched_getaffinity(0) or len(os.sched_getaffinity(0)) < 2:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_status(pid: int) -> dict[str, int]:
    """The kB fields (VmRSS, VmHWM, ...), Threads and the main thread's context switches
    from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        wanted = key.startswith(("Vm", "Rss")) or key in COUNTERS
        if wanted and parts and parts[0].isdigit():
            out[key] = int(parts[0])
    return out


def rss_by_file(pid: int, top: int = 8) -> dict[str, float]:
    """Resident MB per mapped file (shared libraries, extension modules) and for anonymous
    memory (Python's heap), from /proc/<pid>/smaps, largest first."""
    sizes: dict[str, int] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and ":" not in fields[0]:  # a mapping's header line
            path = fields[5] if len(fields) > 5 else ""
            name = _short_path(path) if path.startswith("/") else "[anon]"
        elif fields[0] == "Rss:":
            sizes[name] = sizes.get(name, 0) + int(fields[1])
    ranked = sorted(sizes.items(), key=lambda item: -item[1])[:top]
    return {name: round(kb / 1024, 1) for name, kb in ranked}


def _short_path(path: str) -> str:
    """A package and file name for a site-packages path, the base name otherwise:
    `cryptography/.../_rust.abi3.so`, `libpython3.11.so.1.0`."""
    for marker in ("site-packages/", "lib-dynload/"):
        if marker in path:
            rest = path.split(marker, 1)[1].split("/")
            return rest[0] if len(rest) == 1 else f"{rest[0]}/.../{rest[-1]}"
    return path.rsplit("/", 1)[-1]


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status of a GET, or None when nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def get_json(url: str, token: str, timeout: float = 10.0) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.loads(resp.read())


def stop_process(proc: subprocess.Popen[Any], grace: float = 10.0) -> int | None:
    """SIGTERM, then SIGKILL after `grace` seconds; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=f"nebula-bench-{prefix}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_agent_config(root: Path, port: int) -> Path:
    """A nebula.toml on a loopback port with its data dir under `root`; plugins keep their
    defaults (the system plugin on, checking every 30 s)."""
    path = root / "nebula.toml"
    path.write_text(
        "[agent]\n"
        'bind = "127.0.0.1"\n'
        f"port = {port}\n"
        f'data_dir = "{root / "data"}"\n'
        'log_format = "json"\n'
        'log_level = "info"\n',
        encoding="utf-8")
    return path


@dataclass
class AgentRun:
    """`nebula --config <temp> run` through the real entry point."""

    root: Path
    proc: subprocess.Popen[bytes]
    started: float  # perf_counter just before the process was spawned
    port: int
    exit_code: int | None = None  # after the stop: -9 when SIGTERM was not enough

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def runtime(self) -> dict[str, Any]:
        """The runtime file the agent writes: its URL and a per-run admin token."""
        return json.loads((self.root / "data" / "agent.json").read_text())

    def log(self) -> str:
        return (self.root / "agent.log").read_text(errors="replace")

    def wait_ready(self, timeout: float = 20.0, poll: float = 0.002) -> float:
        """Poll /healthz until it answers 200; the seconds since the spawn."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}:\n{self.log()}")
            if http_status(self.url + "/healthz", timeout=0.5) == 200:
                return time.perf_counter() - self.started
            time.sleep(poll)
        raise RuntimeError(f"agent not ready after {timeout:g}s:\n{self.log()}")


@contextlib.contextmanager
def nebula_run(root: Path, env: dict[str, str]) -> Iterator[AgentRun]:
    """Start the agent with its config, data and log under `root`; stop it on exit."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = write_agent_config(root, port)
    with (root / "agent.log").open("ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([*nebula_command(), "--config", str(config), "run"],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    run = AgentRun(root, proc, started, port)
    try:
        yield run
    finally:
        run.exit_code = stop_process(proc)
