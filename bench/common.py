"""What the benchmarks share: the machine they ran on, percentiles, a report printer, and
`nebula run` in a subprocess with its home, config and data in a temp dir.

Run it alone (`python bench/common.py`) to print the machine description.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the machine ---------------------------------------------------------------------------


def _first(path: str, key: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    return "?"


def machine() -> dict[str, Any]:
    """Where the numbers came from; every report carries it."""
    import aiohttp

    import nebula

    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cpu_mhz": _first("/proc/cpuinfo", "cpu MHz"),
        "cores_online": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(mem_kb) / 1024**2, 1) if mem_kb.isdigit() else None,
        "os": _first("/etc/os-release", "PRETTY_NAME").strip('"'),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "nebula": nebula.__version__,
        "aiohttp": aiohttp.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --- numbers -------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on unsorted input."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    """n, mean, p50, p95, p99 and max, each multiplied by `scale` (1000: seconds to ms)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values) * scale, digits),
        "p50": round(percentile(values, 50) * scale, digits),
        "p95": round(percentile(values, 95) * scale, digits),
        "p99": round(percentile(values, 99) * scale, digits),
        "max": round(max(values) * scale, digits),
    }


@dataclass
class Target:
    """One of the issue's performance targets, and what this run measured against it."""

    name: str
    limit: float
    measured: float
    unit: str
    higher_is_better: bool = False

    @property
    def passed(self) -> bool:
        if math.isnan(self.measured):
            return False
        return self.measured >= self.limit if self.higher_is_better else \
            self.measured < self.limit

    def public(self) -> dict[str, Any]:
        return {"target": self.name, "limit": self.limit, "measured": self.measured,
                "unit": self.unit, "comparison": ">=" if self.higher_is_better else "<",
                "passed": self.passed}

    def line(self) -> str:
        op = ">=" if self.higher_is_better else "<"
        verdict = "PASS" if self.passed else "FAIL"
        return f"  [{verdict}] {self.name}: {self.measured:g} {self.unit} " \
               f"(target {op} {self.limit:g} {self.unit})"


@dataclass
class Report:
    bench: str
    results: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def emit(self, as_json: bool, human: Callable[[dict[str, Any]], list[str]]) -> int:
        """Print the report; the exit status is 1 when a target was missed."""
        if as_json:
            print(json.dumps({"bench": self.bench, "machine": machine(),
                              "results": self.results,
                              "targets": [t.public() for t in self.targets],
                              "notes": self.notes}, indent=2))
        else:
            print(f"== {self.bench}")
            for line in human(self.results):
                print(f"  {line}")
            for target in self.targets:
                print(target.line())
            for note in self.notes:
                print(f"  note: {note}")
        return 0 if all(t.passed for t in self.targets) else 1


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print machine-readable numbers")
    return parser


def say(message: str) -> None:
    """Progress on stderr, so `--json` output on stdout stays parseable."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes -----------------------------------------------------------------------------


def nebula_command() -> list[str]:
    """The installed console script, as a user runs it; `python -m nebula` without one."""
    script = Path(sys.executable).with_name("nebula")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nebula"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(root: Path) -> dict[str, str]:
    """The caller's environment with home and XDG dirs under `root` and no NEBULA_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEBULA_", "XDG_"))}
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
    """The kB fields (VmRSS, VmHWM, ...) and Threads of /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if key.startswith(("Vm", "Rss")) and parts and parts[0].isdigit():
            out[key] = int(parts[0])
        elif key == "Threads":
            out[key] = int(parts[0])
    return out


def http_status(url: str, token: str | None = None, timeout: float = 1.0) -> int | None:
    """The status of a GET, or None when nothing answers yet."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


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


def write_agent_config(root: Path, port: int, plugins: str = "") -> Path:
    """A nebula.toml on a loopback port with its data dir under `root`; the system plugin
    keeps its defaults (on, 30 s interval) unless `plugins` says otherwise."""
    path = root / "nebula.toml"
    path.write_text(
        "[agent]\n"
        'bind = "127.0.0.1"\n'
        f"port = {port}\n"
        f'data_dir = "{root / "data"}"\n'
        'log_format = "json"\n'
        'log_level = "info"\n' + plugins,
        encoding="utf-8")
    return path


@dataclass
class AgentRun:
    """`nebula --config <temp> run` through the real entry point."""

    root: Path
    proc: subprocess.Popen[bytes]
    started: float  # perf_counter just before the process was spawned
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
def nebula_run(root: Path, plugins: str = "", cpu: int | None = None) -> Iterator[AgentRun]:
    """Start the agent with everything it writes under `root`; stop it on exit."""
    port = free_port()
    config = write_agent_config(root, port, plugins)
    env = isolated_env(root)
    with (root / "agent.log").open("ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([*nebula_command(), "--config", str(config), "run"],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=pin_to(cpu))
    try:
        yield AgentRun(root, proc, started, port)
    finally:
        stop_process(proc)


if __name__ == "__main__":
    print(json.dumps(machine(), indent=2))
